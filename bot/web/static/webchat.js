// The web chat page: draws the conversation and talks to /webchat/api/messages.
(() => {
  const T = JSON.parse(document.body.dataset.texts);  // the page's texts, in its language
  const API = document.body.dataset.api;  // the messages endpoint
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  let lastId = 0;
  let busy = false;

  function bold(text) {
    const span = document.createElement("span");
    text.split(/(\*[^*\n]+\*)/).forEach((part) => {
      if (/^\*[^*\n]+\*$/.test(part)) {
        const b = document.createElement("b"); b.textContent = part.slice(1, -1); span.appendChild(b);
      } else { span.appendChild(document.createTextNode(part)); }
    });
    return span;
  }
  function bubble(text, who) {
    const div = document.createElement("div");
    div.className = "bubble " + who;
    div.appendChild(bold(text));
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }
  function disableOldButtons() {
    log.querySelectorAll(".buttons button").forEach((b) => { b.disabled = true; });
  }
  const mine = new Set();  // ids of messages this page sent and already drew
  function attachmentLinks(div, m) {
    (m.attachments || []).forEach((a) => {
      if (!a.url) return;
      const link = document.createElement("a");
      link.href = a.url; link.target = "_blank"; link.rel = "noopener"; link.className = "attachment";
      link.textContent = "📎 " + (a.filename || "documento");
      div.appendChild(document.createElement("br"));
      div.appendChild(link);
    });
  }
  function show(messages) {
    messages.forEach((m) => {
      if (m.id <= lastId) return;
      lastId = m.id;
      if (m.author === "contact") {
        if (!mine.has(m.id)) { bubble(m.text, "me"); disableOldButtons(); }
        return;
      }
      // A newer message answers whatever was asked before it: only the latest buttons stay live.
      disableOldButtons();
      attachmentLinks(bubble(m.text, m.author === "staff" ? "staff" : "bot"), m);
      if (m.buttons && m.buttons.length) {
        const box = document.createElement("div");
        box.className = "buttons";
        m.buttons.forEach((btn) => {
          const b = document.createElement("button");
          b.type = "button"; b.textContent = btn.title; b.dataset.payload = btn.payload;
          b.addEventListener("click", () => send({payload: btn.payload}, btn.title));
          box.appendChild(b);
        });
        log.appendChild(box);
        log.scrollTop = log.scrollHeight;
      }
    });
  }
  const fileInput = document.getElementById("file");
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    send(form, "📎 " + file.name);
    fileInput.value = "";
  });
  function newId() { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); }
  // Messages go out one at a time, in order; what the applicant sends while the bot answers waits its turn.
  const queue = [];
  function send(body, shown) {
    bubble(shown, "me");
    disableOldButtons();
    const isForm = body instanceof FormData;
    if (isForm) { body.append("id", newId()); } else { body.id = newId(); }
    queue.push(body);
    if (!busy) pump();
  }
  async function pump() {
    busy = true;
    while (queue.length) {
      await deliver(queue.shift());
    }
    busy = false;
  }
  async function deliver(body) {
    const isForm = body instanceof FormData;
    const typing = document.createElement("div");
    typing.className = "typing"; typing.textContent = T.typing; log.appendChild(typing);
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const res = await fetch(API, isForm ? {method: "POST", body: body}
          : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
        const data = await res.json();
        typing.remove();
        if (data.inbound_id) mine.add(data.inbound_id);
        if (res.ok) { show(data.messages); } else { bubble(data.error || T.failed, "bot"); }
        return;
      } catch (e) {
        // Same id on retry: the server runs the turn once and returns its replies.
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
    typing.remove();
    bubble(T.offline, "bot");
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({text}, text);
  });
  async function poll() {
    try {
      const res = await fetch(API + "?after=" + lastId);
      if (res.ok) { show((await res.json()).messages); }
    } catch (e) { /* offline: try again later */ }
  }
  poll().then(() => { if (lastId === 0) send({text: T.greeting}, T.greeting); });
  setInterval(() => { if (!busy) poll(); }, 4000);
})();
