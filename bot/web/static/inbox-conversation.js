// A conversation (or a document) in the inbox. Everything here is an enhancement: without JavaScript every
// form posts and the page reloads. With it:
// - forms post in the background through htmx and the changed parts of the page are swapped in place
//   (the #workbench element names them in hx-select-oob); the form that was sent is cleared;
// - the page listens to the server's events (/inbox/events?c=…) and refreshes the same parts when anything
//   changes (a message, the owner, the status, a document), polling every 5 s only if events fail;
// - the document viewer zooms and rotates; canned responses go into the reply box.
// Server HTML is only ever our own escaped templates; applicants' text never becomes markup here.
(() => {
  const workbench = document.getElementById("workbench");
  const scrollDown = () => {
    const box = document.getElementById("transcript");
    if (box) box.scrollTop = box.scrollHeight;
  };
  scrollDown();

  document.addEventListener("change", (event) => {
    if (event.target.id !== "canned") return;
    const canned = event.target, area = document.getElementById("reply-text");
    area.value = (area.value ? area.value + "\n" : "") + canned.value; canned.value = ""; area.focus();
  });

  // -- in place, with htmx ----------------------------------------------------------------------------------
  // One listener for every form of the workbench (also those swapped in later): the form goes through
  // htmx.ajax, which sends its fields and swaps in the parts #workbench names; file uploads post normally.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!window.htmx || !workbench || !(form instanceof HTMLFormElement) || !workbench.contains(form)) return;
    if (form.method.toLowerCase() !== "post" || form.enctype === "multipart/form-data") return;
    event.preventDefault();
    window.htmx.ajax("POST", form.getAttribute("action"), { source: form, swap: "none" });
  }, true);
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (event.detail.successful && form.matches && form.matches("form[data-reset]")) {
      const flash = document.querySelector("#flashes .flash");
      if (!flash) form.reset();  // an error keeps what was typed
    }
    setTimeout(refocus, 50);
  });
  // Focus never drops to the page after an action: back to the same control if it is still there (htmx keeps
  // it by id), otherwise to the reply box or, in the viewer, to the review of the document.
  const refocus = () => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const next = document.getElementById("reply-text") || document.querySelector("#viewer-review button, #viewer-frame");
    if (next) next.focus();
  };
  document.body.addEventListener("htmx:afterSettle", refocus);
  document.body.addEventListener("htmx:oobAfterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "transcript") scrollDown();
  });

  // -- live -------------------------------------------------------------------------------------------------
  const live = (workbench && workbench.getAttribute("hx-select-oob") || "").split(",").map((s) => s.trim().slice(1))
    .filter((id) => id && id !== "flashes");
  // A part is left alone while staff are in it or have typed in it, so an update never eats a half-written
  // reason; a response that left before the page's own last swap is stale and is fetched again instead.
  const dirty = (part) => [...part.querySelectorAll("input, textarea, select")].some((field) =>
    field.tagName === "SELECT" ? [...field.options].some((o) => o.selected !== o.defaultSelected)
      : field.type !== "hidden" && field.type !== "file" && field.value !== field.defaultValue);
  let busy = false, again = false, swaps = 0;
  document.body.addEventListener("htmx:afterSwap", () => { swaps += 1; });
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const started = swaps;
      const res = await fetch(location.pathname, { credentials: "same-origin", headers: { "X-Live": "1" } });
      if (!res.ok) return;
      const text = await res.text();
      if (started !== swaps) { again = true; return; }
      const fresh = new DOMParser().parseFromString(text, "text/html");
      for (const id of live) {
        const now = document.getElementById(id), next = fresh.getElementById(id);
        if (!now || !next || now.contains(document.activeElement) && document.activeElement !== now) continue;
        if (dirty(now)) continue;
        const atEnd = id === "transcript" && now.scrollHeight - now.scrollTop - now.clientHeight < 40;
        now.replaceWith(document.importNode(next, true));
        if (atEnd) scrollDown();
      }
      document.title = fresh.title;
    } finally {
      busy = false;
      if (again) { again = false; setTimeout(refresh, 50); }
    }
  };
  const events = workbench && workbench.dataset.events;
  let polling = null;
  const poll = () => { if (!polling) polling = setInterval(refresh, 5000); };
  if (events && window.EventSource) {
    const source = new EventSource(events);
    source.addEventListener("change", refresh);
    // After a lost connection, what changed meanwhile sent no event (the first connection follows the render
    // closely, and each refresh records a view of personal data, so it is not repeated then).
    let opened = false;
    source.addEventListener("open", () => { if (opened) refresh(); opened = true; });
    source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) poll(); });
  } else if (events) poll();

  // -- the document viewer ----------------------------------------------------------------------------------
  const image = document.getElementById("viewer-image");
  if (image) {
    let scale = 1, turn = 0;
    const apply = () => { image.style.transform = `rotate(${turn}deg) scale(${scale})`; };
    document.querySelectorAll("[data-zoom]").forEach((b) => b.addEventListener("click", () => {
      scale = Math.min(4, Math.max(0.5, scale * parseFloat(b.dataset.zoom))); apply();
    }));
    document.querySelectorAll("[data-rotate]").forEach((b) => b.addEventListener("click", () => {
      turn = (turn + parseInt(b.dataset.rotate, 10)) % 360; apply();
    }));
    document.querySelectorAll("[data-reset-view]").forEach((b) => b.addEventListener("click", () => {
      scale = 1; turn = 0; apply();
    }));
  }
})();
