// app: the dashboard page. Connects to the bridge that served it with the
// official socket.io-client (default transports: long-polling, then the
// upgrade to WebSocket), subscribes to every scenario with compact history
// (an older bridge ignores the option and sends only live events), feeds
// every event into the store, and redraws what changed once per animation
// frame. A token from the URL fragment (#token=...) or the small form is
// kept in the tab's sessionStorage and sent in the CONNECT auth.
//
// Test hook: window.__trainbridge (state, runs(), points(id), stats(),
// latency(), the socket).

import { io } from './vendor/socket.io.esm.min.js';
import { Store, METRICS } from './store.js';
import { MetricChart, runColor } from './chart.js';

const TOKEN_KEY = 'trainbridge.token';
const MAX_CHART_RUNS = 20;
const SUBSCRIBE_TIMEOUT_MS = 30000;

const $ = (id) => document.getElementById(id);
const store = new Store();
const ui = { conn: 'connecting', detail: '', historyRuns: null, weight: 0.6, xMode: 'episode', scenario: '' };
const stats = { frames: 0, draws: 0, drawMsTotal: 0, drawMsMax: 0, lastDrawAt: 0, lastDrawMs: 0, lastFrameMs: 0 };
const cards = new Map(); // run id -> {el, badge, ...}
const charts = [];
let chartsDirty = true;
let scheduled = false;
let paintPending = 0; // the timestamp of the frame that last drew, until the next frame
const FRAME_MS = 1000 / 60;

// Publish -> page latency of live progress events, in microseconds (the
// envelope's ts is the trainer's wall clock): when the event reached the
// store, and when the charts that show it were drawn. Bounded.
const LATENCY_MAX = 20000;
const latency = { arrival: [], drawn: [], pending: [] };
const wallMicros = () => (performance.timeOrigin + performance.now()) * 1000;
function keepBounded(arr) {
  if (arr.length > LATENCY_MAX) arr.splice(0, arr.length - LATENCY_MAX / 2);
}
function noteArrival(name, meta) {
  if (name !== 'training_progress' || !meta || !meta.ts || meta.replay) return;
  latency.arrival.push(wallMicros() - meta.ts);
  latency.pending.push(meta.ts);
  keepBounded(latency.arrival);
  keepBounded(latency.pending);
}
function noteDrawn() {
  const now = wallMicros();
  for (const ts of latency.pending) latency.drawn.push(now - ts);
  latency.pending = [];
  keepBounded(latency.drawn);
}

// ------------------------------------------------------------ token

function takeTokenFromUrl() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

function showAuth(reason) {
  setConn('refused', reason);
  $('auth-reason').textContent = `The bridge refused the connection: ${reason}`;
  $('auth').hidden = false;
  $('auth-token').focus();
}

// ------------------------------------------------------------ connection

function setConn(state, detail = '') {
  ui.conn = state;
  ui.detail = detail;
  const el = $('conn');
  el.className = `conn conn-${state}`;
  el.textContent = state === 'replaying' ? 'replaying history' : state;
  el.title = detail;
}

function onSubscribed(ack) {
  if (!ack || ack.ok === false) {
    // e.g. a token whose scenarios do not include every one ("*")
    return showAuth(`subscribing to every scenario: ${(ack && ack.error) || 'no answer'}`);
  }
  ui.historyRuns = ack && typeof ack.runs === 'number' ? ack.runs : null;
  setConn(socket.recovered ? 'recovered' : 'connected', ui.historyRuns === null ? 'live events only' : `${ui.historyRuns} runs of history`);
}

function subscribe() {
  setConn('replaying');
  socket.timeout(SUBSCRIBE_TIMEOUT_MS).emit('subscribe_training', { scenario_name: '*', history: 'compact' }, (err, ack) => {
    if (err) return setConn('connected', 'no answer to subscribe');
    if (ack && ack.ok === false && ack.error !== 'forbidden') {
      // A bridge that knows no history option: subscribe plainly.
      return socket.emit('subscribe_training', { scenario_name: '*' }, (plain) => onSubscribed(plain));
    }
    return onSubscribed(ack);
  });
}

takeTokenFromUrl();
const socket = io({
  auth: (cb) => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    cb(token ? { token } : {});
  },
});

socket.on('connect', () => {
  $('auth').hidden = true;
  if (socket.recovered) setConn('recovered');
  else subscribe();
});
socket.on('disconnect', (reason) => setConn(socket.active ? 'reconnecting' : 'disconnected', reason));
socket.io.on('reconnect_attempt', (n) => setConn('reconnecting', `attempt ${n}`));
socket.on('connect_error', (err) => {
  const reason = err && err.data && (err.data.reason || err.data.message);
  if (reason || !socket.active) showAuth(reason || err.message);
  else setConn('reconnecting', err.message);
});
socket.onAny((name, payload, meta) => {
  noteArrival(name, meta);
  if (store.onEvent(name, payload, meta)) schedule();
});

$('auth').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('auth-token').value.trim());
  $('auth').hidden = true;
  setConn('connecting');
  if (socket.connected) socket.disconnect(); // the token goes with a new CONNECT
  socket.connect();
});

// ------------------------------------------------------------ run list

function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '–';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function runNumber(run) {
  return Number(run.id.slice(1));
}

function newCard(run) {
  const c = { el: el('div', 'run') };
  c.el.dataset.run = run.id;
  c.el.style.setProperty('--run-color', runColor(runNumber(run) - 1));
  const top = el('div', 'top');
  c.trainer = el('span', 'trainer', run.trainer);
  c.trainer.title = run.trainer;
  c.badge = el('span', 'badge');
  top.append(c.trainer, c.badge);
  c.episode = el('div', 'episode');
  c.bar = el('progress');
  c.meta = el('div', 'meta');
  c.elapsed = el('span');
  c.eta = el('span');
  c.meta.append(c.elapsed, c.eta);
  c.error = el('div', 'error');
  c.final = el('div', 'final');
  c.el.append(top, c.episode, c.bar, c.meta, c.error, c.final);
  return c;
}

function updateCard(c, run) {
  c.badge.className = `badge badge-${run.state}`;
  c.badge.textContent = run.state;
  const p = run.latest;
  const total = p ? p.total_episodes : run.started ? run.started.num_episodes : 0;
  const k = p ? p.episode : 0;
  c.episode.textContent = `episode ${k} of ${total || '?'}`;
  c.bar.max = total || 1;
  c.bar.value = Math.min(k, total || 1);
  const elapsed = p ? p.elapsed_time : NaN;
  c.elapsed.textContent = `elapsed ${fmtDuration(elapsed)}`;
  const eta = run.state === 'running' && k > 0 && total ? (elapsed / k) * (total - k) : NaN;
  c.eta.textContent = run.state === 'running' ? `ETA ${fmtDuration(eta)}` : '';
  const t = run.terminal;
  c.error.textContent = t && t.event === 'training_error' ? `${t.payload.message}\n${t.payload.details}` : '';
  const fm = t && t.event === 'training_completed' ? t.payload.final_metrics : null;
  c.final.textContent = fm
    ? `final: avg_reward ${fm.avg_reward}, avg_duration ${fm.avg_duration}, stability ${fm.stability}`
    : t && t.event === 'training_stopped' ? `stopped after ${t.payload.episodes_completed} episodes` : '';
}

function renderRunList() {
  const aside = $('runs');
  const nodes = [];
  for (const scenario of store.scenarios()) {
    if (ui.scenario && scenario !== ui.scenario) continue;
    nodes.push(el('h2', 'scenario', scenario));
    for (const run of store.runsOf(scenario).reverse()) {
      let c = cards.get(run.id);
      if (!c) {
        c = newCard(run);
        cards.set(run.id, c);
        updateCard(c, run);
      }
      nodes.push(c.el);
    }
  }
  if (nodes.length === 0) nodes.push(el('p', 'muted', 'Waiting for training runs…'));
  aside.replaceChildren(...nodes);
}

function renderScenarioSelect() {
  const sel = $('scenario');
  const have = new Set([...sel.options].map((o) => o.value));
  for (const s of store.scenarios()) {
    if (!have.has(s)) sel.append(new Option(s, s));
  }
}

// ------------------------------------------------------------ charts

function shownRuns() {
  const runs = store.runsOf(ui.scenario).slice(-MAX_CHART_RUNS);
  return runs.map((run) => ({
    id: run.id,
    run,
    color: runColor(runNumber(run) - 1),
    label: `${run.scenario}/${run.trainer}`,
  }));
}

function drawCharts() {
  const t0 = performance.now();
  const runs = shownRuns();
  for (const ch of charts) ch.update(runs, ui.xMode, ui.weight);
  const ms = performance.now() - t0;
  stats.draws++;
  stats.drawMsTotal += ms;
  stats.drawMsMax = Math.max(stats.drawMsMax, ms);
  stats.lastDrawMs = ms;
  stats.lastDrawAt = performance.now();
  chartsDirty = false;
  noteDrawn();
}

// ------------------------------------------------------------ frames

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(frame);
}

// One pass per animation frame: update the cards of runs that changed,
// then redraw the charts, but only as often as keeps them under a third of
// the time. A redraw's cost is the length of the frame that drew it (the
// browser paints the canvases after our code ran), so a draw whose frame
// took 120 ms waits 240 ms before the next one; cheap draws happen every frame.
function frame(ts) {
  scheduled = false;
  stats.frames++;
  if (paintPending) {
    stats.lastFrameMs = ts - paintPending;
    paintPending = 0;
  }
  const { runs, structureChanged } = store.takeDirty();
  if (structureChanged) {
    renderScenarioSelect();
    renderRunList();
  }
  for (const run of runs) {
    const c = cards.get(run.id);
    if (c) updateCard(c, run);
  }
  if (runs.size) chartsDirty = true;
  if (!chartsDirty) return;
  const cost = Math.max(stats.lastDrawMs, stats.lastFrameMs - FRAME_MS);
  if (performance.now() - stats.lastDrawAt >= 2 * cost) {
    drawCharts();
    paintPending = ts;
  }
  schedule(); // to measure the frame that drew, or to draw later
}

function updateLastEvent() {
  const at = store.lastEventAt;
  $('last-event').textContent = at
    ? `last event ${new Date(at).toLocaleTimeString()} (${fmtDuration((Date.now() - at) / 1000)} ago)`
    : 'no event yet';
}

// ------------------------------------------------------------ controls

$('smoothing').addEventListener('input', (e) => {
  ui.weight = Number(e.target.value);
  $('smoothing-value').textContent = ui.weight.toFixed(2);
  chartsDirty = true;
  schedule();
});
$('xaxis').addEventListener('change', (e) => {
  ui.xMode = e.target.value;
  chartsDirty = true;
  schedule();
});
$('scenario').addEventListener('change', (e) => {
  ui.scenario = e.target.value;
  renderRunList();
  chartsDirty = true;
  schedule();
});
window.addEventListener('resize', () => charts.forEach((ch) => ch.resize()));

for (const m of METRICS) charts.push(new MetricChart($('charts'), m));
setInterval(updateLastEvent, 1000);
schedule();

window.__trainbridge = {
  get state() {
    return { connection: ui.conn, detail: ui.detail, historyRuns: ui.historyRuns, lastEventAt: store.lastEventAt, events: store.events };
  },
  runs: () => [...store.runs.values()].map((r) => r.summary()),
  points: (id) => {
    const r = store.runs.get(id);
    return r ? JSON.parse(JSON.stringify(r.points)) : null;
  },
  stats: () => ({ ...stats }),
  latency: () => ({ arrival: [...latency.arrival], drawn: [...latency.drawn] }),
  resetLatency: () => {
    latency.arrival = [];
    latency.drawn = [];
    latency.pending = [];
  },
  socket,
};
