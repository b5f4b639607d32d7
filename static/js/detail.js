// Detail page helpers: copy buttons and the delete dialog. The page works without them:
// copy buttons stay hidden, and "Delete…" is a link to a confirmation page.
(function () {
  "use strict";

  function flash(button, text) {
    var original = button.textContent;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = original; }, 1500);
  }

  function copy(button) {
    var source = document.getElementById(button.dataset.copyTarget);
    if (!source || !navigator.clipboard) {
      flash(button, "Copy unavailable");
      return;
    }
    navigator.clipboard.writeText(source.textContent).then(
      function () { flash(button, "Copied"); },
      function () { flash(button, "Copy failed"); }
    );
  }

  // "Generations" in the breadcrumbs goes back to the list as it was left (filters, search,
  // page), when the user came from it; otherwise it stays the plain list link.
  function restoreListLink() {
    var link = document.querySelector("[data-list-link]");
    if (!link || !document.referrer) {
      return;
    }
    var from = new URL(document.referrer);
    if (from.origin === window.location.origin && from.pathname === new URL(link.href).pathname) {
      link.href = from.href;
    }
  }

  function setUp() {
    restoreListLink();
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
    document.querySelectorAll("[data-open-dialog]").forEach(function (link) {
      var dialog = document.getElementById(link.dataset.openDialog);
      if (!dialog || typeof dialog.showModal !== "function") {
        return; // follow the link to the confirmation page instead
      }
      link.addEventListener("click", function (event) {
        event.preventDefault();
        dialog.showModal();
      });
      dialog.querySelectorAll("[data-close-dialog]").forEach(function (cancel) {
        cancel.addEventListener("click", function (event) {
          event.preventDefault();
          dialog.close();
          link.focus();
        });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
