// Limits (README "Security"): a client that sends more than
// --max-client-packets-per-s packets in each of 5 seconds in a row is
// closed (counted), one that stays under it is not; --max-connections and
// --max-connections-per-ip refuse handshakes with HTTP 503 (counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBridge, connectClient, waitUntil, metricSum } from './harness.mjs';

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
