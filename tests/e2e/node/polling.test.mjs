// Engine.IO long-polling and the upgrade to WebSocket, end to end: the
// official socket.io-client at its DEFAULT options (polling first, then the
// upgrade) receives whole training runs while the upgrade happens in the
// middle of the stream; polling-only clients; --transports; --connect-timeout;
// long-polling robustness over raw HTTP.
//
// To put the upgrade mid-stream deterministically, the default clients
// connect through GateProxy, a loopback TCP proxy that passes HTTP
// long-polling through at once but holds each WebSocket upgrade request
// (recognised by its sid) until the test releases it: the client is
// subscribed and receiving over polling, the trainer publishes at 200
// episodes/s, and the test lets the upgrade through after k events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startBridge, binary, Proc, io, connectUrl, connectClient, subscribe, startSim, runSim, assertLifecycle, waitUntil,
  withDeadline, httpRequest, pollingHandshake, pollingPackets, RawClient, WebSocket, uniqueName, metricSum,
} from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ GateProxy

class GateProxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.gates = new Map(); // sid -> {promise, release, held, released}
    this.sockets = new Set();
    this.server = net.createServer((c) => this.onConnection(c));
  }

  static async start(t, targetPort) {
    const p = new GateProxy(targetPort);
    await withDeadline(new Promise((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(0, '127.0.0.1', resolve);
    }), 5000, 'the gate proxy to listen');
    p.port = p.server.address().port;
    p.url = `http://127.0.0.1:${p.port}`;
    t.after(() => p.close());
    return p;
  }

  gate(sid) {
    let g = this.gates.get(sid);
    if (!g) {
      g = { held: 0, released: false };
      g.promise = new Promise((r) => (g.release = r));
      this.gates.set(sid, g);
    }
    return g;
  }

  // WebSocket upgrade requests held for this sid so far.
  held(sid) {
    return this.gates.has(sid) ? this.gates.get(sid).held : 0;
  }

  release(sid) {
    const g = this.gate(sid);
    g.released = true;
    g.release();
  }

  onConnection(client) {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 65536) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      const head = buf.subarray(0, end).toString('latin1');
      const line = /^GET (\S+) HTTP/.exec(head);
      const sid = line && /\r\nupgrade:\s*websocket/i.test(head) ? new URL(line[1], 'http://x').searchParams.get('sid') : null;
      if (sid) {
        const g = this.gate(sid);
        g.held += 1;
        g.promise.then(() => this.pass(client, buf));
      } else {
        this.pass(client, buf);
      }
    };
    client.on('data', onData);
  }

  pass(client, head) {
    if (client.destroyed) return;
    const up = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(up);
    up.on('close', () => {
      this.sockets.delete(up);
      client.destroy();
    });
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    up.on('connect', () => {
      up.write(head);
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    for (const g of this.gates.values()) g.release();
    await new Promise((r) => this.server.close(r));
  }
}

// ------------------------------------------------------------ checks

// The transports the events arrived on: polling first, then websocket,
// never interleaved. Returns [on polling, on websocket].
function transportSplit(events, who) {
  const seq = events.map((e) => e.transport);
  const nPoll = seq.filter((x) => x === 'polling').length;
  const firstWs = seq.indexOf('websocket');
  assert.ok(seq.every((x) => x === 'polling' || x === 'websocket'), `${who}: unexpected transports ${[...new Set(seq)]}`);
  if (firstWs >= 0) assert.equal(firstWs, nPoll, `${who}: an event on polling after one on websocket`);
  return [nPoll, seq.length - nPoll];
}

// Connects a default client through the proxy and subscribes it over
// polling, with its WebSocket upgrade held at the proxy.
async function gatedClient(t, bridge, proxy, scenario) {
  const c = await connectUrl(t, proxy.url, { detail: () => bridge.describe() });
  assert.equal(c.io.engine.transport.name, 'polling', 'a default client starts on long-polling');
  await subscribe(c, scenario);
  const sid = c.io.engine.id;
  await waitUntil(() => proxy.held(sid) >= 1, { what: `the client's upgrade request (sid ${sid}) at the proxy` });
  assert.equal(c.io.engine.transport.name, 'polling', 'still polling while the upgrade is held');
  assert.deepEqual(c.upgrades, []);
  return c;
}

// Releases c's upgrade once it has `after` events; resolves with the count
// it had when the upgrade completed.
async function upgradeAfter(bridge, proxy, c, after, who) {
  await c.rec.waitCount(after, { timeoutMs: 15000, what: `${who}: ${after} events over polling` });
  assert.equal(c.io.engine.transport.name, 'polling', `${who}: upgraded before the proxy let it`);
  proxy.release(c.io.engine.id);
  await withDeadline(new Promise((r) => (c.upgrades.length ? r() : c.io.engine.once('upgrade', r))),
    5000, `${who}: the 'upgrade' event`, () => bridge.describe());
  assert.equal(c.io.engine.transport.name, 'websocket', `${who}: transport after the upgrade`);
  return c.rec.events.length;
}

const EPISODES = 400;
const RATE = 200; // episodes/s: a 2 s stream
const RUN = EPISODES + 2;

test('default client: polling, subscribe, upgrade to websocket in the middle of a 200 Hz run; nothing lost, duplicated or reordered', async (t) => {
  const bridge = await startBridge(t);
  const proxy = await GateProxy.start(t, bridge.port);
  const s = uniqueName('poll-upgrade');
  const c = await gatedClient(t, bridge, proxy, s);
  const sim = startSim(t, bridge, { scenarios: s, trainer: 'upgrader', episodes: EPISODES, rate: RATE });
  const atUpgrade = await upgradeAfter(bridge, proxy, c, 40, 'client');
  assert.ok(atUpgrade < RUN - 50, `the run was nearly over (${atUpgrade} of ${RUN} events) when the upgrade completed`);
  assert.equal((await sim.waitExit(30000)).code, 0, sim.describe());
  await c.rec.waitCount(RUN, { timeoutMs: 15000 });
  await sleep(100); // nothing more may come
  assertLifecycle(c.rec.events, { scenario: s, episodes: EPISODES, trainer: 'upgrader' });
  const [onPoll, onWs] = transportSplit(c.rec.events, 'client');
  assert.ok(onPoll >= 40 && onWs >= 50, `events on polling ${onPoll}, on websocket ${onWs}`);
  assert.deepEqual(c.upgrades, ['websocket']);
  assert.equal(proxy.held(c.io.engine.id), 1, 'one upgrade attempt');
  assert.ok(c.connected);
  assert.deepEqual(c.disconnects, []);
  t.diagnostic(`${onPoll} events over polling, ${onWs} over websocket`);
  // the upgraded client still talks: a second subscribe is acknowledged over websocket
  await subscribe(c, `${s}-2`);
  const m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_clients_connected'), 1);
  assert.equal(metricSum(m, 'trainbridge_client_protocol_errors_total') || 0, 0);
});

test('20 default clients upgrading at different points of one run, 5 more upgrading on their own: all receive the whole run', async (t) => {
  const N_GATED = 20;
  const N_FREE = 5;
  const bridge = await startBridge(t);
  const proxy = await GateProxy.start(t, bridge.port);
  const s = uniqueName('poll-race');
  const gated = await Promise.all(Array.from({ length: N_GATED }, () => gatedClient(t, bridge, proxy, s)));
  // free clients: straight to the bridge, default options, subscribe as soon as they can
  const free = await Promise.all(Array.from({ length: N_FREE }, async () => {
    const c = await connectUrl(t, bridge.url, { detail: () => bridge.describe() });
    await subscribe(c, s);
    return c;
  }));
  const sim = startSim(t, bridge, { scenarios: s, trainer: 'racer', episodes: EPISODES, rate: RATE });
  // client i upgrades after 1 + 12 i events: from the first event to past the middle of the run
  const points = gated.map((_, i) => 1 + 12 * i);
  const at = await Promise.all(gated.map((c, i) => upgradeAfter(bridge, proxy, c, points[i], `gated client ${i}`)));
  assert.equal((await sim.waitExit(30000)).code, 0, sim.describe());
  const all = [...gated, ...free];
  await waitUntil(() => all.every((c) => c.rec.events.length >= RUN), {
    timeoutMs: 20000,
    what: `every client to receive ${RUN} events`,
    detail: () => JSON.stringify(all.map((c) => c.rec.events.length)),
  });
  await sleep(100);
  gated.forEach((c, i) => {
    assertLifecycle(c.rec.events, { scenario: s, episodes: EPISODES, trainer: 'racer' });
    const [onPoll, onWs] = transportSplit(c.rec.events, `gated client ${i}`);
    assert.ok(onPoll >= points[i] && onWs > 0, `gated client ${i}: ${onPoll} on polling, ${onWs} on websocket`);
    assert.deepEqual(c.upgrades, ['websocket']);
    assert.ok(c.connected, `gated client ${i} disconnected: ${c.disconnects}`);
  });
  free.forEach((c, i) => {
    assertLifecycle(c.rec.events, { scenario: s, episodes: EPISODES, trainer: 'racer' });
    transportSplit(c.rec.events, `free client ${i}`);
    assert.deepEqual(c.upgrades, ['websocket'], `free client ${i} upgrades`);
    assert.equal(c.io.engine.transport.name, 'websocket');
  });
  t.diagnostic(`upgrades completed after ${JSON.stringify(at)} events`);
  const m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_clients_connected'), N_GATED + N_FREE);
  assert.equal(metricSum(m, 'trainbridge_clients_dropped_slow_total'), 0);
});

test('transports: ["polling"]: a whole run over long-polling, never an upgrade', async (t) => {
  const bridge = await startBridge(t);
  const s = uniqueName('poll-only');
  const c = await connectUrl(t, bridge.url, { opts: { transports: ['polling'] } });
  let upgrading = 0;
  c.io.engine.on('upgrading', () => upgrading++);
  await subscribe(c, s);
  await runSim(t, bridge, { scenarios: s, trainer: 'poller', episodes: 200, rate: RATE });
  await c.rec.waitCount(202, { timeoutMs: 15000 });
  await sleep(100);
  assertLifecycle(c.rec.events, { scenario: s, episodes: 200, trainer: 'poller' });
  assert.deepEqual(transportSplit(c.rec.events, 'polling client'), [202, 0]);
  assert.equal(c.io.engine.transport.name, 'polling');
  assert.deepEqual(c.upgrades, []);
  assert.equal(upgrading, 0);
  // the server offered the upgrade; the client just did not take it
  const h = await pollingHandshake(bridge.port);
  assert.deepEqual(h.open.upgrades, ['websocket']);
});

// The failure a user sees when a socket.io-client cannot connect.
async function connectError(url, opts, what) {
  const sock = io(url, { reconnection: false, forceNew: true, timeout: 4000, ...opts });
  try {
    return await withDeadline(new Promise((resolve, reject) => {
      sock.once('connect', () => reject(new Error(`${what}: connected, want connect_error`)));
      sock.once('connect_error', (e) => resolve(e));
    }), 6000, `${what}: connect_error`);
  } finally {
    sock.disconnect();
  }
}

const TRANSPORT_UNKNOWN = { code: 0, message: 'Transport unknown' };

async function wsRefusal(bridge, query) {
  const ws = new WebSocket(bridge.wsUrl(query), { perMessageDeflate: false });
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
      resolve({ status: 101, body: '' });
    });
    ws.on('error', (e) => resolve({ status: 0, body: String(e) }));
  }), 5000, `websocket ${query}`);
}

test('--transports websocket: polling refused with 400 code 0; websocket clients work; a default client needs tryAllTransports', async (t) => {
  const bridge = await startBridge(t, ['--transports', 'websocket']);
  const h = await pollingHandshake(bridge.port);
  assert.equal(h.status, 400, `polling handshake -> ${h.status} ${h.body}`);
  assert.deepEqual(JSON.parse(h.body), TRANSPORT_UNKNOWN);
  const post = await httpRequest(bridge.port, 'POST', '/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA', { body: '40' });
  assert.equal(post.status, 400);
  assert.deepEqual(JSON.parse(post.body), TRANSPORT_UNKNOWN);
  // what a user does: transports: ["websocket"]
  const s = uniqueName('ws-only');
  const c = await connectClient(t, bridge);
  assert.equal(c.io.engine.transport.name, 'websocket');
  await subscribe(c, s);
  await runSim(t, bridge, { scenarios: s, episodes: 5 });
  await c.rec.waitCount(7);
  assertLifecycle(c.rec.events, { scenario: s, episodes: 5 });
  // raw websocket: nothing to upgrade to
  const raw = await RawClient.open(t, bridge);
  assert.deepEqual((await raw.openPacket()).upgrades, []);
  // default options: polling first, refused, and socket.io-client does not fall back by itself
  const e = await connectError(bridge.url, {}, 'default client');
  t.diagnostic(`default client: connect_error ${e.message}`);
  // ... unless told to try every transport
  const fb = await connectUrl(t, bridge.url, { opts: { tryAllTransports: true } });
  assert.equal(fb.io.engine.transport.name, 'websocket');
  await subscribe(fb, s);
});

test('--transports polling: websocket refused with 400 code 0; a websocket-only client fails; a default client works and never upgrades', async (t) => {
  const bridge = await startBridge(t, ['--transports', 'polling']);
  const u = await wsRefusal(bridge, 'EIO=4&transport=websocket');
  assert.equal(u.status, 400, `websocket handshake -> ${u.status} ${u.body}`);
  if (u.body) assert.deepEqual(JSON.parse(u.body), TRANSPORT_UNKNOWN);
  const e = await connectError(bridge.url, { transports: ['websocket'] }, 'websocket-only client');
  t.diagnostic(`websocket-only client: connect_error ${e.message}`);
  const h = await pollingHandshake(bridge.port);
  assert.equal(h.status, 200);
  assert.deepEqual(h.open.upgrades, [], 'the open packet offers no upgrade');
  const s = uniqueName('poll-forced');
  const c = await connectUrl(t, bridge.url);
  let upgrading = 0;
  c.io.engine.on('upgrading', () => upgrading++);
  await subscribe(c, s);
  await runSim(t, bridge, { scenarios: s, trainer: 'p', episodes: 100, rate: RATE });
  await c.rec.waitCount(102, { timeoutMs: 15000 });
  await sleep(100);
  assertLifecycle(c.rec.events, { scenario: s, episodes: 100, trainer: 'p' });
  assert.deepEqual(transportSplit(c.rec.events, 'default client'), [102, 0]);
  assert.equal(c.io.engine.transport.name, 'polling');
  assert.deepEqual(c.upgrades, []);
  assert.equal(upgrading, 0);
});

test('--transports polling: a plain GET (no Upgrade header) with transport=websocket -> 400 code 0 too', async (t) => {
  const bridge = await startBridge(t, ['--transports', 'polling']);
  const plain = await httpRequest(bridge.port, 'GET', '/socket.io/?EIO=4&transport=websocket');
  assert.equal(plain.status, 400, `${plain.status} ${plain.body}`);
  assert.deepEqual(JSON.parse(plain.body), TRANSPORT_UNKNOWN, 'the transport is switched off, whatever the request');
});

test('--connect-timeout 300: sessions without a Socket.IO CONNECT are closed after ~300 ms; connected clients stay', async (t) => {
  const bridge = await startBridge(t, ['--connect-timeout', '300']);
  const t0 = Date.now();
  // a default client, a polling-only client and a raw websocket that connect properly
  const good = await connectUrl(t, bridge.url);
  const goodPoll = await connectUrl(t, bridge.url, { opts: { transports: ['polling'] } });
  const goodRaw = await RawClient.open(t, bridge);
  await goodRaw.sioConnect();
  // a polling session that never sends "40": its pending GET is answered with a close packet
  const h = await pollingHandshake(bridge.port);
  assert.equal(h.status, 200);
  const hAt = Date.now();
  const get = await httpRequest(bridge.port, 'GET', `/socket.io/?EIO=4&transport=polling&sid=${h.sid}`, { timeoutMs: 5000 });
  const after = Date.now() - hAt;
  assert.equal(get.status, 200, `pending GET -> ${get.status} ${get.body}`);
  assert.deepEqual(pollingPackets(get.body), ['1'], 'the pending GET ends with a close packet');
  assert.ok(after >= 200 && after <= 2000, `polling session closed ${after} ms after the handshake`);
  const next = await httpRequest(bridge.port, 'GET', `/socket.io/?EIO=4&transport=polling&sid=${h.sid}`);
  assert.ok(next.status === 400 || (next.status === 200 && next.body === '1'), `GET after the close -> ${next.status} ${next.body}`);
  if (next.status === 400) assert.equal(JSON.parse(next.body).code, 1);
  // a raw websocket that never sends "40" is closed too
  const silent = await RawClient.open(t, bridge);
  const wsAt = Date.now();
  await silent.openPacket();
  const closed = await silent.waitClosed(3000, 'the websocket without CONNECT to be closed');
  assert.ok(closed.at - wsAt >= 200 && closed.at - wsAt <= 2000, `websocket closed ${closed.at - wsAt} ms after opening`);
  assert.ok(!silent.texts().some((x) => x.startsWith('4')), `the silent websocket got ${silent.texts()}`);
  // the connected ones are still there well past the timeout, and work
  const wait = 1000 - (Date.now() - t0);
  if (wait > 0) await sleep(wait);
  assert.ok(good.connected && goodPoll.connected, 'a connected client was closed');
  assert.ok(goodRaw.isOpen, 'the raw client that sent CONNECT was closed');
  assert.deepEqual([...good.disconnects, ...goodPoll.disconnects], []);
  const s = uniqueName('ct');
  await subscribe(good, s);
  await subscribe(goodPoll, s);
  await runSim(t, bridge, { scenarios: s, episodes: 3 });
  await good.rec.waitCount(5);
  await goodPoll.rec.waitCount(5);
  assertLifecycle(good.rec.events, { scenario: s, episodes: 3 });
  assertLifecycle(goodPoll.rec.events, { scenario: s, episodes: 3 });
  assert.equal(metricSum(await bridge.metrics(), 'trainbridge_clients_connected'), 3);
});

const pollPath = (sid) => `/socket.io/?EIO=4&transport=polling&sid=${sid}`;

async function assertSessionGone(bridge, sid, what) {
  const r = await httpRequest(bridge.port, 'GET', pollPath(sid));
  assert.ok(r.status === 400 || (r.status === 200 && r.body === '1'), `${what}: GET with the sid -> ${r.status} ${r.body}`);
  if (r.status === 400) assert.equal(JSON.parse(r.body).code, 1, `${what}: ${r.body}`);
}

test('long-polling: a POST larger than --max-payload -> 413 and the session is closed; one within it -> ok', async (t) => {
  const bridge = await startBridge(t, ['--max-payload', '2000']);
  const h = await pollingHandshake(bridge.port);
  assert.equal(h.open.maxPayload, 2000);
  const ok = await httpRequest(bridge.port, 'POST', pollPath(h.sid), {
    body: '40',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
  });
  assert.deepEqual([ok.status, ok.body], [200, 'ok']);
  const reply = await httpRequest(bridge.port, 'GET', pollPath(h.sid));
  assert.match(reply.body, /^40\{"sid":"[^"]+"\}$/);
  const big = `42["subscribe_training",{"scenario_name":"${'x'.repeat(2100)}"}]`;
  const r = await httpRequest(bridge.port, 'POST', pollPath(h.sid), {
    body: big,
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
  });
  assert.equal(r.status, 413, `POST of ${big.length} bytes -> ${r.status} ${r.body}`);
  await assertSessionGone(bridge, h.sid, 'after the 413');
  // the bridge takes new sessions
  const again = await pollingHandshake(bridge.port);
  assert.equal(again.status, 200);
});

test('long-polling: a second concurrent GET for a sid -> 400 and the session is closed', async (t) => {
  const bridge = await startBridge(t);
  const h = await pollingHandshake(bridge.port);
  // GET #1 stays pending (nothing to send); GET #2 overlaps it
  const first = httpRequest(bridge.port, 'GET', pollPath(h.sid), { timeoutMs: 5000 })
    .then((r) => ({ ...r, at: Date.now() }), (e) => ({ error: e.message, at: Date.now() }));
  await sleep(50);
  const second = await httpRequest(bridge.port, 'GET', pollPath(h.sid));
  const secondAt = Date.now();
  const r1 = await withDeadline(first, 3000, 'the first GET to end once the session is closed');
  t.diagnostic(`second GET -> ${second.status} ${second.body}; first GET -> ${r1.error || `${r1.status} ${JSON.stringify(r1.body)}`}`);
  // either request may reach the bridge first: one is refused with 400, the other ends
  const results = [second, r1];
  const refused = results.filter((r) => r.status === 400);
  assert.ok(refused.length >= 1, `no 400: second ${second.status} ${second.body}, first ${JSON.stringify(r1)}`);
  for (const r of refused) assert.ok([1, 3].includes(JSON.parse(r.body).code), r.body);
  const other = results.find((r) => r !== refused[0]);
  assert.ok(other.error || other.status === 400 || (other.status === 200 && pollingPackets(other.body).includes('1')),
    `the other GET: ${JSON.stringify(other)}`);
  assert.ok(r1.at - secondAt < 2000, 'the pending GET was not ended with the session');
  await assertSessionGone(bridge, h.sid, 'after the overlap');
  await waitUntil(async () => metricSum(await bridge.metrics(), 'trainbridge_clients_connected') === 0, { what: 'no sessions' });
});

test('long-polling after an upgrade: the pending GET is released with a noop; GET, POST and a second websocket with the sid -> 400', async (t) => {
  const bridge = await startBridge(t);
  const h = await pollingHandshake(bridge.port);
  const post = await httpRequest(bridge.port, 'POST', pollPath(h.sid), { body: '40' });
  assert.equal(post.body, 'ok');
  const reply = await httpRequest(bridge.port, 'GET', pollPath(h.sid));
  assert.match(reply.body, /^40\{"sid":/);
  const pending = httpRequest(bridge.port, 'GET', pollPath(h.sid), { timeoutMs: 5000 });
  const ws = await RawClient.open(t, bridge, { query: `EIO=4&transport=websocket&sid=${h.sid}` });
  ws.send('2probe');
  await ws.waitFrame((x) => x === '3probe', { what: '3probe' });
  const released = await withDeadline(pending, 3000, 'the pending GET to be released during the upgrade');
  assert.equal(released.status, 200);
  assert.deepEqual(pollingPackets(released.body), ['6'], 'the pending GET is released with a noop');
  ws.send('5');
  // the session now lives on the websocket: subscribe there with an ack
  const s = uniqueName('raw-upgraded');
  await ws.subscribe(s, 7);
  for (const [method, body] of [['GET'], ['POST', '2']]) {
    const r = await httpRequest(bridge.port, method, pollPath(h.sid), { body });
    assert.equal(r.status, 400, `${method} after the upgrade -> ${r.status} ${r.body}`);
    assert.ok([1, 3].includes(JSON.parse(r.body).code), r.body);
  }
  const second = await wsRefusal(bridge, `EIO=4&transport=websocket&sid=${h.sid}`);
  assert.equal(second.status, 400, `second websocket -> ${second.status} ${second.body}`);
  // the upgraded session is unharmed
  assert.ok(ws.isOpen);
  await runSim(t, bridge, { scenarios: s, episodes: 3 });
  await waitUntil(() => ws.events().length >= 5, { what: '5 events on the upgraded websocket' });
  assertLifecycle(ws.events(), { scenario: s, episodes: 3 });
});

for (const [args, flag] of [
  [['--transports', 'carrier-pigeon'], '--transports'],
  [['--transports', ''], '--transports'],
  [['--connect-timeout', '-1'], '--connect-timeout'],
  [['--connect-timeout', 'soon'], '--connect-timeout'],
]) {
  test(`bad flag ${args.join(' ')} -> exit 2 naming ${flag}`, async (t) => {
    const p = new Proc('trainbridge', binary('trainbridge'), ['--listen', '127.0.0.1:0', '--zmq-bind', 'tcp://127.0.0.1:*', ...args], { t });
    const st = await p.waitExit(5000);
    assert.deepEqual({ code: st.code, signal: st.signal }, { code: 2, signal: null }, p.stderrTail);
    assert.ok(p.stderrTail.includes(flag), p.stderrTail);
  });
}
