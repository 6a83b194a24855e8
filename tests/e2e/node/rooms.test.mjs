// Rooms: per-scenario isolation, "*", unsubscribe, one client in several
// rooms, and several trainers publishing into one bridge at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, connectClient, subscribe, unsubscribe, runSim, startSim, assertLifecycle,
  assertEvent, uniqueName,
} from './harness.mjs';

// Groups events by meta.scenario_name.
function byScenario(events) {
  const m = new Map();
  for (const e of events) {
    if (!m.has(e.meta.scenario_name)) m.set(e.meta.scenario_name, []);
    m.get(e.meta.scenario_name).push(e);
  }
  return m;
}

test('three trainers on three scenarios at once: every room gets its own complete run', async (t) => {
  const bridge = await startBridge(t);
  const names = ['alpha', 'beta', 'gamma'].map(uniqueName);
  const clients = [];
  for (const n of names) {
    const c = await connectClient(t, bridge);
    await subscribe(c, n);
    clients.push(c);
  }
  const star = await connectClient(t, bridge);
  await subscribe(star, '*');
  const sims = names.map((n, i) =>
    startSim(t, bridge, { scenarios: n, trainer: `trainer-${i}`, episodes: 30, rate: 300 }));
  for (const s of sims) assert.equal((await s.waitExit(30000)).code, 0, s.describe());
  for (const [i, c] of clients.entries()) {
    await c.rec.waitCount(32);
    assert.equal(c.rec.events.length, 32, `client of ${names[i]}`);
    assertLifecycle(c.rec.events, { scenario: names[i], episodes: 30, trainer: `trainer-${i}` });
  }
  await star.rec.waitCount(96);
  assert.equal(star.rec.events.length, 96);
  const groups = byScenario(star.rec.events);
  assert.deepEqual([...groups.keys()].sort(), [...names].sort());
  names.forEach((n, i) => assertLifecycle(groups.get(n), { scenario: n, episodes: 30, trainer: `trainer-${i}` }));
});

test('room isolation: a client of A never sees B', async (t) => {
  const bridge = await startBridge(t);
  const a = uniqueName('iso-a');
  const b = uniqueName('iso-b');
  const ca = await connectClient(t, bridge);
  const cb = await connectClient(t, bridge);
  const idle = await connectClient(t, bridge); // subscribed to nothing
  await subscribe(ca, a);
  await subscribe(cb, b);
  await Promise.all([
    runSim(t, bridge, { scenarios: a, episodes: 10, rate: 0, trainer: 'ta' }),
    runSim(t, bridge, { scenarios: b, episodes: 15, rate: 0, trainer: 'tb' }),
  ]);
  await ca.rec.waitCount(12);
  await cb.rec.waitCount(17);
  assertLifecycle(ca.rec.events, { scenario: a, episodes: 10, trainer: 'ta' });
  assertLifecycle(cb.rec.events, { scenario: b, episodes: 15, trainer: 'tb' });
  // a scenario with a common prefix is a different room
  await runSim(t, bridge, { scenarios: `${a}x`, episodes: 2, rate: 0 });
  await runSim(t, bridge, { scenarios: b, episodes: 1, rate: 0, trainer: 'tb2' });
  await cb.rec.waitCount(20);
  assert.equal(ca.rec.events.length, 12, `client of ${a} got more: ${ca.rec.summary()}`);
  assert.equal(idle.rec.events.length, 0, 'an unsubscribed client got events');
});

test('"*" receives every scenario; a client in both a room and "*" gets each event once', async (t) => {
  const bridge = await startBridge(t);
  const a = uniqueName('star-a');
  const b = uniqueName('star-b');
  const star = await connectClient(t, bridge);
  const both = await connectClient(t, bridge);
  await subscribe(star, '*');
  await subscribe(both, a);
  await subscribe(both, '*');
  await subscribe(both, a); // twice: still one membership
  await runSim(t, bridge, { scenarios: a, episodes: 5, rate: 0, trainer: 'sa' });
  await runSim(t, bridge, { scenarios: b, episodes: 4, rate: 0, trainer: 'sb' });
  await star.rec.waitCount(13);
  await both.rec.waitCount(13);
  for (const c of [star, both]) {
    const g = byScenario(c.rec.events);
    assertLifecycle(g.get(a), { scenario: a, episodes: 5, trainer: 'sa' });
    assertLifecycle(g.get(b), { scenario: b, episodes: 4, trainer: 'sb' });
  }
  // nothing beyond the 13 (no duplicates): a third run acts as a barrier
  const c = uniqueName('star-c');
  await runSim(t, bridge, { scenarios: c, episodes: 1, rate: 0 });
  await both.rec.waitCount(16);
  assert.equal(both.rec.events.length, 16, `duplicates: ${both.rec.summary(40)}`);
});

test('unsubscribe stops delivery to that client only', async (t) => {
  const bridge = await startBridge(t);
  const s = uniqueName('unsub');
  const leaver = await connectClient(t, bridge);
  const stayer = await connectClient(t, bridge);
  await subscribe(leaver, s);
  await subscribe(stayer, s);
  await runSim(t, bridge, { scenarios: s, episodes: 2, rate: 0 });
  await leaver.rec.waitCount(4);
  await stayer.rec.waitCount(4);
  await unsubscribe(leaver, s);
  await runSim(t, bridge, { scenarios: s, episodes: 10, rate: 0, trainer: 'second' });
  await stayer.rec.waitCount(16);
  assertLifecycle(stayer.rec.events.slice(4), { scenario: s, episodes: 10, trainer: 'second' });
  assert.equal(leaver.rec.events.length, 4, `after unsubscribe: ${leaver.rec.summary()}`);
  // unsubscribing from a room one is not in is acknowledged, harmless
  await unsubscribe(leaver, uniqueName('never'));
  // and "*" can be left too
  await subscribe(leaver, '*');
  await unsubscribe(leaver, '*');
  await runSim(t, bridge, { scenarios: s, episodes: 1, rate: 0, trainer: 'third' });
  await stayer.rec.waitCount(19);
  assert.equal(leaver.rec.events.length, 4);
});

test('one client in two rooms tells them apart by meta.scenario_name', async (t) => {
  const bridge = await startBridge(t);
  const a = uniqueName('two-a');
  const b = uniqueName('two-b');
  const c = await connectClient(t, bridge);
  await subscribe(c, a);
  await subscribe(c, b);
  // one trainer, two scenarios, interleaved runs (trainsim --scenario A --scenario B)
  await runSim(t, bridge, { scenarios: [a, b], episodes: 6, rate: 0, trainer: 'multi' });
  await c.rec.waitCount(16);
  assert.equal(c.rec.events.length, 16);
  c.rec.events.forEach((e) => assertEvent(e));
  const seqs = c.rec.events.map((e) => e.meta.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'one trainer: seq increases across both rooms');
  assert.equal(new Set(seqs).size, 16, 'no duplicate seq');
  const g = byScenario(c.rec.events);
  assertLifecycle(g.get(a), { scenario: a, episodes: 6, trainer: 'multi', contiguous: false });
  assertLifecycle(g.get(b), { scenario: b, episodes: 6, trainer: 'multi', contiguous: false });
  // leaving one room keeps the other
  await unsubscribe(c, a);
  await runSim(t, bridge, { scenarios: [a, b], episodes: 1, rate: 0, trainer: 'multi2' });
  await c.rec.waitCount(19);
  const tail = c.rec.events.slice(16);
  assert.ok(tail.every((e) => e.meta.scenario_name === b), `after leaving ${a}: ${tail.map((e) => e.meta.scenario_name)}`);
});
