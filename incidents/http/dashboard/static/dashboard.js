// Live updates: when the log moves, every part of the page marked hx-trigger="log-changed"
// asks the server for its fresh HTML. The log's live feed (Server-Sent Events) says when;
// where the feed is not served, the page asks /health for the log's head every two seconds.
(function () {
  "use strict";
  var body = document.body;
  var status = document.getElementById("live-status");
  var head = Number(body.dataset.head || 0);
  var pending = null;

  function say(text) {
    if (status) status.textContent = text;
  }

  function changed() {
    // Several events committed together refresh the page once.
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      if (window.htmx) window.htmx.trigger(body, "log-changed");
    }, 50);
  }

  function poll() {
    say("Live: checking the log every 2 seconds.");
    setInterval(function () {
      fetch("/health", { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (health) {
          if (health && health.head_position !== head) {
            head = health.head_position;
            changed();
          }
        })
        .catch(function () { say("Live updates paused: the service does not answer."); });
    }, 2000);
  }

  function listen() {
    if (!window.EventSource) return poll();
    var source = new EventSource("/events/live?after=" + head);
    var opened = false;
    source.onopen = function () {
      opened = true;
      say("Live: the page follows the log as events are committed.");
    };
    source.onmessage = function (message) {
      var position = Number(message.lastEventId || 0);
      if (position > head) head = position;
      changed();
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        if (!opened) poll();
        else say("Live updates stopped: reload the page to resume.");
      }
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var counts = document.querySelector(".counts[data-head]");
    if (counts) head = Number(counts.dataset.head);
    if (document.querySelector("[hx-trigger*='log-changed']")) listen();
    else say("");
  });
  // A part swapped in carries the head it was read at.
  body.addEventListener("htmx:afterSwap", function () {
    var counts = document.querySelector(".counts[data-head]");
    if (counts && Number(counts.dataset.head) > head) head = Number(counts.dataset.head);
  });
})();
