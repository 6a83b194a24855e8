// Origins (README "Security"): a long-polling handshake or a WebSocket
// upgrade whose Origin is present and neither the bridge's own nor on
// --allowed-origin gets 403 and is counted; requests without an Origin
// (non-browser clients) pass; --cors-origin still works as an alias.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, WebSocket, withDeadline, pollingHandshake, connectUrl, subscribe, runSim, assertLifecycle,
  uniqueName, metricSum,
} from './harness.mjs';

const DASH = 'https://dash.example:8443';
const EVIL = 'http://evil.example';

// Opens a WebSocket with headers; resolves {status} (101 when it opened).
function wsAttempt(t, bridge, { origin, query = 'EIO=4&transport=websocket' } = {}) {
  const ws = new WebSocket(bridge.wsUrl(query), { perMessageDeflate: false, ...(origin ? { origin } : {}) });
  t.after(() => ws.terminate());
  return withDeadline(new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (req, res) => resolve({ status: res.statusCode }));
    ws.once('error', reject);
  }), 5000, `websocket with Origin ${origin}`, () => bridge.describe());
}

test('default: foreign origins get 403 on polling handshakes and WebSocket upgrades; same origin and no Origin pass', async (t) => {
  const bridge = await startBridge(t);
  const self = `http://127.0.0.1:${bridge.port}`;
  assert.equal((await pollingHandshake(bridge.port, { headers: { Origin: EVIL } })).status, 403);
  assert.equal((await wsAttempt(t, bridge, { origin: EVIL })).status, 403);
  assert.equal((await wsAttempt(t, bridge, { origin: DASH })).status, 403);
  // an upgrade of an existing polling session from a foreign page: refused too
  const hs = await pollingHandshake(bridge.port);
  assert.equal(hs.status, 200);
  assert.equal((await wsAttempt(t, bridge, { origin: EVIL, query: `EIO=4&transport=websocket&sid=${hs.sid}` })).status, 403);
  assert.equal((await pollingHandshake(bridge.port, { headers: { Origin: self } })).status, 200);
  assert.equal((await wsAttempt(t, bridge, { origin: self })).status, 101);
  assert.equal((await wsAttempt(t, bridge)).status, 101);
  const m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_origin_refused_total'), 4);
});

test('--allowed-origin (and the --cors-origin alias): listed origins pass both transports, others 403', async (t) => {
  const bridge = await startBridge(t, ['--allowed-origin', DASH, '--cors-origin', 'http://ops.example']);
  for (const origin of [DASH, 'http://ops.example']) {
    const hs = await pollingHandshake(bridge.port, { headers: { Origin: origin } });
    assert.equal(hs.status, 200, origin);
    assert.equal(hs.headers['access-control-allow-origin'], origin);
    assert.equal((await wsAttempt(t, bridge, { origin })).status, 101, origin);
  }
  for (const origin of [EVIL, 'https://dash.example', 'http://dash.example:8443', 'null'])
    assert.equal((await wsAttempt(t, bridge, { origin })).status, 403, origin);
});

test('a socket.io-client sending an allowed Origin polls, upgrades and receives a run; a foreign one gets connect_error', async (t) => {
  const bridge = await startBridge(t, ['--allowed-origin', DASH]);
  const name = uniqueName('origin');
  const sock = await connectUrl(t, bridge.url, { opts: { extraHeaders: { Origin: DASH } } });
  await subscribe(sock, name);
  await runSim(t, bridge, { scenarios: name, trainer: 'to', episodes: 5, rate: 100 });
  await sock.rec.waitCount(7);
  assertLifecycle(sock.rec.events, { scenario: name, episodes: 5, trainer: 'to' });
  await assert.rejects(connectUrl(t, bridge.url, { opts: { extraHeaders: { Origin: EVIL } } }), /connect_error/);
});
