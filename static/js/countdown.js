/*
 * countdown.js: a live countdown to a hold's expiry, on the server's clock. No framework.
 *
 * The server renders everything (so the page reads right without JavaScript); this script
 * only makes it tick. Mark up one countdown like this:
 *
 *   <div data-countdown
 *        data-countdown-seconds="593"       required: seconds left, computed by the server
 *        data-countdown-total="600"         optional: the whole hold's length, for the bar
 *        data-countdown-warn="60"           optional: "ending" from this many seconds (60)
 *        data-countdown-server-now="..."    optional, information only: the server's now
 *        data-countdown-expires-at="...">   optional, information only: the server's expiry
 *     <span data-countdown-clock role="timer">09:53</span>   text becomes mm:ss (h:mm:ss)
 *
 * With data-countdown-format="hh:mm:ss" the clock always shows two-digit hours (00:09:53).
 *     <progress data-countdown-bar max="600" value="593"></progress>   value = seconds left
 *   </div>
 *
 * It counts down from data-countdown-seconds with the browser's monotonic clock
 * (performance.now), never reading the wall clock, so a browser whose clock is wrong still
 * shows the server's time left. It sets data-countdown-state on the element: "running",
 * "ending" (at or below data-countdown-warn seconds; style it), then "ended".
 *
 * At zero it dispatches a bubbling `countdown:end` event on the element, once. Let the page
 * ask the server for its fresh state then (the server expires a due hold when it is read):
 *
 *   <article id="checkout" hx-get="/checkout/<id>/" hx-trigger="countdown:end"
 *            hx-swap="outerHTML"> ... the countdown somewhere inside ... </article>
 *
 * or, without htmx, add data-countdown-reload to the element and the page reloads at zero.
 *
 * Countdowns start on page load and in every fragment htmx swaps in (htmx:load); call
 * window.stockdCountdown.start(rootElement) for markup added another way. A countdown whose
 * element left the page stops by itself.
 */
(function () {
  "use strict";

  var TICK_MS = 250;

  function clock(seconds, withHours) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    var mm = (minutes < 10 ? "0" : "") + minutes;
    var ss = (rest < 10 ? "0" : "") + rest;
    if (withHours) return (hours < 10 ? "0" : "") + hours + ":" + mm + ":" + ss;
    return hours ? hours + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function run(element) {
    if (element.stockdCountdown) return;
    var seconds = parseFloat(element.getAttribute("data-countdown-seconds"));
    if (!isFinite(seconds)) return;
    var warn = parseFloat(element.getAttribute("data-countdown-warn"));
    if (!isFinite(warn)) warn = 60;
    var face = element.querySelector("[data-countdown-clock]");
    var bar = element.querySelector("[data-countdown-bar]");
    var withHours = element.getAttribute("data-countdown-format") === "hh:mm:ss";
    var startedAt = performance.now();
    var shown = null;
    var timer = null;

    function tick() {
      if (!element.isConnected) {
        clearInterval(timer);
        return;
      }
      var left = Math.max(0, seconds - (performance.now() - startedAt) / 1000);
      var whole = Math.ceil(left);
      if (bar) bar.value = left;
      if (whole === shown) return;
      shown = whole;
      if (face) face.textContent = clock(whole, withHours);
      var state = whole <= 0 ? "ended" : whole <= warn ? "ending" : "running";
      element.setAttribute("data-countdown-state", state);
      if (state === "ended") {
        clearInterval(timer);
        element.dispatchEvent(new CustomEvent("countdown:end", { bubbles: true }));
        if (element.hasAttribute("data-countdown-reload")) window.location.reload();
      }
    }

    element.stockdCountdown = { tick: tick };
    timer = setInterval(tick, TICK_MS);
    tick();
  }

  function start(root) {
    var scope = root || document;
    if (scope.matches && scope.matches("[data-countdown]")) run(scope);
    if (scope.querySelectorAll) scope.querySelectorAll("[data-countdown]").forEach(run);
  }

  // A tab in the background ticks rarely; catch up the moment it is shown again.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    document.querySelectorAll("[data-countdown]").forEach(function (element) {
      if (element.stockdCountdown) element.stockdCountdown.tick();
    });
  });
  document.addEventListener("htmx:load", function (event) {
    start(event.target);
  });
  // Start after DOMContentLoaded, so htmx (loaded before this script) is listening for
  // countdown:end before a countdown can end.
  if (document.readyState === "complete") {
    start(document);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      start(document);
    });
  }

  window.stockdCountdown = { start: start };
})();
