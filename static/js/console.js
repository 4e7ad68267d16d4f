// Every console page: an htmx form refused with 400 names the element its errors replace
// (HX-Retarget), and htmx, which leaves 4xx answers unswapped by default, swaps it in.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    if (xhr.status === 400 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

// On a phone the sections scroll sideways in one row: bring the current one into view.
document.addEventListener("DOMContentLoaded", () => {
  const current = document.querySelector('.console-nav [aria-current="page"]');
  const row = current && current.closest(".console-nav");
  if (row && row.scrollWidth > row.clientWidth) {
    row.scrollLeft = current.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
  }
});
