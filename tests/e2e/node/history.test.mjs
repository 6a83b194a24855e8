// Run history: a client that subscribes late gets each run's history as
// ordinary events marked meta.replay (training_started, the bounded curve
// ending with the exact latest progress, the terminal event), then live
// events with no gap and no duplicate; history modes; double subscribe; and
// a slow reader behind a rate-limited TCP relay gets conflated progress and
// every lifecycle event instead of a disconnect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startBridge, connectClient, connectUrl, subscribe, startSim, runSim, waitUntil, metricSum,
  uniqueName, withDeadline,
} from './harness.mjs';

const MAX_POINTS = 500;

const progressOf = (events, trainer) =>
  events.filter((e) => e.event === 'training_progress' && (!trainer || e.meta.trainer === trainer));

// The meta a replayed event must carry: the live event's, plus replay: true.
function assertSameEvent(replayed, live, what) {
  assert.equal(replayed.event, live.event, what);
  assert.deepEqual(replayed.payload, live.payload, `${what}: payload`);
  assert.deepEqual(replayed.meta, { ...live.meta, replay: true }, `${what}: meta`);
}

// What one late joiner saw of one run: the replay (started, progress in
// increasing episodes ending with the latest, nothing else) and then live
// events continuing from latest+1 with no gap or duplicate, up to the end.
// watcher: every live event of that run, from a client there from the start.
function assertJoinedRun(all, watcher, { scenario, trainer, episodes }) {
  const mine = all.filter((e) => e.meta.scenario_name === scenario && e.meta.trainer === trainer);
  const nReplay = mine.findIndex((e) => !e.meta.replay);
  const replay = nReplay < 0 ? mine : mine.slice(0, nReplay);
  const live = nReplay < 0 ? [] : mine.slice(nReplay);
  assert.ok(live.every((e) => !e.meta.replay), 'replay and live interleaved');
  assert.equal(replay[0].event, 'training_started', 'replay starts with training_started');
  assertSameEvent(replay[0], watcher[0], 'started');
  const points = replay.slice(1);
  assert.ok(points.length >= 1 && points.length <= MAX_POINTS, `${points.length} replayed points`);
  const byEpisode = new Map(progressOf(watcher).map((e) => [e.payload.episode, e]));
  points.forEach((p, i) => {
    assert.equal(p.event, 'training_progress');
    if (i > 0) assert.ok(p.payload.episode > points[i - 1].payload.episode, `replayed episode went back at ${i}`);
    assertSameEvent(p, byEpisode.get(p.payload.episode), `replayed episode ${p.payload.episode}`);
  });
  assert.equal(points[0].payload.episode, 1, 'the first progress is kept');
  const latest = points[points.length - 1].payload.episode;
  const liveProgress = progressOf(live);
  assert.deepEqual(liveProgress.map((e) => e.payload.episode),
    Array.from({ length: episodes - latest }, (_, i) => latest + 1 + i), 'live continues at latest+1, no gap, no duplicate');
  assert.equal(live[live.length - 1].event, 'training_completed');
  assert.equal(live.length, liveProgress.length + 1);
  return { points: points.length, latest };
}

test('a default client joining at episode 3000 of 5000 gets the run so far, then live with no gap', async (t) => {
  const bridge = await startBridge(t);
  const s = uniqueName('late');
  const watcher = await connectClient(t, bridge);
  await subscribe(watcher, s);
  const sim = startSim(t, bridge, { scenarios: s, trainer: 'tr-late', episodes: 5000, rate: 1000 });
  await watcher.rec.waitCount(3001, { timeoutMs: 20000 });
  const late = await connectUrl(t, bridge.url); // default transports: polling, then websocket
  const ack = await subscribe(late, s);
  assert.equal(ack.runs, 1);
  assert.equal(ack.replayed, late.rec.replayed.length, 'the ack counts what was replayed, sent before it');
  assert.equal((await sim.waitExit(30000)).code, 0);
  await watcher.rec.waitCount(5002, { timeoutMs: 20000 });
  await late.rec.waitCount(1, { filter: (e) => e.event === 'training_completed', timeoutMs: 20000 });
  const r = assertJoinedRun(late.rec.all, watcher.rec.events, { scenario: s, trainer: 'tr-late', episodes: 5000 });
  assert.ok(r.latest >= 3000, `joined at ${r.latest}`);
  t.diagnostic(`joined at episode ${r.latest}: ${r.points} points replayed, transports ${late.firstTransport} -> ${late.upgrades}`);
});

test('"*" with 3 trainers: every run replayed, then live, per run no gap', async (t) => {
  const bridge = await startBridge(t);
  const names = [uniqueName('star-a'), uniqueName('star-b'), uniqueName('star-c')];
  const watcher = await connectClient(t, bridge);
  await subscribe(watcher, '*');
  const sims = names.map((s, i) => startSim(t, bridge, { scenarios: s, trainer: `tr-${i}`, episodes: 3000, rate: 1000 }));
  await watcher.rec.waitCount(3 * 1000, { timeoutMs: 20000 });
  const late = await connectUrl(t, bridge.url);
  const ack = await subscribe(late, '*');
  assert.ok(ack.runs >= 3, `runs ${ack.runs}`); // only ours, unless a stray publisher hit this port
  assert.equal(ack.replayed, late.rec.replayed.length);
  for (const sim of sims) assert.equal((await sim.waitExit(30000)).code, 0);
  await late.rec.waitCount(3, { filter: (e) => e.event === 'training_completed', timeoutMs: 20000 });
  names.forEach((s, i) => {
    const w = watcher.rec.events.filter((e) => e.meta.scenario_name === s);
    const r = assertJoinedRun(late.rec.all, w, { scenario: s, trainer: `tr-${i}`, episodes: 3000 });
    t.diagnostic(`${s}: joined at ${r.latest}, ${r.points} points`);
  });
});

test('a client joining after the run ended gets the whole finished run', async (t) => {
  const bridge = await startBridge(t);
  const s = uniqueName('ended');
  const watcher = await connectClient(t, bridge);
  await subscribe(watcher, s);
  await runSim(t, bridge, { scenarios: s, trainer: 'tr-done', episodes: 300 });
  await watcher.rec.waitCount(302);
  const late = await connectUrl(t, bridge.url);
  const ack = await subscribe(late, s);
  assert.deepEqual(ack, { ok: true, scenario_name: s, runs: 1, replayed: 302 });
  assert.equal(late.rec.events.length, 0);
  late.rec.replayed.forEach((e, i) => assertSameEvent(e, watcher.rec.events[i], `event ${i}`));
});

test('200 clients joining at once mid-run all see the same replayed points', async (t) => {
  const bridge = await startBridge(t);
  const s = uniqueName('many');
  const watcher = await connectClient(t, bridge);
  await subscribe(watcher, s);
  const sim = startSim(t, bridge, { scenarios: s, trainer: 'tr-many', episodes: 4000, rate: 2000 });
  await watcher.rec.waitCount(2001, { timeoutMs: 20000 });
  sim.signal('SIGSTOP'); // hold the run still while the 200 join
  t.after(() => sim.signal('SIGCONT'));
  let n = -1;
  await waitUntil(() => { const was = n; n = watcher.rec.events.length; return was === n; },
    { intervalMs: 300, what: 'the paused run to settle' });
  const clients = await Promise.all(Array.from({ length: 200 }, () => connectClient(t, bridge, { timeoutMs: 15000 })));
  const acks = await Promise.all(clients.map((c) => subscribe(c, s, { timeoutMs: 15000 })));
  sim.signal('SIGCONT');
  const seen = (c) => c.rec.replayed.map(({ event, payload, meta }) => ({ event, payload, meta }));
  const first = seen(clients[0]);
  assert.ok(first.length > 2);
  clients.forEach((c, i) => {
    assert.equal(acks[i].replayed, first.length);
    assert.deepEqual(seen(c), first, `client ${i} saw another replay`);
  });
  assert.equal((await sim.waitExit(30000)).code, 0);
  await Promise.all(clients.slice(0, 5).map((c) => c.rec.waitCount(1, { filter: (e) => e.event === 'training_completed' })));
  for (const c of clients.slice(0, 5)) assertJoinedRun(c.rec.all, watcher.rec.events, { scenario: s, trainer: 'tr-many', episodes: 4000 });
  t.diagnostic(`200 clients: ${first.length} replayed events each, latest episode ${first[first.length - 1].payload.episode}`);
});

test('history modes: none, latest, compact; a bad value is refused and joins nothing', async (t) => {
  const bridge = await startBridge(t, ['--history-points', '50']);
  const s = uniqueName('modes');
  await runSim(t, bridge, { scenarios: s, trainer: 'tr-modes', episodes: 200 });
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_ingest_messages_total') >= 202);

  const curve = await connectUrl(t, bridge.url);
  const curveAck = await subscribe(curve, s);
  assert.ok(curveAck.replayed <= 52 && curveAck.replayed > 3, `curve replayed ${curveAck.replayed}`);

  const none = await connectUrl(t, bridge.url);
  assert.deepEqual(await subscribe(none, s, { history: 'none' }), { ok: true, scenario_name: s, runs: 0, replayed: 0 });

  const latest = await connectUrl(t, bridge.url);
  assert.deepEqual(await subscribe(latest, s, { history: 'latest' }), { ok: true, scenario_name: s, runs: 1, replayed: 3 });
  assert.deepEqual(latest.rec.replayed.map((e) => e.event), ['training_started', 'training_progress', 'training_completed']);
  assert.equal(latest.rec.replayed[1].payload.episode, 200);

  const compact = await connectUrl(t, bridge.url);
  assert.deepEqual(await subscribe(compact, s, { history: 'compact' }), { ok: true, scenario_name: s, runs: 1, replayed: 1 });
  const [h] = compact.rec.replayed;
  assert.equal(h.event, 'training_history');
  assert.deepEqual(h.meta, { scenario_name: s, trainer: 'tr-modes', replay: true });
  assert.deepEqual(Object.keys(h.payload).sort(),
    ['columns', 'latest', 'points', 'scenario_name', 'started', 'state', 'terminal', 'trainer']);
  assert.equal(h.payload.state, 'completed');
  assert.deepEqual(h.payload.started, curve.rec.replayed[0].payload);
  assert.deepEqual(h.payload.terminal, curve.rec.replayed[curve.rec.replayed.length - 1].payload);
  const curvePoints = progressOf(curve.rec.replayed).map((e) => e.payload);
  assert.deepEqual(h.payload.points, curvePoints.map((p) => h.payload.columns.map((c) => p[c])), 'compact points == curve points');
  assert.deepEqual(h.payload.latest, curvePoints[curvePoints.length - 1]);

  for (const bad of ['all', 7, null, ['curve']]) {
    const c = await connectUrl(t, bridge.url);
    const ack = await c.timeout(5000).emitWithAck('subscribe_training', { scenario_name: s, history: bad });
    assert.equal(ack.ok, false, JSON.stringify(bad));
    assert.match(ack.error, /history/);
    assert.equal(c.rec.all.length, 0);
  }
  const m = await bridge.metrics();
  assert.ok(metricSum(m, 'trainbridge_subscribes_refused_total') >= 4);
  assert.ok(metricSum(m, 'trainbridge_runs') >= 1); // >=: a stray publisher on a reused port may add runs
  assert.ok(metricSum(m, 'trainbridge_history_bytes') > 0);
});

test('subscribing twice replays once; a reconnect-style re-subscribe gets nothing twice', async (t) => {
  const bridge = await startBridge(t);
  const s = uniqueName('twice');
  await runSim(t, bridge, { scenarios: s, trainer: 'tr-twice', episodes: 20 });
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_ingest_messages_total') >= 22);
  const c = await connectUrl(t, bridge.url);
  const a1 = await subscribe(c, s);
  const a2 = await subscribe(c, s);
  assert.equal(a1.replayed, 22);
  assert.deepEqual(a2, { ok: true, scenario_name: s, runs: 0, replayed: 0 });
  const a3 = await subscribe(c, '*');
  assert.deepEqual(a3, { ok: true, scenario_name: '*', runs: 0, replayed: 0 }, 'its runs are already live for it');
  assert.equal(c.rec.replayed.length, 22);
});

// A TCP relay on loopback that forwards client -> bridge freely and
// bridge -> client at bytesPerSec, reading from the bridge only as fast as
// it forwards (so the bridge sees a slow reader).
function startRelay(t, targetPort, bytesPerSec) {
  const TICK_MS = 20;
  const perTick = Math.max(1, Math.floor((bytesPerSec * TICK_MS) / 1000));
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    let pending = [];
    let pendingBytes = 0;
    down.on('data', (d) => up.write(d));
    up.on('data', (d) => {
      pending.push(d);
      pendingBytes += d.length;
      if (pendingBytes > perTick * 4) up.pause();
    });
    const timer = setInterval(() => {
      let budget = perTick;
      while (budget > 0 && pending.length) {
        const head = pending[0];
        const n = Math.min(budget, head.length);
        down.write(head.subarray(0, n));
        if (n === head.length) pending.shift();
        else pending[0] = head.subarray(n);
        pendingBytes -= n;
        budget -= n;
      }
      if (pendingBytes <= perTick * 4) up.resume();
    }, TICK_MS);
    const end = () => { clearInterval(timer); up.destroy(); down.destroy(); };
    up.on('close', end);
    down.on('close', end);
    up.on('error', end);
    down.on('error', end);
  });
  t.after(() => server.close());
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

test('a client reading at 5 % of the event rate stays connected, gets every lifecycle event and increasing progress', async (t) => {
  const EPISODES = 20000;
  const RATE = 10000; // events/s of ~330 bytes: ~3.3 MB/s
  const bridge = await startBridge(t, ['--ping-timeout', '120000']);
  const s = uniqueName('laggard');
  const relayPort = await startRelay(t, bridge.port, 160 * 1024); // ~5 %
  const direct = await connectClient(t, bridge);
  await subscribe(direct, s);
  const slow = await connectUrl(t, `http://127.0.0.1:${relayPort}`, { opts: { transports: ['websocket'] } });
  await subscribe(slow, s);
  await runSim(t, bridge, { scenarios: s, trainer: 'tr-lag', episodes: EPISODES, rate: RATE }, 60000);
  await direct.rec.waitCount(EPISODES + 2, { timeoutMs: 30000 });
  await slow.rec.waitCount(1, { filter: (e) => e.event === 'training_completed', timeoutMs: 120000 });
  assert.deepEqual(slow.disconnects, [], 'the slow client was not disconnected');
  const names = slow.rec.events.map((e) => e.event);
  assert.equal(names[0], 'training_started');
  assert.equal(names[names.length - 1], 'training_completed');
  const episodes = progressOf(slow.rec.events).map((e) => e.payload.episode);
  episodes.forEach((e, i) => i && assert.ok(e > episodes[i - 1], `episode went back at ${i}`));
  assert.equal(episodes[episodes.length - 1], EPISODES, 'the latest progress survives conflation');
  assert.ok(episodes.length < EPISODES, 'the slow client got fewer progress events');
  assert.equal(direct.rec.events.length, EPISODES + 2, 'a client that reads gets every event');
  const m = await bridge.metrics();
  assert.ok(metricSum(m, 'trainbridge_progress_conflated_total') > 0);
  assert.equal(metricSum(m, 'trainbridge_clients_dropped_slow_total'), 0);
  t.diagnostic(`slow client: ${episodes.length} of ${EPISODES} progress events; conflated ${metricSum(m, 'trainbridge_progress_conflated_total')}`);
});
