// support: what the deployment tests share on top of the end-to-end harness
// (tests/e2e/node/harness.mjs: processes by PID, deadlines, socket.io-client,
// event checks). Here: free loopback ports, trainbridge-proxy, bridges fed by
// the proxy, nginx from deploy/nginx/trainbridge.conf.template with its own
// temporary directory, reconnecting clients that subscribe again on every
// connect, and per-trainer run bookkeeping.
//
// Environment: TB_BIN_DIR (default <repo>/build/bin), TB_NGINX (default
// nginx on PATH, else /usr/sbin/nginx), TB_TEST_POLLING=1 (see POLLING).

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  Proc, io, binary, waitUntil, withDeadline, httpGet, startBridge, Recorder, REPO_DIR,
} from '../e2e/node/harness.mjs';

export { REPO_DIR };
export const DEPLOY_TEST_DIR = path.dirname(fileURLToPath(import.meta.url));

// Clients meant to use socket.io-client's default transports (HTTP
// long-polling, then upgrade to WebSocket) do so; TB_TEST_POLLING=0 makes
// them WebSocket-only like the others.
export const POLLING = (process.env.TB_TEST_POLLING ?? '1') === '1';
export const DEFAULT_TRANSPORTS = POLLING ? ['polling', 'websocket'] : ['websocket'];

// ------------------------------------------------------------ ports

// A port that was free a moment ago on 127.0.0.1 (for programs that cannot
// pick their own and report it).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function waitHealthy(port, { timeoutMs = 10000, urlPath = '/healthz', detail } = {}) {
  await waitUntil(
    async () => {
      try {
        return (await httpGet(port, urlPath, { timeoutMs: 1000 })).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 50, what: `GET ${urlPath} on 127.0.0.1:${port} -> 200`, detail },
  );
}

// Resolves with the first stdout line of proc, or rejects when it exits or
// the deadline passes.
export function firstLine(proc, what, timeoutMs = 10000) {
  return withDeadline(
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
      proc.exited.then((st) => reject(new Error(`${what} exited before its ready line: ${JSON.stringify(st)}\n${proc.describe()}`)));
    }),
    timeoutMs,
    `the ${what} ready line`,
    () => proc.describe(),
  );
}

// ------------------------------------------------------------ the proxy

export const PROXY_READY_RE = /^trainbridge-proxy listening frontend (\S+) backend (\S+) health (\S+):(\d+)$/;

// Starts trainbridge-proxy on free loopback ports; resolves when its ready
// line is out and /healthz answers 200.
export async function startProxy(t, { args = [], env = {} } = {}) {
  const base = ['--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*', '--health', '127.0.0.1:0'];
  const proc = new Proc('trainbridge-proxy', binary('trainbridge-proxy'), [...base, ...args], { env, t });
  const line = await firstLine(proc, 'trainbridge-proxy');
  const r = PROXY_READY_RE.exec(line);
  assert.ok(r, `unexpected proxy ready line ${JSON.stringify(line)}`);
  const proxy = { proc, pid: proc.pid, frontend: r[1], backend: r[2], healthPort: Number(r[4]), line };
  await waitHealthy(proxy.healthPort, { detail: () => proc.describe() });
  return proxy;
}

// A bridge whose SUB socket connects to the proxy's backend (no bind).
export function startProxiedBridge(t, proxy, extra = []) {
  return startBridge(t, ['--listen', '127.0.0.1:0', '--zmq-connect', proxy.backend, ...extra], { noDefaults: true });
}

// ------------------------------------------------------------ nginx

export function nginxBinary() {
  if (process.env.TB_NGINX) return process.env.TB_NGINX;
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir || '.', 'nginx');
    if (fs.existsSync(p)) return p;
  }
  return null;
}

// The shipped template with the same placeholders deploy/nginx/render.sh fills.
export function renderNginxConf({ listen, upstreams, runDir, accessLog = 'off' }) {
  const template = fs.readFileSync(path.join(REPO_DIR, 'deploy', 'nginx', 'trainbridge.conf.template'), 'utf8');
  const servers = upstreams.map((u) => `        server ${u} max_fails=1 fail_timeout=10s;`).join('\n');
  return template
    .replace(/^@SERVERS@$/gm, servers)
    .replaceAll('@LISTEN@', listen)
    .replaceAll('@RUN_DIR@', runDir)
    .replaceAll('@ERROR_LOG@', 'stderr')
    .replaceAll('@ACCESS_LOG@', accessLog);
}

// PIDs of a process's children (nginx's workers), from /proc.
function childPids(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const nginxWorkers = new Set();
process.on('exit', () => {
  for (const pid of nginxWorkers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

// Runs nginx in the foreground (daemon off) on 127.0.0.1:<free port> in front
// of the given bridges, with its config, pid and temp files in a fresh
// temporary directory. Stopped (master, then any worker left) when the test
// ends.
export async function startNginx(t, bridges) {
  const bin = nginxBinary();
  assert.ok(bin, 'nginx not found: apt-get install nginx (or set TB_NGINX)');
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-nginx-'));
  fs.chmodSync(runDir, 0o755); // workers run as an unprivileged user when we are root
  const port = await freePort();
  const conf = renderNginxConf({
    listen: `127.0.0.1:${port}`,
    upstreams: bridges.map((b) => `127.0.0.1:${b.port}`),
    runDir,
  });
  fs.writeFileSync(path.join(runDir, 'nginx.conf'), conf);
  const directives = process.getuid && process.getuid() === 0 ? 'daemon off; user nobody nogroup;' : 'daemon off;';
  const proc = new Proc('nginx', bin, ['-e', 'stderr', '-p', runDir, '-c', path.join(runDir, 'nginx.conf'), '-g', directives]);
  const nginx = {
    proc,
    port,
    runDir,
    url: `http://127.0.0.1:${port}`,
    describe: () => proc.describe(),
    async stop() {
      const workers = childPids(proc.pid);
      workers.forEach((w) => nginxWorkers.add(w));
      proc.signal('SIGTERM');
      try {
        await proc.waitExit(5000, 'nginx to stop on SIGTERM');
      } catch {
        await proc.kill();
      }
      await waitUntil(() => workers.every((w) => !alive(w)), { timeoutMs: 3000, what: 'nginx workers to exit' }).catch(() => {
        for (const w of workers) if (alive(w)) process.kill(w, 'SIGKILL');
      });
      fs.rmSync(runDir, { recursive: true, force: true });
    },
  };
  t.after(() => nginx.stop());
  await waitHealthy(port, { urlPath: '/nginx-healthz', detail: () => proc.describe() });
  childPids(proc.pid).forEach((w) => nginxWorkers.add(w));
  return nginx;
}

// ------------------------------------------------------------ clients

// A socket.io-client that subscribes to its rooms on every connect (the
// first and each reconnection), records every event and every connect and
// disconnect with times. Closed when the test ends.
export function lbClient(t, url, rooms, { transports = ['websocket'], reconnection = true, name = '' } = {}) {
  const sock = io(url, {
    transports,
    reconnection,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    randomizationFactor: 0.2,
    timeout: 5000,
    forceNew: true,
  });
  const client = { sock, name, rooms, rec: new Recorder(), connects: [], disconnects: [], subscribedAt: [], errors: [] };
  sock.onAny((event, ...args) => client.rec.push(event, args));
  sock.on('connect', async () => {
    client.connects.push(Date.now());
    try {
      for (const room of rooms) {
        const ack = await sock.timeout(5000).emitWithAck('subscribe_training', { scenario_name: room });
        assert.equal(ack.ok, true, JSON.stringify(ack));
        assert.equal(ack.scenario_name, room);
      }
      client.subscribedAt.push(Date.now());
    } catch (e) {
      client.errors.push(`subscribe after connect #${client.connects.length}: ${e.message}`);
    }
  });
  sock.on('disconnect', (reason) => client.disconnects.push({ at: Date.now(), reason }));
  sock.on('connect_error', (e) => client.errors.push(`connect_error: ${e.message}`));
  t.after(() => sock.disconnect());
  return client;
}

// Resolves when every client has connected and subscribed once.
export async function waitSubscribed(clients, timeoutMs = 15000) {
  await waitUntil(() => clients.every((c) => c.subscribedAt.length >= 1), {
    timeoutMs,
    what: 'every client to connect and subscribe',
    detail: () => clients.filter((c) => !c.subscribedAt.length).map((c) => `${c.name}: ${c.errors.join('; ')}`).join('\n'),
  });
}

// ------------------------------------------------------------ runs

// One trainer's events as a client saw them, without repeats (same seq),
// in sequence order, split into runs at each training_started.
export function runsOf(events, trainer) {
  const bySeq = new Map();
  for (const e of events) if (e.meta && e.meta.trainer === trainer && !bySeq.has(e.meta.seq)) bySeq.set(e.meta.seq, e);
  const sorted = [...bySeq.values()].sort((a, b) => a.meta.seq - b.meta.seq);
  const runs = [];
  for (const e of sorted) {
    if (e.event === 'training_started' || runs.length === 0) runs.push([]);
    runs[runs.length - 1].push(e);
  }
  return runs;
}

export function isCompleteRun(run, episodes) {
  return !!run && run.length === episodes + 2 && run[0].event === 'training_started' &&
    run[run.length - 1].event === 'training_completed';
}
