/* Draws every <canvas data-chart="ID"> from the JSON in <script type="application/json" id="ID">.
   No inline script: the page only carries data, so the Content-Security-Policy can forbid inline code. */
(function () {
  "use strict";
  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") { return; }
    var config = JSON.parse(source.textContent);
    config.options = config.options || {};
    config.options.responsive = true;
    config.options.maintainAspectRatio = false;
    new Chart(canvas.getContext("2d"), config);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
