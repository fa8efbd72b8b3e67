// The import run page follows its run: poll the run's progress (JSON), fill the counters in, and reload once
// the run has ended so the summary and reconciliation report show. Without JavaScript the Refresh link does it.
(function () {
  "use strict";
  var live = document.getElementById("run-live");
  if (!live || !window.fetch) { return; }
  var url = live.getAttribute("data-progress-url");
  var every = Math.max(1, parseInt(live.getAttribute("data-poll-seconds"), 10) || 2) * 1000;
  var labels = JSON.parse(live.getAttribute("data-labels") || "{}");
  var note = document.getElementById("run-live-note");
  if (note) { note.hidden = false; }

  function setText(id, text) {
    var element = document.getElementById(id);
    if (element && element.textContent !== String(text)) { element.textContent = String(text); }
  }

  function fill(doc) {
    var status = document.getElementById("run-status");
    if (status) {
      status.setAttribute("data-status", doc.status);
      setText("run-status", labels[doc.status] || doc.status);
    }
    var p = doc.progress || {};
    if (p.phase && labels.phase_of && !doc.done) {
      setText("run-phase", labels.phase_of.replace("{phase}", p.phase)
        .replace("{index}", (p.phase_index || 0) + 1).replace("{total}", p.phases));
    }
    setText("run-calls", p.calls || 0);
    setText("run-calls-429", p.calls_429 || 0);
    (doc.streams || []).forEach(function (row) {
      var line = document.querySelector('tr[data-stream="' + row.stream + '"]');
      if (!line) { return; }
      Object.keys(row.counts).forEach(function (outcome) {
        var cell = line.querySelector('td[data-outcome="' + outcome + '"]');
        if (cell) { cell.textContent = String(row.counts[outcome]); }
      });
      var details = line.querySelector('td[data-outcome="details"]');
      if (details) { details.textContent = String(row.details); }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (doc) {
        if (!doc) { window.setTimeout(poll, every * 2); return; }
        fill(doc);
        if (doc.done) { window.location.replace(window.location.pathname); return; }
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every * 2); });
  }
  window.setTimeout(poll, every);
})();
