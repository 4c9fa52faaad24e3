// The board and the calendar: drag cards between columns (or days) with SortableJS, ask the server to move
// the record, and snap the card back with the server's message when it refuses. A "move to" menu on each
// card does the same without dragging (keyboard, phones). Also the switchers and the columns' "more".
(function () {
  "use strict";

  function csrf() {
    var field = document.querySelector("#crm-board-csrf [name=csrf_token]");
    return field ? field.value : "";
  }

  function toast(text, error) {
    var box = document.querySelector(".crm-toasts");
    if (!box) { return; }
    var item = document.createElement("div");
    item.className = "toast show crm-toast crm-toast-" + (error ? "danger" : "success");
    item.setAttribute("role", error ? "alert" : "status");
    item.setAttribute("aria-atomic", "true");
    var body = document.createElement("div");
    body.className = "toast-body d-flex align-items-start gap-2";
    var icon = document.createElement("i");
    icon.className = "ti crm-toast-icon " + (error ? "ti-alert-circle text-danger" : "ti-circle-check text-success");
    icon.setAttribute("aria-hidden", "true");
    var words = document.createElement("div");
    words.className = "flash flex-fill";
    words.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("aria-label", document.getElementById("crm-board-csrf").dataset.closeLabel);
    close.addEventListener("click", function () { item.remove(); });
    body.append(icon, words, close);
    item.appendChild(body);
    box.appendChild(item);
    if (!error) { setTimeout(function () { item.remove(); }, 5000); }
  }

  function post(url, data) {
    var form = new URLSearchParams(data);
    return fetch(url, {
      method: "POST", body: form, credentials: "same-origin",
      headers: {"X-CSRFToken": csrf(), Accept: "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {ok: false}; });
    });
  }

  // --- the board -------------------------------------------------------------------------------
  function initBoard(board) {
    var targets = board.dataset.targets ? JSON.parse(board.dataset.targets) : null;
    var movable = board.dataset.movable === "true";
    var lists = board.querySelectorAll(".crm-board-cards");

    function allowed(card, list) {
      if (!movable) { return false; }
      var from = card.dataset.value, to = list.dataset.value;
      if (from === to) { return true; }
      return targets === null || (targets[from] || []).indexOf(to) >= 0;
    }

    function updateTotals(columns) {
      board.querySelectorAll(".crm-board-col").forEach(function (col) {
        var found = columns[col.dataset.value] || {count: 0, total: ""};
        col.querySelector(".crm-board-count").textContent = found.count;
        var sum = col.querySelector(".crm-board-sum");
        if (sum) { sum.innerHTML = found.total; }  // the server's escaped presentation of the sum
      });
    }

    function move(card, from, to, index) {
      var target = to.dataset.value;
      card.classList.add("crm-card-busy");
      post(board.dataset.moveUrl, {record_id: card.dataset.id, to: target, lock_version: card.dataset.version})
        .then(function (answer) {
          card.classList.remove("crm-card-busy");
          if (answer.ok && answer.moved) {
            card.dataset.value = target;
            if (answer.lock_version) { card.dataset.version = answer.lock_version; }
            updateTotals(answer.columns);
            toast(answer.message, false);
            return;
          }
          // Refused (or waiting for an approval): the card goes back where it was.
          from.insertBefore(card, from.children[index] || null);
          toast(answer.message || board.dataset.labelFailed, !answer.ok);
        }).catch(function () {
          card.classList.remove("crm-card-busy");
          from.insertBefore(card, from.children[index] || null);
          toast(board.dataset.labelFailed, true);
        });
    }

    lists.forEach(function (list) {
      Sortable.create(list, {
        group: {name: "board", pull: movable, put: function (to, from, dragged) { return allowed(dragged, to.el); }},
        sort: false,
        draggable: ".crm-card",
        filter: ".crm-card-menu, .crm-board-more-item",
        preventOnFilter: false,
        forceFallback: true,
        fallbackOnBody: true,
        delayOnTouchOnly: true,
        delay: 150,
        ghostClass: "crm-card-ghost",
        onStart: function (event) {
          lists.forEach(function (other) {
            var ok = allowed(event.item, other);
            other.closest(".crm-board-col").classList.add(ok ? "crm-drop-ok" : "crm-drop-no");
          });
        },
        onEnd: function (event) {
          board.querySelectorAll(".crm-board-col").forEach(function (col) {
            col.classList.remove("crm-drop-ok", "crm-drop-no");
          });
          if (event.from !== event.to) { move(event.item, event.from, event.to, event.oldIndex); }
        }
      });
    });

    // The "move to" menu: the columns this card may go to, built when it opens.
    board.addEventListener("show.bs.dropdown", function (event) {
      var card = event.target.closest(".crm-card");
      var menu = card.querySelector(".crm-move-menu");
      menu.textContent = "";
      var header = document.createElement("h3");
      header.className = "dropdown-header";
      header.textContent = board.dataset.labelMove;
      menu.appendChild(header);
      lists.forEach(function (list) {
        if (list.dataset.value === card.dataset.value || !allowed(card, list)) { return; }
        var item = document.createElement("button");
        item.type = "button";
        item.className = "dropdown-item crm-move-item";
        item.dataset.to = list.dataset.value;
        item.textContent = list.closest(".crm-board-col").querySelector(".crm-board-title").dataset.label;
        menu.appendChild(item);
      });
    });
    board.addEventListener("click", function (event) {
      var item = event.target.closest(".crm-move-item");
      if (item) {
        var card = item.closest(".crm-card");
        var from = card.parentElement;
        var index = Array.prototype.indexOf.call(from.children, card);
        var to = board.querySelector('.crm-board-cards[data-value="' + CSS.escape(item.dataset.to) + '"]');
        to.insertBefore(card, to.firstChild);
        move(card, from, to, index);
        return;
      }
      var more = event.target.closest(".crm-board-more");
      if (more) { loadMore(more); }
    });
  }

  function loadMore(button) {
    button.disabled = true;
    fetch(button.dataset.url, {credentials: "same-origin"}).then(function (response) {
      return response.text();
    }).then(function (html) {
      var item = button.closest("li");
      var list = item.parentElement;
      var holder = document.createElement("template");
      holder.innerHTML = html;
      item.remove();
      list.appendChild(holder.content);
    }).catch(function () { button.disabled = false; });
  }

  // --- the calendar: drop an entry on another day to reschedule it --------------------------------
  function initCalendar(calendar) {
    if (calendar.dataset.movable !== "true") { return; }
    calendar.querySelectorAll(".crm-cal-items").forEach(function (list) {
      Sortable.create(list, {
        group: "calendar",
        sort: false,
        draggable: ".crm-cal-item",
        forceFallback: true,
        fallbackOnBody: true,
        delayOnTouchOnly: true,
        delay: 150,
        ghostClass: "crm-card-ghost",
        onEnd: function (event) {
          if (event.from === event.to) { return; }
          var item = event.item, from = event.from, index = event.oldIndex;
          item.classList.add("crm-card-busy");
          post(calendar.dataset.moveUrl, {record_id: item.dataset.id, day: event.to.dataset.day, lock_version: item.dataset.version})
            .then(function (answer) {
              item.classList.remove("crm-card-busy");
              if (answer.ok) {
                item.dataset.version = answer.lock_version;
                event.to.closest(".crm-cal-day").classList.remove("crm-cal-empty");
                toast(answer.message, false);
                return;
              }
              from.insertBefore(item, from.children[index] || null);
              toast(answer.message || calendar.dataset.labelFailed, true);
            }).catch(function () {
              item.classList.remove("crm-card-busy");
              from.insertBefore(item, from.children[index] || null);
              toast(calendar.dataset.labelFailed, true);
            });
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".crm-autosubmit").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    var board = document.getElementById("crm-board");
    if (board) { initBoard(board); }
    var calendar = document.getElementById("crm-calendar");
    if (calendar) { initCalendar(calendar); }
  });
}());
