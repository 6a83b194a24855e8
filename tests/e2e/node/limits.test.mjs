// Limits (README "Security"): a client that sends more than
// --max-client-packets-per-s packets in each of 5 seconds in a row is
// closed (counted), one that stays under it is not; --max-connections and
// --max-connections-per-ip refuse handshakes with HTTP 503 (counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, connectClient, waitUntil, metricSum, pollingHandshake, WebSocket, withDeadline, io,
} from './harness.mjs';

// Opens a raw Engine.IO WebSocket; resolves its HTTP status (101 = open).
function wsStatus(t, bridge) {
  const ws = new WebSocket(bridge.wsUrl(), { perMessageDeflate: false });
  t.after(() => ws.terminate());
  return withDeadline(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (req, res) => resolve(res.statusCode));
    ws.once('error', reject);
  }), 5000, 'websocket attempt');
}

// Emits perTick unsubscribe_training packets every tickMs until stopped.
function flood(sock, perTick, tickMs = 50) {
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) sock.emit('unsubscribe_training', { scenario_name: 'x' });
  }, tickMs);
  return () => clearInterval(timer);
}

test('--max-client-packets-per-s: a flooding client is closed after 5 s over the rate, a calm one stays', async (t) => {
  const bridge = await startBridge(t, ['--max-client-packets-per-s', '20']);
  const hot = await connectClient(t, bridge);
  const calm = await connectClient(t, bridge);
  const stopHot = flood(hot, 3); // 60/s
  const stopCalm = flood(calm, 1, 100); // 10/s
  t.after(() => { stopHot(); stopCalm(); });
  const started = Date.now();
  await waitUntil(() => hot.disconnects.length > 0, { timeoutMs: 12000, what: 'the flooding client closed' });
  const after = Date.now() - started;
  stopHot();
  assert.ok(after >= 4500, `closed after ${after} ms: before 5 s of flooding`);
  await new Promise((r) => setTimeout(r, 1500));
  stopCalm();
  assert.equal(calm.connected, true, 'the calm client was closed');
  assert.deepEqual(calm.disconnects, []);
  const m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_clients_rate_limited_total'), 1);
});

test('--max-connections-per-ip: past the bound a polling handshake and a WebSocket get 503 (counted); a freed slot is reused', async (t) => {
  const bridge = await startBridge(t, ['--max-connections-per-ip', '2']);
  const a = await connectClient(t, bridge);
  await connectClient(t, bridge);
  const hs = await pollingHandshake(bridge.port);
  assert.equal(hs.status, 503, hs.body);
  assert.equal(await wsStatus(t, bridge), 503);
  const refused = io(bridge.url, { reconnection: false, forceNew: true, transports: ['websocket'] });
  t.after(() => refused.disconnect());
  const err = await withDeadline(new Promise((resolve) => refused.once('connect_error', resolve)), 5000, 'connect_error');
  assert.ok(err, 'a third socket.io-client is refused');
  let m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_connections_refused_per_ip_total'), 3);
  a.disconnect();
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 1, { what: 'one client left' });
  await connectClient(t, bridge);
  m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_connections_refused_total'), 0);
});

test('--max-connections: past the bound handshakes get 503 (counted)', async (t) => {
  const bridge = await startBridge(t, ['--max-connections', '1']);
  await connectClient(t, bridge);
  assert.equal((await pollingHandshake(bridge.port)).status, 503);
  assert.equal(await wsStatus(t, bridge), 503);
  const m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_connections_refused_total'), 2);
  assert.equal(metricSum(m, 'trainbridge_clients_connected'), 1);
});
