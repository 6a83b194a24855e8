// Configuration and operations endpoints of the real binary: bad flags exit
// 2 naming the flag, TRAINBRIDGE_* environment variables, --help, /healthz
// and the /metrics names the contract promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import {
  startBridge, binary, Proc, RawClient, httpGet, parseMetrics, withDeadline, connectClient, subscribe,
  runSim,
} from './harness.mjs';

async function runBridgeExpectExit(t, args, env = {}) {
  const p = new Proc('trainbridge', binary('trainbridge'), args, { env, t });
  const st = await p.waitExit(5000);
  return { st, stdout: p.stdout, stderr: p.stderrTail };
}

const BAD = [
  { args: ['--ping-interval', 'abc'], flag: '--ping-interval' },
  { args: ['--ping-timeout', '-5'], flag: '--ping-timeout' },
  { args: ['--max-payload', '12x'], flag: '--max-payload' },
  { args: ['--client-queue-bytes', ''], flag: '--client-queue-bytes' },
  { args: ['--listen', 'nowhere'], flag: '--listen' },
  { args: ['--listen', '127.0.0.1:70000'], flag: '--listen' },
  { args: ['--log-level', 'loud'], flag: '--log-level' },
  { args: ['--zmq-bind', 'carrier-pigeon://x'], flag: '--zmq-bind' },
  { args: ['--no-such-flag'], flag: '--no-such-flag' },
  { args: ['--ping-interval'], flag: '--ping-interval' },
];

for (const b of BAD) {
  test(`bad flag ${b.args.join(' ')} -> exit 2 with one line naming ${b.flag}`, async (t) => {
    const { st, stderr } = await runBridgeExpectExit(t, ['--listen', '127.0.0.1:0', '--zmq-bind', 'tcp://127.0.0.1:*', ...b.args]);
    assert.deepEqual(st, { code: 2, signal: null }, `exit status; stderr: ${stderr}`);
    const lines = stderr.trim().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `want one line on stderr, got: ${stderr}`);
    assert.ok(lines[0].includes(b.flag), `error line does not name ${b.flag}: ${lines[0]}`);
  });
}

test('a bad TRAINBRIDGE_* value exits 2 naming the variable or its flag', async (t) => {
  const { st, stderr } = await runBridgeExpectExit(t, ['--listen', '127.0.0.1:0', '--zmq-bind', 'tcp://127.0.0.1:*'],
    { TRAINBRIDGE_PING_TIMEOUT: 'soon' });
  assert.equal(st.code, 2, stderr);
  assert.match(stderr, /TRAINBRIDGE_PING_TIMEOUT|--ping-timeout/);
});

test('--help prints every flag and exits 0', async (t) => {
  const { st, stdout } = await runBridgeExpectExit(t, ['--help']);
  assert.equal(st.code, 0);
  for (const f of ['--listen', '--zmq-bind', '--ping-interval', '--ping-timeout', '--max-payload', '--client-queue-bytes', '--log-level']) {
    assert.ok(stdout.includes(f), `--help lacks ${f}`);
    const env = `TRAINBRIDGE_${f.slice(2).toUpperCase().replaceAll('-', '_')}`;
    assert.ok(stdout.includes(env), `--help lacks ${env}`);
  }
});

test('every setting also comes from TRAINBRIDGE_* (flags win)', async (t) => {
  const bridge = await startBridge(t, [], {
    noDefaults: true,
    env: {
      TRAINBRIDGE_LISTEN: '127.0.0.1:0',
      TRAINBRIDGE_ZMQ_BIND: 'tcp://127.0.0.1:*',
      TRAINBRIDGE_PING_INTERVAL: '1234',
      TRAINBRIDGE_PING_TIMEOUT: '4321',
      TRAINBRIDGE_MAX_PAYLOAD: '20000',
      TRAINBRIDGE_CLIENT_QUEUE_BYTES: '70000',
      TRAINBRIDGE_LOG_LEVEL: 'debug',
    },
  });
  const raw = await RawClient.open(t, bridge);
  const open = await raw.openPacket();
  assert.equal(open.pingInterval, 1234);
  assert.equal(open.pingTimeout, 4321);
  assert.equal(open.maxPayload, 20000);
  await bridge.stop();

  const flagWins = await startBridge(t, ['--ping-interval', '777'], { env: { TRAINBRIDGE_PING_INTERVAL: '1234' } });
  const raw2 = await RawClient.open(t, flagWins);
  assert.equal((await raw2.openPacket()).pingInterval, 777);
});

test('two zmq endpoints: both in the ready line, comma-separated; trainers on either get through', async (t) => {
  const ipc = `ipc://${os.tmpdir()}/tb-e2e-${process.pid}-${Date.now()}.ipc`;
  t.after(() => fs.rmSync(ipc.slice('ipc://'.length), { force: true }));
  const bridge = await startBridge(t, ['--zmq-bind', ipc]);
  assert.equal(bridge.zmqEndpoints.length, 2, bridge.readyLine);
  assert.match(bridge.zmqEndpoints[0], /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(bridge.zmqEndpoints[1], ipc);
  const c = await connectClient(t, bridge);
  await subscribe(c, '*');
  await runSim(t, bridge, { scenarios: 'via-tcp', episodes: 1, rate: 0 });
  await runSim(t, { zmq: ipc }, { scenarios: 'via-ipc', episodes: 1, rate: 0 });
  await c.rec.waitCount(6);
  assert.deepEqual([...new Set(c.rec.events.map((e) => e.meta.scenario_name))], ['via-tcp', 'via-ipc']);
});

test('/healthz answers 200 and /metrics carries the promised series', async (t) => {
  const bridge = await startBridge(t);
  const h = await httpGet(bridge.port, '/healthz');
  assert.equal(h.status, 200);
  const r = await httpGet(bridge.port, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] || '', /^text\/plain/);
  const m = parseMetrics(r.body);
  for (const name of ['trainbridge_clients_connected', 'trainbridge_ingest_messages_total', 'trainbridge_ingest_gaps_total',
    'trainbridge_clients_dropped_slow_total', 'trainbridge_client_protocol_errors_total', 'trainbridge_deliveries_total']) {
    assert.ok([...m.keys()].some((k) => k === name || k.startsWith(`${name}{`)), `/metrics lacks ${name}`);
  }
  assert.match(r.body, /^# TYPE trainbridge_clients_connected gauge$/m);
  assert.match(r.body, /^# TYPE trainbridge_ingest_messages_total counter$/m);
  assert.match(r.body, /^# TYPE trainbridge_ingest_rejected_total counter$/m);
  assert.match(r.body, /^trainbridge_ingest_rejected_total\{reason="[a-z_0-9]+"\} \d+$/m,
    'trainbridge_ingest_rejected_total{reason="..."} series (zero-valued ones too)');
  const nf = await httpGet(bridge.port, '/no-such-page');
  assert.equal(nf.status, 404);
});

test('the listen port is really bound to 127.0.0.1 and a second bridge gets its own ports', async (t) => {
  const a = await startBridge(t);
  const b = await startBridge(t);
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.zmq, b.zmq);
  const r = await withDeadline(httpGet(b.port, '/healthz'), 3000, 'healthz');
  assert.equal(r.status, 200);
});
