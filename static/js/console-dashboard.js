// The dashboard's per-minute chart: drawn once, then fed the figures each htmx poll brings.
(function () {
  "use strict";
  let chart = null;
  const SERIES = [
    { key: "reserved", label: "Reservations", color: "#4f46e5" },
    { key: "confirmed", label: "Confirmations", color: "#059669" },
    { key: "expired", label: "Expiries", color: "#b45309" },
  ];

  function draw() {
    const source = document.getElementById("dashboard-chart-data");
    const canvas = document.getElementById("dashboard-chart-canvas");
    if (!source || !canvas || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    if (chart === null) {
      chart = new window.Chart(canvas, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: SERIES.map((s) => ({
            label: s.label, data: data[s.key], borderColor: s.color, backgroundColor: s.color,
            cubicInterpolationMode: "monotone", pointRadius: 2, borderWidth: 2,
          })),
        },
        options: {
          maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 10 } } },
          plugins: { legend: { position: "bottom" } },
        },
      });
    } else {
      chart.data.labels = data.labels;
      SERIES.forEach((s, i) => { chart.data.datasets[i].data = data[s.key]; });
      chart.update("none");
    }
    // What is plotted, for tests and curious staff: the number of reservations shown.
    canvas.dataset.reserved = String(data.reserved.reduce((a, b) => a + b, 0));
  }

  // A poll answered with the sign-in page (the session ended): go there instead of swapping.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const url = event.detail.xhr && event.detail.xhr.responseURL;
    if (url && new URL(url).pathname.startsWith("/admin/login/")) {
      event.detail.shouldSwap = false;
      window.location.assign(url);
    }
  });
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
