// CORS on the long-polling transport (--allowed-origin, alias --cors-origin):
// no cross-origin headers by default; listed origins get
// Access-Control-Allow-Origin: <the origin> with credentials and Vary: Origin
// on every polling response, and a 204 preflight; a handshake from an
// unlisted origin is refused with 403 (origins.test.mjs has the rest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, binary, Proc, httpRequest, pollingHandshake, pollingPackets, connectUrl, subscribe, runSim,
  assertLifecycle, uniqueName,
} from './harness.mjs';

const DASH = 'http://dash.example:8080';
const OPS = 'https://ops.example';
const EVIL = 'http://evil.example';
const pollPath = (sid) => `/socket.io/?EIO=4&transport=polling&sid=${sid}`;

function assertNoCors(r, what) {
  assert.equal(r.headers['access-control-allow-origin'], undefined, `${what}: Access-Control-Allow-Origin ${r.headers['access-control-allow-origin']}`);
  assert.equal(r.headers['access-control-allow-credentials'], undefined, `${what}: Access-Control-Allow-Credentials`);
}

function assertCors(r, origin, what) {
  assert.equal(r.headers['access-control-allow-origin'], origin, `${what}: Access-Control-Allow-Origin`);
  assert.equal(r.headers['access-control-allow-credentials'], 'true', `${what}: Access-Control-Allow-Credentials`);
  const vary = (r.headers.vary || '').split(',').map((x) => x.trim().toLowerCase());
  assert.ok(vary.includes('origin'), `${what}: Vary ${r.headers.vary}`);
}

function preflight(bridge, origin, { method = 'POST', headers = 'content-type' } = {}) {
  const h = { 'Access-Control-Request-Method': method };
  if (origin) h.Origin = origin;
  if (headers) h['Access-Control-Request-Headers'] = headers;
  return httpRequest(bridge.port, 'OPTIONS', '/socket.io/?EIO=4&transport=polling', { headers: h });
}

// A whole polling exchange with an Origin: handshake, POST "40", GET the
// CONNECT reply, an error response; returns the responses by name.
async function pollingExchange(bridge, origin) {
  const headers = origin ? { Origin: origin } : {};
  const hs = await pollingHandshake(bridge.port, { headers });
  assert.equal(hs.status, 200, `handshake with Origin ${origin} -> ${hs.status} ${hs.body}`);
  const post = await httpRequest(bridge.port, 'POST', pollPath(hs.sid), {
    body: '40',
    headers: { ...headers, 'content-type': 'text/plain;charset=UTF-8' },
  });
  assert.deepEqual([post.status, post.body], [200, 'ok']);
  const get = await httpRequest(bridge.port, 'GET', pollPath(hs.sid), { headers });
  assert.equal(get.status, 200);
  assert.match(pollingPackets(get.body)[0], /^40\{"sid":/);
  const error = await httpRequest(bridge.port, 'GET', pollPath('AAAAAAAAAAAAAAAAAAAA'), { headers });
  assert.equal(error.status, 400);
  return { handshake: hs, post, get, error };
}

// A handshake from an origin that is not allowed: 403, nothing CORS.
async function refusedHandshake(bridge, origin) {
  const r = await httpRequest(bridge.port, 'GET', '/socket.io/?EIO=4&transport=polling', { headers: { Origin: origin } });
  assert.equal(r.status, 403, `handshake with Origin ${origin} -> ${r.status} ${r.body}`);
  assertNoCors(r, `refused handshake with Origin ${origin}`);
}

test('no --cors-origin: a cross-origin request gets no Access-Control-Allow-* headers', async (t) => {
  const bridge = await startBridge(t);
  for (const origin of [EVIL, DASH]) await refusedHandshake(bridge, origin);
  const rs = await pollingExchange(bridge, null);
  for (const [name, r] of Object.entries(rs)) assertNoCors(r, `${name} without Origin`);
  const pre = await preflight(bridge, EVIL);
  assertNoCors(pre, 'preflight from an unlisted origin');
  t.diagnostic(`preflight without --cors-origin -> ${pre.status} ${JSON.stringify(pre.headers)}`);
});

test('--cors-origin (twice): listed origins get Allow-Origin, credentials and Vary on every polling response', async (t) => {
  const bridge = await startBridge(t, ['--cors-origin', DASH, '--cors-origin', OPS]);
  for (const origin of [DASH, OPS]) {
    const rs = await pollingExchange(bridge, origin);
    for (const [name, r] of Object.entries(rs)) assertCors(r, origin, `${name} with Origin ${origin}`);
  }
  // near misses and unlisted origins: nothing
  for (const origin of [EVIL, 'http://dash.example:8081', 'http://dash.example', 'https://dash.example:8080',
    'http://dash.example:8080.evil.example', 'null'])
    await refusedHandshake(bridge, origin);
  // no Origin (same origin, or not a browser): nothing either
  const rs = await pollingExchange(bridge, null);
  for (const [name, r] of Object.entries(rs)) assertNoCors(r, `${name} without Origin`);
});

test('--cors-origin: preflight from a listed origin -> 204 with Allow-Origin, Allow-Methods POST, Allow-Headers content-type', async (t) => {
  const bridge = await startBridge(t, ['--cors-origin', DASH]);
  const pre = await preflight(bridge, DASH);
  assert.equal(pre.status, 204, `preflight -> ${pre.status} ${pre.body}`);
  assertCors(pre, DASH, 'preflight');
  const methods = (pre.headers['access-control-allow-methods'] || '').split(',').map((x) => x.trim().toUpperCase());
  assert.ok(methods.includes('POST') && methods.includes('GET'), `Access-Control-Allow-Methods: ${pre.headers['access-control-allow-methods']}`);
  assert.ok(Number(pre.headers['access-control-max-age']) > 0, `Access-Control-Max-Age: ${pre.headers['access-control-max-age']}`);
  const allowHeaders = (pre.headers['access-control-allow-headers'] || '').split(',').map((x) => x.trim().toLowerCase());
  assert.ok(allowHeaders.includes('content-type'),
    `Access-Control-Allow-Headers: ${JSON.stringify(pre.headers['access-control-allow-headers'])} (asked for content-type)`);
});

test('--cors-origin: preflight from an unlisted origin gets no Allow-Origin or credentials', async (t) => {
  const bridge = await startBridge(t, ['--cors-origin', DASH]);
  for (const origin of [EVIL, 'http://dash.example:8081']) {
    const pre = await preflight(bridge, origin);
    assertNoCors(pre, `preflight from ${origin}`);
    t.diagnostic(`preflight from ${origin} -> ${pre.status}, allow-methods ${pre.headers['access-control-allow-methods']}`);
  }
});

test("--cors-origin '*': any Origin is echoed (never a literal *), with credentials; preflight too", async (t) => {
  const bridge = await startBridge(t, ['--cors-origin', '*']);
  for (const origin of [EVIL, DASH, 'https://anything.example:4443']) {
    const rs = await pollingExchange(bridge, origin);
    for (const [name, r] of Object.entries(rs)) assertCors(r, origin, `${name} with Origin ${origin}`);
    const pre = await preflight(bridge, origin, { headers: null });
    assert.equal(pre.status, 204);
    assertCors(pre, origin, `preflight from ${origin}`);
  }
});

test('--cors-origin: a default socket.io-client still polls, upgrades and receives a run', async (t) => {
  const bridge = await startBridge(t, ['--cors-origin', DASH]);
  const c = await connectUrl(t, bridge.url);
  const s = uniqueName('cors-run');
  await subscribe(c, s);
  await runSim(t, bridge, { scenarios: s, episodes: 5 });
  await c.rec.waitCount(7);
  assertLifecycle(c.rec.events, { scenario: s, episodes: 5 });
  assert.equal(c.io.engine.transport.name, 'websocket');
  assert.deepEqual(c.upgrades, ['websocket']);
});

for (const bad of ['dash.example', 'http://dash.example/path', 'ftp://dash.example', '']) {
  test(`bad --cors-origin ${JSON.stringify(bad)} -> exit 2 naming the flag`, async (t) => {
    const p = new Proc('trainbridge', binary('trainbridge'), ['--listen', '127.0.0.1:0', '--zmq-bind', 'tcp://127.0.0.1:*', '--cors-origin', bad], { t });
    const st = await p.waitExit(5000);
    assert.deepEqual({ code: st.code, signal: st.signal }, { code: 2, signal: null }, p.stderrTail);
    assert.ok(p.stderrTail.includes('--cors-origin'), p.stderrTail);
  });
}
