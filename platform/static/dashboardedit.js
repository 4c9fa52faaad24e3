/* The dashboard editor: drag a widget by its grip to reorder (SortableJS, touch too); the hidden "order"
   inputs follow the rows, so the saved order is the order shown. Arrow keys on a focused grip move it. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("widget-order");
    if (!list) { return; }
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
  });
})();
