// The studio's forms: show only the chosen field type's options, and suggest a technical name from the
// English label until the admin types one herself; settings behind a switch show while it is on.
(function () {
  "use strict";

  function initTypePanels(select) {
    var form = select.form;
    function apply() {
      form.querySelectorAll("[data-crm-for-types]").forEach(function (panel) {
        var show = panel.dataset.crmForTypes.split(" ").indexOf(select.value) >= 0;
        panel.hidden = !show;
        panel.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !show; });
      });
    }
    select.addEventListener("change", apply);
    apply();
  }

  function slug(text) {
    var s = text.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (s && !/^[a-z]/.test(s)) { s = "f_" + s; }
    return s.slice(0, 40);
  }

  function initSlug(input) {
    var source = document.getElementById(input.dataset.crmSlugFrom);
    if (!source) { return; }
    var touched = input.value !== "";
    input.addEventListener("input", function () { touched = input.value !== ""; });
    function follow() { if (!touched) { input.value = slug(source.value); } }
    source.addEventListener("input", follow);
    // A label typed while the page was still loading (before this ran) is followed too.
    if (source.value) { follow(); }
  }

  // Settings that only matter while a switch is on (the lead pool's) hide while it is off.
  function initShownBy(panel) {
    var toggle = document.getElementById(panel.dataset.crmShownBy);
    if (!toggle) { return; }
    function apply() { panel.hidden = !toggle.checked; }
    toggle.addEventListener("change", apply);
    apply();
  }

  // Forms that throw work away ask first (no inline onclick: the page may run under a strict CSP).
  function initConfirm(form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.crmConfirm)) { event.preventDefault(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-crm-confirm]").forEach(initConfirm);
    document.querySelectorAll("[data-crm-type-select]").forEach(initTypePanels);
    document.querySelectorAll("[data-crm-slug-from]").forEach(initSlug);
    document.querySelectorAll("[data-crm-shown-by]").forEach(initShownBy);
  });
}());
