// harness: everything the Node end-to-end tests share.
//
// Starts the real trainbridge on OS-chosen ports (HTTP port 0, ZeroMQ '*'),
// parses its ready line, waits for /healthz with a deadline, starts trainsim
// publishers and the Python helper tools, connects real socket.io-client and
// raw `ws` clients, and stops every process it started, by PID, when the test
// that started it ends (t.after) and again when the test process exits.
// Every wait has a deadline; nothing synchronises on a fixed sleep.
//
// Environment: TB_BIN_DIR (default <repo>/build/bin), TB_PYTHON (a python3
// with pyzmq + msgpack; default /usr/bin/python3), PYTHONPATH (proto/python, for the
// trainevents module), TB_E2E_VERBOSE=1 (copy bridge stderr to ours).

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, '..');
export const REPO_DIR = path.resolve(E2E_DIR, '..', '..');
export const BIN_DIR = process.env.TB_BIN_DIR || path.join(REPO_DIR, 'build', 'bin');
// The first python3 on PATH may lack Debian's python3-zmq/msgpack (pyenv).
export const PYTHON = process.env.TB_PYTHON || (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
export const TOOLS_DIR = path.join(E2E_DIR, 'tools');
const VERBOSE = process.env.TB_E2E_VERBOSE === '1';

// ------------------------------------------------------------ dependencies

async function loadDeps() {
  try {
    const sio = await import('socket.io-client');
    const ws = await import('ws');
    return { io: sio.io, WebSocket: ws.WebSocket };
  } catch (e) {
    throw new Error(
      'tests/e2e node dependencies are missing: run `npm ci --prefix tests/e2e` ' +
        `from the repository root first (${e.code || e.message})`,
    );
  }
}
const deps = await loadDeps();
export const io = deps.io;
export const WebSocket = deps.WebSocket;

export function binary(name) {
  const p = path.join(BIN_DIR, name);
  if (!fs.existsSync(p)) {
    throw new Error(`${p} does not exist: build first (cmake --build build) or set TB_BIN_DIR`);
  }
  return p;
}

// ------------------------------------------------------------ waiting

export class DeadlineError extends Error {}

// Resolves with the promise's value, or rejects after ms with a message
// naming what was awaited (and extra diagnostics from detail()).
export function withDeadline(promise, ms, what, detail) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const extra = detail ? `\n${detail()}` : '';
      reject(new DeadlineError(`timed out after ${ms} ms waiting for ${what}${extra}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Polls pred() (sync or async) every intervalMs until it returns a truthy
// value, which is returned; throws a DeadlineError after timeoutMs.
export async function waitUntil(pred, { timeoutMs = 10000, intervalMs = 10, what = 'a condition', detail } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() >= end) {
      const extra = detail ? `\n${detail()}` : '';
      throw new DeadlineError(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ------------------------------------------------------------ processes

const live = new Set();

function killHard(child) {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

// Last resort: whatever is still running when this test file's process
// exits is killed by PID.
process.on('exit', () => {
  for (const c of live) killHard(c);
});

const TAIL_BYTES = 64 * 1024;

// A child process with captured output. exited resolves {code, signal}.
export class Proc {
  constructor(name, cmd, args, { env = {}, t } = {}) {
    this.name = name;
    this.cmd = cmd;
    this.args = args;
    this.stdout = '';
    this.stderrTail = '';
    this.child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pid = this.child.pid;
    live.add(this.child);
    this.spawnError = null;
    this.exited = new Promise((resolve) => {
      this.child.once('error', (e) => {
        this.spawnError = e;
        live.delete(this.child);
        resolve({ code: null, signal: null, error: e });
      });
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        this.exitedAt = Date.now();
        resolve({ code, signal });
      });
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (d) => {
      if (this.stdout.length < 4 * TAIL_BYTES) this.stdout += d;
    });
    this.child.stderr.on('data', (d) => {
      if (VERBOSE) process.stderr.write(`[${name} ${this.pid}] ${d}`);
      this.stderrTail = (this.stderrTail + d).slice(-TAIL_BYTES);
    });
    if (t) t.after(() => this.kill());
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null && !this.spawnError;
  }

  signal(sig) {
    if (this.running) process.kill(this.pid, sig);
  }

  // SIGKILL by PID if still running; waits for the exit.
  async kill() {
    killHard(this.child);
    await withDeadline(this.exited, 5000, `${this.name} (pid ${this.pid}) to die`);
  }

  describe(lines = 40) {
    const tail = this.stderrTail.split('\n').slice(-lines).join('\n');
    return `--- ${this.name} pid ${this.pid}: ${this.cmd} ${this.args.join(' ')}\n` +
      `--- stdout:\n${this.stdout.slice(-2000)}\n--- stderr (tail):\n${tail}`;
  }

  async waitExit(timeoutMs, what) {
    return withDeadline(this.exited, timeoutMs, what || `${this.name} (pid ${this.pid}) to exit`, () => this.describe());
  }
}

// ------------------------------------------------------------ HTTP

// Every plain HTTP request of the suite goes through one keep-alive agent,
// as Node 20's own global agent and node-fetch do: connections are reused
// whenever the bridge keeps them, so a response that closes its connection
// without saying "Connection: close" fails the next request on it.
export const keepAliveAgent = new http.Agent({ keepAlive: true });

export function httpGet(port, urlPath, { timeoutMs = 3000, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, timeout: timeoutMs, agent: keepAliveAgent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

// GET over TLS, verified with the PEM CA ca (servername 127.0.0.1's
// certificate must name IP 127.0.0.1).
export function httpsGet(port, urlPath, ca, { timeoutMs = 3000, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, headers, ca, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

// Any HTTP request to 127.0.0.1:port (on a kept-alive connection when the
// bridge keeps one): resolves {status, headers, body}. body: string or Buffer.
export function httpRequest(port, method, urlPath, { headers = {}, body, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, timeout: timeoutMs, agent: keepAliveAgent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

// Engine.IO long-polling payloads: packets joined by the record separator.
export const RECORD_SEPARATOR = '\x1e';
export function pollingPackets(body) {
  return body === '' ? [] : body.split(RECORD_SEPARATOR);
}

// Engine.IO handshake over long-polling. Resolves {status, headers, body,
// packets, open, sid}; open/sid are null unless the first packet is "0{...}".
export async function pollingHandshake(port, { query = 'EIO=4&transport=polling', path: p = '/socket.io/', headers = {}, timeoutMs } = {}) {
  const r = await httpRequest(port, 'GET', `${p}?${query}`, { headers, timeoutMs });
  const packets = r.status === 200 ? pollingPackets(r.body) : [];
  const open = packets.length && packets[0].startsWith('0{') ? JSON.parse(packets[0].slice(1)) : null;
  return { ...r, packets, open, sid: open ? open.sid : null };
}

// Prometheus text -> Map("name{labels}" -> number)
export function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const r = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (r) m.set(r[1] + (r[2] || ''), Number(r[3]));
  }
  return m;
}

// Sum of every series of a metric (all label sets).
export function metricSum(m, name) {
  let sum = 0;
  let seen = false;
  for (const [k, v] of m) {
    if (k === name || k.startsWith(name + '{')) {
      sum += v;
      seen = true;
    }
  }
  return seen ? sum : undefined;
}

// Map(label value -> number) of one metric's series by one label.
export function metricByLabel(m, name, label) {
  const out = new Map();
  const re = new RegExp(`${label}="((?:[^"\\\\]|\\\\.)*)"`);
  for (const [k, v] of m) {
    if (!k.startsWith(name + '{')) continue;
    const r = re.exec(k);
    if (r) out.set(r[1], (out.get(r[1]) || 0) + v);
  }
  return out;
}

// ------------------------------------------------------------ the bridge

const READY_RE = /^trainbridge listening on 127\.0\.0\.1:(\d+) zmq (\S+)(?: .+)?$/;

export class Bridge {
  constructor(proc, port, zmqEndpoints, readyLine) {
    this.proc = proc;
    this.port = port;
    this.zmqEndpoints = zmqEndpoints;
    this.readyLine = readyLine;
    const bound = zmqEndpoints.filter((e) => !e.startsWith('>') && e.startsWith('tcp://'));
    this.zmq = bound[0];
    this.url = `http://127.0.0.1:${port}`;
  }

  get pid() {
    return this.proc.pid;
  }

  wsUrl(query = 'EIO=4&transport=websocket', p = '/socket.io/') {
    return `ws://127.0.0.1:${this.port}${p}?${query}`;
  }

  async metricsText() {
    const r = this.tlsCa ? await httpsGet(this.port, '/metrics', this.tlsCa) : await httpGet(this.port, '/metrics');
    assert.equal(r.status, 200, `GET /metrics -> ${r.status}: ${r.body.slice(0, 200)}`);
    return r.body;
  }

  async metrics() {
    return parseMetrics(await this.metricsText());
  }

  describe() {
    return this.proc.describe();
  }

  async stop() {
    await this.proc.kill();
  }
}

// Starts trainbridge on 127.0.0.1 port 0 with a ZeroMQ SUB bound on a free
// port, waits for its ready line and for GET /healthz -> 200.
// args: extra flags; opts.env: extra environment; opts.noDefaults: pass
// exactly args (for tests of the configuration itself).
// opts.tlsCa: the bridge serves TLS (--tls-cert/--tls-key in args) and
// this PEM CA verifies it: bridge.url is https, /healthz is asked over TLS.
export async function startBridge(t, args = [], { env = {}, noDefaults = false, readyTimeoutMs = 10000, tlsCa } = {}) {
  const base = noDefaults ? [] : ['--listen', '127.0.0.1:0', '--zmq-bind', 'tcp://127.0.0.1:*'];
  const proc = new Proc('trainbridge', binary('trainbridge'), [...base, ...args], { env, t });
  const line = await withDeadline(
    new Promise((resolve, reject) => {
      const onData = () => {
        const nl = proc.stdout.indexOf('\n');
        if (nl >= 0) {
          proc.child.stdout.off('data', onData);
          resolve(proc.stdout.slice(0, nl));
        }
      };
      proc.child.stdout.on('data', onData);
      onData();
      proc.exited.then((st) =>
        reject(new Error(`trainbridge exited before its ready line: ${JSON.stringify(st)}\n${proc.describe()}`)),
      );
    }),
    readyTimeoutMs,
    'the trainbridge ready line',
    () => proc.describe(),
  );
  const r = READY_RE.exec(line);
  assert.ok(r, `unexpected ready line ${JSON.stringify(line)} (want "trainbridge listening on 127.0.0.1:<port> zmq <endpoints>")`);
  const port = Number(r[1]);
  assert.ok(port > 0 && port < 65536, `bad port in ready line: ${line}`);
  const endpoints = r[2].split(',');
  const bridge = new Bridge(proc, port, endpoints, line);
  if (tlsCa) {
    bridge.url = `https://127.0.0.1:${port}`;
    bridge.tlsCa = tlsCa;
  }
  await waitUntil(
    async () => {
      try {
        const get = tlsCa ? httpsGet(port, '/healthz', tlsCa, { timeoutMs: 1000 }) : httpGet(port, '/healthz', { timeoutMs: 1000 });
        return (await get).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs: 5000, what: `GET /healthz on ${port} -> 200`, detail: () => proc.describe() },
  );
  return bridge;
}

// ------------------------------------------------------------ publishers

// Starts build/bin/trainsim against the bridge. Returns the Proc.
export function startSim(t, bridge, { scenarios, trainer, episodes = 10, rate = 0, stopAt, failAt, extra = [] }) {
  const args = ['--endpoint', bridge.zmq];
  for (const s of [].concat(scenarios)) args.push('--scenario', s);
  if (trainer) args.push('--trainer', trainer);
  args.push('--episodes', String(episodes), '--rate', String(rate));
  if (stopAt !== undefined) args.push('--stop-at', String(stopAt));
  if (failAt !== undefined) args.push('--fail-at', String(failAt));
  args.push('--quiet', ...extra);
  return new Proc(`trainsim[${[].concat(scenarios).join(',')}]`, binary('trainsim'), args, { t });
}

// Runs trainsim to completion (exit 0) within timeoutMs.
export async function runSim(t, bridge, opts, timeoutMs = 30000) {
  const p = startSim(t, bridge, opts);
  const st = await p.waitExit(timeoutMs);
  assert.equal(st.code, 0, `trainsim exited ${JSON.stringify(st)}\n${p.describe()}`);
  return p;
}

// Runs a Python helper from tests/e2e/tools (publish_events.py, zmq_flood.py)
// to completion; returns the Proc. stdin is not used; args are strings.
export async function runPythonTool(t, script, args, timeoutMs = 30000) {
  const env = { PYTHONPATH: [path.join(REPO_DIR, 'proto', 'python'), process.env.PYTHONPATH].filter(Boolean).join(':') };
  const p = new Proc(script, PYTHON, [path.join(TOOLS_DIR, script), ...args], { env, t });
  const st = await p.waitExit(timeoutMs);
  assert.equal(st.code, 0, `${script} exited ${JSON.stringify(st)}\n${p.describe()}`);
  return p;
}

// Publishes exact events through the Python trainevents.Publisher.
// calls: [[method, {kwargs}], ...], e.g. ['training_started', {scenario: 'x', num_episodes: 3}]
export function publishEvents(t, bridge, calls, { trainer = 'py-trainer' } = {}) {
  return runPythonTool(t, 'publish_events.py', ['--endpoint', bridge.zmq, '--trainer', trainer, JSON.stringify(calls)]);
}

// ------------------------------------------------------------ clients

// Records every server event a client receives, in order: live events in
// events, history replayed on subscribe (meta.replay) in replayed, both in
// all.
export class Recorder {
  constructor() {
    this.events = []; // {event, payload, meta, nargs, at}
    this.replayed = [];
    this.all = [];
  }

  push(event, args) {
    const e = { event, payload: args[0], meta: args[1], nargs: args.length, at: Date.now() };
    this.all.push(e);
    if (e.meta && e.meta.replay === true) this.replayed.push(e);
    else this.events.push(e);
  }

  names() {
    return this.events.map((e) => e.event);
  }

  forScenario(name) {
    return this.events.filter((e) => e.meta && e.meta.scenario_name === name);
  }

  summary(max = 30) {
    return this.events
      .slice(0, max)
      .map((e) => `${e.event} ${JSON.stringify(e.meta)}`)
      .join('\n') + (this.events.length > max ? `\n... (${this.events.length} in all)` : '');
  }

  async waitCount(n, { timeoutMs = 15000, what, filter } = {}) {
    const count = () => (filter ? this.events.filter(filter).length : this.events.length);
    await waitUntil(() => count() >= n, {
      timeoutMs,
      what: what || `${n} events (have ${count()})`,
      detail: () => `have ${count()}:\n${this.summary()}`,
    });
  }
}

// Connects a socket.io-client over WebSocket only, no reconnection.
// Resolves when 'connect' fired; rejects on connect_error or deadline.
// The client is closed when the test ends.
export async function connectClient(t, bridge, { namespace = '/', timeoutMs = 5000, opts = {} } = {}) {
  const sock = io(bridge.url + namespace, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
    ...opts,
  });
  const rec = new Recorder();
  sock.onAny((event, ...args) => rec.push(event, args));
  sock.rec = rec;
  sock.disconnects = [];
  sock.on('disconnect', (reason) => sock.disconnects.push(reason));
  if (t) t.after(() => sock.disconnect());
  await withDeadline(
    new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('connect_error', (e) => reject(new Error(`connect_error: ${e.message}`)));
    }),
    timeoutMs + 1000,
    `socket.io connect to ${bridge.url}${namespace}`,
    () => bridge.describe(),
  );
  return sock;
}

// Connects a socket.io-client to url with the library's DEFAULT transports
// (HTTP long-polling first, then the upgrade to WebSocket) unless opts sets
// them; no reconnection. Like connectClient, and: every recorded event has
// e.transport (the Engine.IO transport in use when it arrived),
// sock.firstTransport is the one the engine opened with, and sock.upgrades
// lists the transports it upgraded to, in order.
export async function connectUrl(t, url, { timeoutMs = 5000, opts = {}, detail } = {}) {
  const sock = io(url, { reconnection: false, forceNew: true, timeout: timeoutMs, ...opts });
  const rec = new Recorder();
  sock.onAny((event, ...args) => {
    rec.push(event, args);
    rec.all[rec.all.length - 1].transport = sock.io.engine ? sock.io.engine.transport.name : null;
  });
  sock.rec = rec;
  sock.disconnects = [];
  sock.upgrades = [];
  sock.on('disconnect', (reason) => sock.disconnects.push(reason));
  sock.firstTransport = sock.io.engine.transport ? sock.io.engine.transport.name : null;
  sock.io.engine.on('upgrade', (tr) => sock.upgrades.push(tr.name));
  if (t) t.after(() => sock.disconnect());
  await withDeadline(
    new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('connect_error', (e) => reject(new Error(`connect_error: ${e.message}`)));
    }),
    timeoutMs + 1000,
    `socket.io connect to ${url}`,
    detail,
  );
  return sock;
}

// Asserts a subscribe ack {ok: true, scenario_name, runs, replayed}.
export function assertSubscribeAck(ack, scenario) {
  assert.deepEqual(Object.keys(ack).sort(), ['ok', 'replayed', 'runs', 'scenario_name'], `subscribe ack ${JSON.stringify(ack)}`);
  assert.equal(ack.ok, true);
  assert.equal(ack.scenario_name, scenario);
  assert.ok(Number.isInteger(ack.runs) && ack.runs >= 0, `ack.runs ${ack.runs}`);
  assert.ok(Number.isInteger(ack.replayed) && ack.replayed >= 0, `ack.replayed ${ack.replayed}`);
}

// subscribe_training with an ack; asserts {ok: true, scenario_name, runs,
// replayed} and returns it. history: 'curve' | 'latest' | 'none' | 'compact'.
export async function subscribe(sock, scenario, { timeoutMs = 5000, history } = {}) {
  const req = history === undefined ? { scenario_name: scenario } : { scenario_name: scenario, history };
  const ack = await sock.timeout(timeoutMs).emitWithAck('subscribe_training', req);
  assertSubscribeAck(ack, scenario);
  return ack;
}

export async function unsubscribe(sock, scenario, { timeoutMs = 5000 } = {}) {
  const ack = await sock.timeout(timeoutMs).emitWithAck('unsubscribe_training', { scenario_name: scenario });
  assert.deepEqual(ack, { ok: true, scenario_name: scenario }, `unsubscribe ack for ${scenario}`);
  return ack;
}

// A raw Engine.IO/Socket.IO client over `ws`: sees every frame.
export class RawClient {
  constructor(ws) {
    this.ws = ws;
    this.frames = []; // {text, binary, at}
    this.autoPong = true;
    this.pings = 0;
    this.closeInfo = null;
    this.errors = [];
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), at: Date.now() };
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (e) => this.errors.push(e));
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      this.frames.push({ text, binary: isBinary ? data : null, at: Date.now() });
      if (text === '2') {
        this.pings++;
        if (this.autoPong) ws.send('3');
      }
    });
  }

  static async open(t, bridge, { query = 'EIO=4&transport=websocket', timeoutMs = 5000, wsOpts = {} } = {}) {
    const ws = new WebSocket(bridge.wsUrl(query), { perMessageDeflate: false, ...wsOpts });
    const c = new RawClient(ws);
    if (t) t.after(() => ws.terminate());
    await withDeadline(
      new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
      }),
      timeoutMs,
      'raw websocket open',
      () => bridge.describe(),
    );
    return c;
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(data) {
    this.ws.send(data);
  }

  texts() {
    return this.frames.filter((f) => f.text !== null).map((f) => f.text);
  }

  // Waits for the first frame (from index `from`) satisfying pred(text).
  async waitFrame(pred, { timeoutMs = 5000, what = 'a frame', from = 0 } = {}) {
    let found;
    await waitUntil(
      () => {
        for (let i = from; i < this.frames.length; i++) {
          const f = this.frames[i];
          if (f.text !== null && pred(f.text)) {
            found = { ...f, index: i };
            return true;
          }
        }
        return false;
      },
      { timeoutMs, what, detail: () => `frames: ${JSON.stringify(this.texts().slice(-10))} close: ${JSON.stringify(this.closeInfo)}` },
    );
    return found;
  }

  // Engine.IO open packet as an object.
  async openPacket() {
    const f = await this.waitFrame((x) => x.startsWith('0'), { what: 'the Engine.IO open packet' });
    return JSON.parse(f.text.slice(1));
  }

  // Socket.IO CONNECT to "/" -> the CONNECT reply's payload.
  async sioConnect() {
    await this.openPacket();
    this.send('40');
    const f = await this.waitFrame((x) => x.startsWith('40') || x.startsWith('44'), { what: 'the Socket.IO CONNECT reply' });
    assert.ok(f.text.startsWith('40{'), `CONNECT reply: ${f.text}`);
    return JSON.parse(f.text.slice(2));
  }

  // subscribe_training with ack id; waits for the ack "43<id>[...]".
  async subscribe(scenario, id = 1) {
    this.send(`42${id}["subscribe_training",${JSON.stringify({ scenario_name: scenario })}]`);
    const f = await this.waitFrame((x) => x.startsWith(`43${id}[`), { what: `ack ${id} for subscribe ${scenario}` });
    const ack = JSON.parse(f.text.slice(2 + String(id).length));
    assert.equal(ack.length, 1);
    assertSubscribeAck(ack[0], scenario);
    return ack;
  }

  // Server events seen as "42[...]" frames: {event, payload, meta, raw}.
  events() {
    const out = [];
    for (const text of this.texts()) {
      if (!text.startsWith('42[')) continue;
      const arr = JSON.parse(text.slice(2));
      out.push({ event: arr[0], payload: arr[1], meta: arr[2], nargs: arr.length - 1, raw: text });
    }
    return out;
  }

  async waitClosed(timeoutMs = 5000, what = 'the server to close the websocket') {
    return withDeadline(this.closed, timeoutMs, what, () => `frames: ${JSON.stringify(this.texts().slice(-10))}`);
  }
}

// ------------------------------------------------------------ the schema

export const PAYLOAD_SHAPES = {
  training_started: { scenario_name: 'str', num_episodes: 'int', start_time: 'iso' },
  training_progress: {
    episode: 'int',
    total_episodes: 'int',
    avg_reward: 'num',
    avg_duration: 'num',
    avg_cash: 'num',
    avg_invested: 'num',
    stability: 'num',
    goal_adherence: 'num',
    elapsed_time: 'num',
  },
  training_completed: {
    scenario_name: 'str',
    episodes_completed: 'int',
    final_metrics: { avg_reward: 'num', avg_duration: 'num', stability: 'num' },
  },
  training_stopped: { scenario_name: 'str', episodes_completed: 'int' },
  training_error: { message: 'str', details: 'str' },
};

export const META_SHAPE = { scenario_name: 'str', trainer: 'str', seq: 'int', ts: 'int' };

// Float fields by event, as they must appear in the raw JSON text.
export const FLOAT_FIELDS = {
  training_progress: ['avg_reward', 'avg_duration', 'avg_cash', 'avg_invested', 'stability', 'goal_adherence', 'elapsed_time'],
  training_completed: ['avg_reward', 'avg_duration', 'stability'],
};

const ISO_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

function checkType(v, type) {
  switch (type) {
    case 'str':
      return typeof v === 'string';
    case 'int':
      return Number.isSafeInteger(v);
    case 'num':
      return typeof v === 'number' && Number.isFinite(v);
    case 'iso':
      return typeof v === 'string' && ISO_RE.test(v) && !Number.isNaN(Date.parse(v));
    default:
      return false;
  }
}

// Asserts obj has exactly the shape's keys, each of the right type.
export function assertShape(obj, shape, where) {
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `${where}: not an object: ${JSON.stringify(obj)}`);
  assert.deepEqual(Object.keys(obj).sort(), Object.keys(shape).sort(), `${where}: fields of ${JSON.stringify(obj)}`);
  for (const [k, type] of Object.entries(shape)) {
    if (typeof type === 'object') assertShape(obj[k], type, `${where}.${k}`);
    else assert.ok(checkType(obj[k], type), `${where}.${k}: want ${type}, got ${JSON.stringify(obj[k])}`);
  }
}

// Asserts one received event: known name, exact payload shape, meta shape.
export function assertEvent(e, { scenario } = {}) {
  const shape = PAYLOAD_SHAPES[e.event];
  assert.ok(shape, `unknown event name ${e.event}`);
  assert.equal(e.nargs, 2, `${e.event}: want 2 arguments (payload, meta), got ${e.nargs}`);
  assertShape(e.payload, shape, `${e.event} payload`);
  assertShape(e.meta, META_SHAPE, `${e.event} meta`);
  assert.ok(e.meta.seq >= 1, `${e.event} meta.seq ${e.meta.seq} < 1`);
  const skewMs = Math.abs(e.meta.ts / 1000 - Date.now());
  assert.ok(skewMs < 86400e3, `${e.event} meta.ts ${e.meta.ts} is not microseconds since the epoch (now ${Date.now()} ms)`);
  if (scenario !== undefined) {
    assert.equal(e.meta.scenario_name, scenario, `${e.event} meta.scenario_name`);
    if ('scenario_name' in shape) assert.equal(e.payload.scenario_name, scenario, `${e.event} payload.scenario_name`);
  }
}

// In a raw "42[...]" frame, every float field's number is written with '.'
// or an exponent, so JSON readers that type numbers see a float.
export function assertRawFloats(raw, event) {
  for (const f of FLOAT_FIELDS[event] || []) {
    const r = new RegExp(`"${f}":(-?[0-9][0-9.eE+-]*)`).exec(raw);
    assert.ok(r, `${event}: field ${f} not found as a number in ${raw}`);
    assert.match(r[1], /[.eE]/, `${event}.${f} written as ${r[1]} (integer form) in ${raw}`);
  }
}

// Checks one trainer's stream: started, K progress (episodes 1..K),
// then the terminal event; seq +1 each (strictly increasing if the trainer
// published other scenarios in between: contiguous=false); one trainer;
// ts non-decreasing. terminal: 'completed' | 'stopped' | 'error'.
export function assertLifecycle(events, { scenario, episodes, progress = episodes, terminal = 'completed', trainer, contiguous = true } = {}) {
  const names = events.map((e) => e.event);
  const want = ['training_started', ...Array(progress).fill('training_progress'), `training_${terminal}`];
  assert.deepEqual(names, want, `event names for ${scenario}`);
  events.forEach((e) => assertEvent(e, { scenario }));
  assert.equal(events[0].payload.num_episodes, episodes, 'started.num_episodes');
  events.slice(1, 1 + progress).forEach((e, i) => {
    assert.equal(e.payload.episode, i + 1, `progress #${i + 1} episode`);
    assert.equal(e.payload.total_episodes, episodes, `progress #${i + 1} total_episodes`);
  });
  const last = events[events.length - 1];
  if (terminal === 'completed') assert.equal(last.payload.episodes_completed, episodes, 'completed.episodes_completed');
  if (terminal === 'stopped') assert.equal(last.payload.episodes_completed, progress, 'stopped.episodes_completed');
  const t0 = trainer ?? events[0].meta.trainer;
  events.forEach((e, i) => {
    assert.equal(e.meta.trainer, t0, `event ${i} trainer`);
    if (contiguous) assert.equal(e.meta.seq, events[0].meta.seq + i, `event ${i} seq`);
    else if (i > 0) assert.ok(e.meta.seq > events[i - 1].meta.seq, `event ${i} seq not increasing`);
    if (i > 0) assert.ok(e.meta.ts >= events[i - 1].meta.ts, `event ${i} ts went backwards`);
  });
}

// Unique names so parallel runs and leftovers never collide.
let nameCounter = 0;
export function uniqueName(prefix) {
  nameCounter += 1;
  return `${prefix}-${process.pid}-${nameCounter}`;
}

// ------------------------------------------------------------ TLS

const openssl = (args, cwd) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

function spkiHash(certPath) {
  const pub = crypto.createPublicKey(fs.readFileSync(certPath));
  return crypto.createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64');
}

// TLS tests: a CA and a server certificate for 127.0.0.1 signed by it, and
// a second, unrelated CA, made with the openssl CLI in a temporary folder
// removed when t ends. Returns the paths, the CA PEMs and the base64 SHA-256
// of the server's public key (what Chromium's SPKI allow-list takes).
export function makePki(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=trainbridge test CA'], dir);
  openssl(['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=another CA'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf'], dir);
  return {
    dir,
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
    ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    otherCa: fs.readFileSync(path.join(dir, 'other.pem'), 'utf8'),
    spkiSha256: spkiHash(path.join(dir, 'server.pem')),
  };
}
