/* Sign-up offers the browser's own time zone: the select marked
 * data-browser-zone="1" (a fresh form, not one sent back with errors, where
 * the user's choice stands) is set to it when the list has it. Without
 * JavaScript the select stays on UTC. */
(function () {
  "use strict";
  var select = document.querySelector("select[data-browser-zone='1']");
  if (!select || !window.Intl || !Intl.DateTimeFormat) return;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  for (var i = 0; i < select.options.length; i++) {
    if (select.options[i].value === zone) {
      select.value = zone;
      return;
    }
  }
})();
