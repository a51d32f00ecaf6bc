// The SnnService dashboard: plain JS, no build step. Data comes from the server's own APIs:
// the JSON API (/v1/info, /v1/networks), the Watch RPC over gRPC-Web (the same watcher the gRPC
// API serves, decoded here from protobuf), and /metrics (Prometheus text). Every request carries the
// API key from the field at the top (kept in localStorage) as "Authorization: Bearer <key>".
'use strict';

const STEPS_SHOWN = 400;        // raster and trace width in steps
const COLUMN_WIDTH = 2;         // pixels per step
const MAX_ROWS_PER_POPULATION = 128;
const TRACE_NEURONS = 4;
const SPIKE_COLOR = '#ffb000';
const TRACE_COLORS = ['#ffb000', '#4fc3f7', '#9ccc65', '#f06292'];
const CHART_POINTS = 60;

const $ = (id) => document.getElementById(id);
let apiKey = localStorage.getItem('snn.apiKey') || '';

function authHeaders(extra) {
  const headers = Object.assign({}, extra);
  if (apiKey) headers.authorization = 'Bearer ' + apiKey;
  return headers;
}

function showError(message) {
  const el = $('error');
  el.hidden = !message;
  el.textContent = message || '';
}

async function getJson(path) {
  const response = await fetch(path, { headers: authHeaders({ accept: 'application/json' }) });
  if (!response.ok) {
    let detail = await response.text();
    try { detail = JSON.parse(detail).message || detail; } catch { /* not JSON */ }
    if (response.status === 401 || response.status === 403) {
      throw new Error(`${path}: ${response.status} ${detail}: enter a valid API key above`);
    }
    throw new Error(`${path}: ${response.status} ${detail}`);
  }
  return response.json();
}

// ---- Networks and instances (JSON API) ----

let selected = null; // { network, instance }

async function refreshNetworks() {
  let list;
  try {
    list = await getJson('/v1/networks');
  } catch (e) {
    showError(e.message);
    return;
  }
  if (!watchError) showError('');
  const networks = list.networks || [];
  const body = $('networks').tBodies[0];
  body.replaceChildren();
  $('no-networks').hidden = networks.length > 0;
  for (const network of networks) {
    const spec = network.spec || {};
    const row = body.insertRow();
    row.insertCell().textContent = spec.name;
    row.insertCell().textContent = (spec.clock || 'LOCKSTEP').replace('CLOCK_MODE_', '');
    row.insertCell().textContent = Number(network.neurons || 0).toLocaleString('en');
    row.insertCell().textContent = Number(network.synapses || 0).toLocaleString('en');
    // Where it steps ("device", "CPU backend"), and why in the cell's title; nothing before its first step.
    const stepsOn = network.stepsOn || '';
    const where = row.insertCell();
    where.textContent = stepsOn ? stepsOn.replace(/^on the /, '').split(',')[0] : '–';
    where.title = stepsOn;
    const cell = row.insertCell();
    (network.instances || []).forEach((info, position) => {
      const index = info.index ?? position;
      const button = document.createElement('button');
      button.className = 'instance';
      button.dataset.network = spec.name;
      button.dataset.instance = String(index);
      button.textContent = `${index} (${info.step || 0}${info.driven ? ', driven' : ''})`;
      if (selected && selected.network === spec.name && selected.instance === index) button.classList.add('selected');
      button.addEventListener('click', () => select(spec.name, index));
      cell.appendChild(button);
    });
  }
}

async function select(name, instance) {
  selected = { network: name, instance };
  document.querySelectorAll('button.instance').forEach((b) =>
    b.classList.toggle('selected', b.dataset.network === name && Number(b.dataset.instance) === instance));
  let network;
  try {
    network = await getJson('/v1/networks/' + encodeURIComponent(name));
  } catch (e) {
    showError(e.message);
    return;
  }
  startWatch(network, instance);
}

// ---- Protobuf, as far as Watch needs it ----

class ProtoWriter {
  constructor() { this.bytes = []; }
  varint(value) {
    while (value >= 0x80) { this.bytes.push((value % 0x80) | 0x80); value = Math.floor(value / 0x80); }
    this.bytes.push(value);
  }
  uint(field, value) { this.varint((field << 3) | 0); this.varint(value); return this; }
  bytesField(field, data) { this.varint((field << 3) | 2); this.varint(data.length); for (const b of data) this.bytes.push(b); return this; }
  string(field, text) { return this.bytesField(field, new TextEncoder().encode(text)); }
  message(field, writer) { return this.bytesField(field, writer.finish()); }
  finish() { return Uint8Array.from(this.bytes); }
}

function readVarint(buf, pos) {
  let value = 0, scale = 1, b;
  do {
    if (pos >= buf.length) throw new Error('truncated varint');
    b = buf[pos++];
    value += (b & 0x7f) * scale;
    scale *= 128;
  } while (b & 0x80);
  return [value, pos];
}

// Yields [field, wireType, value]: a number for varints, a Uint8Array otherwise.
function* protoFields(buf) {
  let pos = 0;
  while (pos < buf.length) {
    let tag;
    [tag, pos] = readVarint(buf, pos);
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      yield [field, wire, v];
    } else if (wire === 2) {
      let length;
      [length, pos] = readVarint(buf, pos);
      yield [field, wire, buf.subarray(pos, pos + length)];
      pos += length;
    } else if (wire === 5 || wire === 1) {
      const size = wire === 5 ? 4 : 8;
      yield [field, wire, buf.subarray(pos, pos + size)];
      pos += size;
    } else {
      throw new Error('unsupported wire type ' + wire);
    }
  }
}

function uints(wire, value, into) {
  if (wire === 0) { into.push(value); return into; }
  for (let pos = 0; pos < value.length;) { let v; [v, pos] = readVarint(value, pos); into.push(v); }
  return into;
}

function floats(value) {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out = new Float32Array(value.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

const utf8 = new TextDecoder();

function decodeRunResponse(buf) {
  const response = { opened: null, steps: [], status: null, droppedBefore: 0 };
  for (const [field, wire, value] of protoFields(buf)) {
    if (field === 1 && wire === 2) {
      const opened = { spikePopulations: [], step: 0 };
      for (const [f, w, v] of protoFields(value)) {
        if (f === 3 && w === 0) opened.step = v;
        if (f === 4 && w === 2) opened.spikePopulations.push(utf8.decode(v));
      }
      response.opened = opened;
    } else if (field === 2 && wire === 2) {
      const step = { step: 0, spikes: [], states: [] };
      for (const [f, w, v] of protoFields(value)) {
        if (f === 1 && w === 0) step.step = v;
        if (f === 2 && w === 2) {
          const spikes = { population: 0, indices: [] };
          for (const [sf, sw, sv] of protoFields(v)) {
            if (sf === 1 && sw === 0) spikes.population = sv;
            if (sf === 2) uints(sw, sv, spikes.indices);
          }
          step.spikes.push(spikes);
        }
        if (f === 3 && w === 2) {
          const trace = { record: 0, variable: '', values: new Float32Array(0) };
          for (const [tf, tw, tv] of protoFields(v)) {
            if (tf === 1 && tw === 0) trace.record = tv;
            if (tf === 2 && tw === 2) trace.variable = utf8.decode(tv);
            if (tf === 3 && tw === 2) trace.values = floats(tv);
          }
          step.states.push(trace);
        }
      }
      response.steps.push(step);
    } else if (field === 3 && wire === 2) {
      const status = {};
      const names = { 1: 'step', 2: 'lateInputs', 3: 'inputsTooEarly', 4: 'overruns', 7: 'dropped' };
      for (const [f, w, v] of protoFields(value)) {
        if (w === 0 && names[f]) status[names[f]] = v;
        if (w === 1 && (f === 5 || f === 6)) status[f === 5 ? 'lagUs' : 'maxLagUs'] = new DataView(v.buffer, v.byteOffset, 8).getFloat64(0, true);
      }
      response.status = status;
    } else if (field === 4 && wire === 0) {
      response.droppedBefore = value;
    }
  }
  return response;
}

// ---- Watch over gRPC-Web ----

const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL',
  'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

let watch = null;     // { abort, layout, ... } of the open watch
let watchError = '';

function setWatchState(state, text) {
  document.body.dataset.watch = state;
  $('watch-status').textContent = text;
}

function layoutRows(network, spikePopulations) {
  const sizes = new Map((network.spec.populations || []).map((p) => [p.name, Number(p.size || 0)]));
  const layout = { populations: {}, rows: 0, order: [] };
  for (const name of spikePopulations) {
    const rows = Math.min(sizes.get(name) || 0, MAX_ROWS_PER_POPULATION);
    layout.populations[name] = { offset: layout.rows, rows, size: sizes.get(name) || 0 };
    layout.order.push(name);
    layout.rows += rows;
  }
  layout.rowHeight = Math.max(1, Math.min(8, Math.floor(320 / Math.max(1, layout.rows))));
  return layout;
}

async function startWatch(network, instance) {
  if (watch) watch.abort.abort();
  const spec = network.spec;
  const populations = spec.populations || [];
  const traced = populations.find((p) => p.model !== 'input');
  const request = new ProtoWriter().string(1, spec.name).uint(2, instance);
  for (const p of populations) request.string(3, p.name); // every population, the inputs too
  if (traced) {
    const range = new ProtoWriter().uint(1, 0).uint(2, Math.min(Number(traced.size), TRACE_NEURONS));
    request.message(4, new ProtoWriter().string(1, traced.name).string(2, '*').message(4, range));
  }
  request.uint(5, 1);      // lossy: a slow page loses steps (and says so) instead of being cut off
  request.uint(6, 1024);   // queue
  request.uint(7, 1000);   // status every second
  const message = request.finish();
  const body = new Uint8Array(5 + message.length);
  new DataView(body.buffer).setUint32(1, message.length);
  body.set(message, 5);

  const current = {
    abort: new AbortController(), network, instance, traced, layout: null, spikes: new Map(), traces: new Map(),
    lastStep: -1, received: 0, dropped: 0, variable: null,
  };
  watch = current;
  watchError = '';
  $('watch-title').textContent = `${spec.name} · instance ${instance}`;
  setWatchState('opening', 'opening the watch…');
  try {
    const response = await fetch('/snn.v1.Snn/Watch', {
      method: 'POST', body, signal: current.abort.signal,
      headers: authHeaders({ 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', accept: 'application/grpc-web+proto' }),
    });
    if (!response.ok) throw new Error(`Watch: HTTP ${response.status}`);
    const headerStatus = response.headers.get('grpc-status');
    if (headerStatus && headerStatus !== '0') {
      throw new Error(`Watch: ${GRPC_CODES[headerStatus] || headerStatus} ${decodeURIComponent(response.headers.get('grpc-message') || '')}`);
    }
    await readFrames(response.body.getReader(), current);
    if (watch === current) setWatchState('ended', `the watch ended at step ${current.lastStep}`);
  } catch (e) {
    if (current.abort.signal.aborted) return;
    watchError = e.message;
    setWatchState('error', e.message);
    showError(e.message);
  }
}

async function readFrames(reader, current) {
  let buffer = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const joined = new Uint8Array(buffer.length + value.length);
    joined.set(buffer);
    joined.set(value, buffer.length);
    buffer = joined;
    while (buffer.length >= 5) {
      const length = new DataView(buffer.buffer, buffer.byteOffset + 1, 4).getUint32(0);
      if (buffer.length < 5 + length) break;
      const flags = buffer[0];
      const frame = buffer.subarray(5, 5 + length);
      if (flags & 0x80) {
        onTrailers(utf8.decode(frame));
      } else {
        onResponse(current, decodeRunResponse(frame));
      }
      buffer = buffer.slice(5 + length);
    }
  }
}

function onTrailers(text) {
  const trailers = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = trailers['grpc-status'];
  if (status && status !== '0') {
    throw new Error(`the watch ended: ${GRPC_CODES[status] || status} ${decodeURIComponent(trailers['grpc-message'] || '')}`);
  }
}

function onResponse(current, response) {
  if (response.opened) {
    current.layout = layoutRows(current.network, response.opened.spikePopulations);
    current.spikePopulations = response.opened.spikePopulations;
    current.lastStep = response.opened.step - 1;
    sizeRaster(current.layout);
    setWatchState('open', `watching from step ${response.opened.step}`);
    draw();
    return;
  }
  current.dropped += response.droppedBefore;
  for (const step of response.steps) {
    const rows = [];
    for (const spikes of step.spikes) {
      const name = current.spikePopulations[spikes.population];
      const place = current.layout.populations[name];
      for (const index of spikes.indices) {
        if (index < place.rows) rows.push(place.offset + index);
      }
      current.received += spikes.indices.length;
    }
    current.spikes.set(step.step, rows);
    if (step.states.length > 0) {
      const names = step.states.map((s) => s.variable);
      current.variable ??= ['v_mem', 'mem', 'v'].find((n) => names.includes(n)) || names[0];
      const trace = step.states.find((s) => s.variable === current.variable);
      if (trace) {
        current.traces.set(step.step, trace.values);
      }
    }
    current.lastStep = Math.max(current.lastStep, step.step);
  }
  if (response.status) {
    const s = response.status;
    const lag = s.lagUs !== undefined ? `, lag ${s.lagUs.toFixed(0)} µs (max ${(s.maxLagUs || 0).toFixed(0)})` : '';
    current.statusText = `, late inputs ${s.lateInputs || 0}, overruns ${s.overruns || 0}${lag}`;
  }
  setWatchState('open', `step ${current.lastStep}, ${current.received} spikes received` +
    (current.dropped ? `, ${current.dropped} steps dropped (page too slow)` : '') + (current.statusText || ''));
  scheduleDraw();
}

// ---- Drawing ----

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => { drawPending = false; draw(); }, 50);
}

function sizeRaster(layout) {
  const canvas = $('raster');
  canvas.width = STEPS_SHOWN * COLUMN_WIDTH;
  canvas.height = Math.max(1, layout.rows * layout.rowHeight);
  canvas.dataset.columnWidth = String(COLUMN_WIDTH);
  canvas.dataset.rowHeight = String(layout.rowHeight);
  canvas.dataset.spikeColor = SPIKE_COLOR;
  canvas.dataset.populations = JSON.stringify(layout.populations);
  const labels = $('raster-labels');
  labels.replaceChildren();
  labels.style.height = canvas.height + 'px';
  for (const name of layout.order) {
    const place = layout.populations[name];
    const label = document.createElement('span');
    label.textContent = place.rows < place.size ? `${name} (0–${place.rows - 1})` : name;
    label.style.top = (place.offset * layout.rowHeight) + 'px';
    labels.appendChild(label);
  }
}

function draw() {
  const current = watch;
  if (!current || !current.layout) return;
  const layout = current.layout;
  const canvas = $('raster');
  const ctx = canvas.getContext('2d');
  const firstStep = Math.max(0, current.lastStep - STEPS_SHOWN + 1);
  canvas.dataset.firstStep = String(firstStep);
  for (const step of current.spikes.keys()) if (step < firstStep) current.spikes.delete(step);
  for (const step of current.traces.keys()) if (step < firstStep) current.traces.delete(step);
  ctx.fillStyle = '#0c0d10';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#2e333b';
  for (const name of layout.order.slice(1)) ctx.fillRect(0, layout.populations[name].offset * layout.rowHeight, canvas.width, 1);
  ctx.fillStyle = SPIKE_COLOR;
  const h = Math.max(1, layout.rowHeight - (layout.rowHeight > 2 ? 1 : 0));
  for (const [step, rows] of current.spikes) {
    const x = (step - firstStep) * COLUMN_WIDTH;
    for (const row of rows) ctx.fillRect(x, row * layout.rowHeight + (layout.rowHeight - h), COLUMN_WIDTH, h);
  }
  canvas.dataset.lastStep = String(current.lastStep);
  canvas.dataset.spikes = String(current.received);
  drawTraces(current, firstStep);
}

function drawTraces(current, firstStep) {
  const canvas = $('traces');
  canvas.width = STEPS_SHOWN * COLUMN_WIDTH;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#0c0d10';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  $('trace-label').textContent = current.traced && current.variable
    ? `${current.traced.name}.${current.variable}, neurons 0–${Math.min(Number(current.traced.size), TRACE_NEURONS) - 1}` : '';
  let low = Infinity, high = -Infinity;
  for (const [step, values] of current.traces) {
    if (step < firstStep) continue;
    for (const v of values) { if (Number.isFinite(v)) { low = Math.min(low, v); high = Math.max(high, v); } }
  }
  if (low === Infinity) return;
  if (high - low < 1e-6) { high += 0.5; low -= 0.5; }
  const y = (v) => canvas.height - 6 - ((v - low) / (high - low)) * (canvas.height - 12);
  const neurons = Math.min(Number(current.traced.size), TRACE_NEURONS);
  const steps = [...current.traces.keys()].filter((s) => s >= firstStep).sort((a, b) => a - b);
  for (let n = 0; n < neurons; n++) {
    ctx.strokeStyle = TRACE_COLORS[n % TRACE_COLORS.length];
    ctx.beginPath();
    steps.forEach((step, i) => {
      const value = current.traces.get(step)[n];
      const x = (step - firstStep) * COLUMN_WIDTH + 1;
      if (i === 0) ctx.moveTo(x, y(value)); else ctx.lineTo(x, y(value));
    });
    ctx.stroke();
  }
  ctx.fillStyle = '#8a909a';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(high.toPrecision(3), 4, 12);
  ctx.fillText(low.toPrecision(3), 4, canvas.height - 8);
}

// ---- Metrics (Prometheus text from /metrics) ----

function parseMetrics(text) {
  const sums = new Map(); // metric name -> value summed over its label sets
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    if (match[1].endsWith('_bucket')) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sums.set(match[1], (sums.get(match[1]) || 0) + value);
  }
  return sums;
}

const charts = [
  { name: 'steps / s', rate: 'snn_steps_total', format: (v) => v.toFixed(0) },
  { name: 'step duration, mean (µs)', mean: 'snn_step_duration_seconds', scale: 1e6, format: (v) => v.toFixed(1) },
  { name: 'REALTIME step lateness, mean (µs)', mean: 'snn_realtime_step_lateness_seconds', scale: 1e6, format: (v) => v.toFixed(1) },
  { name: 'spikes out / s', rate: 'snn_spikes_out_total', format: (v) => v.toFixed(0) },
  { name: 'events in / s', rate: 'snn_events_in_total', format: (v) => v.toFixed(0) },
  { name: 'open streams', gauge: 'snn_streams_open', format: (v) => v.toFixed(0) },
];
const totals = [
  ['networks', 'snn_networks'], ['neurons', 'snn_neurons'], ['synapses', 'snn_synapses'],
  ['REALTIME overruns', 'snn_realtime_overruns_total'], ['late inputs', 'snn_inputs_late_total'],
  ['too-early inputs', 'snn_inputs_too_early_total'], ['watch frames dropped', 'snn_watch_dropped_total'],
  ['watchers cut off', 'snn_watch_cut_off_total'],
];
let previous = null;

function setupCharts() {
  for (const chart of charts) {
    const box = document.createElement('div');
    box.className = 'chart';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = chart.name;
    chart.valueEl = document.createElement('span');
    chart.valueEl.className = 'value';
    chart.valueEl.textContent = '–';
    chart.canvas = document.createElement('canvas');
    chart.canvas.width = 280;
    chart.canvas.height = 40;
    chart.canvas.dataset.metric = chart.rate || chart.mean || chart.gauge;
    chart.points = [];
    box.append(name, chart.valueEl, chart.canvas);
    $('charts').appendChild(box);
  }
}

async function refreshMetrics() {
  let text;
  try {
    const response = await fetch('/metrics', { headers: authHeaders({}) });
    if (!response.ok) return;
    text = await response.text();
  } catch {
    return;
  }
  const now = performance.now() / 1000;
  const sums = parseMetrics(text);
  if (previous) {
    const dt = now - previous.time;
    for (const chart of charts) {
      let value = null;
      if (chart.rate) value = ((sums.get(chart.rate) || 0) - (previous.sums.get(chart.rate) || 0)) / dt;
      if (chart.gauge) value = sums.get(chart.gauge) || 0;
      if (chart.mean) {
        const count = (sums.get(chart.mean + '_count') || 0) - (previous.sums.get(chart.mean + '_count') || 0);
        const sum = (sums.get(chart.mean + '_sum') || 0) - (previous.sums.get(chart.mean + '_sum') || 0);
        value = count > 0 ? (sum / count) * chart.scale : null;
      }
      chart.points.push(value);
      if (chart.points.length > CHART_POINTS) chart.points.shift();
      chart.valueEl.textContent = value === null ? '–' : chart.format(value);
      drawChart(chart);
    }
  }
  previous = { time: now, sums };
  const body = $('totals').tBodies[0];
  body.replaceChildren();
  for (const [label, metric] of totals) {
    const row = body.insertRow();
    row.insertCell().textContent = label;
    row.insertCell().textContent = sums.has(metric) ? sums.get(metric).toLocaleString('en') : '–';
  }
}

function drawChart(chart) {
  const { canvas, points } = chart;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#0c0d10';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const values = points.filter((v) => v !== null);
  if (values.length === 0) return;
  const high = Math.max(...values, 1e-9);
  ctx.strokeStyle = SPIKE_COLOR;
  ctx.beginPath();
  let started = false;
  points.forEach((v, i) => {
    if (v === null) { started = false; return; }
    const x = canvas.width - 1 - ((points.length - 1 - i) / (CHART_POINTS - 1)) * (canvas.width - 1); // newest at the right
    const y = canvas.height - 2 - (v / high) * (canvas.height - 4);
    if (!started) { ctx.moveTo(x, y); started = true; } else { ctx.lineTo(x, y); }
  });
  ctx.stroke();
}

// ---- Start ----

async function refreshInfo() {
  try {
    const info = await getJson('/v1/info');
    $('server-info').textContent = `version ${info.version} · backend ${info.backend} (${info.device})`;
  } catch (e) {
    showError(e.message);
  }
}

$('api-key').value = apiKey;
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  apiKey = $('api-key').value.trim();
  if (apiKey) localStorage.setItem('snn.apiKey', apiKey); else localStorage.removeItem('snn.apiKey');
  refreshInfo();
  refreshNetworks();
  if (selected) select(selected.network, selected.instance);
});
setupCharts();
refreshInfo();
refreshNetworks();
refreshMetrics();
setInterval(refreshNetworks, 2000);
setInterval(refreshMetrics, 1000);
