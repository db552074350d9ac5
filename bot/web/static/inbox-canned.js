// Canned responses.
// - On the canned-responses page: the preview under a text follows what is typed ({nombre} and {folio} filled
//   with the example the page names); without JavaScript the "Preview" button asks the server.
// - On a conversation page (this script's tag carries data-canned-url): typing "/" at the start of a word in the
//   reply box opens a list of the responses, already filled for this applicant; typing filters it, arrows move,
//   Enter or Tab inserts, Escape closes. Everything is inserted as text, never as HTML.
(() => {
  const script = document.currentScript;
  const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

  // -- the preview on the canned-responses page ------------------------------------------------------------
  const example = { nombre: script.dataset.exampleName || "", folio: script.dataset.exampleFolio || "" };
  document.querySelectorAll("textarea[data-canned-preview]").forEach((area) => {
    const out = document.getElementById(area.dataset.cannedPreview);
    if (!out) return;
    const render = () => { out.textContent = area.value.replace(/\{(nombre|folio)\}/g, (_, key) => example[key]); };
    area.addEventListener("input", render);
    render();
  });

  // -- the "/" list in the composer --------------------------------------------------------------------------
  const url = script.dataset.cannedUrl;
  // The reply box is found at each keystroke, not once: the page may re-render its composer in place.
  const isReplyBox = (el) => el instanceof HTMLTextAreaElement &&
    (el.id === "reply-text" || (el.name === "text" && !!el.form && /\/reply$/.test(el.form.getAttribute("action") || "")));
  if (!url) return;
  let area = null;

  let responses = [], labels = {}, shown = [], active = 0, token = null;
  const list = document.createElement("ul");
  list.id = "canned-picker";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  list.style.cssText = "list-style:none;margin:.2rem 0;padding:0;border:1px solid #dde3e0;border-radius:6px;background:#fff;max-height:16rem;overflow-y:auto;box-shadow:0 2px 8px rgba(0,0,0,.12)";
  const status = document.createElement("div");
  status.setAttribute("role", "status");
  status.style.cssText = "position:absolute;left:-9999px";

  // Put the list (and its live status) right after this reply box, and describe the box as its owner.
  const attach = (box) => {
    area = box;
    if (list.previousElementSibling !== box) {
      box.insertAdjacentElement("afterend", list);
      list.insertAdjacentElement("afterend", status);
    }
    box.setAttribute("aria-controls", list.id);
    box.setAttribute("aria-autocomplete", "list");
  };
  const first = [...document.querySelectorAll("textarea")].find(isReplyBox);
  if (first) attach(first);

  fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((res) => (res.ok ? res.json() : { responses: [], labels: {} }))
    .then((body) => {
      responses = body.responses || []; labels = body.labels || {};
      list.setAttribute("aria-label", labels.list || "");
      // A "/" typed before the list arrived opens it now.
      if (area && document.activeElement === area) { const found = typed(); if (found && responses.length) open(found); }
    })
    .catch(() => {});

  // The "/word" being typed just before the cursor, if any.
  const typed = () => {
    const before = area.value.slice(0, area.selectionStart);
    const match = /(^|\s)\/([^\s/]*)$/.exec(before);
    return match ? { start: before.length - match[2].length - 1, end: area.selectionStart, query: match[2] } : null;
  };

  const close = () => {
    list.hidden = true; token = null;
    if (area) { area.removeAttribute("aria-activedescendant"); }  // never aria-expanded on a textarea (axe)
  };

  const highlight = () => {
    [...list.children].forEach((item, i) => item.setAttribute("aria-selected", i === active ? "true" : "false"));
    const current = list.children[active];
    if (current && current.id) { area.setAttribute("aria-activedescendant", current.id); current.scrollIntoView({ block: "nearest" }); }
  };

  const open = (found) => {
    token = found;
    const query = fold(found.query);
    shown = responses.filter((r) => fold(r.title).includes(query) || fold(r.text).includes(query));
    active = 0;
    list.replaceChildren();
    if (!shown.length) {
      const empty = document.createElement("li");
      empty.className = "muted"; empty.style.padding = ".4rem .6rem";
      empty.textContent = labels.empty || "";
      list.append(empty);
    }
    shown.forEach((response, i) => {
      const item = document.createElement("li");
      item.id = "canned-option-" + response.id;
      item.setAttribute("role", "option");
      item.style.cssText = "padding:.4rem .6rem;cursor:pointer;border-bottom:1px solid #eef2f0";
      const title = document.createElement("strong");
      title.textContent = response.title;
      const text = document.createElement("span");
      text.className = "muted"; text.style.display = "block"; text.style.whiteSpace = "pre-wrap";
      text.textContent = response.text;
      item.append(title, text);
      item.addEventListener("mousedown", (event) => { event.preventDefault(); active = i; insert(); });
      list.append(item);
    });
    list.hidden = false;
    // (the list shows itself; aria-expanded is not allowed on a textarea)
    status.textContent = shown.length ? (labels.count || "").replace("%(count)s", String(shown.length)) : (labels.empty || "");
    highlight();
  };

  const insert = () => {
    const chosen = shown[active];
    if (!chosen || !token) return close();
    const value = area.value;
    area.value = value.slice(0, token.start) + chosen.text + value.slice(token.end);
    const caret = token.start + chosen.text.length;
    area.setSelectionRange(caret, caret);
    close();
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  };

  document.addEventListener("input", (event) => {
    if (!isReplyBox(event.target)) return;
    attach(event.target);
    const found = typed();
    if (found && responses.length) open(found); else if (!list.hidden) close();
  });
  document.addEventListener("keydown", (event) => {
    if (list.hidden || event.target !== area) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (shown.length) { active = (active + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length; highlight(); }
    } else if ((event.key === "Enter" || event.key === "Tab") && shown.length) {
      event.preventDefault(); event.stopPropagation(); insert();
    } else if (event.key === "Escape") {
      event.preventDefault(); close();
    }
  }, true);
  document.addEventListener("focusout", (event) => { if (event.target === area) setTimeout(close, 150); });
  close();
})();
