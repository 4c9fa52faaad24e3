// The form designer: SortableJS moves field chips between the palette and the sections (and sections
// between tabs); the layout is sent as JSON on save. The live preview and the condition checks are asked
// of the server as the admin types: conditions are judged by the rule engine only (no interpreter here).
(function () {
  "use strict";

  var designer, preview, timer = null, stateTimer = null, asked = 0;

  function csrf() { return designer.querySelector("[name=csrf_token]").value; }

  function layout() {
    return Array.prototype.map.call(designer.querySelectorAll("[data-crm-tab]"), function (tab) {
      return {
        label: tab.querySelector(".crm-tab-label").value,
        sections: Array.prototype.map.call(tab.querySelectorAll("[data-crm-section]"), function (s) {
          return {
            label: s.querySelector(".crm-section-label").value,
            columns: parseInt(s.querySelector(".crm-section-columns").value, 10) || 1,
            fields: Array.prototype.map.call(s.querySelectorAll(".crm-chip"), function (c) { return c.dataset.field; })
          };
        })
      };
    });
  }

  function designerData() {
    designer.querySelector("#designer-layout").value = JSON.stringify(layout());
    return new FormData(designer);
  }

  function post(url, body) {
    return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                       headers: {"X-CSRFToken": csrf()}});
  }

  // --- live preview --------------------------------------------------------------------------------
  function previewBody() {
    var body = designerData();
    new FormData(preview).forEach(function (value, key) { body.append(key, value); });
    return body;
  }

  // Re-render the whole preview (layout or properties changed).
  function refresh() {
    var ticket = ++asked;
    post(designer.dataset.previewUrl, previewBody())
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && ticket === asked) { preview.innerHTML = html; } })
      .catch(function () { /* offline: keep the last preview */ });
  }

  // Sample values typed in the preview: apply the server's verdict without losing the caret.
  function restate() {
    var ticket = ++asked;
    post(designer.dataset.previewUrl, previewBody())
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || ticket !== asked) { return; }
        var fresh = document.createElement("template");
        fresh.innerHTML = html;
        var shown = preview.querySelectorAll(".field[data-field]").length;
        if (fresh.content.querySelectorAll(".field[data-field]").length !== shown) {
          preview.innerHTML = html;  // the layout changed meanwhile: take the whole answer
          return;
        }
        fresh.content.querySelectorAll(".field[data-field]").forEach(function (box) {
          var current = preview.querySelector('.field[data-field="' + box.dataset.field + '"]');
          if (!current) { return; }
          current.hidden = box.hidden;
          var mark = current.querySelector("label .req"), freshMark = box.querySelector("label .req");
          if (mark && freshMark) { mark.hidden = freshMark.hidden; }
        });
      })
      .catch(function () {});
  }

  function soon(fn, delay) { clearTimeout(timer); timer = setTimeout(fn, delay); }

  // --- condition checks with the engine's message and position ------------------------------------
  // The one expression editor (studioexpr.js) shows the verdict; the designer asks with its unsaved layout.
  function showCheck(input, answer) { window.crmExpr.show(input, answer); }

  function check(input) {
    var body = designerData();
    body.append("expression", input.value);
    if (!input.value.trim()) { showCheck(input, {ok: true}); return; }
    post(designer.dataset.checkUrl, body)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { if (answer) { showCheck(input, answer); } })
      .catch(function () {});
  }

  // --- drag and drop -------------------------------------------------------------------------------
  function sortable(list) {
    if (typeof window.Sortable !== "function") { return; }
    window.Sortable.create(list, {group: "fields", animation: 150, handle: ".crm-chip-grip, .crm-chip-label",
                                  ghostClass: "crm-chip-ghost", forceFallback: true, fallbackTolerance: 3, onSort: function () { soon(refresh, 50); }});
  }

  function sortableSections(box) {
    if (typeof window.Sortable !== "function") { return; }
    window.Sortable.create(box, {group: "sections", animation: 150, handle: ".crm-section-head .ti-layout-rows", forceFallback: true,
                                 onSort: function () { soon(refresh, 50); }});
  }

  function wire(root) {
    root.querySelectorAll("[data-crm-drop]").forEach(sortable);
    root.querySelectorAll("[data-crm-sections]").forEach(sortableSections);
  }

  function select(name) {
    designer.ownerDocument.querySelectorAll("[data-crm-props]").forEach(function (p) { p.hidden = p.dataset.crmProps !== name; });
    designer.querySelectorAll(".crm-chip").forEach(function (c) { c.classList.toggle("selected", c.dataset.field === name); });
    var empty = document.querySelector(".crm-props-empty");
    if (empty) { empty.hidden = true; }
    var first = document.getElementById("p-" + name + "-label_en");
    if (first) { first.focus(); }
  }

  function addFrom(templateId, into) {
    var node = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
    into.appendChild(node);
    wire(node.parentNode);
    soon(refresh, 50);
  }

  function init() {
    designer = document.getElementById("designer");
    preview = document.getElementById("crm-preview-form");
    if (!designer || !preview) { return; }
    wire(designer);
    designer.addEventListener("click", function (e) {
      var edit = e.target.closest("[data-crm-select]");
      if (edit) { select(edit.dataset.crmSelect); return; }
      var remove = e.target.closest(".crm-section-remove");
      if (remove) {
        var section = remove.closest("[data-crm-section]");
        var palette = designer.querySelector("[data-crm-palette]");
        section.querySelectorAll(".crm-chip").forEach(function (c) { palette.appendChild(c); });
        section.remove();
        soon(refresh, 50);
        return;
      }
      if (e.target.closest(".crm-add-section")) {
        var tabs = designer.querySelectorAll("[data-crm-sections]");
        addFrom("crm-section-template", tabs[tabs.length - 1]);
      } else if (e.target.closest(".crm-add-tab")) {
        addFrom("crm-tab-template", designer.querySelector("#crm-canvas"));
      }
    });
    designer.addEventListener("change", function (e) {
      if (e.target.classList.contains("crm-section-columns")) {
        var list = e.target.closest("[data-crm-section]").querySelector("[data-crm-drop]");
        list.className = list.className.replace(/cols-\d/, "cols-" + e.target.value);
      }
      soon(refresh, 50);
    });
    document.addEventListener("input", function (e) {
      if (e.target.form === designer) {
        if (e.target.classList.contains("crm-expr-input")) { var input = e.target; soon(function () { check(input); refresh(); }, 300); }
        else { soon(refresh, 300); }
      } else if (e.target.form === preview) {
        clearTimeout(stateTimer); stateTimer = setTimeout(restate, 250);
      }
    });
    document.addEventListener("change", function (e) {
      if (e.target.form === designer && e.target.type === "checkbox") { soon(refresh, 30); }
      if (e.target.form === preview) { clearTimeout(stateTimer); stateTimer = setTimeout(restate, 30); }
    });
    preview.addEventListener("submit", function (e) { e.preventDefault(); });
    designer.addEventListener("submit", function () { designerData(); });
    document.querySelectorAll("[data-crm-width]").forEach(function (button) {
      button.addEventListener("click", function () {
        preview.dataset.width = button.dataset.crmWidth;
        document.querySelectorAll("[data-crm-width]").forEach(function (b) {
          b.classList.toggle("active", b === button);
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
      });
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", init);
}());
