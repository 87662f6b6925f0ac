// gridwatch console: the live list and an alert's page. Hand-written, no dependencies, nothing fetched.
"use strict";
var gridwatch = (function () {
  var STALE_AFTER_MS = 10000;
  var SEVERITY_ZH = {info: "提示", warning: "警告", high: "严重", critical: "危急"};  // as streams/console/board.py
  function csrf() { return document.querySelector('meta[name="csrf"]').content; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function cmp(a, b) {
    for (var i = 0; i < a.sort.length; i++) { if (a.sort[i] !== b.sort[i]) { return a.sort[i] - b.sort[i]; } }
    return a.alert_id < b.alert_id ? -1 : 1;
  }
  function age(s) {
    if (s < 60) { return s + " 秒 s"; }
    if (s < 3600) { return Math.floor(s / 60) + " 分 min"; }
    return Math.floor(s / 3600) + " 时 h";
  }
  // the badge: live while the stream is open and the console hears from the broker
  function Badge(node) {
    var last = 0, open = false, feedLive = false;
    function draw() {
      var state, text;
      if (!open) { state = "reconnecting"; text = "重连中 reconnecting"; }
      else if (Date.now() - last > STALE_AFTER_MS || !feedLive) { state = "stale"; text = "数据过时 stale"; }
      else { state = "live"; text = "实时 live"; }
      node.className = "badge " + state; node.textContent = text; node.dataset.state = state;
    }
    setInterval(draw, 1000);
    return {
      opened: function () { open = true; last = Date.now(); draw(); },
      lost: function () { open = false; draw(); },
      beat: function (hb) { last = Date.now(); feedLive = !!(hb && hb.feed_live); draw(); }
    };
  }
  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var o = ctx.createOscillator(); o.frequency.value = 880; o.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.4);
    } catch (e) { /* no audio here */ }
  }
  function list() {
    var rows = {}, badge = Badge(document.getElementById("badge"));
    var tbody = document.querySelector("#alerts tbody"), counts = document.querySelector("#grid-counts tbody");
    var sound = document.getElementById("sound");
    sound.checked = localStorage.getItem("gridwatch.sound") === "1";
    sound.addEventListener("change", function () { localStorage.setItem("gridwatch.sound", sound.checked ? "1" : "0"); });
    document.getElementById("csv").href = "/alerts.csv" + location.search;
    function drawGrids(grids) {
      counts.textContent = "";
      grids.forEach(function (g) {
        var cell = document.querySelector('#grid-map [data-grid="' + g.large_grid + '"]');
        if (cell) {  // colour, letter, count and title as pages.grid_map draws them: never the colour alone
          cell.querySelector("rect").setAttribute("class", "sev-" + (g.worst || "none"));
          cell.querySelector("text").textContent = g.large_grid + " " + (g.worst ? g.worst.charAt(0).toUpperCase() : "") +
            (g.unresolved ? "·" + g.unresolved : "");
          cell.querySelector("title").textContent = g.large_grid + ": " + g.unresolved + " 未解决 unresolved" +
            (g.worst ? ", 最高 worst " + SEVERITY_ZH[g.worst] + " " + g.worst : "");
        }
        if (!g.unresolved) { return; }
        var tr = el("tr"), a = el("a", "", g.large_grid);
        var q = new URLSearchParams(location.search); q.set("large_grid", g.large_grid); a.href = "?" + q.toString();
        var td = el("td"); td.appendChild(a); tr.appendChild(td);
        tr.appendChild(el("td", "", g.unresolved + (g.worst ? " · " + g.worst : ""))); counts.appendChild(tr);
      });
    }
    function draw() {
      var all = Object.keys(rows).map(function (k) { return rows[k]; }).sort(cmp);
      tbody.textContent = "";
      all.forEach(function (r) {
        var tr = el("tr", "status-" + r.status); tr.dataset.alert = r.alert_id; tr.dataset.revision = r.revision;
        var sev = el("td"); sev.appendChild(el("span", "sev sev-" + r.severity, r.severity_zh + " " + r.severity));
        tr.appendChild(sev);
        tr.appendChild(el("td", "status", r.status_zh + " " + r.status));
        var rule = el("td"); var a = el("a", "", r.rule_zh + " "); a.href = "/alerts/" + encodeURIComponent(r.alert_id);
        a.appendChild(el("small", "", r.rule_en)); rule.appendChild(a); tr.appendChild(rule);
        tr.appendChild(el("td", "", r.large_grid + " / " + r.small_grid));
        var where = el("td", "", (r.compound_name || "–") + " / " + (r.checkpoint_name || "–"));
        where.title = (r.compound_id || "") + " " + (r.checkpoint_id || ""); tr.appendChild(where);
        tr.appendChild(el("td", "", r.subject_masked || "–"));
        tr.appendChild(el("td", "count", String(r.count)));
        tr.appendChild(el("td", "", r.last_event_time || r.event_time));
        tr.appendChild(el("td", "", age(r.age_s)));
        tr.title = r.summary_zh + " / " + r.summary_en;
        tbody.appendChild(tr);
      });
      document.getElementById("empty").hidden = all.length > 0;
      document.getElementById("total").textContent = all.length + " 条 alerts";
      document.body.dataset.rows = String(all.length);
    }
    var source = new EventSource("/stream" + location.search);
    source.onopen = badge.opened;
    source.onerror = badge.lost;
    source.addEventListener("snapshot", function (ev) {
      var d = JSON.parse(ev.data); rows = {};
      d.rows.forEach(function (r) { rows[r.alert_id] = r; });
      badge.opened(); badge.beat(d.heartbeat); drawGrids(d.grids); draw();
    });
    source.addEventListener("revision", function (ev) {
      var d = JSON.parse(ev.data), r = d.row, known = rows[r.alert_id];
      if (d.matches) { rows[r.alert_id] = r; } else { delete rows[r.alert_id]; }
      if (!known && d.matches && r.severity === "critical" && r.revision === 1 && sound.checked) { beep(); }
      badge.beat({feed_live: true}); drawGrids(d.grids); draw();
    });
    source.addEventListener("heartbeat", function (ev) { badge.beat(JSON.parse(ev.data)); });
  }
  // an alert's page: actions go out, and the page changes only when the new revision comes back
  function detail() {
    var article = document.querySelector("article.alert"), form = document.getElementById("act");
    var id = article.dataset.alert, shown = Number(article.dataset.revision), waiting = false;
    var statusLine = document.getElementById("act-status");
    var source = new EventSource("/stream?q=" + encodeURIComponent(id));
    source.addEventListener("revision", function (ev) {
      var r = JSON.parse(ev.data).row;
      if (r.alert_id === id && r.revision > shown) { location.reload(); }
    });
    source.addEventListener("snapshot", function (ev) {
      JSON.parse(ev.data).rows.forEach(function (r) { if (r.alert_id === id && r.revision > shown) { location.reload(); } });
    });
    if (!form) { return; }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (waiting) { return; }
      var body = new URLSearchParams(new FormData(form));
      body.set("action", ev.submitter ? ev.submitter.value : "comment");
      waiting = true; statusLine.textContent = "已发送，等待处理… sent, waiting for the pipeline…";
      fetch("/alerts/" + encodeURIComponent(id) + "/action", {method: "POST", body: body,
        headers: {"X-CSRF-Token": csrf()}, credentials: "same-origin"}).then(function (resp) {
        if (resp.status !== 202) {
          waiting = false;
          return resp.text().then(function (t) { statusLine.textContent = "未成功 not done: " + t; });
        }
      }).catch(function () { waiting = false; statusLine.textContent = "未发送 not sent: network"; });
    });
  }
  return {list: list, detail: detail};
})();
