// SIGTERM / SIGINT with clients connected: every client sees the close, the
// bridge exits 0 within about a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBridge, connectClient, subscribe, RawClient, withDeadline, startSim, uniqueName,
} from './harness.mjs';

const EXIT_BUDGET_MS = 1500; // the contract says "within a second"; 0.5 s slack for a loaded CI box

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`${sig} with clients connected: Engine.IO close to each, exit 0 within a second`, async (t) => {
    const bridge = await startBridge(t);
    const s = uniqueName('sig');
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const c = await connectClient(t, bridge);
      await subscribe(c, i === 2 ? '*' : s);
      clients.push(c);
    }
    const raw = await RawClient.open(t, bridge);
    await raw.sioConnect();
    await raw.subscribe(s);
    // traffic in flight when the signal comes
    const sim = startSim(t, bridge, { scenarios: s, episodes: 100000, rate: 500 });
    await clients[0].rec.waitCount(3, { what: 'traffic before the signal' });

    const disconnects = clients.map((c) => withDeadline(new Promise((r) => c.once('disconnect', r)), 5000, 'client disconnect'));
    const t0 = Date.now();
    bridge.proc.signal(sig);
    const st = await bridge.proc.waitExit(5000, `trainbridge to exit after ${sig}`);
    const elapsed = bridge.proc.exitedAt - t0;
    assert.deepEqual(st, { code: 0, signal: null }, `exit status after ${sig}\n${bridge.describe()}`);
    assert.ok(elapsed <= EXIT_BUDGET_MS, `exited ${elapsed} ms after ${sig}`);
    t.diagnostic(`exited ${elapsed} ms after ${sig}`);

    const reasons = await Promise.all(disconnects);
    for (const r of reasons) assert.ok(['io server disconnect', 'transport close'].includes(r), `disconnect reason ${r}`);
    await raw.waitClosed(5000);
    const texts = raw.texts();
    assert.ok(texts.includes('1'), `raw client saw no Engine.IO close packet "1"; last frames ${JSON.stringify(texts.slice(-3))}`);
    assert.equal(bridge.proc.stdout.trim().split('\n').length, 1, `stdout has more than the ready line: ${bridge.proc.stdout}`);
    sim.signal('SIGTERM');
    await sim.waitExit(5000);
  });
}

test('SIGTERM on an idle bridge exits 0 at once', async (t) => {
  const bridge = await startBridge(t);
  const t0 = Date.now();
  bridge.proc.signal('SIGTERM');
  const st = await bridge.proc.waitExit(5000);
  assert.deepEqual(st, { code: 0, signal: null }, `exit status after SIGTERM\n${bridge.describe()}`);
  assert.ok(bridge.proc.exitedAt - t0 <= EXIT_BUDGET_MS, `exited ${bridge.proc.exitedAt - t0} ms after SIGTERM`);
});
