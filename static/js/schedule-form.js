/* The schedule form's timing fields (templates/schedules/form.html): only the
 * ones the chosen "Repeat" uses are shown (the weekday for "Every week", the
 * day for "Every month", the cron for "Custom", the time for all but
 * "Custom"). Without JavaScript every field shows, each saying when it
 * applies, and the server reads only the ones that count. Loaded with
 * `defer`; no inline script (script-src 'self').
 */
(function () {
  "use strict";

  function update(select) {
    var chosen = select.value;
    var fields = document.querySelectorAll("[data-when]");
    for (var i = 0; i < fields.length; i++) {
      var wanted = fields[i].getAttribute("data-when").split(" ");
      fields[i].hidden = wanted.indexOf(chosen) === -1;
    }
  }

  /* "Run today: Last 7 days: Dec 1–7, including today." for the chosen range
   * (the server wrote every range's words into data-dates) */
  function showDates(range, hint) {
    var dates = JSON.parse(hint.getAttribute("data-dates") || "{}");
    if (dates[range.value]) {
      hint.textContent = "Run today: " + dates[range.value] + ".";
    }
  }

  function start() {
    var range = document.getElementById("range");
    var hint = document.getElementById("range-dates");
    if (range && hint) {
      range.addEventListener("change", function () { showDates(range, hint); });
    }
    var select = document.getElementById("frequency");
    if (!select) {
      return;
    }
    select.addEventListener("change", function () { update(select); });
    update(select);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
