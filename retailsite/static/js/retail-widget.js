/* Retail personalization for a partner's own pages: a beacon and a "recommended for you" widget.
   No dependencies. Include once, with the store's API origin and a publishable key:

     <script src="https://API-HOST/static/js/retail-widget.js" data-endpoint="https://API-HOST/api/v1/browser"
             data-key="pk_..." defer></script>
     <div data-retailsite-widget data-k="6" data-product-url="/products/{id}"></div>

   The visitor is a random id kept in this site's localStorage. Events: RetailSite.track("view" | "cart",
   productId, recommendationId). A click on a widget item sends a "view" carrying the list's recommendation_id
   (so it is attributed) and then follows the link. All text is set with textContent: no HTML injection. */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = (script && script.dataset.endpoint || "").replace(/\/$/, "");
  var key = script && script.dataset.key || "";

  function randomId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function visitor() {
    try {
      var id = window.localStorage.getItem("retailsite_visitor");
      if (!id) { id = randomId(); window.localStorage.setItem("retailsite_visitor", id); }
      return id;
    } catch (e) {
      return randomId(); // storage blocked: a visitor per page view
    }
  }

  function url(path, params) {
    var query = "key=" + encodeURIComponent(key);
    Object.keys(params || {}).forEach(function (name) {
      query += "&" + encodeURIComponent(name) + "=" + encodeURIComponent(params[name]);
    });
    return endpoint + path + "?" + query;
  }

  function track(eventType, productId, recommendationId) {
    var body = JSON.stringify({
      visitor: visitor(), product_id: String(productId), event_type: eventType,
      recommendation_id: recommendationId || ""
    });
    // keepalive: the request survives the page navigating away (a click on a recommended item).
    return window.fetch(url("/events/"), {
      method: "POST", mode: "cors", keepalive: true, credentials: "omit",
      headers: {"Content-Type": "application/json"}, body: body
    }).catch(function () { /* analytics never breaks the page */ });
  }

  function render(element) {
    var k = element.dataset.k || "6";
    var template = element.dataset.productUrl || "#{id}";
    return window.fetch(url("/recommendations/", {visitor: visitor(), k: k}), {mode: "cors", credentials: "omit"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (list) {
        if (!list || !list.items.length) { return; }
        var section = document.createElement("section");
        section.className = "retailsite-strip";
        var title = document.createElement("h2");
        title.textContent = element.dataset.title || "Recommended for you";
        section.appendChild(title);
        var items = document.createElement("ul");
        list.items.forEach(function (item) {
          var entry = document.createElement("li");
          var link = document.createElement("a");
          link.href = template.replace("{id}", encodeURIComponent(item.product_id));
          link.textContent = item.name;
          link.dataset.recommendationId = list.recommendation_id;
          link.addEventListener("click", function (event) {
            event.preventDefault();
            var go = function () { window.location.href = link.href; };
            track("view", item.product_id, list.recommendation_id).then(go, go);
          });
          var price = document.createElement("span");
          price.className = "retailsite-price";
          price.textContent = item.price;
          var why = document.createElement("small");
          why.textContent = item.reason;
          entry.appendChild(link);
          entry.appendChild(price);
          entry.appendChild(why);
          items.appendChild(entry);
        });
        section.appendChild(items);
        element.replaceChildren(section);
      })
      .catch(function () { /* no strip rather than a broken page */ });
  }

  window.RetailSite = {track: track, render: render, visitor: visitor};
  function start() { document.querySelectorAll("[data-retailsite-widget]").forEach(render); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
