/* The field editor's options: drag a row by its grip to reorder (SortableJS, touch too; arrow keys on a
   focused grip move it), add a row from the template, remove a row, and show the chosen colour. The
   inputs are posted in the order shown, so the saved order is the order on screen. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("option-list");
    if (!list) { return; }
    window.crmSortableRows(list);
    list.addEventListener("click", function (event) {
      var remove = event.target.closest(".crm-opt-remove");
      if (!remove) { return; }
      var row = remove.closest("li");
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      var focus = next ? next.querySelector(".crm-opt-value") : document.querySelector(".crm-add-option");
      if (focus) { focus.focus(); }
    });
    list.addEventListener("change", function (event) {
      if (!event.target.matches(".crm-opt-color")) { return; }
      var swatch = event.target.parentElement.querySelector(".crm-swatch");
      swatch.className = "badge crm-swatch bg-" + event.target.value;
    });
    var add = document.querySelector(".crm-add-option");
    var template = document.getElementById("option-row");
    if (add && template) {
      add.addEventListener("click", function () {
        list.appendChild(template.content.cloneNode(true));
        list.lastElementChild.querySelector(".crm-opt-value").focus();
      });
    }
  });
})();
