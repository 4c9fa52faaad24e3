/* The dashboard editor: drag a widget by its grip to reorder (SortableJS, touch too); the hidden "order"
   inputs follow the rows, so the saved order is the order shown. Arrow keys on a focused grip move it. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("widget-order");
    if (!list) { return; }
    window.crmSortableRows(list);
  });
})();
