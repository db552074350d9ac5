// The manager's dashboard: draws the charts from the numbers the server put in #dashboard-data (the same numbers
// as the tables, labels already translated). Without JavaScript, or without Chart.js, the tables say it all.
(() => {
  const source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.dataset.chart);
  const green = ["#0b6e4f", "#3a9d7a", "#8cc7ac", "#d9a441"];
  const reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const common = { responsive: true, maintainAspectRatio: false, animation: reduced ? false : undefined };
  // On a phone, long step names go on two or three lines instead of being cut at the chart's edge.
  const wrap = (label) => {
    if (window.innerWidth >= 700 || label.length <= 14) return label;
    const lines = [""];
    label.split(" ").forEach((word) => {
      const last = lines.length - 1;
      if (lines[last] && (lines[last] + " " + word).length > 16) lines.push(word);
      else lines[last] = lines[last] ? lines[last] + " " + word : word;
    });
    return lines;
  };

  const funnel = document.getElementById("funnel-chart");
  if (funnel) {
    new window.Chart(funnel, {
      type: "bar",
      data: { labels: data.funnel.labels.map(wrap), datasets: [{ label: data.funnel.label, data: data.funnel.values, backgroundColor: green[0] }] },
      options: { ...common, indexAxis: "y", plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
  const cases = document.getElementById("cases-chart");
  if (cases) {
    new window.Chart(cases, {
      type: "bar",
      data: { labels: data.cases.labels,
              datasets: data.cases.series.map((serie, i) => ({ label: serie.label, data: serie.values, backgroundColor: green[i % green.length] })) },
      options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
})();
