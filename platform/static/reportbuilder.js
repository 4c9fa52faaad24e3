/* The report builder: choosing another entity opens the builder on it (its fields differ). The form says
   when htmx has taken it over (data-ready: choices from then on are previewed); saving cancels a
   preview still on its way (else the page's departure aborts it mid-flight and htmx reports a send error).
   No inline handlers (the CSP forbids them). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var pick = document.getElementById("entity-pick");
    if (!pick) { return; }
    var go = document.querySelector(".crm-entity-go");
    if (go) { go.classList.add("visually-hidden"); }
    pick.addEventListener("change", function () { pick.form.submit(); });
    var form = document.getElementById("report-builder");
    if (!form || typeof htmx === "undefined") { return; }
    form.addEventListener("submit", function () { htmx.trigger(form, "htmx:abort"); });
    form.addEventListener("htmx:beforeRequest", function (event) {
      if (form.dataset.saving) { event.preventDefault(); }
    });
    form.addEventListener("submit", function () { form.dataset.saving = "1"; });
    form.dataset.ready = "1";
  });
})();
