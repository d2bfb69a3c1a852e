/* Keyboard focus and announcements on the order form (templates/orders/form.html).
 *
 * The server decides where the focus belongs and renders it as `autofocus` (the
 * first field, or the first field with an error after a failed submit, or the
 * row edited without JavaScript) and as data-focus / data-announce on the rows
 * fieldset (#items). When HTMX swaps the rows in after "+ Add item" or "Remove",
 * this moves the focus there (the new row's product field; after a removal the
 * next row's, or "+ Add item" when the last row went) and says what happened in
 * the polite live region #items-status ("Item 2 removed."). No inline script,
 * no eval: loaded with `defer` from the form page, allowed by script-src 'self'.
 */
(function () {
  "use strict";

  var handled = typeof WeakSet === "function" ? new WeakSet() : null;

  function focusTarget(items) {
    var id = items.getAttribute("data-focus");
    var target = id ? document.getElementById(id) : null;
    if (target && document.activeElement !== target) {
      target.focus();
    }
  }

  function announce(text) {
    var region = document.getElementById("items-status");
    if (!region) {
      return;
    }
    // Empty first, then fill: the same words twice in a row ("Item 1 removed."
    // after removing the first row again) are still read out.
    region.textContent = "";
    if (text) {
      window.setTimeout(function () { region.textContent = text; }, 50);
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var items = document.getElementById("items");
    var swapped = event.target;
    if (!items || !swapped || !(swapped === items || items.contains(swapped) ||
                                (swapped.contains && swapped.contains(items)))) {
      return;
    }
    if (handled) {
      if (handled.has(items)) {
        return;  // one swap may settle more than one element
      }
      handled.add(items);
    }
    focusTarget(items);
    announce(items.getAttribute("data-announce") || "");
  });

  // Page load: `autofocus` does it in current browsers; this covers one that
  // does not, and is a no-op when the focus is already somewhere.
  function onLoad() {
    var items = document.getElementById("items");
    if (items && (!document.activeElement || document.activeElement === document.body)) {
      focusTarget(items);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onLoad);
  } else {
    onLoad();
  }
}());
