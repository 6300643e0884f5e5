/**
 * The status page: one self-contained HTML document (no build step, no external assets) that
 * polls /v1/pipeline and /v1/pipeline/history and plots lag and freshness over the last hour.
 * Its script avoids template literals so this file can hold it as a plain string.
 */
export const STATUS_PAGE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>searchsync — pipeline status</title>
<style>
  :root { --ok: #1a7f37; --degraded: #b35900; --failing: #cf222e; --muted: #57606a; --line: #d0d7de; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { display: flex; align-items: center; gap: 16px; padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); }
  h1 { font-size: 18px; margin: 0; }
  h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
  main { padding: 16px 24px; display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
  .badge { padding: 3px 12px; border-radius: 999px; color: #fff; font-weight: 600; text-transform: uppercase; font-size: 12px; }
  .ok { background: var(--ok); } .degraded { background: var(--degraded); } .failing { background: var(--failing); }
  .muted { color: var(--muted); }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eaeef2; }
  th { font-weight: 600; color: var(--muted); font-size: 12px; }
  td.num { text-align: right; }
  .figure { font-size: 26px; font-weight: 600; }
  .figures { display: flex; gap: 28px; flex-wrap: wrap; }
  .figures div span { display: block; font-size: 12px; color: var(--muted); }
  svg { width: 100%; height: 150px; }
  ul.reasons { margin: 0; padding-left: 18px; }
  .state-RUNNING { color: var(--ok); font-weight: 600; } .state-FAILED { color: var(--failing); font-weight: 600; }
  #auth { display: none; gap: 8px; align-items: center; }
</style>
</head>
<body>
<header>
  <h1>searchsync pipeline</h1>
  <span id="status" class="badge" data-testid="status">…</span>
  <span id="updated" class="muted"></span>
  <form id="auth"><input id="key" type="password" placeholder="admin key"><button>use key</button></form>
</header>
<main>
  <section style="grid-column: 1 / -1">
    <h2>Now</h2>
    <div class="figures">
      <div><span>Kafka lag (records)</span><b class="figure" id="lag" data-testid="kafka-lag">–</b></div>
      <div><span>Slot lag</span><b class="figure" id="slot-lag" data-testid="slot-lag">–</b></div>
      <div><span>Retained WAL</span><b class="figure" id="retained">–</b></div>
      <div><span>Freshness (newest applied change)</span><b class="figure" id="freshness" data-testid="freshness">–</b></div>
      <div><span>Dead letters (unresolved)</span><b class="figure" id="dead" data-testid="dead-letters">–</b></div>
    </div>
    <ul class="reasons" id="reasons"></ul>
  </section>
  <section><h2>Kafka lag, last hour</h2><svg id="chart-lag" data-testid="chart-lag" viewBox="0 0 600 150" preserveAspectRatio="none"></svg></section>
  <section><h2>Freshness (s), last hour</h2><svg id="chart-freshness" data-testid="chart-freshness" viewBox="0 0 600 150" preserveAspectRatio="none"></svg></section>
  <section><h2>Slot lag (bytes), last hour</h2><svg id="chart-slot" viewBox="0 0 600 150" preserveAspectRatio="none"></svg></section>
  <section><h2>Connectors</h2><table><thead><tr><th>connector</th><th>state</th><th>tasks</th></tr></thead><tbody id="connectors"></tbody></table>
    <p class="muted" id="slot"></p></section>
  <section style="grid-column: 1 / -1"><h2>Tables</h2>
    <table><thead><tr><th>table</th><th class="num">Kafka lag</th><th class="num">rows</th><th class="num">documents</th><th class="num">freshness</th><th class="num">dead letters</th></tr></thead>
    <tbody id="tables" data-testid="tables"></tbody></table></section>
</main>
<script>
(function () {
  var key = sessionStorage.getItem('searchsync-admin-key') || '';
  function el(id) { return document.getElementById(id); }
  function text(node, value) { node.textContent = value; }
  function bytes(n) {
    if (n === null || n === undefined) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
  }
  function seconds(s) {
    if (s === null || s === undefined) return '–';
    if (s < 120) return s.toFixed(1) + ' s';
    if (s < 7200) return (s / 60).toFixed(1) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }
  function get(path) {
    var headers = key ? { Authorization: 'Bearer ' + key } : {};
    return fetch(path, { headers: headers }).then(function (r) {
      if (r.status === 401 || r.status === 403) { el('auth').style.display = 'flex'; throw new Error('admin key needed'); }
      if (!r.ok) throw new Error(path + ': ' + r.status);
      return r.json();
    });
  }
  function cell(row, value, cls) { var td = document.createElement('td'); td.textContent = value; if (cls) td.className = cls; row.appendChild(td); return td; }
  function chart(svg, points, field, color) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var ns = 'http://www.w3.org/2000/svg';
    var now = Date.now(), from = now - 3600 * 1000;
    var values = points.filter(function (p) { return p[field] !== null && Date.parse(p.at) >= from; });
    var max = Math.max.apply(null, [1].concat(values.map(function (p) { return p[field]; })));
    for (var g = 0; g <= 4; g++) {
      var y = 10 + g * 32.5;
      var grid = document.createElementNS(ns, 'line');
      grid.setAttribute('x1', '0'); grid.setAttribute('x2', '600'); grid.setAttribute('y1', y); grid.setAttribute('y2', y);
      grid.setAttribute('stroke', '#eaeef2'); svg.appendChild(grid);
    }
    var label = document.createElementNS(ns, 'text');
    label.setAttribute('x', '4'); label.setAttribute('y', '20'); label.setAttribute('font-size', '12'); label.setAttribute('fill', '#57606a');
    label.textContent = 'max ' + (field === 'slotLagBytes' ? bytes(max) : field === 'maxFreshnessSeconds' ? seconds(max) : max);
    svg.appendChild(label);
    if (values.length === 0) return;
    var d = values.map(function (p, i) {
      var x = ((Date.parse(p.at) - from) / 3600000) * 600;
      var y = 140 - (p[field] / max) * 130;
      return (i === 0 ? 'M' : 'L') + x.toFixed(1) + ' ' + y.toFixed(1);
    }).join(' ');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d); path.setAttribute('fill', 'none'); path.setAttribute('stroke', color); path.setAttribute('stroke-width', '2');
    path.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(path);
    var last = values[values.length - 1];
    var dot = document.createElementNS(ns, 'circle');
    dot.setAttribute('cx', (((Date.parse(last.at) - from) / 3600000) * 600).toFixed(1));
    dot.setAttribute('cy', (140 - (last[field] / max) * 130).toFixed(1)); dot.setAttribute('r', '3'); dot.setAttribute('fill', color);
    svg.appendChild(dot);
  }
  function render(snapshot, history) {
    var status = el('status'); status.className = 'badge ' + snapshot.status; text(status, snapshot.status);
    text(el('updated'), 'updated ' + new Date(snapshot.at).toLocaleTimeString());
    text(el('lag'), String(snapshot.totals.kafkaLag));
    text(el('slot-lag'), snapshot.slot ? bytes(snapshot.slot.lagBytes) : '–');
    text(el('retained'), snapshot.slot ? bytes(snapshot.slot.retainedBytes) : '–');
    text(el('freshness'), seconds(snapshot.totals.maxFreshnessSeconds));
    text(el('dead'), snapshot.deadLetters === null ? '–' : String(snapshot.deadLetters));
    var reasons = el('reasons'); reasons.innerHTML = '';
    snapshot.reasons.forEach(function (r) { var li = document.createElement('li'); li.textContent = r; reasons.appendChild(li); });
    var connectors = el('connectors'); connectors.innerHTML = '';
    snapshot.connectors.forEach(function (c) {
      var row = document.createElement('tr');
      cell(row, c.name); cell(row, c.state, 'state-' + c.state);
      cell(row, c.tasks.map(function (t) { return t.id + ': ' + t.state; }).join(', ') || '–');
      connectors.appendChild(row);
    });
    text(el('slot'), snapshot.slot ? ('slot ' + snapshot.slot.name + (snapshot.slot.active ? ' active' : ' INACTIVE') + ', wal_status ' + snapshot.slot.walStatus) : '');
    var tables = el('tables'); tables.innerHTML = '';
    snapshot.tables.forEach(function (t) {
      var row = document.createElement('tr');
      cell(row, t.table);
      cell(row, t.kafkaLag === null ? '–' : String(t.kafkaLag), 'num');
      cell(row, t.rows === null ? '–' : (t.rowsExact ? '' : '≈') + t.rows, 'num');
      cell(row, t.documents === null ? '–' : String(t.documents), 'num');
      cell(row, seconds(t.freshnessSeconds), 'num');
      cell(row, t.deadLetters === null || t.deadLetters === undefined ? '–' : String(t.deadLetters), 'num');
      tables.appendChild(row);
    });
    chart(el('chart-lag'), history, 'kafkaLag', '#0969da');
    chart(el('chart-freshness'), history, 'maxFreshnessSeconds', '#8250df');
    chart(el('chart-slot'), history, 'slotLagBytes', '#bf3989');
    document.body.setAttribute('data-ready', 'true');
  }
  function refresh() {
    Promise.all([get('v1/pipeline'), get('v1/pipeline/history')]).then(function (r) { render(r[0], r[1]); })
      .catch(function (e) { text(el('updated'), String(e.message || e)); });
  }
  el('auth').addEventListener('submit', function (e) {
    e.preventDefault(); key = el('key').value; sessionStorage.setItem('searchsync-admin-key', key);
    el('auth').style.display = 'none'; refresh();
  });
  refresh();
  setInterval(refresh, 5000);
})();
</script>
</body>
</html>
`;
