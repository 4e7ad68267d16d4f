// Draw the analytics charts from the JSON that the page embeds (#analytics-data).
(function () {
  "use strict";

  const COLOURS = {
    confirmed: "#059669",
    expired: "#b45309",
    cancelled: "#dc2626",
    otherReleased: "#94a3b8",
    pending: "#4f46e5",
  };

  // "2026-03-10" -> "10 Mar": the days are the shop's calendar days (TIME_ZONE), sent as
  // plain dates; reading one as midnight UTC and printing it in UTC keeps it the same day.
  function shortDate(isoDate) {
    return new Date(isoDate + "T00:00:00Z").toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
  }

  function draw() {
    const source = document.getElementById("analytics-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.maintainAspectRatio = false;

    new Chart(document.getElementById("chart-conversion"), {
      type: "bar",
      data: {
        labels: data.byWarehouse.map((row) => row.city),
        datasets: [
          { label: "Conversion %", data: data.byWarehouse.map((row) => row.conversion), backgroundColor: COLOURS.confirmed },
          { label: "Expiry %", data: data.byWarehouse.map((row) => row.expiryRate), backgroundColor: COLOURS.expired },
          { label: "Cancel %", data: data.byWarehouse.map((row) => row.cancelRate), backgroundColor: COLOURS.cancelled },
        ],
      },
      options: { scales: { y: { beginAtZero: true, max: 100, ticks: { callback: (v) => v + "%" } } } },
    });

    const outcomes = [
      ["confirmed", "Confirmed"],
      ["expired", "Expired"],
      ["cancelled", "Cancelled"],
      ["otherReleased", "Other release"],
      ["pending", "Pending"],
    ];
    new Chart(document.getElementById("chart-outcomes"), {
      type: "bar",
      data: {
        labels: data.byDay.map((day) => shortDate(day.date)),
        datasets: outcomes.map(([key, label]) => ({
          label: label,
          data: data.byDay.map((day) => day[key]),
          backgroundColor: COLOURS[key],
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });

    new Chart(document.getElementById("chart-time-to-confirm"), {
      type: "bar",
      data: {
        labels: data.timeToConfirm.map((bucket) => bucket.label),
        datasets: [
          { label: "Confirmed holds", data: data.timeToConfirm.map((bucket) => bucket.count), backgroundColor: COLOURS.pending },
        ],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
