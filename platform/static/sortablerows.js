/* Rows reordered by a grip: drag (SortableJS, touch too) or arrow keys on a focused grip. Inputs in the rows
   are posted in the order shown, so the saved order is the order on screen. Used by the dashboard editor
   and the field editor's options. */
window.crmSortableRows = function (list) {
  "use strict";
  if (typeof window.Sortable === "function") {
    window.Sortable.create(list, {handle: ".crm-grip", animation: 150, forceFallback: true});
  }
  list.addEventListener("keydown", function (event) {
    var grip = event.target.closest(".crm-grip");
    if (!grip || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) { return; }
    var row = grip.closest("li");
    var other = event.key === "ArrowUp" ? row.previousElementSibling : row.nextElementSibling;
    if (!other) { return; }
    event.preventDefault();
    list.insertBefore(row, event.key === "ArrowUp" ? other : other.nextElementSibling);
    grip.focus();
  });
};
