// How the bridge serves the dashboard's files over HTTP (no browser):
// --no-dashboard, --web-root, refused paths, ETag revalidation, gzip, keep-alive.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import http from 'node:http';
import { startBridge, httpGet, httpRequest } from '../node/harness.mjs';

function getRaw(port, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('every file of the page: type, gzip that inflates to the identity body, ETag and 304', async (t) => {
  const bridge = await startBridge(t);
  const files = {
    '/': 'text/html; charset=utf-8',
    '/dashboard/app.js': 'text/javascript; charset=utf-8',
    '/dashboard/store.js': 'text/javascript; charset=utf-8',
    '/dashboard/chart.js': 'text/javascript; charset=utf-8',
    '/dashboard/app.css': 'text/css; charset=utf-8',
    '/dashboard/vendor/socket.io.esm.min.js': 'text/javascript; charset=utf-8',
    '/dashboard/vendor/uPlot.esm.js': 'text/javascript; charset=utf-8',
    '/dashboard/vendor/uPlot.min.css': 'text/css; charset=utf-8',
  };
  for (const [p, type] of Object.entries(files)) {
    const plain = await getRaw(bridge.port, p);
    assert.equal(plain.status, 200, p);
    assert.equal(plain.headers['content-type'], type, p);
    assert.equal(plain.headers['content-encoding'], undefined, p);
    assert.equal(plain.headers.vary, 'Accept-Encoding', p);
    assert.equal(plain.headers['x-content-type-options'], 'nosniff', p);
    assert.match(plain.headers['content-security-policy'], /^default-src 'self'; script-src 'self'/, p);
    const gz = await getRaw(bridge.port, p, { 'accept-encoding': 'gzip, br' });
    assert.equal(gz.headers['content-encoding'], 'gzip', p);
    assert.ok(gz.body.length < plain.body.length, `${p}: gzip is not smaller`);
    assert.deepEqual(zlib.gunzipSync(gz.body), plain.body, `${p}: gzip differs`);
    const again = await getRaw(bridge.port, p, { 'if-none-match': plain.headers.etag });
    assert.equal(again.status, 304, p);
    assert.equal(again.body.length, 0, p);
  }
  const m = await bridge.metrics();
  assert.equal(m.get('trainbridge_dashboard_responses_total'), 16);
  assert.equal(m.get('trainbridge_dashboard_not_modified_total'), 8);
});

test('refused and unknown paths; other methods; /healthz and /metrics are not the page', async (t) => {
  const bridge = await startBridge(t);
  assert.equal((await httpGet(bridge.port, '/dashboard/.env')).status, 400);
  assert.equal((await httpGet(bridge.port, '/dashboard/a%20b.js')).status, 400);
  assert.equal((await httpGet(bridge.port, '/dashboard/nothing.js')).status, 404);
  assert.equal((await httpGet(bridge.port, '/favicon.ico')).status, 404);
  assert.equal((await httpRequest(bridge.port, 'POST', '/', { body: 'x' })).status, 405);
  assert.equal((await httpGet(bridge.port, '/healthz')).body, 'ok\n');
  const m = await bridge.metrics();
  assert.equal(m.get('trainbridge_dashboard_refused_total'), 2);
  assert.equal(m.get('trainbridge_dashboard_not_found_total'), 1);
});

test('--no-dashboard answers 404; --web-root serves a directory and falls back to the built-in libraries', async (t) => {
  const off = await startBridge(t, ['--no-dashboard']);
  assert.equal((await httpGet(off.port, '/')).status, 404);
  assert.equal((await httpGet(off.port, '/dashboard/app.js')).status, 404);
  await off.stop();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-web-root-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'index.html'), '<p>working copy</p>');
  const dev = await startBridge(t, ['--web-root', dir]);
  const page = await httpGet(dev.port, '/', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(page.body, '<p>working copy</p>');
  fs.writeFileSync(path.join(dir, 'index.html'), '<p>edited</p>');
  assert.equal((await httpGet(dev.port, '/')).body, '<p>edited</p>');
  assert.equal((await httpGet(dev.port, '/dashboard/vendor/uPlot.min.css')).status, 200);
  assert.equal((await httpGet(dev.port, '/dashboard/app.js')).status, 404);
});

test('a --web-root that is not a directory stops the bridge with a clear message', async (t) => {
  await assert.rejects(startBridge(t, ['--web-root', '/nonexistent/tb-web']), /not a readable directory/);
});
