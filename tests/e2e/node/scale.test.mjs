// 200 socket.io-client connections in one Node process, spread over three
// scenario rooms and "*", while three trainers publish: every client gets
// exactly what it subscribed to, complete and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, connectClient, subscribe, startSim, assertLifecycle, waitUntil, metricSum,
  uniqueName,
} from './harness.mjs';

const N_CLIENTS = 200;
const EPISODES = 25;

test(`${N_CLIENTS} clients at once all receive everything they subscribed to`, async (t) => {
  const bridge = await startBridge(t);
  const scenarios = ['s0', 's1', 's2'].map(uniqueName);
  const rooms = [...scenarios, '*'];
  const clients = [];
  for (let i = 0; i < N_CLIENTS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, N_CLIENTS - i) }, () => connectClient(t, bridge, { timeoutMs: 10000 })),
    );
    clients.push(...batch);
  }
  await Promise.all(clients.map((c, i) => subscribe(c, rooms[i % rooms.length], { timeoutMs: 10000 })));
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === N_CLIENTS, {
    what: `trainbridge_clients_connected == ${N_CLIENTS}`,
  });

  const sims = scenarios.map((s, i) => startSim(t, bridge, { scenarios: s, trainer: `scale-${i}`, episodes: EPISODES, rate: 0 }));
  for (const s of sims) assert.equal((await s.waitExit(30000)).code, 0, s.describe());

  const perRun = EPISODES + 2;
  const want = (i) => (rooms[i % rooms.length] === '*' ? 3 * perRun : perRun);
  await waitUntil(() => clients.every((c, i) => c.rec.events.length >= want(i)), {
    timeoutMs: 30000,
    what: 'every client to receive its events',
    detail: () => {
      const short = clients.map((c, i) => [i, c.rec.events.length, want(i)]).filter(([, n, w]) => n < w);
      return `${short.length} clients short, e.g. [index, have, want]: ${JSON.stringify(short.slice(0, 10))}`;
    },
  });
  clients.forEach((c, i) => {
    const room = rooms[i % rooms.length];
    assert.equal(c.rec.events.length, want(i), `client ${i} (${room})`);
    if (room === '*') {
      scenarios.forEach((s, k) => assertLifecycle(c.rec.events.filter((e) => e.meta.scenario_name === s),
        { scenario: s, episodes: EPISODES, trainer: `scale-${k}` }));
    } else {
      assertLifecycle(c.rec.events, { scenario: room, episodes: EPISODES, trainer: `scale-${i % rooms.length}` });
    }
  });
  const m = await bridge.metrics();
  const total = clients.reduce((n, _, i) => n + want(i), 0);
  assert.ok(metricSum(m, 'trainbridge_deliveries_total') >= total,
    `trainbridge_deliveries_total ${metricSum(m, 'trainbridge_deliveries_total')} < ${total}`);
  assert.equal(metricSum(m, 'trainbridge_clients_dropped_slow_total'), 0);
});
