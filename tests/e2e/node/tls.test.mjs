// TLS on the dashboard port (--tls-cert, --tls-key, --tls-min-version): a CA
// and a server certificate for 127.0.0.1 are made here with the openssl CLI.
// socket.io-client with that CA (default transports: polling, then the
// upgrade to wss) receives a run; a client trusting another CA fails the
// handshake; plain HTTP on the TLS port is refused without harm to the
// bridge; TLS 1.2 is refused under --tls-min-version 1.3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import {
  startBridge, connectUrl, subscribe, runSim, assertLifecycle, uniqueName, httpGet, httpsGet,
  withDeadline, binary, Proc, makePki,
} from './harness.mjs';

async function startTls(t, pki, extra = []) {
  return startBridge(t, ['--tls-cert', pki.cert, '--tls-key', pki.key, ...extra], { tlsCa: pki.ca });
}

test('socket.io-client with the CA: polling over https, upgrade to wss, a whole run', async (t) => {
  const pki = makePki(t);
  const bridge = await startTls(t, pki);
  assert.match(bridge.readyLine, / tls on$/);
  const name = uniqueName('tls');
  const sock = await connectUrl(t, bridge.url, { opts: { ca: pki.ca } });
  assert.equal(sock.firstTransport, 'polling');
  await subscribe(sock, name);
  await runSim(t, bridge, { scenarios: name, trainer: 'tt', episodes: 10, rate: 50 });
  await sock.rec.waitCount(12);
  assertLifecycle(sock.rec.events, { scenario: name, episodes: 10, trainer: 'tt' });
  assert.deepEqual(sock.upgrades, ['websocket']);
  assert.equal(sock.rec.events.at(-1).transport, 'websocket');
});

test('a client trusting another CA fails the handshake; plain HTTP on the TLS port is refused cleanly', async (t) => {
  const pki = makePki(t);
  const bridge = await startTls(t, pki);
  await assert.rejects(connectUrl(t, bridge.url, { opts: { ca: pki.otherCa, transports: ['websocket'] } }), /connect_error/);
  await assert.rejects(connectUrl(t, bridge.url, { opts: { ca: pki.otherCa } }), /connect_error/);
  await assert.rejects(httpsGet(bridge.port, '/healthz', pki.otherCa), /certificate|self[- ]signed|issuer/i);
  let plain;
  try {
    plain = await httpGet(bridge.port, '/healthz', { timeoutMs: 3000 });
  } catch (e) {
    plain = { error: e.message };
  }
  assert.ok(plain.error || plain.status >= 400, `plain HTTP answered ${JSON.stringify(plain)}`);
  t.diagnostic(`plain HTTP on the TLS port: ${JSON.stringify(plain)}`);
  assert.equal((await httpsGet(bridge.port, '/healthz', pki.ca)).status, 200, 'the bridge still serves TLS');
});

test('--tls-min-version 1.3 refuses a TLS 1.2 client and serves a TLS 1.3 one', async (t) => {
  const pki = makePki(t);
  const bridge = await startTls(t, pki, ['--tls-min-version', '1.3']);
  const get = (maxVersion) => withDeadline(new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: bridge.port, path: '/healthz', ca: pki.ca, maxVersion, agent: false },
      (res) => { res.resume(); resolve({ status: res.statusCode, version: res.socket.getProtocol() }); });
    req.on('error', reject);
  }), 5000, `GET /healthz with ${maxVersion}`);
  await assert.rejects(get('TLSv1.2'), /version|alert|handshake|EPROTO/i);
  assert.deepEqual(await get('TLSv1.3'), { status: 200, version: 'TLSv1.3' });
});

test('an unreadable certificate stops the bridge at start with a message', async (t) => {
  const p = new Proc('trainbridge', binary('trainbridge'), ['--listen', '127.0.0.1:0', '--zmq-bind', 'tcp://127.0.0.1:*',
    '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], { t });
  const st = await p.waitExit(10000);
  assert.notEqual(st.code, 0, p.describe());
});
