/* The customer picker (templates/customers/_picker.html): an ARIA 1.2 combobox
 * with a listbox popup.
 *
 * HTMX fetches the options while the person types (GET /customers/suggest,
 * the input's hx-* attributes); this file adds what HTMX cannot:
 *   - the request asks for ?q=<the text>, and an answer that no longer fits the
 *     text (typed over, or a customer picked meanwhile) is dropped;
 *   - Arrow Down/Up move aria-activedescendant through the options, Enter picks
 *     the active one (without submitting the form), Escape closes the list,
 *     Tab and leaving the field close it too, a click picks;
 *   - picking sets the hidden id field and the visible text; typing again
 *     clears the id, so the server reads the text instead;
 *   - "Create customer “…”" POSTs /customers/quick (with the page's CSRF token)
 *     and picks the new customer; the rest of the form is left as it is;
 *   - the number of results, a pick and a failure are said in the polite
 *     status region.
 * Without this file the picker is a plain text field and the hidden id field
 * stays disabled (never submitted): the server matches or makes the customer
 * from the text. No inline script, no eval (CSP script-src 'self').
 */
(function () {
  "use strict";

  var ROOT = "[data-customer-picker]";
  var byList = {};  // listbox id -> its picker

  function announce(picker, text) {
    var region = picker.status;
    if (!region) {
      return;
    }
    // Empty first, then fill: the same words twice in a row are still read.
    region.textContent = "";
    if (text) {
      window.setTimeout(function () { region.textContent = text; }, 50);
    }
  }

  function note(picker, text) {
    if (!picker.note) {
      return;
    }
    picker.note.textContent = text || "";
    picker.note.hidden = !text;
  }

  function listOf(picker) {
    // HTMX replaces the listbox (outerHTML): look it up each time.
    return document.getElementById(picker.input.getAttribute("aria-controls"));
  }

  function optionsOf(picker) {
    var list = listOf(picker);
    return list ? Array.prototype.slice.call(list.querySelectorAll("[role='option']")) : [];
  }

  function isOpen(picker) {
    var list = listOf(picker);
    return Boolean(list && !list.hidden && optionsOf(picker).length);
  }

  function activeOption(picker) {
    var id = picker.input.getAttribute("aria-activedescendant");
    var option = id ? document.getElementById(id) : null;
    return option && listOf(picker) && listOf(picker).contains(option) ? option : null;
  }

  function setActive(picker, option) {
    optionsOf(picker).forEach(function (each) {
      each.setAttribute("aria-selected", each === option ? "true" : "false");
    });
    if (option) {
      picker.input.setAttribute("aria-activedescendant", option.id);
      if (option.scrollIntoView) {
        option.scrollIntoView({block: "nearest"});
      }
    } else {
      picker.input.removeAttribute("aria-activedescendant");
    }
  }

  function open(picker) {
    var list = listOf(picker);
    if (!list || !optionsOf(picker).length) {
      close(picker);
      return;
    }
    list.hidden = false;
    picker.input.setAttribute("aria-expanded", "true");
  }

  function close(picker) {
    var list = listOf(picker);
    setActive(picker, null);
    if (list) {
      list.hidden = true;
    }
    picker.input.setAttribute("aria-expanded", "false");
  }

  function move(picker, step) {
    var options = optionsOf(picker);
    if (!options.length) {
      return;
    }
    if (!isOpen(picker)) {
      open(picker);
    }
    var index = options.indexOf(activeOption(picker));
    if (index === -1) {
      index = step > 0 ? 0 : options.length - 1;
    } else {
      index = (index + step + options.length) % options.length;
    }
    setActive(picker, options[index]);
  }

  function choose(picker, id, name, created) {
    picker.hidden.value = String(id);
    picker.input.value = name;
    picker.pickedName = name;
    picker.suppressed = name;  // an answer still on its way must not reopen the list
    close(picker);
    note(picker, "");
    announce(picker, (created ? "Customer “" + name + "” created and chosen."
                              : "Customer “" + name + "” chosen."));
    var detail = {id: id, name: name, created: Boolean(created)};
    var event;
    if (typeof window.CustomEvent === "function") {
      event = new CustomEvent("customer-picker:picked", {bubbles: true, detail: detail});
    } else {
      event = document.createEvent("CustomEvent");
      event.initCustomEvent("customer-picker:picked", true, false, detail);
    }
    picker.root.dispatchEvent(event);
  }

  function csrfToken(picker) {
    if (picker.root.getAttribute("data-csrf")) {
      return picker.root.getAttribute("data-csrf");
    }
    var form = picker.input.form;
    var field = form ? form.querySelector("input[name='csrf_token']") : null;
    if (field) {
      return field.value;
    }
    try {  // <body hx-headers='{"X-CSRFToken": …}'> (templates/base.html)
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (ignored) {
      return "";
    }
  }

  function create(picker, option) {
    var name = option.getAttribute("data-name") || "";
    var url = picker.root.getAttribute("data-quick-url");
    if (!name || !url || picker.creating) {
      return;
    }
    if (typeof window.fetch !== "function" || typeof window.FormData !== "function") {
      // an old browser: the text is submitted with the form, and the server makes it
      picker.input.value = name;
      close(picker);
      return;
    }
    picker.creating = true;
    option.setAttribute("aria-disabled", "true");
    announce(picker, "Creating customer “" + name + "”…");
    var body = new FormData();
    body.append("name", name);
    window.fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(picker), "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.ok && answer && answer.id) {
          choose(picker, answer.id, answer.name || name, true);
          return;
        }
        var why = (answer && answer.error) ||
                  (response.status === 429 ? "Too many changes in a short time; try again in a minute."
                                           : "The customer could not be created (" + response.status + ").");
        close(picker);
        note(picker, why);
        announce(picker, why);
      });
    }).catch(function () {
      var why = "The customer could not be created: the server did not answer. Try again.";
      close(picker);
      note(picker, why);
      announce(picker, why);
    }).then(function () {
      picker.creating = false;
      option.removeAttribute("aria-disabled");
    });
  }

  function pick(picker, option) {
    if (!option || option.getAttribute("aria-disabled") === "true") {
      return;
    }
    if (option.getAttribute("data-create")) {
      create(picker, option);
    } else {
      choose(picker, option.getAttribute("data-id"), option.getAttribute("data-name") || "", false);
    }
  }

  function onKeyDown(picker, event) {
    if (event.altKey && event.key === "ArrowDown") {  // the ARIA pattern's "open without moving"
      open(picker);
      event.preventDefault();
      return;
    }
    switch (event.key) {
      case "ArrowDown":
      case "Down":
        move(picker, 1);
        event.preventDefault();
        break;
      case "ArrowUp":
      case "Up":
        move(picker, -1);
        event.preventDefault();
        break;
      case "Enter":
        if (isOpen(picker) && activeOption(picker)) {
          event.preventDefault();  // a pick, not the form's submission
          pick(picker, activeOption(picker));
        } else if (isOpen(picker)) {
          close(picker);
        }
        break;
      case "Escape":
      case "Esc":
        if (isOpen(picker)) {
          event.preventDefault();
          close(picker);
        }
        break;
      case "Tab":
        close(picker);
        break;
      default:
        break;
    }
  }

  function onInput(picker) {
    note(picker, "");
    picker.suppressed = null;
    if (picker.input.value !== picker.pickedName) {
      picker.hidden.value = "";  // typed over: the server reads the text now
    }
    if (!picker.input.value.trim()) {
      close(picker);
    }
  }

  function setUp(root) {
    if (root.getAttribute("data-picker-ready")) {
      return;
    }
    var input = root.querySelector("[role='combobox']");
    var hidden = root.querySelector("[data-picker-id]");
    if (!input || !hidden) {
      return;
    }
    root.setAttribute("data-picker-ready", "1");
    var picker = {
      root: root, input: input, hidden: hidden,
      status: document.getElementById(input.id + "-status"),
      note: root.querySelector("[data-picker-note]"),
      pickedName: root.getAttribute("data-picked-name") || "",
      lastSent: null, suppressed: null, creating: false
    };
    byList[input.getAttribute("aria-controls")] = picker;
    hidden.disabled = false;  // JavaScript keeps it in step with the text from here on
    if (!picker.pickedName || input.value !== picker.pickedName) {
      hidden.value = "";
    }

    input.addEventListener("keydown", function (event) { onKeyDown(picker, event); });
    input.addEventListener("input", function () { onInput(picker); });
    input.addEventListener("blur", function () { close(picker); });
    // The list is outside the input: keep the focus in the input on a click
    // (a blur would close the list before the click lands).
    root.addEventListener("mousedown", function (event) {
      if (event.target.closest && event.target.closest("[role='listbox']")) {
        event.preventDefault();
      }
    });
    root.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest("[role='option']") : null;
      if (option && listOf(picker) && listOf(picker).contains(option)) {
        pick(picker, option);
      }
    });

    input.addEventListener("htmx:configRequest", function (event) {
      var value = input.value;
      if (!value.trim()) {
        event.preventDefault();  // nothing to look for
        picker.lastSent = null;
        close(picker);
        return;
      }
      event.detail.parameters.q = value;
      picker.lastSent = value;
    });
    input.addEventListener("htmx:beforeSwap", function (event) {
      if (input.value !== picker.lastSent || picker.suppressed === input.value ||
          document.activeElement !== input) {
        event.detail.shouldSwap = false;  // a late answer to an older text
      }
    });
  }

  function setUpAll(scope) {
    var roots = (scope && scope.querySelectorAll) ? scope.querySelectorAll(ROOT) : [];
    Array.prototype.forEach.call(roots, setUp);
    if (scope && scope.matches && scope.matches(ROOT)) {
      setUp(scope);
    }
  }

  // A new listbox arrived (HTMX swapped it in): show it and say what it holds.
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.target;
    if (!list || list.getAttribute("role") !== "listbox" || !list.id) {
      return;
    }
    var picker = Object.prototype.hasOwnProperty.call(byList, list.id) ? byList[list.id] : null;
    if (!picker || !document.body.contains(picker.input)) {
      return;
    }
    setActive(picker, null);
    if (list.querySelector("[role='option']")) {
      open(picker);
    } else {
      close(picker);
    }
    announce(picker, list.getAttribute("data-announce") || "");
  });

  // Pickers in content HTMX swaps in later (a form part) are set up too.
  document.addEventListener("htmx:load", function (event) { setUpAll(event.target); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  } else {
    setUpAll(document);
  }
}());
