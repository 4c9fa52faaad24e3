// The app shell: toasts that hide themselves (errors stay until closed) and the desktop sidebar's
// collapse to icons, remembered in localStorage. Loaded on every page; no inline script anywhere.
(function () {
  "use strict";
  var KEY = "crm.sidebar.collapsed";

  function dismiss(toast) {
    toast.classList.remove("show");
    toast.addEventListener("transitionend", function () { toast.remove(); }, {once: true});
    setTimeout(function () { toast.remove(); }, 400);
  }

  function initToasts() {
    document.querySelectorAll(".crm-toast").forEach(function (toast) {
      var close = toast.querySelector("[data-crm-dismiss]");
      if (close) { close.addEventListener("click", function () { dismiss(toast); }); }
      var after = parseInt(toast.dataset.crmAutohide || "0", 10);
      if (after > 0) {
        var timer = setTimeout(function () { dismiss(toast); }, after);
        // Hovering or focusing keeps it: someone is reading it.
        toast.addEventListener("mouseenter", function () { clearTimeout(timer); });
        toast.addEventListener("focusin", function () { clearTimeout(timer); });
      }
    });
  }

  function setCollapsed(on, button) {
    document.body.classList.toggle("sidebar-collapsed", on);
    if (button) { button.setAttribute("aria-pressed", on ? "true" : "false"); }
  }

  function initSidebar() {
    var button = document.querySelector("[data-crm-collapse]");
    if (!button) { return; }
    var stored = null;
    try { stored = window.localStorage.getItem(KEY); } catch (e) { stored = null; }
    setCollapsed(stored === "1", button);
    button.addEventListener("click", function () {
      var on = !document.body.classList.contains("sidebar-collapsed");
      setCollapsed(on, button);
      try { window.localStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* private mode: not remembered */ }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initToasts();
    initSidebar();
  });
}());
