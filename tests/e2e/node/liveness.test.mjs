// Liveness end to end: the real bridge, real trainsim publishers (their
// heartbeat thread), real socket.io-client. A trainer that dies or freezes
// makes its room get training_stalled; one that comes back, training_resumed;
// a late joiner sees the stall; a slow trainer that beats is never stalled.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { connectClient, metricByLabel, startBridge, startSim, subscribe, waitUntil } from './harness.mjs';

const HEARTBEAT_MS = 300;
const HOUSEKEEPING_MS = 250; // the bridge's liveness tick

function eventsNamed(sock, name) {
  return sock.rec.events.filter((e) => e.event === name);
}

async function waitFor(sock, name, n, timeoutMs) {
  await sock.rec.waitCount(n, { timeoutMs, what: `${n} ${name}`, filter: (e) => e.event === name });
  return eventsNamed(sock, name);
}

async function runsByState(bridge) {
  return metricByLabel(await bridge.metrics(), 'trainbridge_runs', 'state');
}

test('a trainer killed with SIGKILL: training_stalled within 3 heartbeat intervals + 1 s; late joiners see it', async (t) => {
  const bridge = await startBridge(t, ['--stall-after', '60000']);
  const sock = await connectClient(t, bridge);
  await subscribe(sock, 'lv-kill');
  const sim = startSim(t, bridge, {
    scenarios: 'lv-kill',
    trainer: 'kill-1',
    episodes: 100000,
    rate: 20,
    extra: ['--heartbeat-interval-ms', String(HEARTBEAT_MS)],
  });
  await waitFor(sock, 'training_progress', 5, 15000);
  sim.signal('SIGKILL');
  const killedAt = Date.now();
  await sim.waitExit(5000);
  const [stalled] = await waitFor(sock, 'training_stalled', 1, 5000);
  const latencyMs = stalled.at - killedAt;
  t.diagnostic(`stall detection latency: ${latencyMs} ms (heartbeat ${HEARTBEAT_MS} ms)`);
  assert.ok(latencyMs <= 3 * HEARTBEAT_MS + 1000, `training_stalled came ${latencyMs} ms after SIGKILL`);

  const progress = eventsNamed(sock, 'training_progress');
  const last = progress[progress.length - 1];
  assert.deepEqual(Object.keys(stalled.payload), ['scenario_name', 'episodes_completed', 'silent_ms']);
  assert.equal(stalled.payload.scenario_name, 'lv-kill');
  assert.equal(stalled.payload.episodes_completed, last.payload.episode);
  assert.ok(stalled.payload.silent_ms >= 3 * HEARTBEAT_MS, `silent_ms ${stalled.payload.silent_ms}`);
  assert.ok(stalled.payload.silent_ms <= 3 * HEARTBEAT_MS + HOUSEKEEPING_MS + 500, `silent_ms ${stalled.payload.silent_ms}`);
  assert.deepEqual(Object.keys(stalled.meta), ['scenario_name', 'trainer', 'seq', 'ts']);
  assert.equal(stalled.meta.trainer, 'kill-1');
  assert.equal(stalled.meta.seq, last.meta.seq, "the trainer's latest seq");
  assert.ok(Math.abs(stalled.meta.ts / 1000 - Date.now()) < 10000, `ts ${stalled.meta.ts} is wall-clock µs`);
  assert.equal(eventsNamed(sock, 'training_stalled').length, 1, 'sent once');
  assert.equal((await runsByState(bridge)).get('stalled'), 1);
  const m = await bridge.metrics();
  assert.equal(m.get('trainbridge_run_silence_seconds_count'), 1, 'the stalled run is still active');
  assert.ok(m.get('trainbridge_run_silence_seconds_sum') >= 0.9, `silence ${m.get('trainbridge_run_silence_seconds_sum')} s`);

  const late = await connectClient(t, bridge);
  const ack = await subscribe(late, 'lv-kill');
  assert.equal(ack.runs, 1);
  const replay = late.rec.replayed;
  assert.equal(replay.length, ack.replayed);
  assert.equal(replay[0].event, 'training_started');
  const tail = replay[replay.length - 1];
  assert.equal(tail.event, 'training_stalled', 'the stall is the last thing a late joiner sees');
  assert.deepEqual(tail.payload, stalled.payload);
  assert.equal(tail.meta.replay, true);

  const compact = await connectClient(t, bridge);
  await subscribe(compact, 'lv-kill', { history: 'compact' });
  assert.equal(compact.rec.replayed.length, 1);
  assert.equal(compact.rec.replayed[0].event, 'training_history');
  assert.equal(compact.rec.replayed[0].payload.state, 'stalled');
});

test('SIGSTOP then SIGCONT: training_stalled, then training_resumed, and the run completes', async (t) => {
  const bridge = await startBridge(t, ['--stall-after', '60000']);
  const sock = await connectClient(t, bridge);
  await subscribe(sock, 'lv-stop');
  const sim = startSim(t, bridge, {
    scenarios: 'lv-stop',
    trainer: 'stop-1',
    episodes: 40,
    rate: 20,
    extra: ['--heartbeat-interval-ms', String(HEARTBEAT_MS)],
  });
  await waitFor(sock, 'training_progress', 5, 15000);
  sim.signal('SIGSTOP');
  const [stalled] = await waitFor(sock, 'training_stalled', 1, 5000);
  assert.equal((await runsByState(bridge)).get('stalled'), 1);
  sim.signal('SIGCONT');
  const [resumed] = await waitFor(sock, 'training_resumed', 1, 5000);
  await waitFor(sock, 'training_completed', 1, 15000);
  const st = await sim.waitExit(10000);
  assert.equal(st.code, 0);

  const names = sock.rec.events.map((e) => e.event);
  const iStalled = names.indexOf('training_stalled');
  const iResumed = names.indexOf('training_resumed');
  assert.ok(iStalled < iResumed && iResumed < names.indexOf('training_completed'), names.join(','));
  assert.equal(eventsNamed(sock, 'training_stalled').length, 1);
  assert.equal(eventsNamed(sock, 'training_resumed').length, 1);
  assert.deepEqual(Object.keys(resumed.payload), ['scenario_name', 'episode']);
  assert.equal(resumed.payload.scenario_name, 'lv-stop');
  assert.equal(resumed.payload.episode, stalled.payload.episodes_completed, 'nothing happened while stopped');
  assert.equal(resumed.meta.trainer, 'stop-1');
  const after = sock.rec.events.slice(iResumed + 1).filter((e) => e.event === 'training_progress');
  assert.ok(after.length > 0 && after[0].payload.episode === resumed.payload.episode + 1, 'the run goes on');
  const states = await runsByState(bridge);
  assert.equal(states.get('stalled'), 0);
  assert.equal(states.get('completed'), 1);

  const late = await connectClient(t, bridge);
  await subscribe(late, 'lv-stop');
  assert.ok(!late.rec.replayed.some((e) => e.event === 'training_stalled'), 'a resumed run replays no stall');
});

test('a publisher without heartbeats is stalled after --stall-after, and resumed by its next event', async (t) => {
  const stallAfterMs = 700;
  const bridge = await startBridge(t, ['--stall-after', String(stallAfterMs)]);
  const sock = await connectClient(t, bridge);
  await subscribe(sock, 'lv-quiet');
  const sim = startSim(t, bridge, {
    scenarios: 'lv-quiet',
    trainer: 'quiet-1',
    episodes: 2,
    rate: 0.5, // 2 s per episode, no heartbeat in between
    extra: ['--heartbeat-interval-ms', '0'],
  });
  await waitFor(sock, 'training_completed', 1, 20000);
  assert.equal((await sim.waitExit(5000)).code, 0);
  const events = sock.rec.events;
  const stalls = events.filter((e) => e.event === 'training_stalled');
  assert.ok(stalls.length >= 1, sock.rec.summary());
  for (const s of stalls) {
    const i = events.indexOf(s);
    const before = events.slice(0, i).filter((e) => e.event !== 'training_resumed' && e.event !== 'training_stalled');
    const quietFor = s.at - before[before.length - 1].at;
    assert.ok(quietFor >= stallAfterMs - 50, `stalled after ${quietFor} ms of silence`);
    assert.ok(s.payload.silent_ms >= stallAfterMs && s.payload.silent_ms < stallAfterMs + 1000, `silent_ms ${s.payload.silent_ms}`);
    assert.equal(events[i + 1].event, 'training_resumed', 'the next event resumes the run first');
    assert.notEqual(events[i + 2].event, 'training_stalled');
  }
  assert.equal(events[events.length - 1].event, 'training_completed');
});

test('a trainer with episodes longer than the threshold that sends heartbeats is never stalled', async (t) => {
  const bridge = await startBridge(t, ['--stall-after', '500']);
  const sock = await connectClient(t, bridge);
  await subscribe(sock, 'lv-slow');
  const sim = startSim(t, bridge, {
    scenarios: 'lv-slow',
    trainer: 'slow-1',
    episodes: 3,
    rate: 0.5, // 2 s episodes: longer than 3 x 300 ms and than --stall-after
    extra: ['--heartbeat-interval-ms', String(HEARTBEAT_MS)],
  });
  await waitFor(sock, 'training_completed', 1, 20000);
  assert.equal((await sim.waitExit(5000)).code, 0);
  const progress = eventsNamed(sock, 'training_progress');
  assert.equal(progress.length, 3);
  assert.ok(progress[2].at - progress[0].at >= 3000, 'episodes really were slow');
  assert.equal(eventsNamed(sock, 'training_stalled').length, 0, sock.rec.summary());
  assert.equal(eventsNamed(sock, 'training_resumed').length, 0);
  const m = await bridge.metrics();
  assert.ok(m.get('trainbridge_heartbeats_total') >= 10, `heartbeats ${m.get('trainbridge_heartbeats_total')}`);
});

test('a stalled run silent for --abandon-after is abandoned and kept in history', async (t) => {
  const bridge = await startBridge(t, ['--stall-after', '60000', '--abandon-after', '500']);
  const sock = await connectClient(t, bridge);
  await subscribe(sock, 'lv-gone');
  const sim = startSim(t, bridge, {
    scenarios: 'lv-gone',
    trainer: 'gone-1',
    episodes: 100000,
    rate: 20,
    extra: ['--heartbeat-interval-ms', String(HEARTBEAT_MS)],
  });
  await waitFor(sock, 'training_progress', 2, 15000);
  await sim.kill();
  await waitFor(sock, 'training_stalled', 1, 5000);
  await waitUntil(async () => (await runsByState(bridge)).get('abandoned') === 1, {
    timeoutMs: 5000,
    what: 'trainbridge_runs{state="abandoned"} 1',
  });
  assert.equal((await runsByState(bridge)).get('stalled'), 0);
  const late = await connectClient(t, bridge);
  await subscribe(late, 'lv-gone', { history: 'compact' });
  assert.equal(late.rec.replayed[0].payload.state, 'abandoned');
  assert.equal(late.rec.replayed[0].payload.terminal, null);
});
