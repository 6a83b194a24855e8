// The dashboard over TLS in Chromium: the bridge serves https/wss on its one
// listener (--tls-cert/--tls-key, a CA and certificate made by the test).
// Chromium trusts exactly that server key (--ignore-certificate-errors-spki-
// list, the pin of the certificate's public key, since the test cannot add
// a CA to the browser's store): the page loads over https, connects with the
// default transports (polling over https, then wss) and shows a run. The same
// browser without the pin refuses the certificate.
import test from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startBridge, startSim, makePki } from '../node/harness.mjs';
import { CHROMIUM, openPage, waitState, waitRuns, assertClean } from './browser.mjs';

async function launchPinned(t, spki) {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];
  if (spki) args.push(`--ignore-certificate-errors-spki-list=${spki}`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args, timeout: 30000 });
  t.after(() => browser.close());
  return browser;
}

test('the page over https, its socket over wss, a run shown; without the pin the certificate is refused', async (t) => {
  const pki = makePki(t);
  const bridge = await startBridge(t, ['--tls-cert', pki.cert, '--tls-key', pki.key], { tlsCa: pki.ca });
  assert.match(bridge.url, /^https:/);

  const browser = await launchPinned(t, pki.spkiSha256);
  const page = await openPage(browser, `${bridge.url}/`);
  await waitState(page, 'connected');
  assert.ok(page.requests.some((u) => u.startsWith(`${bridge.url}/socket.io/?EIO=4&transport=polling`)), 'no https long-polling');
  const sim = startSim(t, bridge, { scenarios: ['tls-page'], trainer: 'tls-sim', episodes: 20, rate: 20 });
  await waitRuns(page, (runs) => runs.some((r) => r.scenario === 'tls-page' && r.state === 'completed'), {
    what: 'the run to complete in the page',
  });
  assert.equal((await sim.waitExit(10000)).code, 0, sim.describe());
  assert.ok(page.websockets.some((u) => u.startsWith('wss://127.0.0.1:')), `no wss socket: ${page.websockets}`);
  assertClean(page);

  const plain = await launchPinned(t, null);
  const refused = await plain.newPage();
  await assert.rejects(refused.goto(`${bridge.url}/`, { timeout: 15000 }), /ERR_CERT_AUTHORITY_INVALID/);
});
