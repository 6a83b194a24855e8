// The five server events over the wire: names, exact fields, types and
// values, as a socket.io-client (and a raw WebSocket reader) sees them.
// Reproduces the seed's per-event WebSocket tests end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, connectClient, subscribe, runSim, publishEvents, RawClient,
  assertEvent, assertRawFloats, assertLifecycle, uniqueName, PAYLOAD_SHAPES,
} from './harness.mjs';

// One bridge, one subscribed client, one trainsim run; returns the events.
async function simEvents(t, simOpts, expected) {
  const bridge = await startBridge(t);
  const scenario = uniqueName('ev');
  const c = await connectClient(t, bridge);
  await subscribe(c, scenario);
  await runSim(t, bridge, { scenarios: scenario, rate: 0, ...simOpts });
  await c.rec.waitCount(expected, { timeoutMs: 10000 });
  return { scenario, events: c.rec.events, bridge, c };
}

test('training_started arrives with scenario_name, num_episodes, start_time (ISO 8601)', async (t) => {
  const { scenario, events } = await simEvents(t, { episodes: 2 }, 4);
  const e = events[0];
  assert.equal(e.event, 'training_started');
  assertEvent(e, { scenario });
  assert.deepEqual(Object.keys(e.payload).sort(), ['num_episodes', 'scenario_name', 'start_time']);
  assert.equal(e.payload.num_episodes, 2);
});

test('training_progress has exactly 9 fields: episode/total_episodes int, the rest numbers', async (t) => {
  const { scenario, events } = await simEvents(t, { episodes: 3 }, 5);
  const progress = events.filter((e) => e.event === 'training_progress');
  assert.equal(progress.length, 3);
  for (const e of progress) {
    assertEvent(e, { scenario });
    assert.equal(Object.keys(e.payload).length, 9);
    assert.ok(Number.isInteger(e.payload.episode) && Number.isInteger(e.payload.total_episodes));
    assert.equal(e.payload.total_episodes, 3);
  }
});

test('training_completed carries episodes_completed and nested final_metrics', async (t) => {
  const { scenario, events } = await simEvents(t, { episodes: 3 }, 5);
  const e = events[4];
  assert.equal(e.event, 'training_completed');
  assertEvent(e, { scenario });
  assert.equal(e.payload.episodes_completed, 3);
  assert.deepEqual(Object.keys(e.payload.final_metrics).sort(), ['avg_duration', 'avg_reward', 'stability']);
});

test('training_stopped carries scenario_name and episodes_completed', async (t) => {
  const { scenario, events } = await simEvents(t, { episodes: 10, stopAt: 2 }, 4);
  const e = events[3];
  assert.equal(e.event, 'training_stopped');
  assertEvent(e, { scenario });
  assert.deepEqual(e.payload, { scenario_name: scenario, episodes_completed: 2 });
});

test('training_error carries message and details strings', async (t) => {
  const { scenario, events } = await simEvents(t, { episodes: 10, failAt: 1 }, 3);
  const e = events[2];
  assert.equal(e.event, 'training_error');
  assertEvent(e, { scenario });
  assert.ok(e.payload.message.length > 0, 'empty message');
  assert.ok(e.payload.details.length > 0, 'empty details');
});

test('exact values survive: floats stay floats (150.0, 0.1, 1e-7), ints stay ints, text round-trips', async (t) => {
  const bridge = await startBridge(t);
  const scenario = uniqueName('exact');
  const c = await connectClient(t, bridge);
  await subscribe(c, scenario);
  const raw = await RawClient.open(t, bridge);
  await raw.sioConnect();
  await raw.subscribe(scenario);
  const progress = {
    episode: 7, total_episodes: 100, avg_reward: 150.0, avg_duration: 45.5, avg_cash: 0.1,
    avg_invested: 1e-7, stability: 0.85, goal_adherence: 1.0, elapsed_time: 12345.678,
  };
  const metrics = { avg_reward: 150.5, avg_duration: 0.0, stability: 1.0 };
  const message = 'Training failed: "quoted" \\ back\\slash, tab\t, newline\n, unicode é ✓ 日本';
  const details = 'Traceback (most recent call last):\n  File "train.py", line 1\n\u0001 control';
  await publishEvents(t, bridge, [
    ['training_started', { scenario, num_episodes: 100, start_time: '2024-01-15T10:30:00' }],
    ['training_progress', { scenario, ...progress }],
    ['training_completed', { scenario, episodes_completed: 100, final_metrics: metrics }],
    ['training_stopped', { scenario, episodes_completed: 42 }],
    ['training_error', { scenario, message, details }],
  ], { trainer: 'exact-trainer' });
  await c.rec.waitCount(5);
  const [s, p, done, stop, err] = c.rec.events;
  assert.deepEqual(c.rec.names(), Object.keys(PAYLOAD_SHAPES));
  c.rec.events.forEach((e) => assertEvent(e, { scenario }));
  assert.deepEqual(s.payload, { scenario_name: scenario, num_episodes: 100, start_time: '2024-01-15T10:30:00' });
  assert.deepEqual(p.payload, progress);
  assert.deepEqual(done.payload, { scenario_name: scenario, episodes_completed: 100, final_metrics: metrics });
  assert.deepEqual(stop.payload, { scenario_name: scenario, episodes_completed: 42 });
  assert.deepEqual(err.payload, { message, details });
  c.rec.events.forEach((e, i) => {
    assert.equal(e.meta.trainer, 'exact-trainer');
    assert.equal(e.meta.seq, c.rec.events[0].meta.seq + i);
  });
  // the raw text: float fields always carry '.' or an exponent
  await raw.waitFrame((x) => x.startsWith('42["training_error"'), { what: 'raw training_error' });
  const rawEvents = raw.events();
  assert.equal(rawEvents.length, 5);
  for (const e of rawEvents) assertRawFloats(e.raw, e.event);
  assert.match(rawEvents[1].raw, /"avg_reward":150\.0[,}]/, rawEvents[1].raw);
  assert.match(rawEvents[1].raw, /"avg_cash":0\.1[,}]/, rawEvents[1].raw);
  assert.match(rawEvents[1].raw, /"episode":7[,}]/, rawEvents[1].raw);
  assert.match(rawEvents[2].raw, /"avg_duration":0\.0[,}]/, rawEvents[2].raw);
});

test('5 sequential progress updates arrive in order and intact', async (t) => {
  const bridge = await startBridge(t);
  const scenario = uniqueName('seq5');
  const c = await connectClient(t, bridge);
  await subscribe(c, scenario);
  const sent = [1, 2, 3, 4, 5].map((i) => ({
    episode: i, total_episodes: 5, avg_reward: 100 + i * 10.25, avg_duration: 50 - i * 0.5,
    avg_cash: 1000 * i + 0.5, avg_invested: 0.1 * i, stability: 0.5 + i / 20, goal_adherence: i / 8,
    elapsed_time: i * 1.5,
  }));
  await publishEvents(t, bridge, sent.map((p) => ['training_progress', { scenario, ...p }]));
  await c.rec.waitCount(5);
  assert.deepEqual(c.rec.names(), Array(5).fill('training_progress'));
  c.rec.events.forEach((e, i) => {
    assertEvent(e, { scenario });
    assert.deepEqual(e.payload, sent[i], `update ${i + 1}`);
  });
});

test('a one-argument handler sees the payload unchanged; meta is the second argument', async (t) => {
  const bridge = await startBridge(t);
  const scenario = uniqueName('onearg');
  const c = await connectClient(t, bridge);
  const oneArg = [];
  const twoArgs = [];
  c.on('training_started', (data) => oneArg.push(data));
  c.on('training_started', (data, meta) => twoArgs.push([data, meta]));
  await subscribe(c, scenario);
  await runSim(t, bridge, { scenarios: scenario, episodes: 1, rate: 0, trainer: 'one-arg' });
  await c.rec.waitCount(3);
  assert.equal(oneArg.length, 1);
  assert.deepEqual(Object.keys(oneArg[0]).sort(), ['num_episodes', 'scenario_name', 'start_time']);
  assert.equal(twoArgs[0][1].trainer, 'one-arg');
  assert.equal(twoArgs[0][1].scenario_name, scenario);
  assertLifecycle(c.rec.events, { scenario, episodes: 1, trainer: 'one-arg' });
});
