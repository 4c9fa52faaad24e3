// Progressive enhancements of the generated pages: link pickers (Tom Select), child-table lines, tabs,
// the list filter builder, delete confirmation, unsaved-changes guard and conditional fields.
// Conditional fields (visible_if / required_if / readonly_if) are judged by the server's rule engine:
// the form posts its state to /e/<entity>/form-state and applies the answer. There is no expression
// interpreter in the browser, and the server checks every rule again on save.
(function () {
  "use strict";

  // --- link pickers: search as you type over /e/<target>/lookup (row scopes apply there) ----------
  function initLinkPicker(select) {
    if (select.tomselect || typeof window.TomSelect !== "function") { return; }
    var url = select.dataset.lookup;
    new window.TomSelect(select, {
      valueField: "id",
      labelField: "title",
      searchField: ["title"],
      maxOptions: 20,
      loadThrottle: 200,
      preload: "focus",
      allowEmptyOption: false,
      plugins: select.required ? [] : ["clear_button"],
      placeholder: select.dataset.placeholder || "",
      load: function (query, callback) {
        fetch(url + "?q=" + encodeURIComponent(query), {credentials: "same-origin", headers: {Accept: "application/json"}})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) { callback(items.map(function (i) { return {id: String(i.id), title: i.title}; })); })
          .catch(function () { callback(); });
      },
      render: {
        no_results: function () {
          var div = document.createElement("div");
          div.className = "no-results";
          div.textContent = select.dataset.noResults || "";
          return div;
        }
      },
      onChange: function () { select.dispatchEvent(new Event("change", {bubbles: true})); }
    });
  }

  function initSearchableSelect(select) {
    if (select.tomselect || typeof window.TomSelect !== "function") { return; }
    new window.TomSelect(select, {allowEmptyOption: true, maxOptions: 500});
  }

  function enhance(root) {
    root.querySelectorAll("select.crm-link").forEach(initLinkPicker);
    root.querySelectorAll("select.crm-searchable").forEach(initSearchableSelect);
  }

  // --- child-table lines added and removed in place -------------------------------------------
  function initChildTable(box) {
    var body = box.querySelector("tbody");
    var template = box.querySelector("template");
    var empty = box.querySelector(".crm-lines-empty");
    function refresh() { if (empty) { empty.hidden = body.querySelector("tr.line") !== null; } }
    box.querySelector(".add-line").addEventListener("click", function () {
      var index = parseInt(box.dataset.next, 10);
      box.dataset.next = String(index + 1);
      body.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__i__/g, String(index)));
      var row = body.lastElementChild;
      enhance(row);
      refresh();
      var first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
      box.dispatchEvent(new Event("change", {bubbles: true}));
    });
    box.addEventListener("click", function (e) {
      var button = e.target.closest(".remove-line");
      if (!button) { return; }
      var row = button.closest("tr");
      var next = row.nextElementSibling;
      if (next && next.classList.contains("line-error")) { next.remove(); }
      row.remove();
      refresh();
      box.dispatchEvent(new Event("change", {bubbles: true}));
    });
  }

  function initTabs(form) {
    form.querySelectorAll(".tab").forEach(function (tab) {
      tab.addEventListener("click", function () {
        form.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("active", t === tab); });
        form.querySelectorAll(".tab-panel").forEach(function (p) { p.hidden = p.dataset.panel !== tab.dataset.tab; });
      });
    });
    var error = form.querySelector(".has-error");  // show the tab holding the first error
    var panel = error && error.closest(".tab-panel");
    var tab = panel && form.querySelector('.tab[data-tab="' + panel.dataset.panel + '"]');
    if (tab) { tab.click(); }
  }

  // --- conditional fields, judged by the server -----------------------------------------------
  function formState(form) {
    var data = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string") { data.append(key, value); }  // files stay out of it
    });
    return data;
  }

  function showField(box, visible) {
    if (visible === !box.hidden) { return; }
    box.hidden = !visible;
    if (visible) {
      box.classList.remove("crm-appear");
      void box.offsetWidth;  // restart the 150 ms fade-in
      box.classList.add("crm-appear");
    }
  }

  function applyStates(form, fields) {
    Object.keys(fields).forEach(function (name) {
      var state = fields[name];
      var box = form.querySelector('.field[data-field="' + name + '"]');
      if (!box) { return; }
      showField(box, state.visible);
      var mark = box.querySelector("label .req");
      if (mark && !box.dataset.alwaysRequired) { mark.hidden = !state.required; }
      box.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (el) {
        if (box.dataset.alwaysRequired) { return; }
        el.required = state.required;
        if (state.required) { el.setAttribute("aria-required", "true"); } else { el.removeAttribute("aria-required"); }
      });
      if (state.readonly) {
        box.classList.add("readonly");
        box.querySelectorAll("input, select, textarea").forEach(function (el) { if (el.type !== "hidden") { el.disabled = true; } });
      }
    });
  }

  function initConditions(form) {
    var url = form.dataset.stateUrl;
    if (!url || !form.querySelector(".field[data-conditional]")) { return; }
    var timer = null, asked = 0;
    function ask() {
      var ticket = ++asked;  // answers can arrive out of order: apply only the newest
      fetch(url, {method: "POST", body: formState(form), credentials: "same-origin",
                  headers: {Accept: "application/json", "X-CSRFToken": form.querySelector("[name=csrf_token]").value}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) { if (answer && ticket === asked) { applyStates(form, answer.fields || {}); } })
        .catch(function () { /* offline: keep the last answer; the save checks again */ });
    }
    function soon(delay) { clearTimeout(timer); timer = setTimeout(ask, delay); }
    form.addEventListener("input", function () { soon(250); });
    form.addEventListener("change", function () { soon(30); });
  }

  // --- save enabled once something changed; leaving with changes asks first ---------------------
  function initDirty(form) {
    var save = form.querySelector("button[type=submit].primary, button[type=submit].btn-primary");
    var dirty = form.dataset.dirty === "1";
    var submitting = false;
    if (save && !dirty) { save.disabled = true; }
    function changed() {
      dirty = true;
      if (save) { save.disabled = false; }
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (e) {
      if (dirty && !submitting) { e.preventDefault(); e.returnValue = ""; }
    });
  }

  // --- list filter builder: operators and the value input follow the field's type ---------------
  function initFilters(form) {
    var field = form.querySelector("#filter-field");
    var op = form.querySelector("#filter-op");
    var box = form.querySelector("#filter-value-box");
    if (!field || !op || !box) { return; }
    var labels = JSON.parse(op.dataset.labels || "{}");
    var label = box.querySelector("#filter-value").getAttribute("aria-label") || "";
    var read = function () { return ""; };
    function control(kind, option, multiple, name) {
      var el;
      if (kind === "select") {
        el = document.createElement("select");
        el.className = "form-select";
        el.multiple = !!multiple;
        if (multiple) { el.size = 3; }
        JSON.parse(option.dataset.options || "[]").forEach(function (pair) {
          var o = document.createElement("option");
          o.value = pair[0]; o.textContent = pair[1];
          el.appendChild(o);
        });
      } else {
        el = document.createElement("input");
        el.className = "form-control";
        el.type = {number: "number", date: "date"}[kind] || "text";
        if (kind === "number") { el.step = "any"; }
      }
      el.setAttribute("aria-label", name || label);
      if (name) { el.placeholder = name; }
      return el;
    }
    function linkControl(option) {
      // A linked record: search its titles as you type, keep the chosen record's id.
      var input = control("text", option, false, box.dataset.pick);
      var list = document.createElement("datalist");
      list.id = "filter-value-list";
      input.setAttribute("list", list.id);
      var ids = {};
      input.addEventListener("input", function () {
        var url = option.dataset.lookup + "?q=" + encodeURIComponent(input.value);
        fetch(url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : []; }).then(function (rows) {
          list.innerHTML = "";
          rows.forEach(function (row) {
            ids[row.title] = row.id;
            var o = document.createElement("option");
            o.value = row.title;
            list.appendChild(o);
          });
        }).catch(function () { /* offline: the typed id still works */ });
      });
      box.appendChild(list);
      return {el: input, read: function () { return ids[input.value] !== undefined ? String(ids[input.value]) : input.value.replace(/^#/, ""); }};
    }
    function render() {
      var option = field.selectedOptions[0];
      var kind = option && option.value ? option.dataset.input || "text" : "text";
      var name = op.value;
      box.innerHTML = "";
      var first;
      if (name === "isnull") {
        first = document.createElement("select");
        first.className = "form-select";
        first.setAttribute("aria-label", label);
        [["true", box.dataset.empty], ["false", box.dataset.notEmpty]].forEach(function (pair) {
          var o = document.createElement("option");
          o.value = pair[0]; o.textContent = pair[1];
          first.appendChild(o);
        });
        read = function () { return first.value; };
      } else if (name === "between") {
        first = control(kind, option, false, box.dataset.from);
        var second = control(kind, option, false, box.dataset.to);
        box.appendChild(first);
        read = function () { return first.value !== "" && second.value !== "" ? first.value + "," + second.value : ""; };
        first.id = "filter-value";
        box.appendChild(second);
        return;
      } else if (kind === "link" && option.dataset.lookup) {
        var picked = linkControl(option);
        first = picked.el;
        read = picked.read;
      } else {
        first = control(kind, option, name === "in" || name === "has_any" || name === "has_all");
        read = function () {
          if (first.multiple) {
            return Array.prototype.filter.call(first.options, function (o) { return o.selected; })
              .map(function (o) { return o.value; }).join(",");
          }
          return first.value;
        };
      }
      first.id = "filter-value";
      box.insertBefore(first, box.firstChild);
    }
    field.addEventListener("change", function () {
      op.innerHTML = "";
      var option = field.selectedOptions[0];
      (option && option.dataset.ops ? option.dataset.ops.split(",") : []).forEach(function (name) {
        var o = document.createElement("option");
        o.value = name; o.textContent = labels[name] || name;
        op.appendChild(o);
      });
      render();
    });
    op.addEventListener("change", render);
    form.addEventListener("submit", function () {
      var value = read();
      if (field.value && op.value && value !== "") {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = field.value + "__" + op.value; input.value = value;
        form.appendChild(input);
      }
      field.disabled = true;
      box.querySelectorAll("input, select").forEach(function (el) { el.disabled = true; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    document.querySelectorAll(".child-table").forEach(initChildTable);
    document.querySelectorAll(".record-form").forEach(function (form) {
      initTabs(form);
      initConditions(form);
      initDirty(form);
    });
    document.querySelectorAll("form.filters").forEach(initFilters);
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); } });
    });
  });
}());
