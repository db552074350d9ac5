// The inbox queues: rows, counts and the title follow the server's events (/inbox/events) without reloading;
// every 10 s polling only if events are not available. The server renders (and escapes) the rows.
(() => {
  const rows = document.getElementById("rows");
  if (!rows) return;
  // An optional alert when the "waiting" count grows: a desktop notification when allowed, else a short beep.
  // The choice is kept in localStorage; window.inboxWaitingAlerts counts the alerts given and
  // window.inboxWaitingAlertWay says how the last one went ("notification" or "sound"); tests read both.
  const KEY = "inbox-notify-waiting", toggle = document.getElementById("notify-toggle");
  const enabled = () => localStorage.getItem(KEY) === "1";
  const show = () => { if (toggle) toggle.setAttribute("aria-pressed", enabled() ? "true" : "false"); };
  if (toggle) {
    toggle.hidden = false; show();
    toggle.addEventListener("click", () => {
      localStorage.setItem(KEY, enabled() ? "0" : "1"); show();
      if (enabled() && window.Notification && Notification.permission === "default") Notification.requestPermission();
    });
  }
  const waiting = () => parseInt((document.getElementById("count-waiting") || {}).textContent || "0", 10) || 0;
  window.inboxWaitingAlerts = 0;
  const alertWaiting = (count) => {
    window.inboxWaitingAlerts += 1;
    const text = `${toggle ? toggle.dataset.alert : ""} (${count})`;
    if (window.Notification && Notification.permission === "granted") {
      window.inboxWaitingAlertWay = "notification"; new Notification(text); return;
    }
    window.inboxWaitingAlertWay = "sound";
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)(), tone = audio.createOscillator();
      const gain = audio.createGain(); gain.gain.value = 0.1;
      tone.connect(gain); gain.connect(audio.destination); tone.frequency.value = 880;
      tone.start(); tone.stop(audio.currentTime + 0.2);
    } catch (error) { /* no sound available */ }
  };
  // A change that arrives while a refresh is under way is not dropped: that refresh may have read the page
  // before the change was committed, so another one follows it.
  let busy = false, again = false;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    const before = waiting();
    try {
      const res = await fetch(location.pathname + location.search, { credentials: "same-origin", headers: { "X-Live": "1" } });
      if (!res.ok) return;
      const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const id of ["rows", "queues", "view-count"]) {
        const now = document.getElementById(id), next = fresh.getElementById(id);
        if (now && next && !now.contains(document.activeElement)) now.replaceWith(document.importNode(next, true));
      }
      document.title = fresh.title;
      const after = waiting();
      if (after > before && enabled()) alertWaiting(after);
    } finally {
      busy = false;
      if (again) { again = false; setTimeout(refresh, 50); }
    }
  };
  let polling = null;
  const poll = () => { if (!polling) polling = setInterval(refresh, 10000); };
  if (window.EventSource) {
    const source = new EventSource(rows.dataset.events);
    source.addEventListener("change", refresh);
    // A change made between this page's render and the stream's (re)connection sent no event to it.
    source.addEventListener("open", refresh);
    source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) poll(); });
  } else poll();
})();
