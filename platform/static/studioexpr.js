// The studio's one expression editor (form designer and rule builder): completion of fields, link paths
// and functions from the server's list, and the engine's verdict shown under the input with the error
// position marked. Expressions are judged by the server only (no interpreter here).
(function () {
  "use strict";

  var lists = {}, seq = 0;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function show(input, answer) {
    var box = document.getElementById(input.getAttribute("aria-describedby").split(" ")[0]);
    if (!box) { return; }
    box.textContent = "";
    input.classList.toggle("is-invalid", !answer.ok);
    input.classList.toggle("is-valid", answer.ok && input.value !== "");
    if (answer.ok) { return; }
    if (answer.position !== null && answer.position !== undefined) {
      var code = document.createElement("code");
      code.className = "crm-expr-where d-block mb-1";
      var text = input.value, at = Math.min(answer.position, text.length);
      code.appendChild(document.createTextNode(text.slice(0, at)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(at, at + 1) || " ";
      code.appendChild(mark);
      code.appendChild(document.createTextNode(text.slice(at + 1)));
      box.appendChild(code);
    }
    var message = document.createElement("span");
    message.className = "text-danger";
    message.textContent = answer.message;
    box.appendChild(message);
  }

  function check(input) {
    if (!input.value.trim()) { show(input, {ok: true}); return; }
    var body = new FormData();
    body.append("expression", input.value);
    body.append("want", input.dataset.crmWant || "value");
    fetch(input.dataset.crmCheckUrl, {method: "POST", body: body, credentials: "same-origin",
                                      headers: {"X-CSRFToken": csrf()}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { if (answer) { show(input, answer); } })
      .catch(function () {});
  }

  function items(url) {
    if (!lists[url]) {
      lists[url] = fetch(url, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {items: []}; })
        .then(function (data) { return data.items || []; })
        .catch(function () { return []; });
    }
    return lists[url];
  }

  // The word being typed before the caret: a field, a link path or a function name.
  function word(input) {
    var before = input.value.slice(0, input.selectionStart || 0);
    var found = /[A-Za-z_][A-Za-z0-9_.]*$/.exec(before);
    return found ? found[0] : "";
  }

  function completer(input) {
    var list = document.createElement("ul"), chosen = -1, shown = [];
    list.id = "crm-expr-list-" + (++seq);
    list.className = "dropdown-menu crm-expr-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.dataset.crmCompleteLabel || "");
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function close() {
      list.classList.remove("show");
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      chosen = -1;
    }

    function mark(index) {
      chosen = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.classList.toggle("active", i === index);
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({block: "nearest"});
      }
    }

    function accept(index) {
      var item = shown[index], typed = word(input), at = input.selectionStart || 0;
      var value = input.value.slice(0, at - typed.length) + item.value + input.value.slice(at);
      input.value = value;
      var caret = at - typed.length + item.value.length;
      input.setSelectionRange(caret, caret);
      close();
      input.dispatchEvent(new Event("input", {bubbles: true}));
    }

    function open() {
      var typed = word(input).toLowerCase();
      if (!typed) { close(); return; }
      items(input.dataset.crmCompleteUrl).then(function (all) {
        var starts = all.filter(function (i) { return i.value.toLowerCase().indexOf(typed) === 0; });
        var inside = all.filter(function (i) {
          return i.value.toLowerCase().indexOf(typed) > 0 || i.detail.toLowerCase().indexOf(typed) >= 0;
        });
        shown = starts.concat(inside.filter(function (i) { return starts.indexOf(i) < 0; })).slice(0, 12);
        if (shown.length === 1 && shown[0].value.toLowerCase() === typed) { shown = []; }
        list.textContent = "";
        shown.forEach(function (item, index) {
          var li = document.createElement("li");
          li.id = list.id + "-" + index;
          li.className = "dropdown-item d-flex gap-2";
          li.setAttribute("role", "option");
          var code = document.createElement("code");
          code.textContent = item.value;
          var detail = document.createElement("span");
          detail.className = "text-secondary small text-truncate";
          detail.textContent = item.kind === "function" ? item.detail : item.detail;
          li.appendChild(code);
          li.appendChild(detail);
          li.addEventListener("mousedown", function (e) { e.preventDefault(); accept(index); });
          list.appendChild(li);
        });
        if (shown.length) {
          list.classList.add("show");
          input.setAttribute("aria-expanded", "true");
          mark(-1);
        } else {
          close();
        }
      });
    }

    input.addEventListener("input", function (e) { if (e.isTrusted !== false) { open(); } });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    input.addEventListener("keydown", function (e) {
      if (!list.classList.contains("show")) { return; }
      if (e.key === "ArrowDown") { e.preventDefault(); mark(Math.min(chosen + 1, shown.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(Math.max(chosen - 1, 0)); }
      else if ((e.key === "Enter" || e.key === "Tab") && chosen >= 0) { e.preventDefault(); accept(chosen); }
      else if (e.key === "Enter") { e.preventDefault(); close(); }  // an open list: Enter closes it, never submits
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
  }

  function init(root) {
    (root || document).querySelectorAll(".crm-expr-input").forEach(function (input) {
      if (input.dataset.crmExprReady) { return; }
      input.dataset.crmExprReady = "1";
      if (input.dataset.crmCompleteUrl) { completer(input); }
      if (input.dataset.crmCheckUrl) {
        var timer = null;
        input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { check(input); }, 300); });
        if (input.value.trim()) { check(input); }
      }
    });
  }

  window.crmExpr = {show: show, init: init};
  document.addEventListener("DOMContentLoaded", function () { init(document); });
}());
