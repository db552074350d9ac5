// The web chat page: draws the conversation and talks to /webchat/api/messages.
// Everything the applicant reads comes from the server in the page's language (data-texts); nothing here is
// drawn with innerHTML: bot texts become text nodes, <b>, links and spans built with DOM calls.
(() => {
  "use strict";
  const T = JSON.parse(document.body.dataset.texts);  // the page's texts, in its language
  const API = document.body.dataset.api;  // the messages endpoint
  const MAX_BYTES = Number(document.body.dataset.maxBytes);
  const ACCEPTED = document.body.dataset.accepted.split(",");
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const attach = document.getElementById("attach");
  const fileInput = document.getElementById("file");
  const statusLine = document.getElementById("status");
  const calm = window.matchMedia("(prefers-reduced-motion: reduce)");
  let lastId = 0;
  let busy = false;

  // -- drawing ------------------------------------------------------------------------------------------
  const TOKENS = /(https:\/\/[^\s<>"']+)|(PTI-\d{4}-\d{6})/g;
  function inline(parent, text) {
    // https links become links (nothing else does), and a folio never breaks at its hyphens.
    let at = 0;
    for (const match of text.matchAll(TOKENS)) {
      let token = match[0];
      let end = match.index + token.length;
      if (match[1]) {
        const trail = /[.,;:!?)\]]+$/.exec(token);  // "…en https://imss.gob.mx." ends the sentence, not the URL
        if (trail) { token = token.slice(0, -trail[0].length); end -= trail[0].length; }
      }
      parent.appendChild(document.createTextNode(text.slice(at, match.index)));
      if (match[1]) {
        let url = null;
        try { url = new URL(token); } catch (e) { url = null; }
        if (url && url.protocol === "https:") {
          const link = document.createElement("a");
          link.href = url.href; link.target = "_blank"; link.rel = "noopener noreferrer";
          link.textContent = token;
          parent.appendChild(link);
        } else { parent.appendChild(document.createTextNode(token)); }
      } else {
        const folio = document.createElement("span");
        folio.className = "folio"; folio.textContent = token;
        parent.appendChild(folio);
      }
      at = end;
    }
    parent.appendChild(document.createTextNode(text.slice(at)));
  }
  function rich(text) {
    const span = document.createElement("span");
    text.split(/(\*[^*\n]+\*)/).forEach((part) => {
      if (/^\*[^*\n]+\*$/.test(part)) {
        const b = document.createElement("b"); inline(b, part.slice(1, -1)); span.appendChild(b);
      } else { inline(span, part); }
    });
    return span;
  }
  function bubble(who) {
    const div = document.createElement("div");
    div.className = "bubble " + who;
    log.insertBefore(div, typing.isConnected ? typing : null);
    return div;
  }
  function textBubble(text, who) {
    const div = bubble(who);
    div.appendChild(rich(text));
    return div;
  }
  function notice(text) {
    // A problem the page found itself (a file too large…): said in the log, in the page's language.
    const div = bubble("notice");
    div.textContent = text;
    reveal(div);
    return div;
  }
  function attachmentLinks(div, m) {
    (m.attachments || []).forEach((a) => {
      if (!a.url) return;
      const link = document.createElement("a");
      link.href = a.url; link.target = "_blank"; link.rel = "noopener noreferrer"; link.className = "attachment";
      link.textContent = "📎 " + (a.filename || "documento");
      div.appendChild(document.createElement("br"));
      div.appendChild(link);
    });
  }
  function liveBoxes() { return Array.from(log.querySelectorAll(".buttons:not(.ask)")); }
  function disableOldButtons() {
    log.querySelectorAll(".buttons:not(.ask) button").forEach((b) => { b.disabled = true; });
  }

  // The typing indicator: inside the log (so it sits after the last bubble) but hidden from screen readers,
  // and sticky at the bottom of the visible area so slow networks never clip it behind the text box.
  const typing = document.createElement("div");
  typing.className = "typing"; typing.textContent = T.typing; typing.setAttribute("aria-hidden", "true");

  function scrollTo(element, block) {
    element.scrollIntoView({block: block, behavior: calm.matches ? "auto" : "smooth"});
  }
  function reveal(first) {
    // What just arrived is shown from its start: a long reply opens at its title, not at its end.
    const last = log.lastElementChild;
    if (!first || !last) return;
    const room = Math.min(log.clientHeight || window.innerHeight, window.innerHeight);
    const height = last.getBoundingClientRect().bottom - first.getBoundingClientRect().top;
    scrollTo(height > room ? first : last, height > room ? "start" : "end");
  }

  const mine = new Set();  // ids of messages this page sent and already drew
  // After a button or a file, focus goes to what is asked next: its first option, or (after keys) the text box.
  let focusNext = null;  // null | {input: boolean}
  function show(messages, history) {
    let first = null;
    let box = null;
    messages.forEach((m) => {
      if (m.id <= lastId) return;
      lastId = m.id;
      if (m.author === "contact") {
        if (!mine.has(m.id)) { textBubble(m.text, "me"); disableOldButtons(); }
        return;
      }
      // A newer message answers whatever was asked before it: only the latest buttons stay live.
      disableOldButtons();
      let div;
      if (m.author === "staff") {
        div = bubble("staff");
        const who = document.createElement("span");
        who.className = "who";
        who.textContent = m.staff_name ? T.staff.replace("{name}", m.staff_name) : T.team;
        div.appendChild(who);
        div.appendChild(rich(m.text));
      } else { div = textBubble(m.text, "bot"); }
      attachmentLinks(div, m);
      first = first || div;
      if (m.buttons && m.buttons.length) {
        box = document.createElement("div");
        box.className = "buttons";
        box.setAttribute("role", "group");
        box.setAttribute("aria-label", m.text.split("\n").pop().replace(/\*/g, "").slice(0, 120));
        m.buttons.forEach((btn) => {
          const b = document.createElement("button");
          b.type = "button"; b.textContent = btn.title; b.dataset.payload = btn.payload;
          b.addEventListener("click", (event) => choose(b, btn, event));
          box.appendChild(b);
        });
        log.insertBefore(box, typing.isConnected ? typing : null);
      }
    });
    if (history) {
      if (log.lastElementChild) log.lastElementChild.scrollIntoView({block: "end"});
      return;
    }
    if (first) reveal(first);
    if (focusNext && first) {
      const next = (box && box.querySelector("button:enabled")) || (focusNext.input ? input : null);
      focusNext = null;
      if (next) next.focus({preventScroll: true});
    }
  }

  // -- sending ------------------------------------------------------------------------------------------
  function newId() { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); }
  function choose(button, btn, event) {
    // detail 0: pressed with Enter or Space. A tap does not bring up the phone's keyboard.
    focusNext = {input: event.detail === 0};
    log.focus({preventScroll: true});  // never <body>: the pressed button is about to be disabled
    button.classList.add("chosen");
    button.setAttribute("aria-pressed", "true");
    const me = textBubble(btn.title, "me");
    send({payload: btn.payload}, me);
  }
  // Messages go out one at a time, in order; what the applicant sends while the bot answers waits its turn.
  const queue = [];
  function send(body, me, extra) {
    const prompt = liveBoxes().filter((box) => box.querySelector("button:enabled")).pop() || null;
    disableOldButtons();
    if (me) reveal(me);
    const id = newId();
    if (body instanceof FormData) { body.append("id", id); } else { body.id = id; }
    queue.push(Object.assign({body: body, prompt: prompt}, extra || {}));
    if (!busy) pump();
  }
  async function pump() {
    busy = true;
    while (queue.length) {
      await deliver(queue.shift());
    }
    busy = false;
  }
  const WAIT_MS = 30000;  // an answer later than this is taken as lost: the same id goes again
  function postJson(body) {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), WAIT_MS);
    return fetch(API, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
                       signal: stop.signal})
      .then(async (res) => ({ok: res.ok, status: res.status, data: await res.json().catch(() => null)}))
      .finally(() => clearTimeout(timer));
  }
  function postForm(body, progress) {
    // XMLHttpRequest, not fetch: it reports how much of the file has gone up.
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", API);
      xhr.timeout = 4 * WAIT_MS;
      xhr.upload.addEventListener("progress", (e) => {
        if (progress && e.lengthComputable) progress.value = e.loaded / e.total;
      });
      xhr.addEventListener("load", () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        resolve({ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data: data});
      });
      xhr.addEventListener("error", () => reject(new Error("network")));
      xhr.addEventListener("abort", () => reject(new Error("network")));
      xhr.addEventListener("timeout", () => reject(new Error("network")));
      xhr.send(body);
    });
  }
  function setStatus(text) { if (statusLine.textContent !== text) statusLine.textContent = text; }
  function backOnline(ms) {
    // Wait before the next try, or less if the browser says it is back online.
    return new Promise((resolve) => {
      const done = () => { window.removeEventListener("online", done); clearTimeout(timer); resolve(); };
      const timer = setTimeout(done, ms);
      window.addEventListener("online", done);
    });
  }
  async function deliver(item) {
    const isForm = item.body instanceof FormData;
    log.appendChild(typing);
    scrollTo(typing, "end");
    let failures = 0;
    let serverErrors = 0;
    for (;;) {
      let res = null;
      try {
        res = await (isForm ? postForm(item.body, item.progress) : postJson(item.body));
      } catch (e) { res = null; }
      const retry = res === null || res.status === 0 || (res.status >= 500 && ++serverErrors < 5);
      if (!retry) {
        if (res.ok && res.data) {
          finish(item, true);
          if (res.data.inbound_id) mine.add(res.data.inbound_id);
          if (item.hash && res.data.kept) remember(item.hash);
          show(res.data.messages || []);
          focusNext = null;  // a staff reply polled later must not move focus
        } else { finish(item, false, (res.data && res.data.error) || T.failed); }
        return;
      }
      // No answer (or the server is restarting): the same id goes again, so the server runs the turn once and
      // hands back the same replies if the first try did reach it.
      failures += 1;
      setStatus(navigator.onLine === false ? T.offline : T.retrying);
      await backOnline(Math.min(15000, 1000 * 2 ** Math.min(failures - 1, 4)));
    }
  }
  function finish(item, ok, error) {
    typing.remove();
    setStatus("");
    if (item.progress) item.progress.remove();
    if (ok) return;
    focusNext = null;
    notice(error);
    // After any failure the question still waiting for an answer can be answered again.
    const newest = liveBoxes().pop() || null;
    if (item.prompt && item.prompt === newest) {
      item.prompt.querySelectorAll("button").forEach((b) => {
        b.disabled = false; b.classList.remove("chosen"); b.removeAttribute("aria-pressed");
      });
      const again = item.prompt.querySelector("button");
      if (again) again.focus({preventScroll: true});
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({text}, textBubble(text, "me"));
  });

  // -- files --------------------------------------------------------------------------------------------
  const FILES_KEY = "ptibot-webchat-files";
  function sentFiles() {
    try { return JSON.parse(sessionStorage.getItem(FILES_KEY) || "[]"); } catch (e) { return []; }
  }
  function remember(hash) {
    const hashes = sentFiles();
    if (!hashes.includes(hash)) hashes.push(hash);
    try { sessionStorage.setItem(FILES_KEY, JSON.stringify(hashes.slice(-50))); } catch (e) { /* private mode */ }
  }
  async function fingerprint(bytes) {
    if (!(window.crypto && crypto.subtle)) return null;  // only on https (and localhost)
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }
  function pdfPages(bytes) {
    // Only when cheaply known: page objects in plain sight (a compressed PDF hides them; then nothing is said).
    const text = new TextDecoder("latin1").decode(bytes);
    return (text.match(/\/Type\s*\/Page(?![A-Za-z])/g) || []).length;
  }
  function problemWith(file) {
    // Checked before anything is sent: a 12 MB video is refused in a second, not after a long upload.
    const name = file.name.toLowerCase();
    if (/hei[cf]/.test(file.type) || /\.hei[cf]$/.test(name)) return T.heic;
    const known = ACCEPTED.includes(file.type) || (!file.type && /\.(jpe?g|png|webp|pdf)$/.test(name));
    if (!known) return T.wrong_type;
    if (file.size > MAX_BYTES) return T.too_large;
    return null;
  }
  attach.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    const problem = problemWith(file);
    if (problem) {
      notice(problem);
      attach.focus({preventScroll: true});  // the question and its buttons are still there, untouched
      return;
    }
    let hash = null;
    let pages = 0;
    try {
      const bytes = await file.arrayBuffer();
      if (file.type === "application/pdf" || /\.pdf$/i.test(file.name)) pages = pdfPages(bytes);
      hash = await fingerprint(bytes);
    } catch (e) { hash = null; }
    if (hash && sentFiles().includes(hash)) { askAboutSameFile(file, hash, pages); return; }
    sendFile(file, hash, pages);
  });
  function askAboutSameFile(file, hash, pages) {
    // The same file offered for another document: asked inline, with two buttons (no confirm() box).
    const div = notice(T.same_file);
    const box = document.createElement("div");
    box.className = "buttons ask";
    const other = document.createElement("button");
    other.type = "button"; other.textContent = T.choose_other;
    const anyway = document.createElement("button");
    anyway.type = "button"; anyway.textContent = T.send_anyway;
    const settle = () => { div.remove(); };
    other.addEventListener("click", () => { fileInput.click(); settle(); attach.focus({preventScroll: true}); });
    anyway.addEventListener("click", () => { settle(); sendFile(file, hash, pages); });
    box.append(other, anyway);
    div.appendChild(box);
    reveal(div);
    other.focus({preventScroll: true});
  }
  function sendFile(file, hash, pages) {
    const me = bubble("me");
    if (file.type.startsWith("image/")) {
      const thumb = document.createElement("img");
      thumb.className = "thumb"; thumb.alt = ""; thumb.src = URL.createObjectURL(file);
      thumb.addEventListener("load", () => URL.revokeObjectURL(thumb.src), {once: true});
      me.appendChild(thumb);
    }
    const label = document.createElement("span");
    label.textContent = "📎 " + file.name;
    me.appendChild(label);
    if (pages > 0) {
      const count = document.createElement("span");
      count.className = "pages";
      count.textContent = " · " + (pages === 1 ? T.one_page : T.pages.replace("{count}", String(pages)));
      me.appendChild(count);
    }
    const progress = document.createElement("progress");
    progress.max = 1; progress.value = 0;
    progress.setAttribute("aria-label", T.uploading.replace("{name}", file.name));
    me.appendChild(progress);
    focusNext = {input: false};  // focus stays on the upload button unless options follow
    const body = new FormData();
    body.append("file", file);
    send(body, me, {progress: progress, hash: hash});
  }

  // -- the conversation so far, then live -----------------------------------------------------------------
  async function poll(history) {
    try {
      const res = await fetch(API + "?after=" + lastId);
      if (res.ok) { show((await res.json()).messages, history); }
      return res.ok;
    } catch (e) { return false; /* offline: try again later */ }
  }
  async function start() {
    while (!(await poll(true))) {
      setStatus(navigator.onLine === false ? T.offline : T.retrying);
      await backOnline(3000);
    }
    setStatus("");
    // History is drawn: from now on only new messages are announced.
    log.setAttribute("aria-live", "polite");
    // A newcomer is greeted by the bot; nothing is sent on the applicant's behalf.
    if (lastId === 0) send({start: true}, null);
  }
  start();
  setInterval(() => { if (!busy && log.getAttribute("aria-live") === "polite") poll(false); }, 4000);
})();
