// Tokens on Socket.IO CONNECT (README "Security"), with the real
// socket.io-client: valid and refused tokens (each refusal reason reaches the
// client as connect_error data and /metrics), scenario claims (a forbidden
// scenario's events never arrive), RS256 keys, and a token that expires
// during a run while an `auth` callback supplies fresh ones.
// Tokens are made here with node:crypto (HMAC, RSA, ECDSA).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  io, startBridge, startSim, runSim, assertLifecycle, uniqueName, withDeadline, waitUntil,
  metricByLabel, metricSum, Recorder,
} from './harness.mjs';

const SECRET = 'e2e-secret-0123456789abcdef0123456789abcdef';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// A compact JWS: header and claims as objects, signed by sign(input) -> Buffer.
function jws(header, claims, sign) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign(input))}`;
}
const hs256 = (claims, key = SECRET) =>
  jws({ alg: 'HS256', typ: 'JWT' }, claims, (i) => crypto.createHmac('sha256', key).update(i).digest());
const now = () => Math.floor(Date.now() / 1000);

function tmpDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-auth-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function secretFile(t) {
  const file = path.join(tmpDir(t), 'secret');
  fs.writeFileSync(file, `${SECRET}\n`);
  return file;
}

// Connects with socket.io-client (default transports, no reconnection).
// Resolves {sock, error}: error is the connect_error (message, data) if any.
async function tryConnect(t, bridge, auth, opts = {}) {
  const sock = io(bridge.url, { reconnection: false, forceNew: true, timeout: 5000, auth, ...opts });
  t.after(() => sock.disconnect());
  sock.rec = new Recorder();
  sock.onAny((event, ...args) => sock.rec.push(event, args));
  const error = await withDeadline(
    new Promise((resolve) => {
      sock.once('connect', () => resolve(null));
      sock.once('connect_error', (e) => resolve(e));
    }),
    6000, 'connect or connect_error', () => bridge.describe());
  return { sock, error };
}

async function connectOk(t, bridge, auth, opts) {
  const { sock, error } = await tryConnect(t, bridge, auth, opts);
  assert.equal(error, null, `connect_error: ${error && error.message} ${JSON.stringify(error && error.data)}`);
  return sock;
}

const ack = (sock, scenario) =>
  sock.timeout(5000).emitWithAck('subscribe_training', { scenario_name: scenario });
// A successful subscribe ack (which also counts replayed history: runs, replayed).
const okAck = (a, scenario, what) =>
  assert.deepEqual({ ok: a.ok, scenario_name: a.scenario_name }, { ok: true, scenario_name: scenario }, what);

test('no auth flags: the ready line says auth off and a client without a token connects', async (t) => {
  const bridge = await startBridge(t);
  assert.match(bridge.readyLine, / auth off$/);
  await connectOk(t, bridge, undefined);
});

test('a valid HS256 token connects; its scenarios claim decides subscriptions; a forbidden scenario gets 0 events while it runs', async (t) => {
  const bridge = await startBridge(t, ['--auth-jwt-secret', secretFile(t)]);
  assert.match(bridge.readyLine, / auth on$/);
  const beta = uniqueName('beta-');
  const gamma = uniqueName('gamma');
  const token = hs256({ sub: 'dash', exp: now() + 600, scenarios: ['alpha', 'beta-*'] });
  const sock = await connectOk(t, bridge, { token });
  okAck(await ack(sock, beta), beta);
  assert.deepEqual(await ack(sock, gamma), { ok: false, error: 'forbidden' });
  assert.deepEqual(await ack(sock, '*'), { ok: false, error: 'forbidden' });
  const simG = startSim(t, bridge, { scenarios: gamma, trainer: 'tg', episodes: 20, rate: 200 });
  await runSim(t, bridge, { scenarios: beta, trainer: 'tb', episodes: 20, rate: 200 });
  assert.equal((await simG.waitExit(30000)).code, 0, simG.describe());
  await sock.rec.waitCount(22);
  assertLifecycle(sock.rec.forScenario(beta), { scenario: beta, episodes: 20, trainer: 'tb' });
  assert.equal(sock.rec.forScenario(gamma).length, 0, 'events of the forbidden scenario');
  assert.equal(sock.rec.events.length, 22);
  const m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_subscribes_forbidden_total'), 2);
  assert.equal(metricSum(m, 'trainbridge_auth_accepted_total'), 1);
});

test('"*" needs the "*" claim, which then receives every scenario', async (t) => {
  const bridge = await startBridge(t, ['--auth-jwt-secret', secretFile(t)]);
  const all = await connectOk(t, bridge, { token: hs256({ scenarios: ['*'] }) });
  okAck(await ack(all, '*'), '*');
  const name = uniqueName('any');
  await runSim(t, bridge, { scenarios: name, trainer: 'ts', episodes: 5, rate: 200 });
  await all.rec.waitCount(7);
  assertLifecycle(all.rec.events, { scenario: name, episodes: 5, trainer: 'ts' });
});

test('refused tokens: connect_error {message: "unauthorized", data: {reason}} for each reason, counted in /metrics', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'secret');
  fs.writeFileSync(file, SECRET);
  const bridge = await startBridge(t, ['--auth-jwt-secret', file, '--auth-audience', 'dash',
    '--auth-issuer', 'https://id.example', '--auth-leeway', '2']);
  const good = { aud: 'dash', iss: 'https://id.example', scenarios: ['*'] };
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const valid = hs256({ ...good, exp: now() + 60 });
  const cases = [
    ['missing', undefined],
    ['missing', {}],
    ['malformed', { token: 42 }],
    ['malformed', { token: 'not-a-jwt' }],
    ['malformed', { token: valid.split('.').slice(0, 2).join('.') }], // truncated
    ['malformed', { token: `${valid.slice(0, -1)}!` }], // bad base64url
    ['malformed', { token: `${valid}${'A'.repeat(9000)}` }], // huge
    ['signature', { token: hs256(good, 'another-secret-0123456789abcdef0123456789') }],
    ['algorithm', { token: jws({ alg: 'none' }, good, () => Buffer.alloc(0)) }],
    ['algorithm', { token: jws({ alg: 'RS256' }, good, (i) => crypto.sign('sha256', Buffer.from(i), privateKey)) }],
    ['expired', { token: hs256({ ...good, exp: now() - 10 }) }],
    ['not_yet_valid', { token: hs256({ ...good, nbf: now() + 60 }) }],
    ['audience', { token: hs256({ ...good, aud: 'other' }) }],
    ['issuer', { token: hs256({ ...good, iss: 'https://evil.example' }) }],
  ];
  const want = {};
  for (const [reason, auth] of cases) {
    const { sock, error } = await tryConnect(t, bridge, auth, { transports: ['websocket'] });
    assert.ok(error, `${reason}: connected`);
    assert.equal(error.message, 'unauthorized', reason);
    assert.deepEqual(error.data, { reason }, `${reason}: ${JSON.stringify(error.data)}`);
    assert.equal(sock.connected, false);
    want[reason] = (want[reason] || 0) + 1;
  }
  await connectOk(t, bridge, { token: valid });
  const m = await bridge.metrics();
  for (const [reason, n] of Object.entries(want))
    assert.equal(metricByLabel(m, 'trainbridge_auth_refused_total', 'reason').get(reason), n, reason);
});

test('RS256 public key: RS256 tokens pass, the HS256-with-the-public-key confusion and ES256 are refused', async (t) => {
  const dir = tmpDir(t);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  fs.writeFileSync(path.join(dir, 'pub.pem'), pem);
  const bridge = await startBridge(t, ['--auth-jwt-public-key', path.join(dir, 'pub.pem')]);
  const claims = { scenarios: ['alpha'], exp: now() + 60 };
  const rs = jws({ alg: 'RS256' }, claims, (i) => crypto.sign('sha256', Buffer.from(i), privateKey));
  const sock = await connectOk(t, bridge, { token: rs });
  okAck(await ack(sock, 'alpha'), 'alpha');
  const confused = hs256(claims, pem);
  const r1 = await tryConnect(t, bridge, { token: confused });
  assert.deepEqual(r1.error && r1.error.data, { reason: 'algorithm' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const es = jws({ alg: 'ES256' }, claims,
    (i) => crypto.sign('sha256', Buffer.from(i), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));
  const r2 = await tryConnect(t, bridge, { token: es });
  assert.deepEqual(r2.error && r2.error.data, { reason: 'algorithm' });
});

test('ES256 public key and a rotated HS256 secret before its cutoff', async (t) => {
  const dir = tmpDir(t);
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'ec.pem'), ec.publicKey.export({ type: 'spki', format: 'pem' }));
  fs.writeFileSync(path.join(dir, 'new'), 'the-new-secret-0123456789abcdef0123456789');
  fs.writeFileSync(path.join(dir, 'old'), SECRET);
  const bridge = await startBridge(t, ['--auth-jwt-public-key', path.join(dir, 'ec.pem'),
    '--auth-jwt-secret', path.join(dir, 'new'), '--auth-jwt-previous-secret', path.join(dir, 'old'),
    '--auth-previous-valid-until', String(now() + 3600)]);
  const es = jws({ alg: 'ES256' }, { scenarios: ['a'] },
    (i) => crypto.sign('sha256', Buffer.from(i), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));
  await connectOk(t, bridge, { token: es });
  await connectOk(t, bridge, { token: hs256({ scenarios: ['a'] }) }); // old secret, before cutoff
  await connectOk(t, bridge, { token: hs256({ scenarios: ['a'] }, 'the-new-secret-0123456789abcdef0123456789') });
});

test('a rotated secret past its cutoff is refused', async (t) => {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'new'), 'the-new-secret-0123456789abcdef0123456789');
  fs.writeFileSync(path.join(dir, 'old'), SECRET);
  const bridge = await startBridge(t, ['--auth-jwt-secret', path.join(dir, 'new'),
    '--auth-jwt-previous-secret', path.join(dir, 'old'), '--auth-previous-valid-until', String(now() - 1)]);
  const { error } = await tryConnect(t, bridge, { token: hs256({ scenarios: ['a'] }) });
  assert.deepEqual(error && error.data, { reason: 'signature' });
});

test('a token expiring during a run: the transport closes at exp, the auth callback supplies a fresh token, one reconnect, the run continues', async (t) => {
  const bridge = await startBridge(t, ['--auth-jwt-secret', secretFile(t), '--auth-leeway', '0']);
  const name = uniqueName('exp');
  let issued = 0;
  const sock = io(bridge.url, {
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    auth: (cb) => {
      issued++;
      cb({ token: hs256({ scenarios: [name], exp: now() + (issued === 1 ? 2 : 600) }) });
    },
  });
  t.after(() => sock.disconnect());
  const events = [];
  const disconnects = [];
  let connects = 0;
  sock.on('connect', () => {
    connects++;
    sock.emit('subscribe_training', { scenario_name: name });
  });
  sock.on('disconnect', (reason) => disconnects.push(reason));
  sock.onAny((event, payload, meta) => events.push({ event, payload, meta, connects }));
  await waitUntil(() => connects === 1, { what: 'first connect' });
  // 50 episodes at 10/s: about 5 s, across the expiry at about 2 s.
  const sim = startSim(t, bridge, { scenarios: name, trainer: 'te', episodes: 50, rate: 10 });
  assert.equal((await sim.waitExit(30000)).code, 0, sim.describe());
  await waitUntil(() => events.some((e) => e.event === 'training_completed'),
    { what: 'training_completed after the reconnect', detail: () => `${connects} connects, ${events.length} events` });
  assert.equal(connects, 2, `connects ${connects}; disconnect reasons ${disconnects}`);
  assert.equal(issued, 2);
  assert.equal(disconnects.length, 1);
  assert.match(disconnects[0], /transport (close|error)/);
  assert.ok(events.some((e) => e.connects === 1 && e.event === 'training_progress'), 'progress before the expiry');
  assert.ok(events.filter((e) => e.connects === 2 && e.event === 'training_progress').length > 5, 'progress after the reconnect');
  const m = await bridge.metrics();
  assert.equal(metricSum(m, 'trainbridge_clients_token_expired_total'), 1);
});

test('Authorization: Bearer on the Engine.IO handshake stands in for a CONNECT without a token (polling and WebSocket)', async (t) => {
  const bridge = await startBridge(t, ['--auth-jwt-secret', secretFile(t)]);
  const token = hs256({ scenarios: ['alpha'], exp: now() + 60 });
  for (const transports of [['polling'], ['websocket']]) {
    const sock = await connectOk(t, bridge, undefined, { transports, extraHeaders: { Authorization: `Bearer ${token}` } });
    okAck(await ack(sock, 'alpha'), 'alpha', transports[0]);
    assert.deepEqual(await ack(sock, 'beta'), { ok: false, error: 'forbidden' }, transports[0]);
  }
  const forged = hs256({ scenarios: ['*'] }, 'another-secret-0123456789abcdef0123456789');
  const { error } = await tryConnect(t, bridge, undefined, { transports: ['websocket'], extraHeaders: { Authorization: `Bearer ${forged}` } });
  assert.deepEqual(error && error.data, { reason: 'signature' });
});
