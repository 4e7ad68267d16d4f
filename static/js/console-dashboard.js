// The dashboard's charts: the week's stacked bars, the reservation split and the per-minute
// line. Each is drawn once, then fed the figures that each htmx poll brings as JSON (the
// canvases are hx-preserve'd, the JSON beside them is swapped).
(function () {
  "use strict";
  const STATUS = [
    { key: "confirmed", label: "Confirmed", color: "#10b981" },
    { key: "pending", label: "Pending", color: "#f59e0b" },
    { key: "released", label: "Released", color: "#94a3b8" },
  ];
  const MINUTE_SERIES = [
    { key: "reserved", label: "Reservations", color: "#4f46e5" },
    { key: "confirmed", label: "Confirmations", color: "#059669" },
    { key: "expired", label: "Expiries", color: "#b45309" },
  ];
  const EMPTY_RING = "#e2e8f0";
  const charts = new Map();

  function data(id) {
    const source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  // Draw the chart on `canvasId` from the JSON in `dataId`, or feed an existing one.
  function show(canvasId, dataId, config, feed) {
    const canvas = document.getElementById(canvasId);
    const figures = data(dataId);
    if (!canvas || !figures || !window.Chart) return;
    const chart = charts.get(canvasId);
    if (chart === undefined) {
      const created = new window.Chart(canvas, config());
      charts.set(canvasId, created);
      feed(created, figures, canvas);
      created.update();
    } else {
      feed(chart, figures, canvas);
      chart.update("none");
    }
  }

  function weekConfig() {
    return {
      type: "bar",
      data: { labels: [], datasets: STATUS.map((s) => ({ label: s.label, data: [], backgroundColor: s.color, borderRadius: 3, maxBarThickness: 72 })) },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { display: false } },
      },
    };
  }

  function feedWeek(chart, figures) {
    chart.data.labels = figures.labels;
    STATUS.forEach((s, i) => { chart.data.datasets[i].data = figures[s.key]; });
  }

  function splitConfig() {
    return {
      type: "doughnut",
      data: { labels: [], datasets: [{ data: [], backgroundColor: [], borderWidth: 0 }] },
      options: {
        maintainAspectRatio: false,
        cutout: "68%",
        plugins: { legend: { display: false } },
      },
    };
  }

  function feedSplit(chart, figures) {
    const total = figures.counts.reduce((a, b) => a + b, 0);
    const dataset = chart.data.datasets[0];
    // No holds yet: an empty grey ring rather than nothing.
    chart.data.labels = total ? figures.labels : ["No holds yet"];
    dataset.data = total ? figures.counts : [1];
    dataset.backgroundColor = total ? STATUS.map((s) => s.color) : [EMPTY_RING];
    chart.options.plugins.tooltip = { enabled: total > 0 };
  }

  function minuteConfig() {
    return {
      type: "line",
      data: {
        labels: [],
        datasets: MINUTE_SERIES.map((s) => ({
          label: s.label, data: [], borderColor: s.color, backgroundColor: s.color,
          cubicInterpolationMode: "monotone", pointRadius: 2, borderWidth: 2,
        })),
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 10 } } },
        plugins: { legend: { position: "bottom" } },
      },
    };
  }

  function feedMinutes(chart, figures, canvas) {
    chart.data.labels = figures.labels;
    MINUTE_SERIES.forEach((s, i) => { chart.data.datasets[i].data = figures[s.key]; });
    // What is plotted, for tests and curious staff: the number of reservations shown.
    canvas.dataset.reserved = String(figures.reserved.reduce((a, b) => a + b, 0));
  }

  function draw() {
    show("week-chart-canvas", "week-chart-data", weekConfig, feedWeek);
    show("split-chart-canvas", "split-chart-data", splitConfig, feedSplit);
    show("dashboard-chart-canvas", "dashboard-chart-data", minuteConfig, feedMinutes);
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
