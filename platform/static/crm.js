// Small progressive enhancements for the generated pages: link pickers, child-table rows, tabs,
// the list filter builder, delete confirmation and live field rules. Pages work without them except
// the picker search.
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


  // --- field rules: visible_if / required_if / readonly_if mirrored live --------------------------
  // A small evaluator for the common subset of the expression language: field names, literals,
  // comparisons, and/or/not, is_empty/is_null/has/contains. Anything else throws, and the caller
  // falls back to "visible, optional, editable": the server checks every rule again on save.
  function Unsupported(what) { this.message = "unsupported: " + what; }

  function tokenize(text) {
    var tokens = [], re = /\s*(?:(\d+(?:\.\d+)?)|'([^']*)'|"([^"]*)"|([A-Za-z_][A-Za-z0-9_.]*)|(==|!=|<=|>=|<|>|\(|\)|,))/y;
    var m;
    re.lastIndex = 0;
    while (re.lastIndex < text.length) {
      if (/^\s*$/.test(text.slice(re.lastIndex))) { break; }
      m = re.exec(text);
      if (!m) { throw new Unsupported(text.slice(re.lastIndex)); }
      if (m[1] !== undefined) { tokens.push({k: "lit", v: parseFloat(m[1])}); }
      else if (m[2] !== undefined || m[3] !== undefined) { tokens.push({k: "lit", v: m[2] !== undefined ? m[2] : m[3]}); }
      else if (m[4] !== undefined) { tokens.push({k: "name", v: m[4]}); }
      else { tokens.push({k: "op", v: m[5]}); }
    }
    return tokens;
  }

  function isEmpty(v) { return v === null || v === "" || (Array.isArray(v) && v.length === 0); }

  var FUNCTIONS = {
    is_empty: function (v) { return isEmpty(v); },
    is_null: function (v) { return v === null; },
    isnull: function (v) { return v === null; },
    not: function (v) { return v !== true; },
    has: function (list, v) { return Array.isArray(list) && list.indexOf(v) >= 0; },
    contains: function (s, part) { return s !== null && part !== null && String(s).indexOf(part) >= 0; }
  };

  function compare(op, a, b) {
    if (op === "==") { return a === b; }
    if (op === "!=") { return a !== b; }
    if (a === null || b === null || typeof a !== typeof b) { return false; }
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }

  function compileRule(text) {
    var tokens = tokenize(text), pos = 0;
    function peek() { return tokens[pos]; }
    function isWord(t, w) { return t && t.k === "name" && t.v === w; }
    function expect(v) {
      var t = tokens[pos++];
      if (!t || t.v !== v) { throw new Unsupported("expected " + v); }
    }
    function orExpr() {
      var left = andExpr();
      while (isWord(peek(), "or")) {
        pos++;
        left = (function (l, r) { return function (get) { return l(get) === true || r(get) === true; }; })(left, andExpr());
      }
      return left;
    }
    function andExpr() {
      var left = notExpr();
      while (isWord(peek(), "and")) {
        pos++;
        left = (function (l, r) { return function (get) { return l(get) === true && r(get) === true; }; })(left, notExpr());
      }
      return left;
    }
    function notExpr() {
      if (isWord(peek(), "not")) {
        pos++;
        var inner = notExpr();
        return function (get) { return inner(get) !== true; };
      }
      return comparison();
    }
    function comparison() {
      var left = primary(), t = peek();
      if (t && t.k === "op" && ["==", "!=", "<", "<=", ">", ">="].indexOf(t.v) >= 0) {
        pos++;
        var right = primary(), op = t.v;
        return function (get) { return compare(op, left(get), right(get)); };
      }
      return left;
    }
    function primary() {
      var t = tokens[pos++];
      if (!t) { throw new Unsupported("end of text"); }
      if (t.k === "lit") { return function () { return t.v; }; }
      if (t.k === "op" && t.v === "(") { var e = orExpr(); expect(")"); return e; }
      if (t.k !== "name" || t.v.indexOf(".") >= 0) { throw new Unsupported(t.v); }
      if (t.v === "true" || t.v === "false" || t.v === "null") {
        var constant = t.v === "true" ? true : t.v === "false" ? false : null;
        return function () { return constant; };
      }
      if (peek() && peek().v === "(") {
        var fn = FUNCTIONS[t.v];
        if (!fn) { throw new Unsupported(t.v); }
        pos++;
        var args = [];
        if (peek() && peek().v !== ")") {
          args.push(orExpr());
          while (peek() && peek().v === ",") { pos++; args.push(orExpr()); }
        }
        expect(")");
        return function (get) { return fn.apply(null, args.map(function (a) { return a(get); })); };
      }
      var name = t.v;
      return function (get) { return get(name); };
    }
    var compiled = orExpr();
    if (pos !== tokens.length) { throw new Unsupported("trailing text"); }
    return compiled;
  }

  function fieldValue(form, name) {
    var box = form.querySelector('.field[data-field="' + name + '"]');
    if (!box) { throw new Unsupported("field " + name + " is not on this form"); }
    // The widget tells the kind of value: a lone checkbox is a boolean, a group a multi-select,
    // a decimal input or a picker a number.
    var group = box.querySelector(".checks");
    if (group) {
      return Array.prototype.map.call(group.querySelectorAll("input[type=checkbox]:checked"), function (c) { return c.value; });
    }
    var check = box.querySelector("input[type=checkbox]");
    if (check) { return check.checked; }
    var input = box.querySelector(".picker-value") || box.querySelector("select, textarea, input:not([type=hidden])");
    if (!input) { throw new Unsupported("field " + name + " has no input"); }
    var text = input.value.trim();
    if (text === "") { return null; }
    if (input.classList.contains("picker-value") || input.getAttribute("inputmode") === "decimal") {
      var number = parseFloat(text.replace(/,/g, ""));
      return isNaN(number) ? text : number;
    }
    return text;
  }

  function holds(form, text, otherwise) {
    try {
      var result = compileRule(text)(function (name) { return fieldValue(form, name); });
      return result === true;
    } catch (e) {
      return otherwise;
    }
  }

  function initRules(form) {
    var boxes = form.querySelectorAll(".field[data-visible-if], .field[data-required-if], .field[data-readonly-if]");
    if (!boxes.length) { return; }
    // Read-only is judged on the record as loaded, like the server does: locking is not undone by typing.
    boxes.forEach(function (box) {
      if (box.dataset.readonlyIf && holds(form, box.dataset.readonlyIf, false)) {
        box.classList.add("readonly");
        box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = true; });
      }
    });
    function apply() {
      boxes.forEach(function (box) {
        var visible = !box.dataset.visibleIf || holds(form, box.dataset.visibleIf, true);
        box.hidden = !visible;
        box.style.display = visible ? "" : "none";
        if (!box.dataset.requiredIf) { return; }
        var required = visible && holds(form, box.dataset.requiredIf, false);
        var mark = box.querySelector("label .req");
        if (mark) { mark.hidden = !required; }
        box.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (el) {
          el.required = required;
          if (required) { el.setAttribute("aria-required", "true"); } else { el.removeAttribute("aria-required"); }
        });
      });
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".picker").forEach(initPicker);
    document.querySelectorAll(".child-table").forEach(initChildTable);
    document.querySelectorAll(".record-form").forEach(initTabs);
    document.querySelectorAll(".record-form").forEach(initRules);
    document.querySelectorAll("form.filters").forEach(initFilters);
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); } });
    });
  });
}());
