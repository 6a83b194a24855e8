// Engine.IO v4 over a raw WebSocket: the open packet, heartbeats (server
// pings, client pongs, silent clients closed), refused handshakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, RawClient, WebSocket, httpGet, withDeadline, waitUntil, metricSum, subscribe, runSim,
  assertLifecycle, connectUrl,
} from './harness.mjs';

test('open packet: sid, upgrades, pingInterval, pingTimeout, maxPayload as configured', async (t) => {
  const bridge = await startBridge(t, ['--ping-interval', '4000', '--ping-timeout', '3000', '--max-payload', '50000']);
  const raw = await RawClient.open(t, bridge);
  const first = await raw.waitFrame(() => true, { what: 'the first frame' });
  assert.equal(first.index, 0);
  assert.ok(first.text.startsWith('0{'), `first frame ${first.text}`);
  const open = JSON.parse(first.text.slice(1));
  assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.equal(typeof open.sid, 'string');
  assert.ok(open.sid.length >= 16, `short sid ${open.sid}`);
  assert.ok(Array.isArray(open.upgrades), 'upgrades is an array');
  assert.ok(!open.upgrades.includes('polling'), 'a websocket session offers no upgrade to polling');
  assert.equal(open.pingInterval, 4000);
  assert.equal(open.pingTimeout, 3000);
  assert.equal(open.maxPayload, 50000);
  // each session its own sid
  const raw2 = await RawClient.open(t, bridge);
  assert.notEqual((await raw2.openPacket()).sid, open.sid);
  // Socket.IO CONNECT reply carries a sid too (different from the Engine.IO one)
  const reply = await raw.sioConnect();
  assert.equal(typeof reply.sid, 'string');
  assert.notEqual(reply.sid, open.sid);
});

test('heartbeat: the server pings, a client that pongs stays, a silent one is closed after interval + timeout', async (t) => {
  const bridge = await startBridge(t, ['--ping-interval', '300', '--ping-timeout', '300']);
  const good = await RawClient.open(t, bridge);
  await good.sioConnect();
  const silent = await RawClient.open(t, bridge);
  silent.autoPong = false;
  await silent.sioConnect();
  const opened = Date.now();
  const closed = await silent.waitClosed(4000, 'the silent client to be closed');
  const after = closed.at - opened;
  assert.ok(silent.pings >= 1, 'the silent client was never pinged');
  assert.ok(after >= 450, `silent client closed after ${after} ms, before interval + timeout (600 ms)`);
  assert.ok(after <= 2500, `silent client closed only after ${after} ms`);
  t.diagnostic(`silent client closed ${after} ms after connecting`);
  // the answering client survives several rounds
  await waitUntil(() => good.pings >= 5, { timeoutMs: 5000, what: '5 pings to the good client' });
  assert.ok(good.isOpen, 'the client that answered pings was closed');
  const pingFrames = good.texts().filter((x) => x === '2').length;
  assert.equal(pingFrames, good.pings);
  assert.equal(metricSum(await bridge.metrics(), 'trainbridge_clients_connected'), 1);
});

test('Engine.IO close from the client ends the session', async (t) => {
  const bridge = await startBridge(t);
  const raw = await RawClient.open(t, bridge);
  await raw.sioConnect();
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 1, { what: '1 client' });
  raw.send('1');
  await raw.waitClosed(3000, 'the server to close after the client\'s close packet');
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 0, { what: '0 clients' });
});

async function upgradeRefused(bridge, query, p = '/socket.io/') {
  const ws = new WebSocket(bridge.wsUrl(query, p), { perMessageDeflate: false });
  return withDeadline(new Promise((resolve) => {
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve({ status: res.statusCode, body }));
    });
    ws.on('open', () => {
      ws.terminate();
      resolve({ status: 101, body: 'upgraded' });
    });
    ws.on('error', (e) => resolve({ status: 0, body: String(e) }));
  }), 5000, `upgrade ${p}?${query}`);
}

for (const [query, code, msg] of [
  ['EIO=3&transport=websocket', 5, 'Unsupported protocol version'],
  ['transport=websocket', 5, 'Unsupported protocol version'],
  ['EIO=4&transport=carrier-pigeon', 0, 'Transport unknown'],
  ['EIO=4', 0, 'Transport unknown'],
]) {
  test(`handshake ${query} is refused: HTTP 400 {"code":${code}} (plain GET and websocket upgrade)`, async (t) => {
    const bridge = await startBridge(t);
    const r = await httpGet(bridge.port, `/socket.io/?${query}`);
    assert.equal(r.status, 400, `GET /socket.io/?${query} -> ${r.status} ${r.body}`);
    assert.deepEqual(JSON.parse(r.body), { code, message: msg });
    const u = await upgradeRefused(bridge, query);
    assert.equal(u.status, 400, `upgrade /socket.io/?${query} -> ${u.status} ${u.body}`);
    if (u.body) assert.deepEqual(JSON.parse(u.body), { code, message: msg });
    // the bridge still takes good handshakes
    const raw = await RawClient.open(t, bridge);
    await raw.openPacket();
  });
}

test('an unknown sid on a websocket handshake is refused', async (t) => {
  const bridge = await startBridge(t);
  const u = await upgradeRefused(bridge, 'EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA');
  assert.equal(u.status, 400, `${u.status} ${u.body}`);
  if (u.body) assert.equal(JSON.parse(u.body).code, 1);
});

test('a websocket upgrade outside /socket.io/ is refused', async (t) => {
  const bridge = await startBridge(t);
  const u = await upgradeRefused(bridge, 'EIO=4&transport=websocket', '/not-socket-io/');
  assert.ok(u.status >= 400 && u.status < 500, `upgrade on /not-socket-io/ -> ${u.status}`);
});

test('server messages are text frames starting with a packet type digit', async (t) => {
  const bridge = await startBridge(t, ['--ping-interval', '200', '--ping-timeout', '1000']);
  const raw = await RawClient.open(t, bridge);
  await raw.sioConnect();
  await waitUntil(() => raw.pings >= 2, { what: 'two pings' });
  for (const f of raw.frames) {
    assert.equal(f.binary, null, 'binary frame from the server');
    assert.match(f.text, /^[0-6]/);
  }
});

// The official clients' default: HTTP long-polling first, then the upgrade
// to WebSocket (polling.test.mjs puts the upgrade in the middle of a run).
test('default socket.io-client options (polling, then upgrade to websocket) receive events', async (t) => {
  const bridge = await startBridge(t);
  const c = await connectUrl(t, bridge.url, { detail: () => bridge.describe() });
  assert.equal(c.firstTransport, 'polling', 'a default client opens with long-polling');
  await withDeadline(new Promise((r) => (c.io.engine.transport.name === 'websocket' ? r() : c.io.engine.once('upgrade', r))),
    5000, 'the upgrade to websocket');
  assert.equal(c.io.engine.transport.name, 'websocket');
  assert.deepEqual(c.upgrades, ['websocket'], "one 'upgrade' event, to websocket");
  await subscribe(c, 'poll');
  await runSim(t, bridge, { scenarios: 'poll', episodes: 3, rate: 0 });
  await c.rec.waitCount(5);
  assertLifecycle(c.rec.events, { scenario: 'poll', episodes: 3 });
});
