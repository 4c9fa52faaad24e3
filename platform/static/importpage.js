/* The import assistant: upload → map → dry run → run with progress → result, over the import API. */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function send(url, options) {
    var headers = Object.assign({Accept: "application/json", "X-CSRFToken": csrf()}, options.headers || {});
    return fetch(url, Object.assign({credentials: "same-origin"}, options, {headers: headers})).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = body.error || {message: response.statusText};
          throw error;
        }
        return body;
      });
    });
  }

  document.addEventListener("alpine:init", function () {
    window.Alpine.data("crmImport", function () {
      var root = this.$el;
      return {
        api: root.dataset.api,
        listUrl: root.dataset.list,
        locale: root.dataset.locale,
        words: JSON.parse(root.dataset.words),
        step: "upload",
        busy: false,
        error: "",
        problems: [],
        job: null,
        headers: [],
        preview: [],
        targets: [],
        mapping: {},
        mode: "insert",
        keys: [],
        duplicates: "skip",
        parentKey: "",
        skipTriggers: false,
        report: null,
        checking: null,
        undone: "",
        timer: null,

        word: function (key) { return this.words[key] || key; },
        labelOf: function (target) {
          return target.labels[this.locale] || target.labels.en || target.name;
        },
        sample: function (index) {
          var values = this.preview.map(function (row) { return row[index] || ""; }).filter(Boolean);
          return values.slice(0, 2).join(" · ");
        },
        keyTargets: function () {
          var kinds = ["text", "email", "phone", "integer", "select", "url", "date"];
          var mapped = Object.values(this.mapping);
          return this.targets.filter(function (t) {
            return t.name.indexOf(".") < 0 && kinds.indexOf(t.type) >= 0 && mapped.indexOf(t.name) >= 0;
          });
        },
        fail: function (error) {
          this.error = error.message || String(error);
          this.problems = error.details || [];
          this.busy = false;
        },
        clear: function () { this.error = ""; this.problems = []; },

        upload: function (form) {
          var self = this;
          self.clear();
          self.busy = true;
          send(self.api, {method: "POST", body: new FormData(form)}).then(function (body) {
            self.job = body;
            self.headers = body.headers;
            self.preview = body.preview;
            self.targets = body.targets;
            var mapping = {};
            body.headers.forEach(function (h) { mapping[h] = body.mapping[h] || ""; });
            self.mapping = mapping;
            self.busy = false;
            self.step = "map";
          }).catch(function (error) { self.fail(error); });
        },
        check: function () {
          var self = this;
          self.clear();
          self.busy = true;
          var options = {
            mapping: self.mapping, mode: self.mode, key_fields: self.keys, duplicates: self.duplicates,
            parent_key: self.parentKey || null, skip_triggers: self.skipTriggers
          };
          send(self.api + "/" + self.job.id + "/dry-run", {
            method: "POST", body: JSON.stringify(options), headers: {"Content-Type": "application/json"}
          }).then(function (report) {
            self.step = "check";
            if (report.status === "checking") {
              // A large file is checked by the import worker: follow it.
              self.report = null;
              self.checking = report;
              self.followCheck();
              return;
            }
            self.report = report;
            self.busy = false;
          }).catch(function (error) { self.fail(error); });
        },
        followCheck: function () {
          var self = this;
          send(self.api + "/" + self.job.id, {method: "GET"}).then(function (job) {
            if (job.status === "checking") {
              self.checking = job;
              self.timer = window.setTimeout(function () { self.followCheck(); }, 700);
              return;
            }
            self.checking = null;
            self.busy = false;
            if (job.status === "checked") {
              self.report = job.report;
            } else {
              self.step = "map";
              self.fail({message: job.message || job.status});
            }
          }).catch(function (error) { self.checking = null; self.fail(error); });
        },
        run: function () {
          var self = this;
          self.clear();
          self.busy = true;
          send(self.api + "/" + self.job.id + "/start", {method: "POST"}).then(function (job) {
            self.job = job;
            self.busy = false;
            self.step = "run";
            self.poll();
          }).catch(function (error) { self.fail(error); });
        },
        poll: function () {
          var self = this;
          send(self.api + "/" + self.job.id, {method: "GET"}).then(function (job) {
            self.job = job;
            if (job.status === "queued" || job.status === "running") {
              self.timer = window.setTimeout(function () { self.poll(); }, 700);
            } else {
              self.step = "result";
            }
          }).catch(function (error) { self.fail(error); });
        },
        undo: function () {
          var self = this;
          self.clear();
          self.busy = true;
          send(self.api + "/" + self.job.id + "/undo", {method: "POST"}).then(function (result) {
            var text = self.word("imp.undo_done").replace("{deleted}", result.deleted).replace("{restored}", result.restored);
            if (result.changed.length) {
              text += " " + self.word("imp.undo_changed").replace("{count}", result.changed.length);
            }
            self.undone = text;
            self.busy = false;
            return send(self.api + "/" + self.job.id, {method: "GET"});
          }).then(function (job) { if (job) { self.job = job; } }).catch(function (error) { self.fail(error); });
        }
      };
    });
  });
}());
