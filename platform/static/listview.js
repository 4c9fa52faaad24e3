/* The list view: ticking rows opens the bulk bar; a click on an editable cell edits it in place. */
(function () {
  "use strict";

  function valueInput(kind, options, name, current) {
    var el;
    if (kind === "select") {
      el = document.createElement("select");
      el.className = "form-select form-select-sm";
      var blank = document.createElement("option");
      blank.value = ""; blank.textContent = "—";
      el.appendChild(blank);
      (options || []).forEach(function (pair) {
        var o = document.createElement("option");
        o.value = pair[0]; o.textContent = pair[1];
        el.appendChild(o);
      });
    } else {
      el = document.createElement("input");
      el.className = "form-control form-control-sm";
      el.type = {number: "number", date: "date", "datetime-local": "datetime-local"}[kind] || "text";
      if (kind === "number") { el.step = "any"; }
    }
    el.name = name;
    if (current !== undefined && current !== null) {
      el.value = kind === "datetime-local" ? String(current).slice(0, 16) : String(current);
    }
    return el;
  }

  function initBulk(table, form) {
    var boxes = table.querySelectorAll(".row-select");
    var all = table.querySelector(".select-all");
    var count = form.querySelector(".bulk-count");
    var action = form.querySelector(".bulk-action");
    var setPart = form.querySelector(".bulk-set");
    var assignPart = form.querySelector(".bulk-assign");
    var fieldSelect = form.querySelector(".bulk-field");
    function ids() {
      return Array.prototype.filter.call(boxes, function (b) { return b.checked; }).map(function (b) { return b.value; });
    }
    function refresh() {
      var picked = ids();
      form.classList.toggle("d-none", picked.length === 0);
      count.textContent = count.dataset.template.replace("{n}", picked.length);
      if (all) { all.checked = picked.length === boxes.length; all.indeterminate = picked.length > 0 && picked.length < boxes.length; }
      form.querySelectorAll(".bulk-export").forEach(function (a) {
        a.href = a.dataset.base + (a.dataset.base.indexOf("?") < 0 ? "?" : "&") + "ids=" + picked.join(",");
      });
    }
    function showParts() {
      var value = action.value;
      if (setPart) { setPart.classList.toggle("d-none", value !== "set"); }
      if (assignPart) { assignPart.classList.toggle("d-none", value !== "assign"); }
    }
    function fieldChanged() {
      var option = fieldSelect.selectedOptions[0];
      var box = form.querySelector(".bulk-value-box");
      box.innerHTML = "";
      var input = valueInput(option.dataset.kind, JSON.parse(option.dataset.options || "[]"), "value");
      input.setAttribute("aria-label", fieldSelect.getAttribute("aria-label") + ": " + option.textContent);
      box.appendChild(input);
    }
    boxes.forEach(function (b) { b.addEventListener("change", refresh); });
    if (all) { all.addEventListener("change", function () { boxes.forEach(function (b) { b.checked = all.checked; }); refresh(); }); }
    action.addEventListener("change", showParts);
    if (fieldSelect) { fieldSelect.addEventListener("change", fieldChanged); fieldChanged(); }
    form.addEventListener("submit", function (e) {
      if (action.value === "delete" && !window.confirm(form.dataset.confirmDelete)) { e.preventDefault(); }
    });
    showParts();
    refresh();
  }

  function initCells(table, form) {
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var url = form.dataset.cellUrl;
    table.querySelectorAll("td.crm-editable").forEach(function (td) {
      td.tabIndex = 0;
      function edit() {
        if (td.querySelector("form")) { return; }
        var row = td.closest("tr");
        var kept = td.innerHTML;
        var options = JSON.parse(td.dataset.options || "[]");
        var editor = document.createElement("form");
        editor.className = "crm-cell-editor";
        var input = valueInput(td.dataset.kind, options, "value", td.dataset.value);
        input.setAttribute("aria-label", td.dataset.label);
        var error = document.createElement("div");
        error.className = "invalid-feedback d-block cell-error";
        error.setAttribute("role", "alert");
        editor.appendChild(input);
        editor.appendChild(error);
        td.innerHTML = "";
        td.appendChild(editor);
        input.focus();
        var initial = input.value;
        function cancel() { td.innerHTML = kept; td.focus(); }
        editor.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); cancel(); } });
        editor.addEventListener("submit", function (e) {
          e.preventDefault();
          var body = new URLSearchParams();
          body.append("csrf_token", csrf);
          body.append("field", td.dataset.field);
          body.append("value", input.value);
          body.append("lock_version", row.dataset.version || "");
          fetch(url.replace("/0/cell", "/" + row.dataset.id + "/cell"), {
            method: "POST", credentials: "same-origin", body: body,
            headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
          }).then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
            .then(function (answer) {
              if (answer.ok) {
                td.innerHTML = answer.data.html;
                td.dataset.value = answer.data.value === null ? "" : answer.data.value;
                row.dataset.version = answer.data.lock_version;
                td.classList.add("crm-cell-saved");
                td.focus();
              } else {
                input.classList.add("is-invalid");
                error.textContent = answer.data.error || form.dataset.cellError;
              }
            })
            .catch(function () { error.textContent = form.dataset.cellError; });
        });
        if (input.tagName === "SELECT") { input.addEventListener("change", function () { editor.requestSubmit(); }); }
        input.addEventListener("blur", function () {
          // Leaving the cell saves a changed value and closes an unchanged one.
          setTimeout(function () {
            if (!td.contains(editor) || document.activeElement === input) { return; }
            if (input.value !== initial) { editor.requestSubmit(); } else if (!error.textContent) { cancel(); }
          }, 150);
        });
      }
      td.addEventListener("dblclick", edit);
      td.addEventListener("keydown", function (e) { if (e.key === "Enter" && e.target === td) { e.preventDefault(); edit(); } });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table.records");
    var form = document.getElementById("bulk-form");
    if (!table || !form) { return; }
    initBulk(table, form);
    initCells(table, form);
  });
}());
