/* The report builder: choosing another entity opens the builder on it (its fields differ). No inline
   handlers (the CSP forbids them). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var pick = document.getElementById("entity-pick");
    if (!pick) { return; }
    var go = document.querySelector(".crm-entity-go");
    if (go) { go.classList.add("visually-hidden"); }
    pick.addEventListener("change", function () { pick.form.submit(); });
  });
})();
