// The inbox queues: rows, counts and the title follow the server's events (/inbox/events) without reloading;
// every 10 s polling only if events are not available. The server renders (and escapes) the rows.
(() => {
  const rows = document.getElementById("rows");
  if (!rows) return;
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const res = await fetch(location.pathname + location.search, { credentials: "same-origin" });
      if (!res.ok) return;
      const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const id of ["rows", "queues", "view-count"]) {
        const now = document.getElementById(id), next = fresh.getElementById(id);
        if (now && next && !now.contains(document.activeElement)) now.replaceWith(document.importNode(next, true));
      }
      document.title = fresh.title;
    } finally { busy = false; }
  };
  let polling = null;
  const poll = () => { if (!polling) polling = setInterval(refresh, 10000); };
  if (window.EventSource) {
    const source = new EventSource(rows.dataset.events);
    source.addEventListener("change", refresh);
    source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) poll(); });
  } else poll();
})();
