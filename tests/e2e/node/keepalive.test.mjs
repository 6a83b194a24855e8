// HTTP keep-alive with Node's own client, the way node-fetch 3 and Node 20's
// global agent use it: one agent reuses connections, and requests that send
// "Connection: close" must get a response that says so, or the agent reuses a
// socket the bridge is closing and the next request dies ("socket hang up").
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { startBridge, pollingPackets } from './harness.mjs';

function request(agent, port, method, urlPath, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent, timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text, socket: req.reusedSocket }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer`)));
    req.on('error', reject);
    req.end(body);
  });
}

test('a keep-alive agent sending Connection: close never meets a dead socket', async (t) => {
  const bridge = await startBridge(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const close = { Connection: 'close' };
  const targets = ['/healthz', '/metrics', '/nowhere', '/socket.io/?EIO=3&transport=polling', '/socket.io/?EIO=4&transport=polling'];
  for (let i = 0; i < 40; i++) {
    const r = await request(agent, bridge.port, 'GET', targets[i % targets.length], { headers: i % 2 ? close : {} });
    assert.ok([200, 400, 404].includes(r.status), `request ${i}: ${r.status}`);
    if (i % 2) assert.equal(r.headers.connection, 'close', `request ${i} asked to close`);
  }
});

test('handshake, post and poll reuse one kept-alive connection', async (t) => {
  const bridge = await startBridge(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const base = '/socket.io/?EIO=4&transport=polling';
  const h = await request(agent, bridge.port, 'GET', base);
  const sid = JSON.parse(pollingPackets(h.body)[0].slice(1)).sid;
  const post = await request(agent, bridge.port, 'POST', `${base}&sid=${sid}`, { body: '40', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(post.body, 'ok');
  assert.equal(post.socket, true, 'the POST went over the handshake\'s connection');
  const poll = await request(agent, bridge.port, 'GET', `${base}&sid=${sid}`);
  assert.ok(pollingPackets(poll.body)[0].startsWith('40{'), poll.body);
  assert.equal(poll.socket, true, 'the poll went over the same connection');
});
