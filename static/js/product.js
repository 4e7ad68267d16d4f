/*
 * product.js: the product page's small behaviours, kept out of the page so the Content
 * Security Policy can forbid inline script. Load it in <head> without defer: it marks the
 * document as scripted ("js" class) before the first paint, so the stepper's buttons show
 * without a flash.
 *
 * - The quantity stepper: <button type="button" data-step="1" aria-controls="quantity">
 *   nudges the number input within its min and max; the input alone works too.
 * - Colour swatches: <span class="swatch" data-swatch="CSS background"> gets its colour as the
 *   --swatch custom property (set through the DOM, which the policy allows, where a
 *   style="" attribute would not be). Swatches in fragments htmx swaps in are painted too.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-step]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) return;
    if (Number(button.dataset.step) > 0) { input.stepUp(); } else { input.stepDown(); }
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  function paintSwatches(root) {
    root.querySelectorAll("[data-swatch]").forEach(function (swatch) {
      swatch.style.setProperty("--swatch", swatch.dataset.swatch);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { paintSwatches(document); });
  document.addEventListener("htmx:load", function (event) { paintSwatches(event.target); });
})();
