// The org tree: drag a unit (by its row) onto another unit's branch or to the top level; the drop posts the
// move form, and the server answers with the tree as it now stands (or says why it refused the move).
(function () {
  "use strict";

  function init() {
    var move = document.getElementById("crm-unit-move");
    if (!move || typeof window.Sortable !== "function") { return; }
    document.querySelectorAll("[data-crm-units]").forEach(function (list) {
      window.Sortable.create(list, {
        group: "units", sort: false, animation: 150, forceFallback: true, fallbackTolerance: 3,
        handle: ".crm-unit-row", filter: ".crm-unit-add", preventOnFilter: false, emptyInsertThreshold: 12,
        onStart: function () { document.body.classList.add("crm-unit-dragging"); },
        onEnd: function (event) {
          document.body.classList.remove("crm-unit-dragging");
          if (event.from === event.to) { return; }
          move.action = move.dataset.action.replace("__ID__", event.item.dataset.unit);
          move.elements.parent_id.value = event.to.dataset.parent;
          move.submit();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
}());
