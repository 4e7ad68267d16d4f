// On a phone the sections scroll sideways in one row: bring the current one into view.
document.addEventListener("DOMContentLoaded", () => {
  const current = document.querySelector('.console-nav [aria-current="page"]');
  const row = current && current.closest(".console-nav");
  if (row && row.scrollWidth > row.clientWidth) {
    row.scrollLeft = current.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
  }
});
