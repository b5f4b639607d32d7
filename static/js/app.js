// Gennie Admin: the little behaviour htmx does not give. Loaded as a file: the CSP forbids
// inline scripts. Everything here is progressive enhancement; pages work without it.
(function () {
  "use strict";

  var REASONS = {
    403: "you no longer have access (sign in again)",
    404: "it no longer exists",
    503: "the storage backend is unavailable"
  };

  function requestStatus() {
    return document.getElementById("request-status");
  }

  function showRequestStatus(text) {
    var box = requestStatus();
    if (!box) { return; }
    box.textContent = text;
    box.hidden = false;
  }

  // htmx does not swap error responses: say so, instead of leaving a stale page silently.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    showRequestStatus("Could not refresh: " + (REASONS[status] || "the server answered " + status) +
      ". The page shows the last data received.");
  });

  document.addEventListener("htmx:sendError", function () {
    showRequestStatus("Could not reach the dashboard. Check the connection; the page shows the last data received.");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var box = requestStatus();
    if (box && event.detail.successful) { box.hidden = true; }
  });

  // Bulk delete: "select all on this page" ticks the rows' boxes too (without JavaScript the
  // server reads it as "every id on this page"); unticking a row unticks it.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var form = box.form;
    // getAttribute: the rows' checkboxes are named "id", which shadows the form's own id property.
    if (!form || form.getAttribute("id") !== "bulk-delete") { return; }
    if (box.hasAttribute("data-bulk-all")) {
      form.querySelectorAll("[data-bulk-row], [data-bulk-all]").forEach(function (other) { other.checked = box.checked; });
    } else if (box.hasAttribute("data-bulk-row") && !box.checked) {
      form.querySelectorAll("[data-bulk-all]").forEach(function (all) { all.checked = false; });
    }
  });

  // "/" jumps to the search box, as on GitHub and many admin tools (not while typing).
  document.addEventListener("keydown", function (event) {
    var search = document.getElementById("id_q");
    var typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key !== "/" || !search || typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    event.preventDefault();
    search.focus();
    search.select();
  });
})();
