// Hostile input from both sides while good traffic flows: malformed
// publisher messages (tools/zmq_flood.py) and hostile client packets (raw
// ws). Each bad message is dropped and counted, each hostile client gets an
// error or a close, and a well-behaved client still receives everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, connectClient, subscribe, startSim, runPythonTool, RawClient, WebSocket,
  assertLifecycle, waitUntil, withDeadline, metricSum, metricByLabel, uniqueName, httpGet,
} from './harness.mjs';

const MAX_PAYLOAD = 100000;

// How the bridge rejected this client within ~4 s: 'close' (socket closed),
// the error frame it sent (Socket.IO CONNECT_ERROR "44..." or Engine.IO
// close "1"), or 'none'.
async function rejected(raw, from = 0) {
  const err = raw.waitFrame((x) => x.startsWith('44') || x === '1', { timeoutMs: 4000, from })
    .then((f) => f.text, () => null);
  const closed = raw.closed.then(() => 'close');
  const timeout = new Promise((r) => setTimeout(() => r('none'), 4500));
  return Promise.race([closed, err.then((x) => x || closed), timeout]);
}

const isRejection = (how) => how === 'close' || how === '1' || how.startsWith('44');

// Each case: setup ('open' = Engine.IO only, 'sio' = after CONNECT to "/"),
// what to send, and whether the bridge must reject it (strict) or may
// answer as it likes as long as it stays up.
const CASES = [
  { name: 'garbage text', setup: 'sio', send: 'hello, bridge', strict: true },
  { name: 'unknown Engine.IO type', setup: 'sio', send: '9', strict: true },
  { name: 'empty text frame', setup: 'sio', send: '', strict: true },
  { name: 'garbage Socket.IO packet', setup: 'sio', send: '4garbage', strict: true },
  { name: 'unknown Socket.IO type', setup: 'sio', send: '47["x"]', strict: true },
  { name: 'truncated JSON', setup: 'sio', send: '42["subscribe_training",{"scenario_name":', strict: true },
  { name: 'event is an object', setup: 'sio', send: '42{"scenario_name":"good"}', strict: true },
  { name: 'event is an empty array', setup: 'sio', send: '42[]', strict: true },
  { name: 'event name not a string', setup: 'sio', send: '42[1,{"scenario_name":"x"}]', strict: true },
  { name: 'binary frame', setup: 'sio', send: Buffer.from([0x04, 0x32, 0xff, 0x00, 0x01]), strict: true },
  { name: 'oversize message', setup: 'sio', send: `42["subscribe_training",{"scenario_name":"${'x'.repeat(2 * MAX_PAYLOAD)}"}]`, strict: true },
  { name: 'event before CONNECT', setup: 'open', send: '42["subscribe_training",{"scenario_name":"good"}]', strict: true },
  { name: 'binary event packet (attachments)', setup: 'sio', send: '451-["subscribe_training",{"_placeholder":true,"num":0}]', strict: false },
  { name: 'deep nesting with ack', setup: 'sio', send: `421["subscribe_training",${'['.repeat(5000)}${']'.repeat(5000)}]`, strict: false },
  { name: 'unknown event with ack', setup: 'sio', send: '422["drop_tables",{}]', strict: false },
  { name: 'client ACK for an id never sent', setup: 'sio', send: '43999[{"ok":true}]', strict: false },
  { name: 'CONNECT twice', setup: 'sio', send: '40', strict: false },
  { name: 'client ping', setup: 'sio', send: '2', strict: false },
  { name: 'upgrade probe on websocket', setup: 'sio', send: '2probe', strict: false },
  { name: 'DISCONNECT then event', setup: 'sio', send: '41', strict: false },
];

async function hostileClient(t, bridge, c) {
  const raw = await RawClient.open(t, bridge);
  if (c.setup === 'sio') await raw.sioConnect();
  else await raw.openPacket();
  const from = raw.frames.length;
  raw.send(c.send);
  if (c.strict) return { name: c.name, how: await rejected(raw, from), raw };
  return { name: c.name, how: 'tolerated', raw };
}

test('hostile publishers and clients do not disturb a well-behaved client', async (t) => {
  const bridge = await startBridge(t, ['--max-payload', String(MAX_PAYLOAD)]);
  const good = uniqueName('good');
  const sentinel = uniqueName('sentinel');
  const client = await connectClient(t, bridge);
  await subscribe(client, good);
  const watcher = await connectClient(t, bridge);
  await subscribe(watcher, sentinel);
  // a raw client in the same room that then misbehaves
  const rawMember = await RawClient.open(t, bridge);
  await rawMember.sioConnect();
  await rawMember.subscribe(good);

  const sim = startSim(t, bridge, { scenarios: good, trainer: 'good-trainer', episodes: 300, rate: 250 });
  await client.rec.waitCount(1, { what: 'the good run to start' });

  // malformed publisher messages
  const flood = runPythonTool(t, 'zmq_flood.py', ['--endpoint', bridge.zmq, '--repeat', '10', '--sentinel-scenario', sentinel]);
  flood.catch(() => {}); // awaited below; no unhandled rejection meanwhile
  // hostile client packets, a few at a time
  const results = [];
  for (let i = 0; i < CASES.length; i += 5) {
    results.push(...(await Promise.all(CASES.slice(i, i + 5).map((c) => hostileClient(t, bridge, c)))));
  }
  rawMember.send('4{"not":"a packet"}');
  const memberHow = await rejected(rawMember);

  // unknown namespace: an error for that namespace, the session stays
  const ns = await RawClient.open(t, bridge);
  await ns.openPacket();
  ns.send('40/admin,');
  const nsErr = await ns.waitFrame((x) => x.startsWith('44/admin,'), { what: 'CONNECT_ERROR for /admin' });

  const floodProc = await flood;
  const summary = JSON.parse(floodProc.stdout.trim().split('\n').pop());
  assert.equal((await sim.waitExit(30000)).code, 0, sim.describe());
  await client.rec.waitCount(302, { timeoutMs: 15000 }).catch(() => {});
  await watcher.rec.waitCount(1, { what: 'the sentinel event after the flood' }).catch(() => {});
  const m = await bridge.metrics();
  t.diagnostic(`hostile clients: ${results.map((r) => `${r.name} -> ${r.how}`).join('; ')}; room member -> ${memberHow}`);
  const reasons = metricByLabel(m, 'trainbridge_ingest_rejected_total', 'reason');
  t.diagnostic(`reject reasons: ${JSON.stringify(Object.fromEntries(reasons))}`);

  await t.test('the well-behaved client got the whole run, in order', () => {
    assert.equal(client.rec.events.length, 302);
    assertLifecycle(client.rec.events, { scenario: good, episodes: 300, trainer: 'good-trainer' });
    assert.deepEqual(client.disconnects, []);
  });

  await t.test('every malformed publisher message is counted under the reference decoder\'s reason', () => {
    // the sentinel came after the flood on the same connection: all of it was handled
    assert.equal(watcher.rec.events.length, 1, 'the sentinel event after the flood');
    const rejectedTotal = metricSum(m, 'trainbridge_ingest_rejected_total');
    assert.equal(rejectedTotal, summary.bad, `trainbridge_ingest_rejected_total ${rejectedTotal}, sent ${summary.bad} bad messages`);
    const problems = [];
    for (const [reason, n] of Object.entries(summary.by_reason)) {
      if ((reasons.get(reason) ?? 0) !== n) problems.push(`${reason}: counted ${reasons.get(reason) ?? 0}, sent ${n}`);
    }
    assert.deepEqual(problems, [], 'trainbridge_ingest_rejected_total{reason} vs trainevents.decode_frames');
  });

  await t.test('every hostile client packet is answered with an error or a close', () => {
    const unanswered = results.filter((r) => CASES.find((c) => c.name === r.name).strict && !isRejection(r.how)).map((r) => r.name);
    if (!isRejection(memberHow)) unanswered.push('room member sending 4{"not":"a packet"}');
    assert.deepEqual(unanswered, [], 'hostile packets the bridge neither answered nor closed on');
    const strictCount = CASES.filter((c) => c.strict).length + 1;
    const protoErrors = metricSum(m, 'trainbridge_client_protocol_errors_total');
    assert.ok(protoErrors >= strictCount, `trainbridge_client_protocol_errors_total ${protoErrors} < ${strictCount}`);
  });

  await t.test('an unknown namespace gets CONNECT_ERROR "Invalid namespace"', () => {
    assert.deepEqual(JSON.parse(nsErr.text.slice('44/admin,'.length)), { message: 'Invalid namespace' });
  });

  await t.test('an unconnected session received no events', () => {
    const early = results.find((r) => r.name === 'event before CONNECT');
    assert.equal(early.raw.events().length, 0);
  });

  await t.test('the bridge is healthy and serves new clients', async () => {
    assert.equal((await httpGet(bridge.port, '/healthz')).status, 200);
    const late = await connectClient(t, bridge);
    await subscribe(late, good);
  });
});

test('a storm of short-lived hostile connections leaves the bridge serving', async (t) => {
  const bridge = await startBridge(t);
  const s = uniqueName('storm');
  const client = await connectClient(t, bridge);
  await subscribe(client, s);
  const junk = ['', '9', '4', '42', '4[', 'x'.repeat(1000), '40/nope,', '0', '1', '3', '5', '6'];
  for (let round = 0; round < 4; round++) {
    await Promise.all(Array.from({ length: 25 }, (_, i) => new Promise((resolve) => {
      const ws = new WebSocket(bridge.wsUrl(), { perMessageDeflate: false });
      ws.on('error', () => resolve());
      ws.on('close', () => resolve());
      ws.on('open', () => {
        ws.send(junk[(round * 25 + i) % junk.length]);
        if (i % 2) ws.terminate(); // abrupt TCP close half the time
        else setTimeout(() => ws.terminate(), 20);
      });
    })));
  }
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 1, {
    timeoutMs: 10000, what: 'the storm connections to be gone',
  });
  const sim = startSim(t, bridge, { scenarios: s, episodes: 20, rate: 0 });
  assert.equal((await sim.waitExit(20000)).code, 0);
  await client.rec.waitCount(22);
  assertLifecycle(client.rec.events, { scenario: s, episodes: 20 });
});
