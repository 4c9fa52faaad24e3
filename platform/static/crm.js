// Small progressive enhancements for the generated pages: link pickers, child-table rows, tabs,
// the list filter builder and delete confirmation. Pages work without them except the picker search.
(function () {
  "use strict";

  function initPicker(picker) {
    var text = picker.querySelector(".picker-text");
    var hidden = picker.querySelector(".picker-value");
    var list = picker.querySelector(".picker-results");
    var timer = null, active = -1, items = [], asked = 0;
    function close() { list.hidden = true; text.setAttribute("aria-expanded", "false"); active = -1; }
    function choose(item) { hidden.value = item.id; text.value = item.title; close(); }
    function render() {
      list.innerHTML = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.textContent = item.title;
        if (i === active) { li.className = "active"; li.setAttribute("aria-selected", "true"); }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(item); });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
      text.setAttribute("aria-expanded", items.length ? "true" : "false");
    }
    function search() {
      var ticket = ++asked;  // answers can arrive out of order: keep only the newest
      fetch(picker.dataset.lookup + "?q=" + encodeURIComponent(text.value), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (data) {
          if (ticket !== asked) { return; }
          items = data; active = data.length ? 0 : -1; render();
        });
    }
    text.addEventListener("input", function () {
      hidden.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    text.addEventListener("focus", function () { if (!text.value) { search(); } });
    text.addEventListener("blur", function () { setTimeout(close, 100); });
    text.addEventListener("keydown", function (e) {
      if (list.hidden) { return; }
      if (e.key === "ArrowDown") { active = Math.min(active + 1, items.length - 1); render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); render(); e.preventDefault(); }
      else if (e.key === "Enter" && active >= 0) { choose(items[active]); e.preventDefault(); }
      else if (e.key === "Escape") { close(); }
    });
  }

  function initChildTable(box) {
    var body = box.querySelector("tbody");
    var template = box.querySelector("template");
    box.querySelector(".add-line").addEventListener("click", function () {
      var index = parseInt(box.dataset.next, 10);
      box.dataset.next = String(index + 1);
      var html = template.innerHTML.replace(/__i__/g, String(index));
      body.insertAdjacentHTML("beforeend", html);
      var row = body.lastElementChild;
      row.querySelectorAll(".picker").forEach(initPicker);
      var first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    });
    box.addEventListener("click", function (e) {
      if (e.target.classList.contains("remove-line")) { e.target.closest("tr").remove(); }
    });
  }

  function initTabs(form) {
    form.querySelectorAll(".tab").forEach(function (tab) {
      tab.addEventListener("click", function () {
        form.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("active", t === tab); });
        form.querySelectorAll(".tab-panel").forEach(function (p) { p.hidden = p.dataset.panel !== tab.dataset.tab; });
      });
    });
    // Show the tab holding the first error.
    var error = form.querySelector(".has-error");
    var panel = error && error.closest(".tab-panel");
    if (panel) { form.querySelector('.tab[data-tab="' + panel.dataset.panel + '"]').click(); }
  }

  function initFilters(form) {
    var field = form.querySelector("#filter-field");
    var op = form.querySelector("#filter-op");
    var value = form.querySelector("#filter-value");
    if (!field) { return; }
    var labels = JSON.parse(op.dataset.labels || "{}");
    field.addEventListener("change", function () {
      op.innerHTML = "";
      var option = field.selectedOptions[0];
      (option && option.dataset.ops ? option.dataset.ops.split(",") : []).forEach(function (name) {
        var o = document.createElement("option");
        o.value = name; o.textContent = labels[name] || name;
        op.appendChild(o);
      });
    });
    form.addEventListener("submit", function () {
      if (field.value && op.value && value.value !== "") {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = field.value + "__" + op.value; input.value = value.value;
        form.appendChild(input);
      }
      field.disabled = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".picker").forEach(initPicker);
    document.querySelectorAll(".child-table").forEach(initChildTable);
    document.querySelectorAll(".record-form").forEach(initTabs);
    document.querySelectorAll("form.filters").forEach(initFilters);
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); } });
    });
  });
}());
