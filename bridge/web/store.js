// store: what the dashboard knows about runs, fed by Socket.IO events, and
// the pure functions the charts apply to a curve (smoothing, decimation).
//
// A run is (scenario, trainer) from its training_started (or the first
// event seen) to its terminal event; a new training_started with another
// start_time for the same (scenario, trainer) begins a new run and an
// unfinished older one becomes "abandoned". Each run keeps a bounded curve:
// progress points sorted by episode, at most MAX_POINTS, thinned as the
// bridge does (episode buckets that double in width; per bucket the last
// point and those with the lowest and highest avg_reward; the first point
// always kept). Live points append; replayed ones (meta.replay, or a
// training_history event) merge by episode, so history after a reconnect
// fills gaps and never duplicates. A live episode that goes backwards drops
// the points at or after it (a preempted job rerunning episodes).
//
// The store never touches the DOM: it marks what changed (dirty runs) and
// the page redraws once per animation frame.

export const METRICS = ['avg_reward', 'stability', 'goal_adherence', 'avg_cash', 'avg_invested', 'avg_duration'];
export const COLUMNS = ['episode', 'ts', 'elapsed_time', ...METRICS];
export const MAX_POINTS = 3000;
export const TERMINAL = {
  training_completed: 'completed',
  training_stopped: 'stopped',
  training_error: 'error',
};
// training_history's states (proto/EVENTS.md, run history) as the page names
// them, and the terminal event each implies.
const HISTORY_STATES = { failed: 'error', superseded: 'abandoned' };
const TERMINAL_OF_STATE = { completed: 'training_completed', stopped: 'training_stopped', failed: 'training_error' };

function emptyPoints() {
  const p = {};
  for (const c of COLUMNS) p[c] = [];
  return p;
}

// First index whose episode is >= episode (binary search).
function lowerBound(arr, episode) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < episode) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class Run {
  constructor(id, scenario, trainer) {
    this.id = id;
    this.scenario = scenario;
    this.trainer = trainer;
    this.state = 'running';
    this.started = null; // training_started payload
    this.startTs = null; // microseconds, from meta.ts
    this.latest = null; // exact latest progress payload
    this.terminal = null; // {event, payload}
    this.lastEventAt = 0; // page clock, ms
    this.received = 0; // progress events taken in (live + replayed)
    this.points = emptyPoints();
    this.bucketWidth = 1;
  }

  get n() {
    return this.points.episode.length;
  }

  row(progress, ts) {
    return { ...progress, ts: ts ?? null };
  }

  insertAt(i, row, replace) {
    for (const c of COLUMNS) {
      const v = row[c] ?? null;
      if (replace) this.points[c][i] = v;
      else this.points[c].splice(i, 0, v);
    }
  }

  truncateFrom(i) {
    for (const c of COLUMNS) this.points[c].length = i;
  }

  // Adds one progress point. live: from the live stream (backwards episodes
  // truncate); otherwise merged by episode.
  addPoint(row, live) {
    const eps = this.points.episode;
    const n = eps.length;
    if (n === 0 || row.episode > eps[n - 1]) {
      this.insertAt(n, row, false);
    } else if (live && row.episode <= eps[n - 1]) {
      this.truncateFrom(lowerBound(eps, row.episode));
      this.insertAt(this.n, row, false);
    } else {
      const i = lowerBound(eps, row.episode);
      this.insertAt(i, row, eps[i] === row.episode);
    }
    if (this.n > MAX_POINTS) this.thin();
  }

  // Re-buckets the curve so it holds at most MAX_POINTS / 2 points.
  thin() {
    const eps = this.points.episode;
    const first = eps[0];
    const span = eps[eps.length - 1] - first + 1;
    while (Math.ceil(span / this.bucketWidth) * 3 > MAX_POINTS / 2) this.bucketWidth *= 2;
    const keep = new Set([0, eps.length - 1]);
    const reward = this.points.avg_reward;
    let b = -1;
    let lo = -1;
    let hi = -1;
    let last = -1;
    const flush = () => {
      if (b >= 0) keep.add(lo).add(hi).add(last);
    };
    for (let i = 0; i < eps.length; i++) {
      const bi = Math.floor((eps[i] - first) / this.bucketWidth);
      if (bi !== b) {
        flush();
        b = bi;
        lo = hi = i;
      }
      if (reward[i] < reward[lo]) lo = i;
      if (reward[i] > reward[hi]) hi = i;
      last = i;
    }
    flush();
    const idx = [...keep].sort((x, y) => x - y);
    for (const c of COLUMNS) {
      const col = this.points[c];
      this.points[c] = idx.map((i) => col[i]);
    }
  }

  summary() {
    const p = this.latest;
    return {
      id: this.id,
      scenario: this.scenario,
      trainer: this.trainer,
      state: this.state,
      episode: p ? p.episode : 0,
      total: p ? p.total_episodes : this.started ? this.started.num_episodes : null,
      received: this.received,
      points: this.n,
      terminal: this.terminal,
      started: this.started,
    };
  }
}

export class Store {
  constructor() {
    this.runs = new Map(); // id -> Run
    this.current = new Map(); // "scenario\0trainer" -> Run (the newest)
    this.nextId = 1;
    this.dirty = new Set();
    this.structureChanged = false; // a run or scenario appeared
    this.events = 0;
    this.lastEventAt = 0;
  }

  scenarios() {
    return [...new Set([...this.runs.values()].map((r) => r.scenario))].sort();
  }

  runsOf(scenario) {
    return [...this.runs.values()].filter((r) => !scenario || r.scenario === scenario);
  }

  newRun(scenario, trainer) {
    const key = `${scenario}\0${trainer}`;
    const old = this.current.get(key);
    if (old && old.state === 'running') {
      old.state = 'abandoned';
      this.dirty.add(old);
    }
    const run = new Run(`r${this.nextId++}`, scenario, trainer);
    this.runs.set(run.id, run);
    this.current.set(key, run);
    this.structureChanged = true;
    return run;
  }

  runFor(scenario, trainer) {
    return this.current.get(`${scenario}\0${trainer}`) || this.newRun(scenario, trainer);
  }

  touch(run, now) {
    run.lastEventAt = now;
    this.lastEventAt = now;
    this.events++;
    this.dirty.add(run);
  }

  onStarted(payload, meta, now) {
    const key = `${meta.scenario_name}\0${meta.trainer}`;
    let run = this.current.get(key);
    const same = run && (run.started === null || run.started.start_time === payload.start_time) &&
      (run.started !== null || run.n === 0 || meta.replay);
    if (!same) run = this.newRun(meta.scenario_name, meta.trainer);
    run.started = payload;
    run.startTs = meta.ts ?? run.startTs;
    this.touch(run, now);
    return run;
  }

  onProgress(payload, meta, now) {
    const run = this.runFor(meta.scenario_name, meta.trainer);
    const replay = Boolean(meta.replay);
    run.addPoint(run.row(payload, meta.ts), !replay);
    if (!run.latest || payload.episode >= run.latest.episode || !replay) run.latest = payload;
    if (run.startTs === null && meta.ts) run.startTs = meta.ts - payload.elapsed_time * 1e6;
    run.received++;
    this.touch(run, now);
    return run;
  }

  onTerminal(event, payload, meta, now) {
    const run = this.runFor(meta.scenario_name, meta.trainer);
    run.terminal = { event, payload };
    run.state = TERMINAL[event];
    this.touch(run, now);
    return run;
  }

  // One event from the socket: (name, payload, meta). Returns the run.
  onEvent(name, payload, meta, now = Date.now()) {
    if (!meta || typeof meta.scenario_name !== 'string' || typeof meta.trainer !== 'string') {
      if (name === 'training_history') return this.onHistory(payload, meta, now);
      return null;
    }
    if (name === 'training_started') return this.onStarted(payload, meta, now);
    if (name === 'training_progress') return this.onProgress(payload, meta, now);
    if (name in TERMINAL) return this.onTerminal(name, payload, meta, now);
    if (name === 'training_history') return this.onHistory(payload, meta, now);
    return null;
  }

  // The compact history of one run (training_history): {scenario_name,
  // trainer, state, started, columns, points, latest, terminal}; started,
  // latest and terminal are payloads or null, points rows of columns.
  onHistory(h, meta, now) {
    if (!h || typeof h.scenario_name !== 'string' || typeof h.trainer !== 'string') return null;
    const base = { scenario_name: h.scenario_name, trainer: h.trainer, replay: true };
    let run = null;
    if (h.started) {
      const startedAt = Date.parse(h.started.start_time);
      run = this.onStarted(h.started, { ...base, ts: Number.isNaN(startedAt) ? undefined : startedAt * 1000 }, now);
    } else {
      run = this.runFor(h.scenario_name, h.trainer);
    }
    const cols = Array.isArray(h.columns) ? h.columns : [];
    for (const pt of Array.isArray(h.points) ? h.points : []) {
      const row = {};
      cols.forEach((c, i) => (row[c] = pt[i]));
      if (typeof row.episode === 'number') this.onProgress(row, base, now);
    }
    if (h.latest) this.onProgress(h.latest, base, now);
    const terminal = TERMINAL_OF_STATE[h.state];
    if (h.terminal && terminal) this.onTerminal(terminal, h.terminal, base, now);
    if (typeof h.state === 'string') run.state = HISTORY_STATES[h.state] || h.state;
    this.touch(run, now);
    return run;
  }

  takeDirty() {
    const d = this.dirty;
    this.dirty = new Set();
    const s = this.structureChanged;
    this.structureChanged = false;
    return { runs: d, structureChanged: s };
  }
}

// TensorBoard's smoothing: an exponential moving average de-biased by the
// weight of the missing history (1 - w^n), so early points are not pulled
// towards zero. Non-finite values pass through.
export function smooth(values, weight) {
  const out = new Array(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    const debias = weight === 1 ? 1 : 1 - Math.pow(weight, n);
    out[i] = last / debias;
  }
  return out;
}

// Keeps at most about 4 points per bucket of n / buckets consecutive points
// (the first, the last, and the lowest and highest raw value), so a chart
// draws about as many points as it has pixels, whatever the run's length:
// the shape and its spikes stay, drawing stays cheap. table: [x, raw, smoothed].
export function decimate(table, buckets) {
  const [x, y] = table;
  const n = x.length;
  if (n <= 2 * buckets) return table;
  const keep = [];
  const size = n / buckets;
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(n, Math.floor((b + 1) * size));
    if (from >= to) continue;
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      if (y[i] !== null && (y[lo] === null || y[i] < y[lo])) lo = i;
      if (y[i] !== null && (y[hi] === null || y[i] > y[hi])) hi = i;
    }
    for (const i of [...new Set([from, lo, hi, to - 1])].sort((a, c) => a - c)) keep.push(i);
  }
  return table.map((col) => keep.map((i) => col[i]));
}
