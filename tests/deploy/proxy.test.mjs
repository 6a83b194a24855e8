// trainbridge-proxy on its own: flags and environment, the ready line,
// /healthz and /metrics (also against odd HTTP peers), forwarding from a
// trainer through the proxy to a bridge and a Socket.IO client with the
// counters to match, a clear failure on a port in use, and a clean exit on
// SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  Proc, binary, waitUntil, withDeadline, httpGet, parseMetrics, metricSum, connectClient, subscribe,
  assertLifecycle, uniqueName,
} from '../e2e/node/harness.mjs';
import { startProxy, startProxiedBridge, PROXY_READY_RE, firstLine, freePort } from './support.mjs';

async function runToExit(t, args, env = {}) {
  const p = new Proc('trainbridge-proxy', binary('trainbridge-proxy'), args, { env, t });
  const st = await p.waitExit(5000);
  return { ...st, stdout: p.stdout, stderr: p.stderrTail };
}

// Sends raw bytes, resolves with everything the server sent before closing.
function rawExchange(port, data, { timeoutMs = 8000 } = {}) {
  return withDeadline(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', (e) => (e.code === 'ECONNRESET' ? resolve(got) : reject(e)));
  }), timeoutMs, 'the proxy to answer and close');
}

test('--help names every flag with its variable; --version; bad values exit 2 naming the flag', async (t) => {
  const help = await runToExit(t, ['--help']);
  assert.equal(help.code, 0);
  for (const [flag, env] of [['--frontend', 'FRONTEND'], ['--backend', 'BACKEND'], ['--health', 'HEALTH'],
    ['--hwm', 'HWM'], ['--log-level', 'LOG_LEVEL']]) {
    assert.match(help.stdout, new RegExp(`^  ${flag} `, 'm'), `help lists ${flag}`);
    assert.match(help.stdout, new RegExp(`env TRAINBRIDGE_PROXY_${env},`), `help names TRAINBRIDGE_PROXY_${env}`);
  }
  const version = await runToExit(t, ['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^trainbridge-proxy \d+\.\d+\.\d+\n$/);

  const bad = [
    [['--frontend', 'nonsense'], {}, /--frontend: expected a ZeroMQ endpoint/],
    [['--backend', 'tcp://a:1,tcp://b:2'], {}, /--backend: expected a ZeroMQ endpoint/],
    [['--health', '127.0.0.1:99999'], {}, /--health: expected HOST:PORT/],
    [['--hwm', '0'], {}, /--hwm: expected an integer from 1/],
    [['--log-level', 'loud'], {}, /--log-level: expected error, warn, info or debug/],
    [['--bogus'], {}, /unknown option '--bogus'/],
    [['--frontend'], {}, /--frontend: missing value/],
    [[], { TRAINBRIDGE_PROXY_HWM: 'many' }, /TRAINBRIDGE_PROXY_HWM: expected an integer/],
  ];
  for (const [args, env, re] of bad) {
    const r = await runToExit(t, args, env);
    assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)} -> exit 2 (got ${JSON.stringify(r)})`);
    assert.match(r.stderr, re);
  }
});

test('configured from the environment; a flag wins over its variable', async (t) => {
  const [fe, be, hp] = [await freePort(), await freePort(), await freePort()];
  const p = new Proc('trainbridge-proxy', binary('trainbridge-proxy'), ['--health', `127.0.0.1:${hp}`], {
    t,
    env: {
      TRAINBRIDGE_PROXY_FRONTEND: `tcp://127.0.0.1:${fe}`,
      TRAINBRIDGE_PROXY_BACKEND: `tcp://127.0.0.1:${be}`,
      TRAINBRIDGE_PROXY_HEALTH: '127.0.0.1:1', // overridden by the flag
    },
  });
  const line = await firstLine(p, 'trainbridge-proxy');
  assert.equal(line, `trainbridge-proxy listening frontend tcp://127.0.0.1:${fe} backend tcp://127.0.0.1:${be} health 127.0.0.1:${hp}`);
  assert.equal((await httpGet(hp, '/healthz')).status, 200);
});

test('a port in use is a clear error, exit 1', async (t) => {
  const blocker = net.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  t.after(() => blocker.close());
  const port = blocker.address().port;
  const r = await runToExit(t, ['--frontend', 'tcp://127.0.0.1:*', '--backend', `tcp://127.0.0.1:${port}`, '--health', '127.0.0.1:0']);
  assert.equal(r.code, 1, JSON.stringify(r));
  assert.match(r.stderr, new RegExp(`--backend tcp://127.0.0.1:${port}: cannot bind: Address already in use`));
  assert.equal(r.stdout, '', 'no ready line');
});

test('/healthz, /metrics and odd HTTP peers', async (t) => {
  const proxy = await startProxy(t);
  assert.match(proxy.line, PROXY_READY_RE);
  const port = proxy.healthPort;
  const h = await httpGet(port, '/healthz?probe=1');
  assert.equal(h.status, 200);
  assert.equal(h.body, 'ok\n');
  assert.equal(h.headers.connection, 'close');
  const m = await httpGet(port, '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const metrics = parseMetrics(m.body);
  for (const name of ['trainbridge_proxy_up', 'trainbridge_proxy_events_total', 'trainbridge_proxy_event_bytes_total',
    'trainbridge_proxy_subscriptions_total', 'trainbridge_proxy_last_event_timestamp_seconds',
    'trainbridge_proxy_start_time_seconds', 'trainbridge_proxy_http_requests_total', 'trainbridge_proxy_http_rejected_total']) {
    assert.notEqual(metricSum(metrics, name), undefined, `metric ${name}`);
    assert.match(m.body, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), `TYPE line of ${name}`);
  }
  assert.equal(metricSum(metrics, 'trainbridge_proxy_up'), 1);
  assert.equal((await httpGet(port, '/nope')).status, 404);

  assert.match(await rawExchange(port, 'POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 405 /);
  assert.match(await rawExchange(port, 'HEAD /healthz HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n$/);
  assert.match(await rawExchange(port, 'garbage\r\n\r\n'), /^HTTP\/1\.1 400 /);
  // exactly the request buffer (2047 bytes) without an end of headers
  assert.match(await rawExchange(port, `GET /${'a'.repeat(2047 - 5)}`), /^HTTP\/1\.1 431 /);

  // More idle connections than slots: the oldest are closed, /healthz still answers.
  const idle = [];
  t.after(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < 40; i++) {
    idle.push(await new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', () => {});
      s.once('error', reject);
    }));
  }
  assert.equal((await httpGet(port, '/healthz', { timeoutMs: 3000 })).status, 200, '/healthz with 40 idle peers');
  const after = parseMetrics((await httpGet(port, '/metrics')).body);
  assert.ok(after.get('trainbridge_proxy_http_rejected_total{reason="busy"}') >= 24, 'oldest idle peers closed');
  assert.ok(after.get('trainbridge_proxy_http_rejected_total{reason="bad"}') >= 2, 'bad requests counted');
  assert.ok(proxy.proc.running, 'proxy still running');
});

test('trainer -> proxy -> bridge -> client, with the counters to match; SIGTERM exits 0', async (t) => {
  const proxy = await startProxy(t);
  const bridge = await startProxiedBridge(t, proxy);
  const scenario = uniqueName('proxied');
  const client = await connectClient(t, bridge);
  await subscribe(client, scenario);
  const sim = new Proc('trainsim', binary('trainsim'),
    // no heartbeats: the proxy counts every message it forwards, and this test counts exactly
    ['--endpoint', proxy.frontend, '--scenario', scenario, '--trainer', 'via-proxy', '--episodes', '20', '--rate', '0',
      '--heartbeat-interval-ms', '0', '--quiet'], { t });
  assert.equal((await sim.waitExit(15000)).code, 0, sim.describe());
  await client.rec.waitCount(22);
  assertLifecycle(client.rec.events, { scenario, episodes: 20, trainer: 'via-proxy' });

  await waitUntil(async () => {
    const m = parseMetrics((await httpGet(proxy.healthPort, '/metrics')).body);
    return m.get('trainbridge_proxy_events_total') === 22;
  }, { timeoutMs: 5000, what: 'trainbridge_proxy_events_total == 22' });
  const m = parseMetrics((await httpGet(proxy.healthPort, '/metrics')).body);
  assert.ok(m.get('trainbridge_proxy_event_bytes_total') > 22 * 50, 'event bytes counted');
  assert.ok(m.get('trainbridge_proxy_subscriptions_total{kind="subscribe"}') >= 1, 'the bridge subscription passed upstream');
  assert.ok(Math.abs(m.get('trainbridge_proxy_last_event_timestamp_seconds') - Date.now() / 1000) < 60);
  assert.equal(metricSum(await bridge.metrics(), 'trainbridge_ingest_messages_total'), 22);

  const t0 = Date.now();
  proxy.proc.signal('SIGTERM');
  const st = await proxy.proc.waitExit(3000, 'the proxy to exit on SIGTERM');
  assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null });
  t.diagnostic(`proxy exit on SIGTERM: ${Date.now() - t0} ms`);
});
