// The live page (api/templates/live/page.html): listens to /api/live/ with EventSource, which
// sends the session's cookie and, when it reconnects, the Last-Event-ID of the last event it
// had, so nothing is missed or shown twice. Each event type is a named event on the wire, so
// each gets a listener of its own.
(function () {
  "use strict";
  const script = document.currentScript;
  const types = JSON.parse(document.getElementById("event-types").textContent);
  const rows = document.getElementById("events");
  const state = document.getElementById("state");
  const source = new EventSource(script.dataset.stream);

  function show(name) {
    state.textContent = name;
    state.dataset.state = name;
  }

  // What an event did, in a few words: its amounts and statuses, the rest left out.
  function summary(data) {
    const parts = [];
    for (const key of ["amount", "balance", "total", "step", "status", "reason", "decision"]) {
      if (data[key] !== undefined && data[key] !== null && data[key] !== "") {
        parts.push(key + " " + data[key]);
      }
    }
    return parts.join(", ");
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function add(event) {
    const envelope = JSON.parse(event.data);
    const row = rows.insertRow(0);
    row.dataset.type = envelope.type;
    row.dataset.aggregate = envelope.aggregate_id;
    cell(row, event.lastEventId, "sequence");
    cell(row, envelope.timestamp.replace("T", " ").slice(0, 19), "at");
    cell(row, "").appendChild(document.createElement("code")).textContent = envelope.type;
    const about = cell(row, envelope.aggregate_id.slice(0, 8));
    about.title = envelope.aggregate_id;
    cell(row, summary(envelope.data || {}));
  }

  for (const type of types) source.addEventListener(type, add);
  source.addEventListener("reset", function (event) {
    const first = JSON.parse(event.data).first_sequence;
    const row = rows.insertRow(0);
    cell(row, "", "sequence");
    cell(row, "").colSpan = 4;
    row.cells[1].textContent = "Older events are gone from the stream; from #" + first + " on.";
  });
  source.addEventListener("open", function () { show("open"); });
  source.addEventListener("error", function () {
    show(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  });
})();
