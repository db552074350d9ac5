// The inbox list: new rows without reloading.
// Refresh the rows every 10 s with the same filters; the server renders (and escapes) them.
setInterval(async () => {
  const params = new URLSearchParams(location.search); params.set("partial", "1");
  const res = await fetch("?" + params.toString());
  if (res.ok) document.getElementById("rows").innerHTML = await res.text();
}, 10000);
