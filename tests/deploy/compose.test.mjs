// The compose stacks, brought up for real with podman + podman-compose on
// the host network (../shared/tools/compose-local.sh, see its header; run
// `compose-local.sh setup` once, as root). Each test builds the images from
// this checkout, starts the stack on free loopback ports with its
// host-network override, talks to it with a real socket.io-client, runs
// `down`, and checks that none of its containers is left.
//
//   docker-compose.yml (+ deploy/compose.local.yml): the bridge and two
//     looping trainers; the bridge is PID 1, unprivileged, healthy by the
//     image's own health check, and exits 0 on SIGTERM; complete runs of
//     both scenarios reach a client.
//   deploy/compose.scale.yml (+ deploy/compose.scale.local.yml): proxy, two
//     bridges, nginx, two trainers; clients through nginx get complete runs
//     and both bridges carry the stream.
//
// The first run builds the images (base image from debootstrap, apt-get in
// the build): a few minutes; later runs reuse podman's layer cache.
// Environment: TB_COMPOSE_LOCAL (default <repo>/../shared/tools/compose-local.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Proc, waitUntil, assertLifecycle, metricSum, parseMetrics, httpGet } from '../e2e/node/harness.mjs';
import { REPO_DIR, freePort, waitHealthy, lbClient, waitSubscribed, runsOf, isCompleteRun } from './support.mjs';

const TOOL = process.env.TB_COMPOSE_LOCAL || path.resolve(REPO_DIR, '..', 'shared', 'tools', 'compose-local.sh');
const BUILD_TIMEOUT_MS = 25 * 60 * 1000;
const EPISODES = 20;

function skipReason() {
  if (!fs.existsSync(TOOL)) return `${TOOL} not found (set TB_COMPOSE_LOCAL)`;
  if (process.getuid() !== 0) return 'needs root (rootful podman)';
  if (!fs.existsSync('/usr/bin/podman')) return `podman missing: run ${TOOL} setup`;
  return false;
}

// Runs a command to completion within timeoutMs; returns {code, out, ms}.
async function run(t, name, cmd, args, { env = {}, timeoutMs = 120000 } = {}) {
  const t0 = Date.now();
  const p = new Proc(name, cmd, args, { env, t });
  let st;
  try {
    st = await p.waitExit(timeoutMs);
  } catch (e) {
    await p.kill();
    throw e;
  }
  return { code: st.code, out: p.stdout, err: p.stderrTail, ms: Date.now() - t0, describe: () => p.describe(60) };
}

function podmanEnv() {
  // compose-local.sh env prints: export CONTAINERS_CONF=<path>
  const stateDir = process.env.COMPOSE_LOCAL_DIR ||
    path.join(process.env.XDG_CACHE_HOME || path.join(process.env.HOME || '/root', '.cache'), 'compose-local');
  return { CONTAINERS_CONF: path.join(stateDir, 'containers.conf') };
}

async function podman(t, args, timeoutMs = 60000) {
  return run(t, `podman ${args[0]}`, '/usr/bin/podman', args, { env: podmanEnv(), timeoutMs });
}

async function projectContainers(t, project, service) {
  const args = ['ps', '-a', '--filter', `label=io.podman.compose.project=${project}`];
  if (service) args.push('--filter', `label=com.docker.compose.service=${service}`);
  args.push('--format', '{{.Names}}');
  const r = await podman(t, args);
  assert.equal(r.code, 0, r.describe());
  return r.out.split('\n').filter(Boolean);
}

// A compose project for one test: up (with build), down, and a cleanup that
// always runs `down` and removes whatever of this project is left.
function composeProject(t, project, files, env) {
  const fileArgs = files.flatMap((f) => ['-f', f]);
  const compose = (args, timeoutMs) => run(t, `compose ${args[0]}`, TOOL, ['compose', '-p', project, ...fileArgs, ...args],
    { env, timeoutMs });
  let isDown = false;
  const down = async () => {
    const r = await compose(['down'], 120000);
    isDown = true;
    return r;
  };
  t.after(async () => {
    if (!isDown) await down().catch(() => {});
    const left = await projectContainers(t, project).catch(() => []);
    if (left.length) await podman(t, ['rm', '-f', ...left]).catch(() => {});
  });
  return { compose, down, project };
}

// Waits for complete runs of every scenario's trainer at one client.
async function waitCompleteRuns(client, trainers, timeoutMs = 120000) {
  await waitUntil(() => trainers.every((tr) => runsOf(client.rec.events, tr).some((r) => isCompleteRun(r, EPISODES))), {
    timeoutMs,
    intervalMs: 100,
    what: `complete runs from ${trainers.join(', ')}`,
    detail: () => trainers.map((tr) => `${tr}: runs ${runsOf(client.rec.events, tr).map((r) => r.length).join('+')}`).join('\n') +
      `\nerrors: ${client.errors.join('; ')}`,
  });
  for (const [i, tr] of trainers.entries()) {
    const run = runsOf(client.rec.events, tr).find((r) => isCompleteRun(r, EPISODES));
    assertLifecycle(run, { scenario: ['alpha', 'beta'][i], episodes: EPISODES, trainer: tr });
  }
}

// ctest counts exit status 77 as skipped (SKIP_RETURN_CODE).
if (skipReason()) {
  console.log(`# SKIP: ${skipReason()}`);
  process.exit(77);
}

const SIM_ENV = { TB_SIM_EPISODES: String(EPISODES), TB_SIM_RATE: '20', TB_SIM_PAUSE_MS: '1000', TB_LOG_LEVEL: 'info' };

test('docker-compose.yml comes up, serves complete runs of both trainers, and goes down clean', { timeout: BUILD_TIMEOUT_MS + 300000 }, async (t) => {
  const env = { ...SIM_ENV, TB_HTTP_PORT: String(await freePort()), TB_ZMQ_PORT: String(await freePort()) };
  const files = [path.join(REPO_DIR, 'docker-compose.yml'), path.join(REPO_DIR, 'deploy', 'compose.local.yml')];
  const cfg = await run(t, 'compose config', TOOL, ['config', ...files], { env });
  assert.equal(cfg.code, 0, cfg.describe());
  assert.doesNotMatch(cfg.err, /not on network_mode: host/, 'every service on the host network');

  const p = composeProject(t, `tbstack${process.pid}`, files, env);
  const up = await p.compose(['up', '-d', '--build'], BUILD_TIMEOUT_MS);
  assert.equal(up.code, 0, up.describe());
  t.diagnostic(`up -d --build: ${(up.ms / 1000).toFixed(1)} s`);

  const httpPort = Number(env.TB_HTTP_PORT);
  await waitHealthy(httpPort, { timeoutMs: 60000 });
  const [bridgeName] = await projectContainers(t, p.project, 'bridge');
  assert.ok(bridgeName, 'the bridge container');

  // The image: trainbridge is PID 1, not root, and its health check passes.
  const hc = await podman(t, ['exec', bridgeName, 'trainbridge-healthcheck']);
  assert.equal(hc.code, 0, `trainbridge-healthcheck in the container: ${hc.describe()}`);
  const pid1 = await podman(t, ['exec', bridgeName, 'cat', '/proc/1/cmdline']);
  assert.equal(pid1.out.split('\0')[0], '/usr/local/bin/trainbridge', 'PID 1');
  const uid = await podman(t, ['exec', bridgeName, 'id', '-u']);
  assert.notEqual(uid.out.trim(), '0', 'not root');

  // The stack serves the dashboard from the image's binary.
  const page = await httpGet(httpPort, '/');
  assert.equal(page.status, 200, 'GET / (the dashboard)');
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(page.body, /<script type="module" src="\/dashboard\/app.js">/);
  const lib = await httpGet(httpPort, '/dashboard/vendor/uPlot.esm.js');
  assert.equal(lib.status, 200, 'the vendored chart library');

  const client = lbClient(t, `http://127.0.0.1:${httpPort}`, ['alpha', 'beta'], { name: 'compose-client' });
  await waitSubscribed([client], 20000);
  await waitCompleteRuns(client, ['sim-alpha', 'sim-beta']);
  client.sock.disconnect();

  // SIGTERM reaches trainbridge as PID 1: it exits 0 at once, no kill after the timeout.
  const stop = await podman(t, ['stop', '-t', '8', bridgeName], 30000);
  assert.equal(stop.code, 0, stop.describe());
  assert.ok(stop.ms < 5000, `podman stop took ${stop.ms} ms`);
  const code = await podman(t, ['inspect', '--format', '{{.State.ExitCode}}', bridgeName]);
  assert.equal(code.out.trim(), '0', 'trainbridge exit status on SIGTERM');

  const down = await p.down();
  assert.equal(down.code, 0, down.describe());
  t.diagnostic(`down: ${(down.ms / 1000).toFixed(1)} s`);
  assert.deepEqual(await projectContainers(t, p.project), [], 'no container of the stack is left');
});

test('deploy/compose.scale.yml: proxy, two bridges and nginx come up and serve through nginx', { timeout: BUILD_TIMEOUT_MS + 300000 }, async (t) => {
  const ports = {};
  for (const k of ['TB_HTTP_PORT', 'TB_BRIDGE1_PORT', 'TB_BRIDGE2_PORT', 'TB_PROXY_FRONTEND_PORT', 'TB_PROXY_BACKEND_PORT', 'TB_PROXY_HEALTH_PORT']) {
    ports[k] = String(await freePort());
  }
  const env = { ...SIM_ENV, ...ports };
  const files = [path.join(REPO_DIR, 'deploy', 'compose.scale.yml'), path.join(REPO_DIR, 'deploy', 'compose.scale.local.yml')];
  const p = composeProject(t, `tbscale${process.pid}`, files, env);
  const up = await p.compose(['up', '-d', '--build'], BUILD_TIMEOUT_MS);
  assert.equal(up.code, 0, up.describe());
  t.diagnostic(`up -d --build: ${(up.ms / 1000).toFixed(1)} s`);

  const http = Number(ports.TB_HTTP_PORT);
  const bridges = [Number(ports.TB_BRIDGE1_PORT), Number(ports.TB_BRIDGE2_PORT)];
  await waitHealthy(Number(ports.TB_PROXY_HEALTH_PORT), { timeoutMs: 60000 });
  for (const b of bridges) await waitHealthy(b, { timeoutMs: 60000 });
  await waitHealthy(http, { timeoutMs: 60000, urlPath: '/nginx-healthz' });

  const clients = [];
  for (let i = 0; i < 4; i++) { // one after the other: least_conn alternates
    clients.push(lbClient(t, `http://127.0.0.1:${http}`, ['alpha', 'beta'], { name: `nginx-client-${i}` }));
    await waitSubscribed(clients, 20000);
  }
  for (const c of clients) await waitCompleteRuns(c, ['sim-alpha', 'sim-beta']);
  const connected = await Promise.all(bridges.map(async (b) => metricSum(parseMetrics((await httpGet(b, '/metrics')).body), 'trainbridge_clients_connected')));
  assert.deepEqual(connected, [2, 2], 'nginx spread the WebSocket clients over both bridges');
  for (const c of clients) c.sock.disconnect();

  const down = await p.down();
  assert.equal(down.code, 0, down.describe());
  t.diagnostic(`down: ${(down.ms / 1000).toFixed(1)} s`);
  assert.deepEqual(await projectContainers(t, p.project), [], 'no container of the stack is left');
});
