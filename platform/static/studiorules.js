// The rule builder's trigger form: show only the settings of the chosen event, schedule and action type.
// Without script every panel shows; the server reads only the chosen ones.
(function () {
  "use strict";

  function value(scope, name) {
    var checked = scope.querySelector('[data-crm-switch="' + name + '"]:checked');
    if (checked) { return checked.value; }
    var select = scope.querySelector('select[data-crm-switch="' + name + '"]');
    return select ? select.value : "";
  }

  function apply(form) {
    form.querySelectorAll("[data-crm-show]").forEach(function (panel) {
      var parts = panel.dataset.crmShow.split(":"), scope = panel.parentNode.closest("[data-crm-scope]");
      panel.hidden = parts[1].split(" ").indexOf(value(scope, parts[0])) < 0;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector(".crm-trigger-form");
    if (!form) { return; }
    form.addEventListener("change", function (e) { if (e.target.matches("[data-crm-switch]")) { apply(form); } });
    apply(form);
  });
}());
