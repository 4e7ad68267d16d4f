/*
 * htmx-config.js: load right after htmx (both deferred). htmx would add a <style> element for
 * its request indicators, which the Content Security Policy refuses (style-src 'self', no
 * inline style); the same rules live in css/stockd.css instead. htmx reads its config when the
 * document is ready, after every deferred script has run, so this setting is in time.
 */
htmx.config.includeIndicatorStyles = false;

/*
 * Focus after a swap. When a swap removes the element that had keyboard focus ("Confirm
 * purchase" swapping in the payment panel), the browser drops focus to <body> and the next Tab
 * starts again at the top of the page. Move focus into the new content instead: to the element
 * marked data-focus-on-swap, else its first heading, else its first control, else the content
 * itself; an element that cannot take focus gets tabindex="-1" (focusable by script, not by
 * Tab). The swap's own target is searched before any out-of-band content it also brought.
 * Swaps that leave focus alone change nothing: typing in a search box that refreshes the list,
 * live stock figures, an element htmx refocuses itself (same id, or autofocus).
 */
(function () {
  const TARGETS = ["[data-focus-on-swap]", "h1, h2, h3, h4, h5, h6", "a[href], button, input, select, textarea"];
  let focusedBeforeSwap = null;
  let swapTarget = null;
  let swappedIn = [];

  function firstMatch(regions, selector) {
    for (const region of regions) {
      const found = region.matches(selector) ? region : region.querySelector(selector);
      if (found) return found;
    }
    return null;
  }

  // The content that replaced the target (outerHTML: the same id) or went into it (innerHTML).
  function isTheTarget(region, target) {
    return (target.isConnected && target.contains(region)) || (target.id !== "" && region.id === target.id);
  }

  function focusNewContent() {
    const regions = swappedIn.filter((node) => node instanceof Element && node.isConnected && !node.hidden);
    const lost = focusedBeforeSwap;
    const target = swapTarget;
    swappedIn = [];
    focusedBeforeSwap = null;
    swapTarget = null;
    const focusDropped = !document.activeElement || document.activeElement === document.body;
    if (!lost || lost === document.body || lost.isConnected || !focusDropped || !regions.length) return;
    const own = target ? regions.filter((region) => isTheTarget(region, target)) : [];
    const searched = own.length ? own : regions;
    let next = null;
    for (const selector of TARGETS) {
      next = next || firstMatch(searched, selector);
    }
    next = next || searched[searched.length - 1];
    if (next.tabIndex < 0 && !next.hasAttribute("tabindex")) next.setAttribute("tabindex", "-1");
    next.focus();
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    focusedBeforeSwap = document.activeElement;
    swapTarget = event.detail.target;
  });
  // htmx settles each element a swap put in the page (out-of-band ones too) in one loop:
  // collect them, and choose once the loop is over.
  document.addEventListener("htmx:afterSettle", function (event) {
    swappedIn.push(event.target);
    if (swappedIn.length === 1) queueMicrotask(focusNewContent);
  });
})();
