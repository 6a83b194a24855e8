// A client's life (connect, subscribe with ack, disconnect) and a
// training run's life (started, progress..., completed | stopped | error)
// end to end, as the seed's WebSocket tests did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, connectClient, subscribe, unsubscribe, runSim, io, withDeadline, waitUntil,
  metricSum, assertLifecycle, uniqueName,
} from './harness.mjs';

test('connect callback fires and the client gets an id', async (t) => {
  const bridge = await startBridge(t);
  const c = await connectClient(t, bridge);
  assert.equal(c.connected, true);
  assert.equal(typeof c.id, 'string');
  assert.ok(c.id.length > 0);
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 1, {
    what: 'trainbridge_clients_connected == 1',
  });
});

test('subscribe_training and unsubscribe_training answer acks', async (t) => {
  const bridge = await startBridge(t);
  const c = await connectClient(t, bridge);
  const scenario = uniqueName('ack');
  assert.deepEqual(await subscribe(c, scenario), { ok: true, scenario_name: scenario, runs: 0, replayed: 0 });
  assert.deepEqual(await subscribe(c, '*'), { ok: true, scenario_name: '*', runs: 0, replayed: 0 });
  assert.deepEqual(await unsubscribe(c, scenario), { ok: true, scenario_name: scenario });
  // subscribing without asking for an ack is fine too: a later ack still comes
  c.emit('subscribe_training', { scenario_name: scenario });
  assert.deepEqual(await subscribe(c, 'other.name:1-x_y'), { ok: true, scenario_name: 'other.name:1-x_y', runs: 0, replayed: 0 });
});

test('bad subscribe payloads get {ok: false, error} and the connection stays usable', async (t) => {
  const bridge = await startBridge(t);
  const c = await connectClient(t, bridge);
  const bad = [
    {},
    { scenario_name: 5 },
    { scenario_name: null },
    { scenario_name: ['a'] },
    { scenario_name: '' },
    { scenario_name: 'has space' },
    { scenario_name: '.hidden' },
    { scenario_name: 'x'.repeat(65) },
    'just-a-string',
    42,
  ];
  for (const payload of bad) {
    for (const ev of ['subscribe_training', 'unsubscribe_training']) {
      let ack;
      try {
        ack = await c.timeout(5000).emitWithAck(ev, payload);
      } catch (e) {
        throw new Error(`${ev} ${JSON.stringify(payload)}: ${e.message}`);
      }
      assert.equal(ack && ack.ok, false, `${ev} ${JSON.stringify(payload)} -> ${JSON.stringify(ack)}`);
      assert.equal(typeof ack.error, 'string', `${ev} ${JSON.stringify(payload)}: error text`);
      assert.ok(ack.error.length > 0);
    }
  }
  // no payload at all
  const ack = await c.timeout(5000).emitWithAck('subscribe_training');
  assert.equal(ack.ok, false, JSON.stringify(ack));
  assert.equal(c.connected, true);
  const scenario = uniqueName('after-bad');
  await subscribe(c, scenario);
  await runSim(t, bridge, { scenarios: scenario, episodes: 2, rate: 0 });
  await c.rec.waitCount(4);
  assertLifecycle(c.rec.events, { scenario, episodes: 2 });
});

test('a scenario name with an escaped NUL (valid JSON) gets {ok: false}, not a closed session', async (t) => {
  const bridge = await startBridge(t);
  const c = await connectClient(t, bridge);
  let ack;
  try {
    ack = await c.timeout(5000).emitWithAck('subscribe_training', { scenario_name: 'nul\u0000byte' });
  } catch (e) {
    assert.fail(`subscribe_training {"scenario_name":"nul\\u0000byte"}: ${e.message} (disconnects: ${c.disconnects})`);
  }
  assert.equal(ack.ok, false, JSON.stringify(ack));
  assert.equal(typeof ack.error, 'string');
});

test('clean disconnect: the client sees "io client disconnect", the bridge forgets it', async (t) => {
  const bridge = await startBridge(t);
  const c = await connectClient(t, bridge);
  const other = await connectClient(t, bridge);
  await subscribe(c, 'gone');
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 2, {
    what: 'trainbridge_clients_connected == 2',
  });
  const reason = withDeadline(new Promise((r) => c.once('disconnect', r)), 5000, 'disconnect event');
  c.disconnect();
  assert.equal(await reason, 'io client disconnect');
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 1, {
    what: 'trainbridge_clients_connected back to 1',
  });
  // the bridge still serves the remaining client and a scenario the gone one had
  await subscribe(other, 'gone');
  await runSim(t, bridge, { scenarios: 'gone', episodes: 1, rate: 0 });
  await other.rec.waitCount(3);
  assert.equal(c.rec.events.length, 0);
});

test('a namespace other than "/" is refused with CONNECT_ERROR "Invalid namespace"', async (t) => {
  const bridge = await startBridge(t);
  const sock = io(`${bridge.url}/admin`, { transports: ['websocket'], reconnection: false, forceNew: true });
  t.after(() => sock.close());
  const err = await withDeadline(
    new Promise((resolve, reject) => {
      sock.once('connect_error', resolve);
      sock.once('connect', () => reject(new Error('connected to /admin')));
    }),
    5000,
    'connect_error on /admin',
  );
  assert.equal(err.message, 'Invalid namespace');
  // "/" still works on the same bridge
  const c = await connectClient(t, bridge);
  assert.equal(c.connected, true);
});

test('full lifecycle: started + 10 progress + completed = 12 events in order', async (t) => {
  const bridge = await startBridge(t);
  const scenario = uniqueName('life');
  const c = await connectClient(t, bridge);
  await subscribe(c, scenario);
  await runSim(t, bridge, { scenarios: scenario, episodes: 10, rate: 200, trainer: 'life-1' });
  await c.rec.waitCount(12);
  assert.equal(c.rec.events.length, 12);
  assertLifecycle(c.rec.events, { scenario, episodes: 10, trainer: 'life-1' });
  assert.equal(c.rec.events[0].meta.seq, 1, 'a fresh trainer starts at seq 1');
});

test('early stop: started + 5 progress + stopped (episodes_completed 5) = 7 events', async (t) => {
  const bridge = await startBridge(t);
  const scenario = uniqueName('stop');
  const c = await connectClient(t, bridge);
  await subscribe(c, scenario);
  await runSim(t, bridge, { scenarios: scenario, episodes: 10, stopAt: 5, rate: 0 });
  await c.rec.waitCount(7);
  assert.equal(c.rec.events.length, 7);
  assertLifecycle(c.rec.events, { scenario, episodes: 10, progress: 5, terminal: 'stopped' });
  assert.deepEqual(c.rec.events[6].payload, { scenario_name: scenario, episodes_completed: 5 });
});

test('failure: started + 3 progress + training_error = 5 events', async (t) => {
  const bridge = await startBridge(t);
  const scenario = uniqueName('fail');
  const c = await connectClient(t, bridge);
  await subscribe(c, scenario);
  await runSim(t, bridge, { scenarios: scenario, episodes: 10, failAt: 3, rate: 0 });
  await c.rec.waitCount(5);
  assert.equal(c.rec.events.length, 5);
  assertLifecycle(c.rec.events, { scenario, episodes: 10, progress: 3, terminal: 'error' });
});

test('deliveries and ingest counters move with the traffic', async (t) => {
  const bridge = await startBridge(t);
  const scenario = uniqueName('count');
  const a = await connectClient(t, bridge);
  const b = await connectClient(t, bridge);
  await subscribe(a, scenario);
  await subscribe(b, '*');
  const before = await bridge.metrics();
  await runSim(t, bridge, { scenarios: scenario, episodes: 8, rate: 0 });
  await a.rec.waitCount(10);
  await b.rec.waitCount(10);
  const m = await bridge.metrics();
  const ingested = metricSum(m, 'trainbridge_ingest_messages_total') - (metricSum(before, 'trainbridge_ingest_messages_total') ?? 0);
  const delivered = metricSum(m, 'trainbridge_deliveries_total') - (metricSum(before, 'trainbridge_deliveries_total') ?? 0);
  assert.equal(ingested, 10, 'trainbridge_ingest_messages_total grew by the 10 events');
  assert.ok(delivered >= 20, `trainbridge_deliveries_total grew by ${delivered}, want >= 20`);
  assert.equal(metricSum(m, 'trainbridge_ingest_gaps_total'), 0);
});
