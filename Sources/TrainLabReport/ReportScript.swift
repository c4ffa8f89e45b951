/// The report page's script (no library, nothing fetched): redraws the curve charts from the
/// page's JSON (`ReportPageData`) with hover (step, value, series), legend clicks that hide or
/// show a series, drag-to-zoom on x (double-click resets), a log/linear y toggle, the EMA
/// slider, group by among the swept keys (mean and min–max band recomputed), and the runs table
/// (sort by any column; filter by tag, status and param; the charts follow the selection).
/// State (zoom, hidden series, filters) lives in `location.hash` and sessionStorage, so a reload
/// of a live page (`report --watch`) keeps it. `#selftest` drives the first chart and writes
/// what changed into `<pre id="selftest">`. Without JavaScript the static SVG stays.
enum ReportScript {
    static let source = #"""
(function () {
  'use strict';
  var node = document.getElementById('report-data');
  if (!node || !window.JSON || !document.createElementNS) return;
  var D = JSON.parse(node.textContent);
  var anyChart = document.querySelector('svg.chart');
  if (!anyChart) return;
  var NS = anyChart.namespaceURI;
  var selftest = location.hash === '#selftest';
  var KEY = 'trainlab-report:' + D.experiment;
  var PALETTE = ['#E69F00', '#56B4E9', '#009E73', '#D55E00', '#0072B2', '#CC79A7', '#000000'];
  var W = 900, LEFT = 72, RIGHT = 24, TOP = 34, PLOT_H = 300, BOTTOM = TOP + PLOT_H, HEIGHT = BOTTOM + 46;
  var state = loadState();
  var runById = {}, configById = {};
  D.runs.forEach(function (r) { r.tags = r.tags || []; if (r.final === undefined) r.final = null; runById[r.id] = r; });
  D.configs.forEach(function (c) { configById[c.id] = c; });
  // The params a config's runs share are written once, on the config.
  D.runs.forEach(function (r) {
    var shared = (configById[r.config] || {}).params || {};
    for (var k in shared) if (!(k in r.params)) r.params[k] = shared[k];
  });

  // State survives a reload (report --watch rewrites the file): the hash, else sessionStorage.
  function loadState() {
    var s = null;
    if (!selftest && location.hash.length > 2) { try { s = JSON.parse(decodeURIComponent(location.hash.slice(1))); } catch (e) { s = null; } }
    if (!s && !selftest) { try { s = JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch (e) { s = null; } }
    s = (s && typeof s === 'object') ? s : {};
    s.hidden = s.hidden || {}; s.zoom = s.zoom || {}; s.log = s.log || {};
    if (typeof s.smooth !== 'number') s.smooth = D.smoothing || 0;
    if (!Array.isArray(s.group)) s.group = D.groupKeys.slice();
    s.tag = s.tag || ''; s.status = s.status || ''; s.param = s.param || '';
    s.sort = Array.isArray(s.sort) ? s.sort : ['run', 1];
    return s;
  }
  function saveState() {
    if (selftest) return;
    var text = JSON.stringify(state);
    try { sessionStorage.setItem(KEY, text); } catch (e) { /* storage off: the hash still keeps it */ }
    try { history.replaceState(null, '', '#' + encodeURIComponent(text)); } catch (e) { /* file:// in some browsers */ }
  }
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(name, attrs, parent, text) {
    var e = document.createElement(name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) { return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(4))); }
  function shortKey(k) { var parts = k.split('.'); var last = parts[parts.length - 1]; return last === 'kind' && parts.length > 1 ? parts[parts.length - 2] : last; }

  // Selection: the runs table's filters.
  function selected(r) {
    if (state.status && r.status !== state.status) return false;
    if (state.tag && !r.tags.some(function (t) { return t.indexOf(state.tag) >= 0; })) return false;
    var words = state.param.split(/[\s,]+/).filter(Boolean);
    for (var i = 0; i < words.length; i++) {
      var w = words[i], eq = w.indexOf('=');
      var ok = Object.keys(r.params).some(function (k) {
        if (eq < 0) return (k + '=' + r.params[k]).indexOf(w) >= 0;
        var key = w.slice(0, eq), value = w.slice(eq + 1);
        return (k === key || k.slice(-key.length - 1) === '.' + key) && r.params[k] === value;
      });
      if (!ok) return false;
    }
    return true;
  }
  function sameKeys(a, b) { return a.length === b.length && a.every(function (k) { return b.indexOf(k) >= 0; }); }
  function groupOf(r) {
    if (sameKeys(state.group, D.groupKeys)) {
      var c = configById[r.config];
      return { key: 'config ' + c.id, label: c.label, color: c.color, dash: c.dash };
    }
    if (!state.group.length) return { key: 'all runs', label: 'all runs' };
    var label = state.group.map(function (k) { return shortKey(k) + '=' + (r.params[k] === undefined ? '-' : r.params[k]); }).join(', ');
    return { key: label, label: label };
  }
  function ema(values, a) {
    var avg = 0, weight = 1;
    return values.map(function (v) { avg = a * avg + (1 - a) * v; weight *= a; return avg / (1 - weight); });
  }

  // A chart's series: per group, the mean over its selected runs of each column's first and last
  // point, the band min..max of the column; diverged runs drawn alone.
  function seriesOf(def) {
    var groups = {}, order = [], traces = [], C = def.columns, x0 = def.first, span = def.last - def.first;
    function column(x) { return span > 0 ? Math.min(C - 1, Math.floor((x - x0) / span * C)) : 0; }
    def.runs.forEach(function (rc) {
      var r = runById[rc.run];
      if (!r || !selected(r)) return;
      var g = groupOf(r);
      if (!groups[g.key]) { groups[g.key] = { key: g.key, label: g.label, color: g.color, dash: g.dash, cells: {}, runs: 0, points: [] }; order.push(g.key); }
      var G = groups[g.key];
      if (r.status === 'diverged') { traces.push({ group: G, run: r.id, x: rc.x, y: rc.y }); return; }
      G.runs += 1;
      var per = {};
      for (var i = 0; i < rc.x.length; i++) { if (rc.y[i] === null) continue; var c = column(rc.x[i]); (per[c] = per[c] || []).push(i); }
      Object.keys(per).forEach(function (c) {
        var idx = per[c], a = idx[0], b = idx[idx.length - 1];
        var cell = G.cells[c] = G.cells[c] || { n: 0, xa: 0, ya: 0, xb: 0, yb: 0, lo: Infinity, hi: -Infinity, two: false };
        cell.n += 1; cell.xa += rc.x[a]; cell.ya += rc.y[a]; cell.xb += rc.x[b]; cell.yb += rc.y[b]; cell.two = cell.two || a !== b;
        idx.forEach(function (j) { cell.lo = Math.min(cell.lo, rc.y[j]); cell.hi = Math.max(cell.hi, rc.y[j]); });
      });
    });
    var smooth = def.metric === 'train_loss' && state.smooth > 0 ? state.smooth : 0;
    var series = order.map(function (key, index) {
      var G = groups[key], pts = [];
      Object.keys(G.cells).map(Number).sort(function (a, b) { return a - b; }).forEach(function (c) {
        var cell = G.cells[c];
        pts.push({ x: cell.xa / cell.n, y: cell.ya / cell.n, lo: cell.lo, hi: cell.hi });
        if (cell.two) pts.push({ x: cell.xb / cell.n, y: cell.yb / cell.n, lo: cell.lo, hi: cell.hi });
      });
      if (smooth) {
        var y = ema(pts.map(function (p) { return p.y; }), smooth), lo = ema(pts.map(function (p) { return p.lo; }), smooth), hi = ema(pts.map(function (p) { return p.hi; }), smooth);
        pts = pts.map(function (p, i) { return { x: p.x, y: y[i], lo: lo[i], hi: hi[i] }; });
      }
      G.points = pts;
      if (!G.color) { G.color = PALETTE[index % PALETTE.length]; G.dash = index >= PALETTE.length ? '6 3' : null; }
      return G;
    });
    traces.forEach(function (t) {
      var ys = t.y.map(function (v) { return v === null ? NaN : v; });
      if (smooth) ys = ema(ys, smooth);
      t.points = t.x.map(function (x, i) { return { x: x, y: ys[i] }; }).filter(function (p) { return isFinite(p.y); });
    });
    return { series: series, traces: traces };
  }

  function niceTicks(lo, hi, count) {
    var span = hi - lo; if (!(span > 0)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log(span / count) / Math.LN10)), f = span / count / step;
    step *= f >= 5 ? 10 : f >= 2 ? 5 : f >= 1 ? 2 : 1;
    var out = []; for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }

  var charts = [];
  function Chart(def, svg) {
    var self = this;
    this.def = def; this.svg = svg; this.drawn = [];
    var figure = svg.parentNode;
    var bar = html('div', { 'class': 'chart-controls' });
    figure.insertBefore(bar, svg);
    var label = html('label', {}, bar); this.logBox = html('input', { type: 'checkbox', 'class': 'log-toggle' }, label); label.appendChild(document.createTextNode(' log y'));
    var reset = html('button', { type: 'button', 'class': 'reset-zoom' }, bar, 'reset zoom');
    html('span', { 'class': 'hint' }, bar, 'drag to zoom on x, double-click to reset; click the legend to hide a series');
    this.legend = html('div', { 'class': 'js-legend' });
    figure.insertBefore(this.legend, svg.nextSibling);
    this.logBox.addEventListener('change', function () { state.log[def.id] = self.logBox.checked; saveState(); self.render(); });
    reset.addEventListener('click', function () { delete state.zoom[def.id]; saveState(); self.render(); });
    svg.addEventListener('mousemove', function (e) { var p = self.local(e); if (self.dragFrom !== undefined) self.dragTo(p.x); else self.hover(p.x, p.y); });
    svg.addEventListener('mouseleave', function () { if (self.tip) self.tip.setAttribute('display', 'none'); });
    svg.addEventListener('mousedown', function (e) { var p = self.local(e); if (p.x >= LEFT && p.x <= W - RIGHT) { self.dragFrom = p.x; e.preventDefault(); } });
    svg.addEventListener('mouseup', function (e) { var p = self.local(e); self.endDrag(p.x); });
    svg.addEventListener('dblclick', function () { delete state.zoom[def.id]; saveState(); self.render(); });
  }
  Chart.prototype.local = function (e) {
    var r = this.svg.getBoundingClientRect();
    return { x: (e.clientX - r.left) * W / r.width, y: (e.clientY - r.top) * HEIGHT / r.height };
  };
  Chart.prototype.toClient = function (x, y) {
    var r = this.svg.getBoundingClientRect();
    return { clientX: r.left + x * r.width / W, clientY: r.top + y * r.height / HEIGHT };
  };
  Chart.prototype.render = function () {
    var def = this.def, svg = this.svg, self = this, data = seriesOf(def);
    this.data = data;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + HEIGHT);
    svg.setAttribute('width', W); svg.setAttribute('height', HEIGHT);
    var shown = data.series.filter(function (g) { return !state.hidden[g.key]; });
    var traces = data.traces.filter(function (t) { return !state.hidden[t.group.key]; });
    var all = [];
    data.series.forEach(function (g) { all = all.concat(g.points); });
    data.traces.forEach(function (t) { all = all.concat(t.points); });
    var xs = all.map(function (p) { return p.x; });
    var full = [Math.min(0, Math.min.apply(null, xs.length ? xs : [0])), Math.max.apply(null, xs.length ? xs : [1])];
    var xd = state.zoom[def.id] || full;
    if (!(xd[1] > xd[0])) xd = [xd[0], xd[0] + 1];
    var ys = [];
    function inX(p) { return p.x >= xd[0] && p.x <= xd[1]; }
    shown.forEach(function (g) { g.points.filter(inX).forEach(function (p) { ys.push(p.y, p.lo, p.hi); }); });
    if (!ys.length) traces.forEach(function (t) { t.points.filter(inX).forEach(function (p) { ys.push(p.y); }); });
    ys = ys.filter(isFinite);
    var lo = ys.length ? Math.min.apply(null, ys) : 0, hi = ys.length ? Math.max.apply(null, ys) : 1;
    var wantLog = state.log[def.id] !== undefined ? state.log[def.id] : def.yScale === 'log';
    var log = wantLog && lo > 0;
    this.logBox.checked = log; this.logBox.disabled = !(lo > 0);
    var f = log ? function (v) { return Math.log(v) / Math.LN10; } : function (v) { return v; };
    var y0 = f(lo), y1 = f(hi);
    if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; } else { var pad = (y1 - y0) * 0.04; y0 -= pad; y1 += pad; }
    var pw = W - LEFT - RIGHT;
    function px(x) { return LEFT + (x - xd[0]) / (xd[1] - xd[0]) * pw; }
    function py(y) { var v = f(y); return BOTTOM - (v - y0) / (y1 - y0) * PLOT_H; }
    this.px = px; this.py = py; this.xd = xd;
    this.xOf = function (p) { return xd[0] + (p - LEFT) / pw * (xd[1] - xd[0]); };
    svg.setAttribute('data-y-scale', log ? 'log' : 'linear');
    svg.setAttribute('data-x-domain', fmt(xd[0]) + ' ' + fmt(xd[1]));
    el('text', { x: 16, y: 22, 'font-size': 15, 'font-weight': 'bold', 'class': 'title' }, svg).textContent = def.title;
    el('rect', { x: LEFT, y: TOP, width: pw, height: PLOT_H, fill: '#ffffff', stroke: '#cccccc', 'class': 'plot-area' }, svg);
    var grid = el('g', { 'class': 'grid' }, svg);
    var yt = log ? (function () { var t = []; for (var e = Math.floor(y0); e <= Math.ceil(y1); e++) if (e >= y0 && e <= y1) t.push(Math.pow(10, e)); return t.length >= 2 ? t : niceTicks(lo, hi, 5).filter(function (v) { return v > 0; }); })() : niceTicks(y0, y1, 6);
    yt.forEach(function (v) {
      el('line', { x1: LEFT, x2: W - RIGHT, y1: py(v), y2: py(v), stroke: '#e3e3e3' }, grid);
      el('text', { x: LEFT - 6, y: py(v) + 4, 'font-size': 11, 'text-anchor': 'end', 'class': 'tick y' }, svg).textContent = fmt(v);
    });
    niceTicks(xd[0], xd[1], 6).forEach(function (v) {
      el('line', { x1: px(v), x2: px(v), y1: TOP, y2: BOTTOM, stroke: '#eeeeee' }, grid);
      el('text', { x: px(v), y: BOTTOM + 16, 'font-size': 11, 'text-anchor': 'middle', 'class': 'tick x' }, svg).textContent = fmt(v);
    });
    el('text', { x: LEFT + pw / 2, y: BOTTOM + 36, 'font-size': 12, 'text-anchor': 'middle' }, svg).textContent = def.xLabel + (state.zoom[def.id] ? ' (zoomed)' : '');
    el('text', { x: 14, y: TOP + PLOT_H / 2, 'font-size': 12, 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (TOP + PLOT_H / 2) + ')' }, svg).textContent = def.yLabel + (log ? ', log' : '');
    var clipId = def.id + '-js-clip';
    el('rect', { x: LEFT, y: TOP, width: pw, height: PLOT_H }, el('clipPath', { id: clipId }, el('defs', {}, svg)));
    var plot = el('g', { 'clip-path': 'url(#' + clipId + ')' }, svg);
    function path(points, yOf) {
      return points.map(function (p, i) { return (i ? 'L' : 'M') + px(p.x).toFixed(1) + ' ' + Math.max(-1e4, Math.min(1e4, py(yOf(p)))).toFixed(1); }).join(' ');
    }
    this.drawn = [];
    shown.forEach(function (g) {
      if (g.runs > 1 && g.points.length) {
        el('path', { 'class': 'js-band', d: path(g.points, function (p) { return p.hi; }) + ' ' + path(g.points.slice().reverse(), function (p) { return p.lo; }).replace('M', 'L') + ' Z', fill: g.color, 'fill-opacity': 0.14, stroke: 'none' }, plot);
      }
    });
    traces.forEach(function (t) {
      if (!t.points.length) return;
      el('path', { 'class': 'js-trace', 'data-series': t.group.key, d: path(t.points, function (p) { return p.y; }), fill: 'none', stroke: t.group.color, 'stroke-width': 1.2, 'stroke-dasharray': t.group.dash }, plot);
      var last = t.points[t.points.length - 1], cx = px(last.x), cy = Math.max(TOP, Math.min(BOTTOM, py(last.y)));
      el('path', { d: 'M' + (cx - 4) + ' ' + (cy - 4) + ' L' + (cx + 4) + ' ' + (cy + 4) + ' M' + (cx - 4) + ' ' + (cy + 4) + ' L' + (cx + 4) + ' ' + (cy - 4), stroke: t.group.color, 'stroke-width': 2 }, plot);
      t.points.forEach(function (p) { self.drawn.push({ p: p, label: t.group.label + ', run ' + t.run + ' (diverged)' }); });
    });
    shown.forEach(function (g) {
      if (!g.points.length) return;
      el('path', { 'class': 'js-line', 'data-series': g.key, d: path(g.points, function (p) { return p.y; }), fill: 'none', stroke: g.color, 'stroke-width': 2, 'stroke-dasharray': g.dash, 'stroke-linejoin': 'round' }, plot);
      g.points.forEach(function (p) { self.drawn.push({ p: p, label: g.label + (g.runs > 1 ? ' (mean of ' + g.runs + ' runs)' : '') }); });
    });
    this.brush = el('rect', { 'class': 'brush', y: TOP, height: PLOT_H, x: 0, width: 0, fill: '#0b5394', 'fill-opacity': 0.12, display: 'none' }, svg);
    this.tip = el('g', { 'class': 'hover', display: 'none', 'pointer-events': 'none' }, svg);
    // The HTML legend: one entry per series, click to hide or show.
    while (this.legend.firstChild) this.legend.removeChild(this.legend.firstChild);
    data.series.forEach(function (g) {
      var item = html('span', { 'class': 'item' + (state.hidden[g.key] ? ' off' : ''), 'data-series': g.key, role: 'button', tabindex: '0' }, self.legend);
      html('span', { 'class': 'swatch', style: 'border-top: 3px ' + (g.dash ? 'dashed' : 'solid') + ' ' + g.color }, item);
      item.appendChild(document.createTextNode(' ' + g.label));
      item.addEventListener('click', function () { if (state.hidden[g.key]) delete state.hidden[g.key]; else state.hidden[g.key] = 1; saveState(); renderAll(); });
    });
  };
  Chart.prototype.hover = function (x, y) {
    if (!this.tip) return;
    var best = null, bestD = Infinity, self = this;
    if (x < LEFT || x > W - RIGHT || y < TOP || y > BOTTOM) { this.tip.setAttribute('display', 'none'); return; }
    this.drawn.forEach(function (d) {
      if (d.p.x < self.xd[0] || d.p.x > self.xd[1]) return;
      var dx = self.px(d.p.x) - x, dy = self.py(d.p.y) - y, dist = dx * dx + dy * dy;
      if (dist < bestD) { bestD = dist; best = d; }
    });
    var tip = this.tip;
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    if (!best) { tip.setAttribute('display', 'none'); return; }
    var cx = this.px(best.p.x), cy = this.py(best.p.y);
    var text = 'step ' + Math.round(best.p.x) + ' \u00b7 ' + this.def.metric + ' ' + fmt(best.p.y) + ' \u00b7 ' + best.label;
    el('circle', { cx: cx, cy: cy, r: 4, fill: 'none', stroke: '#222', 'stroke-width': 1.5 }, tip);
    var width = Math.min(W - 20, text.length * 6.4 + 12), left = Math.max(4, Math.min(W - width - 4, cx + 10)), top = cy < TOP + 40 ? cy + 10 : cy - 30;
    el('rect', { x: left, y: top, width: width, height: 20, rx: 3, fill: '#ffffff', stroke: '#888', 'fill-opacity': 0.95 }, tip);
    el('text', { x: left + 6, y: top + 14, 'font-size': 11 }, tip).textContent = text;
    tip.setAttribute('display', 'inline');
    tip.setAttribute('data-step', String(Math.round(best.p.x)));
  };
  Chart.prototype.dragTo = function (x) {
    var a = Math.max(LEFT, Math.min(this.dragFrom, x)), b = Math.min(W - RIGHT, Math.max(this.dragFrom, x));
    this.brush.setAttribute('x', a); this.brush.setAttribute('width', b - a); this.brush.setAttribute('display', 'inline');
  };
  Chart.prototype.endDrag = function (x) {
    if (this.dragFrom === undefined) return;
    var a = Math.max(LEFT, Math.min(this.dragFrom, x)), b = Math.min(W - RIGHT, Math.max(this.dragFrom, x));
    this.dragFrom = undefined;
    if (b - a < 4) { this.brush.setAttribute('display', 'none'); return; }
    state.zoom[this.def.id] = [this.xOf(a), this.xOf(b)];
    saveState(); this.render();
  };

  function renderAll() { charts.forEach(function (c) { c.render(); }); renderTable(); }

  // Page controls: smoothing, group by, and the runs table with its filters.
  var tableBox, countBox;
  function controls() {
    var box = document.getElementById('page-controls');
    if (!box) return;
    box.removeAttribute('hidden');
    var s = html('label', {}, box, 'smoothing (EMA of train_loss) ');
    var slider = html('input', { type: 'range', min: '0', max: '0.99', step: '0.01', value: String(state.smooth), 'class': 'smooth' }, s);
    var shown = html('span', { 'class': 'smooth-value' }, s, ' ' + state.smooth.toFixed(2));
    slider.addEventListener('input', function () { state.smooth = Number(slider.value); shown.textContent = ' ' + state.smooth.toFixed(2); saveState(); renderAll(); });
    if (D.sweptKeys.length) {
      var g = html('span', { 'class': 'group-by' }, box, ' group by: ');
      D.sweptKeys.forEach(function (k) {
        var l = html('label', {}, g); var c = html('input', { type: 'checkbox', value: k }, l);
        c.checked = state.group.indexOf(k) >= 0;
        l.appendChild(document.createTextNode(' ' + k + ' '));
        c.addEventListener('change', function () {
          state.group = D.sweptKeys.filter(function (key) { return key === k ? c.checked : state.group.indexOf(key) >= 0; });
          saveState(); renderAll();
        });
      });
    }
  }
  function renderTable() {
    var box = document.getElementById('runs-table');
    if (!box) return;
    if (!tableBox) {
      box.removeAttribute('hidden');
      var f = html('div', { 'class': 'filters' }, box);
      function field(label, key, attrs) {
        var l = html('label', {}, f, label + ' ');
        var input = html(attrs.options ? 'select' : 'input', attrs.options ? { 'class': 'filter-' + key } : { type: 'text', 'class': 'filter-' + key, placeholder: attrs.placeholder }, l);
        (attrs.options || []).forEach(function (o) { html('option', { value: o }, input, o || 'any'); });
        input.value = state[key];
        input.addEventListener(attrs.options ? 'change' : 'input', function () { state[key] = input.value; saveState(); renderAll(); });
      }
      var statuses = ['']; D.runs.forEach(function (r) { if (statuses.indexOf(r.status) < 0) statuses.push(r.status); });
      field('tag', 'tag', { placeholder: 'part of a tag' });
      field('status', 'status', { options: statuses });
      field('params', 'param', { placeholder: 'lr=0.1 or text' });
      countBox = html('span', { 'class': 'count' }, f);
      tableBox = html('div', { 'class': 'scroll' }, box);
    }
    var columns = ['run', 'config', 'status', 'tags'].concat(D.sweptKeys, ['seed', 'final ' + D.metric]);
    function cell(r, c) {
      if (c === 'run') return r.id;
      if (c === 'config') return Number(r.config);
      if (c === 'status') return r.status;
      if (c === 'tags') return r.tags.join(', ');
      if (c === 'final ' + D.metric) return r.final === null ? null : r.final;
      var v = r.params[c]; return v === undefined ? null : (isFinite(Number(v)) && v !== '' ? Number(v) : v);
    }
    var col = columns.indexOf(state.sort[0]) >= 0 ? state.sort[0] : 'run', dir = state.sort[1] < 0 ? -1 : 1;
    var rows = D.runs.filter(selected).sort(function (a, b) {
      var x = cell(a, col), y = cell(b, col);
      if (x === y) return a.id - b.id;
      if (x === null) return 1; if (y === null) return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1) * dir;
    });
    countBox.textContent = ' ' + rows.length + ' of ' + D.runs.length + ' runs selected; the charts show these';
    while (tableBox.firstChild) tableBox.removeChild(tableBox.firstChild);
    var table = html('table', { 'class': 'runs' }, tableBox), head = html('tr', {}, html('thead', {}, table));
    columns.forEach(function (c) {
      var th = html('th', { scope: 'col', 'data-column': c }, head, c + (c === col ? (dir > 0 ? ' \u25b2' : ' \u25bc') : ''));
      th.addEventListener('click', function () { state.sort = [c, c === col ? -dir : 1]; saveState(); renderTable(); });
    });
    var body = html('tbody', {}, table);
    rows.slice(0, 2000).forEach(function (r) {
      var tr = html('tr', { 'data-run': String(r.id) }, body);
      columns.forEach(function (c) { var v = cell(r, c); html('td', {}, tr, v === null ? '-' : (typeof v === 'number' && c !== 'run' && c !== 'config' ? fmt(v) : String(v))); });
    });
  }

  function runSelftest() {
    var out = { hover: false, legend: false, zoom: false, log: false };
    var chart = charts[0];
    if (chart && chart.drawn.length) {
      var svg = chart.svg;
      function fire(type, x, y) {
        var c = chart.toClient(x, y);
        svg.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, clientX: c.clientX, clientY: c.clientY, view: window }));
      }
      var target = chart.drawn[Math.floor(chart.drawn.length / 2)].p;
      fire('mousemove', chart.px(target.x), chart.py(target.y));
      var tip = svg.querySelector('g.hover');
      out.hover = !!tip && tip.getAttribute('display') !== 'none' && tip.textContent.indexOf('step ' + Math.round(target.x)) === 0;
      fire('mouseleave', 0, 0);
      var count = function () { return svg.querySelectorAll('path.js-line, path.js-trace').length; };
      var before = count(), item = chart.legend.querySelector('.item');
      if (item) {
        item.click();
        var hidden = count(), off = chart.legend.querySelector('.item').className.indexOf('off') >= 0;
        chart.legend.querySelector('.item').click();
        out.legend = hidden < before && off && count() === before;
      }
      var domain = svg.getAttribute('data-x-domain');
      var pw = W - LEFT - RIGHT;
      fire('mousedown', LEFT + pw * 0.5, TOP + 50); fire('mousemove', LEFT + pw * 0.9, TOP + 50); fire('mouseup', LEFT + pw * 0.9, TOP + 50);
      var zoomed = state.zoom[chart.def.id];
      out.zoom = svg.getAttribute('data-x-domain') !== domain && !!zoomed && zoomed[1] - zoomed[0] < (chart.def.last - Math.min(0, chart.def.first)) * 0.5;
      fire('dblclick', LEFT + pw * 0.5, TOP + 50);
      var scale = svg.getAttribute('data-y-scale'), line = svg.querySelector('path.js-line, path.js-trace').getAttribute('d');
      chart.logBox.click();
      out.log = svg.getAttribute('data-y-scale') !== scale && svg.querySelector('path.js-line, path.js-trace').getAttribute('d') !== line;
    }
    var pre = document.createElement('pre');
    pre.id = 'selftest';
    pre.textContent = '{"hover": ' + out.hover + ', "legend": ' + out.legend + ', "zoom": ' + out.zoom + ', "log": ' + out.log + '}';
    document.body.appendChild(pre);
  }

  D.charts.forEach(function (def) {
    var svg = document.getElementById(def.id);
    if (svg && svg.parentNode) charts.push(new Chart(def, svg));
  });
  controls();
  renderAll();
  document.documentElement.className += ' interactive';
  if (selftest) runSelftest();
  if (D.live && !selftest) {
    var banner = document.getElementById('live');
    if (banner) banner.removeAttribute('hidden');
    setTimeout(function () { saveState(); location.reload(); }, D.reloadSeconds * 1000);
  }
})();
"""#
}
