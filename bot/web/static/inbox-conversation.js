// A conversation in the inbox: canned replies into the reply box, new messages without reloading.
(() => {
  const box = document.getElementById("transcript");
  box.scrollTop = box.scrollHeight;
  const canned = document.getElementById("canned");
  if (canned) canned.addEventListener("change", () => {
    const area = document.getElementById("reply-text");
    area.value = (area.value ? area.value + "\n" : "") + canned.value; canned.value = ""; area.focus();
  });
  // New messages appear without reloading; text is inserted as text, never as HTML.
  setInterval(async () => {
    const res = await fetch(box.dataset.poll + "?after=" + box.dataset.after);
    if (!res.ok) return;
    for (const m of (await res.json()).messages) {
      const div = document.createElement("div");
      div.className = "msg " + m.direction;
      const meta = document.createElement("span");
      meta.className = "meta"; meta.textContent = m.author + " · " + m.at.slice(5, 16).replace("T", " ");
      div.appendChild(meta); div.appendChild(document.createTextNode(m.text));
      box.appendChild(div); box.dataset.after = m.id; box.scrollTop = box.scrollHeight;
    }
  }, 3000);
})();
