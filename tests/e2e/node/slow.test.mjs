// A client that stops reading is cut off at its queue bound
// (--client-queue-bytes); clients that read receive everything, unslowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  startBridge, connectClient, subscribe, startSim, RawClient, waitUntil, metricSum,
  assertLifecycle, uniqueName,
} from './harness.mjs';

const QUEUE_BYTES = 65536;
// ~9 MB of progress packets: more than the ~3 MB that loopback socket buffers
// absorb for a stalled reader. 10000 events/s is far below what a reading
// client handles, far above what a stalled one does. (At --rate 0 the burst
// outruns any client's parser, so a reading client would be "slow" too.)
const EPISODES = 30000;
const RATE = 10000;

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

test('a client that stops reading is disconnected at its bound; the others get everything', async (t) => {
  const bridge = await startBridge(t, ['--client-queue-bytes', String(QUEUE_BYTES)]);
  const s = uniqueName('slow');
  const fast1 = await connectClient(t, bridge);
  const fast2 = await connectClient(t, bridge);
  await subscribe(fast1, s);
  await subscribe(fast2, '*');
  const slow = await RawClient.open(t, bridge);
  await slow.sioConnect();
  await slow.subscribe(s);
  slow.ws._socket.pause(); // stop reading: the kernel buffers fill, then the bridge's queue
  const rss0 = rssKiB(bridge.pid);

  const sim = startSim(t, bridge, { scenarios: s, trainer: 'fast-trainer', episodes: EPISODES, rate: RATE });
  const st = await sim.waitExit(120000);
  assert.equal(st.code, 0, sim.describe());

  // everything the trainer sent was taken in (or counted as a gap)
  let m;
  await waitUntil(async () => {
    m = await bridge.metrics();
    return metricSum(m, 'trainbridge_ingest_messages_total') + metricSum(m, 'trainbridge_ingest_gaps_total') >= EPISODES + 2;
  }, { timeoutMs: 30000, what: `ingest of ${EPISODES + 2} events`, detail: () => JSON.stringify([...m]) });
  const ingested = metricSum(m, 'trainbridge_ingest_messages_total');
  const gaps = metricSum(m, 'trainbridge_ingest_gaps_total');
  t.diagnostic(`ingested ${ingested} of ${EPISODES + 2}, gaps ${gaps}, RSS ${rss0} -> ${rssKiB(bridge.pid)} KiB`);

  // the readers get every event the bridge took in, identical and in order,
  // and are never dropped
  const fast = [fast1, fast2];
  await waitUntil(() => fast.every((c) => c.rec.events.length >= ingested) || fast.some((c) => c.disconnects.length), {
    timeoutMs: 30000,
    what: `both reading clients to receive ${ingested} events`,
    detail: () => fast.map((c) => `have ${c.rec.events.length}`).join(', '),
  });
  fast.forEach((c, i) => assert.deepEqual(c.disconnects, [],
    `reading client ${i + 1} was disconnected after ${c.rec.events.length} of ${ingested} events ` +
    `(dropped_slow_total ${metricSum(m, 'trainbridge_clients_dropped_slow_total')})\n${bridge.proc.stderrTail.slice(-1500)}`));
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_dropped_slow_total') >= 1, {
    timeoutMs: 10000,
    what: 'trainbridge_clients_dropped_slow_total >= 1',
    detail: () => bridge.describe(),
  });
  m = await bridge.metrics();
  assert.equal(fast1.rec.events.length, ingested);
  assert.equal(fast2.rec.events.length, ingested);
  const seqs1 = fast1.rec.events.map((e) => e.meta.seq);
  const seqs2 = fast2.rec.events.map((e) => e.meta.seq);
  assert.deepEqual(seqs1, seqs2, 'the two readers saw different streams');
  for (let i = 1; i < seqs1.length; i++) assert.ok(seqs1[i] > seqs1[i - 1], `seq went backwards at ${i}`);
  if (gaps === 0) {
    assert.equal(ingested, EPISODES + 2);
    assertLifecycle(fast1.rec.events, { scenario: s, episodes: EPISODES, trainer: 'fast-trainer' });
  }
  assert.deepEqual(fast1.disconnects, []);
  assert.deepEqual(fast2.disconnects, []);
  assert.equal(metricSum(m, 'trainbridge_clients_dropped_slow_total'), 1, 'only the stalled client was dropped');

  // the stalled client, reading again, finds a prefix of the stream and then the close
  slow.ws._socket.resume();
  await slow.waitClosed(15000, 'the slow client to see its connection closed');
  const got = slow.events();
  assert.ok(got.length < ingested, `the stalled client received all ${got.length} events`);
  got.forEach((e, i) => assert.equal(e.meta.seq, got[0].meta.seq + i, `stalled client: hole at ${i}`));
  t.diagnostic(`stalled client got ${got.length} events before the cut`);
  // memory stayed bounded (nothing like the ~10 MB the stalled client missed, per client)
  assert.ok(rssKiB(bridge.pid) - rss0 < 64 * 1024, `RSS grew by ${rssKiB(bridge.pid) - rss0} KiB`);
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 2, {
    what: 'trainbridge_clients_connected == 2',
  });
});
