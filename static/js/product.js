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
 * - The picture's enlarge button: <button data-enlarge="DIALOG-ID"> opens that <dialog> in the
 *   page (modal: Escape, its close button or a click outside closes it, and focus returns to
 *   the button). Without JavaScript the button is hidden (it needs the "js" class).
 * - The buy panel's "change" link (href="#warehouse-choice") also unfolds the other warehouses.
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

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("button[data-enlarge]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.enlarge);
      if (dialog && !dialog.open) dialog.showModal();
      return;
    }
    if (event.target.closest('a[href="#warehouse-choice"]')) {
      var others = document.querySelector("#warehouse-choice details");
      if (others) others.open = true;
    } else if (event.target.closest("[data-close-dialog]")) {
      event.target.closest("dialog").close();
    } else if (event.target.tagName === "DIALOG") {
      event.target.close();  // a click on the backdrop, outside the picture
    }
  });

  function paintSwatches(root) {
    root.querySelectorAll("[data-swatch]").forEach(function (swatch) {
      swatch.style.setProperty("--swatch", swatch.dataset.swatch);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { paintSwatches(document); });
  document.addEventListener("htmx:load", function (event) { paintSwatches(event.target); });
})();
