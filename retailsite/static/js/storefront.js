// Storefront progressive enhancement; every page works without it. Loaded as a file because the
// Content-Security-Policy allows no inline scripts.
(function () {
  "use strict";
  // A form marked data-submit-once (placing an order) cannot be sent twice by a double click.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) {
      return;
    }
    if (form.dataset.submitted === "yes") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "yes";
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.setAttribute("aria-disabled", "true");
      button.textContent = button.dataset.busyText || button.textContent;
    }
  });
})();
