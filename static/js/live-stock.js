/*
 * live-stock.js: keep the stock counts on a page current from GET /events/stock/ (Server-Sent
 * Events), with no reload. No framework. The server renders every count, so the page reads
 * right without JavaScript; this script only keeps the counts moving.
 *
 * Include it with the stream's URL (a product's pages filter to that product):
 *
 *   <script src="/static/js/live-stock.js" defer data-stream="/events/stock/?product=12"></script>
 *
 * Each message is {productId, warehouseId, totalStock, reservedStock, available, eventId}.
 * It updates, wherever they are on the page:
 *   - catalogue and landing cards: article.product[data-product=P][data-stock-W] (units per
 *     warehouse), its .nearest[data-warehouse=W] .count, its [data-testid=total] and its
 *     sold-out state;
 *   - product page: .product-page[data-product-id=P] label[data-warehouse-id=W] [data-available],
 *     the units badge, [data-testid=total-available] and [data-testid=chosen-available];
 *   - anything else: [data-live-row][data-product=P][data-warehouse=W] [data-available].
 * Elements swapped in by htmx are found too: nothing is looked up in advance.
 *
 * A product's stream also sends `sale` events, {productId, state, saleStartsAt, saleEndsAt}
 * ("upcoming", "open" or "ended"), as it opens and whenever the sale opens, ends or moves, on
 * the server's clock. The product page's buy panel says what it was rendered for
 * (#buy-panel[data-sale-state][data-sale-starts-at][data-sale-ends-at]); when an event says
 * otherwise, the panel gets a `sale:changed` event and fetches itself again (its hx-get), so
 * "On sale in 00:00:03" turns to "Reserve" by itself. <html data-sale-turned-by="stream">
 * records that the stream did it (tests). Every event is also dispatched on the document as
 * `stock:sale`.
 *
 * A product's stream also sends `preorder` events, {productId, offers: {W: {state, remaining,
 * eta}}} for its rows with preorder terms, as it opens and whenever they change. The buy panel's
 * preorder box says what it was rendered for (#preorder[data-preorder-warehouse]
 * [data-preorder-state][data-preorder-left][data-preorder-eta]); when an event says otherwise
 * for its row (a row missing from it offers none), or a stock message says units are available
 * there again, the box gets a `preorder:changed` event and fetches the buy panel again (its
 * hx-get), so "N preorder places left" counts down. Every event is also dispatched on the
 * document as `stock:preorder`.
 *
 * The browser reconnects by itself with Last-Event-ID; if the stream is closed for good
 * (a 502 during a deploy, a 503 from a server that does not stream) it tries again after 5 s,
 * then slower, up to a minute; then and when the page comes back from the back-forward
 * cache it reconnects with ?lastEventId= so no change is missed. <html data-live-stock>
 * says "open", "reconnecting" or "closed" (tests wait for "open").
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.EventSource) return;
  var streamUrl = script.getAttribute("data-stream") || "/events/stock/";
  var root = document.documentElement;
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var source = null;
  var lastEventId = "";
  var retryTimer = null;
  var retryDelay = 5000;

  function withLastEventId(url) {
    if (!lastEventId) return url;
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "lastEventId=" + encodeURIComponent(lastEventId);
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(withLastEventId(streamUrl));
    source.onopen = function () {
      retryDelay = 5000;
      root.setAttribute("data-live-stock", "open");
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        root.setAttribute("data-live-stock", "closed");
        // Closed for good (a 503 from a server that does not stream): try again, slower.
        clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      } else {
        root.setAttribute("data-live-stock", "reconnecting");
      }
    };
    source.onmessage = function (event) {
      if (event.lastEventId) lastEventId = event.lastEventId;
      var change;
      try { change = JSON.parse(event.data); } catch (error) { return; }
      apply(change);
    };
    source.addEventListener("sale", function (event) {
      var sale;
      try { sale = JSON.parse(event.data); } catch (error) { return; }
      applySale(sale);
      document.dispatchEvent(new CustomEvent("stock:sale", { detail: sale }));
    });
    source.addEventListener("preorder", function (event) {
      var preorders;
      try { preorders = JSON.parse(event.data); } catch (error) { return; }
      applyPreorders(preorders);
      document.dispatchEvent(new CustomEvent("stock:preorder", { detail: preorders }));
    });
  }

  function preorderBox(productId) {
    var page = document.querySelector(".product-page" + byAttr("data-product-id", productId));
    return page && page.querySelector("#preorder[data-preorder-warehouse]");
  }

  function applyPreorders(preorders) {
    var box = preorderBox(preorders.productId);
    if (!box || !window.htmx) return;
    var offer = (preorders.offers || {})[box.getAttribute("data-preorder-warehouse")] ||
      { state: "", remaining: 0, eta: "" };
    var same = box.getAttribute("data-preorder-state") === offer.state &&
      box.getAttribute("data-preorder-left") === String(offer.remaining) &&
      box.getAttribute("data-preorder-eta") === (offer.eta || "");
    if (!same) window.htmx.trigger(box, "preorder:changed");
  }

  function applyToPreorder(change) {
    // Units back on sale there: the panel offers them instead of preorders.
    var box = preorderBox(change.productId);
    if (!box || !window.htmx || change.available <= 0) return;
    if (box.getAttribute("data-preorder-warehouse") !== String(change.warehouseId)) return;
    if (box.getAttribute("data-preorder-state")) window.htmx.trigger(box, "preorder:changed");
  }

  function applySale(sale) {
    var page = document.querySelector(".product-page" + byAttr("data-product-id", sale.productId));
    var panel = page && page.querySelector("#buy-panel[data-sale-state]");
    if (!panel) return;
    var same = panel.getAttribute("data-sale-state") === sale.state &&
      panel.getAttribute("data-sale-starts-at") === (sale.saleStartsAt || "") &&
      panel.getAttribute("data-sale-ends-at") === (sale.saleEndsAt || "");
    if (same || !window.htmx) return;
    root.setAttribute("data-sale-turned-by", "stream");
    window.htmx.trigger(panel, "sale:changed");
  }

  function byAttr(name, value) {
    return "[" + name + '="' + String(value).replace(/["\\]/g, "") + '"]';
  }

  function flash(element) {
    if (reduceMotion || !element.animate) return;
    element.animate([{ backgroundColor: "#fde68a" }, { backgroundColor: "transparent" }], { duration: 1200 });
  }

  function setCount(element, value) {
    if (element.textContent.trim() === String(value)) return false;
    element.textContent = String(value);
    flash(element);
    return true;
  }

  function sumOf(elements) {
    var total = 0;
    elements.forEach(function (element) { total += parseInt(element.textContent, 10) || 0; });
    return total;
  }

  function applyToCatalogue(change) {
    var cards = document.querySelectorAll("article.product" + byAttr("data-product", change.productId));
    var key = "stock-" + change.warehouseId;  // data-stock-W="units" on the card
    cards.forEach(function (card) {
      if (card.dataset[key] === undefined) return;
      card.dataset[key] = String(Math.max(0, change.available));
      var nearest = card.querySelector(".nearest" + byAttr("data-warehouse", change.warehouseId));
      if (nearest) {
        setCount(nearest.querySelector(".count"), Math.max(0, change.available));
        nearest.classList.toggle("out", change.available <= 0);
      }
      var total = 0;
      Object.keys(card.dataset).forEach(function (name) {
        if (/^stock-\d+$/.test(name)) total += parseInt(card.dataset[name], 10) || 0;
      });
      var totalElement = card.querySelector('[data-testid="total"]');
      if (totalElement) setCount(totalElement, total);
      card.classList.toggle("sold-out", total === 0);
      var price = card.querySelector(".price");
      var badge = card.querySelector('[data-testid="sold-out"]');
      if (total === 0 && !badge && price) {
        badge = document.createElement("span");
        badge.className = "badge bad";
        badge.setAttribute("data-testid", "sold-out");
        badge.textContent = "Sold out";
        price.append(" ", badge);
      } else if (total > 0 && badge) {
        badge.remove();
      }
    });
  }

  function applyToProductPage(change) {
    var page = document.querySelector(".product-page" + byAttr("data-product-id", change.productId));
    if (!page) return;
    var label = page.querySelector("label" + byAttr("data-warehouse-id", change.warehouseId));
    var count = label && label.querySelector("[data-available]");
    if (!count) return;
    var available = Math.max(0, change.available);
    var units = count.closest(".units");
    if (units && (available === 0) !== count.hidden) {
      // Between "N available" and "Sold out" the badge's words change, not just the number.
      units.textContent = "";
      count = document.createElement("span");
      count.setAttribute("data-available", "");
      units.append(count, available ? " available" : "Sold out");
      count.hidden = available === 0;
    }
    setCount(count, available);
    label.classList.toggle("out", available === 0);
    if (units) {
      units.classList.remove("ok", "warn", "bad");
      units.classList.add(available === 0 ? "bad" : available < 5 ? "warn" : "ok");
    }
    var total = page.querySelector('[data-testid="total-available"]');
    if (total) setCount(total, sumOf(page.querySelectorAll("label[data-warehouse-id] [data-available]")));
    var chosen = page.querySelector('input[name="warehouse"]:checked');
    var chosenCount = page.querySelector('[data-testid="chosen-available"]');
    if (chosen && chosenCount && chosen.value === String(change.warehouseId)) setCount(chosenCount, available);
  }

  function applyToRows(change) {
    var selector = "[data-live-row]" + byAttr("data-product", change.productId) +
      byAttr("data-warehouse", change.warehouseId) + " [data-available]";
    document.querySelectorAll(selector).forEach(function (count) {
      setCount(count, Math.max(0, change.available));
    });
  }

  function apply(change) {
    applyToCatalogue(change);
    applyToProductPage(change);
    applyToRows(change);
    applyToPreorder(change);
    document.dispatchEvent(new CustomEvent("stock:change", { detail: change }));
  }

  // A page in the back-forward cache must not hold a stream open on the server.
  window.addEventListener("pagehide", function () {
    clearTimeout(retryTimer);
    if (source) { source.close(); source = null; }
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) connect(); });
  connect();
})();
