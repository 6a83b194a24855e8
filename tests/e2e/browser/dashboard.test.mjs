// The dashboard page in a real browser (Debian's Chromium via
// playwright-core): served by the real bridge, fed by real trainsim
// publishers, checked against what a reference socket.io-client received.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import crypto from 'node:crypto';
import path from 'node:path';
import { startBridge, startSim, connectClient, httpGet, waitUntil } from '../node/harness.mjs';
import {
  BUILD_DIR, launch, openPage, assertClean, hook, points, waitState, waitRuns,
  referenceColumns, pngFigures, startFrameMeter, percentile,
} from './browser.mjs';

const COLUMNS = ['episode', 'ts', 'elapsed_time', 'avg_reward', 'stability', 'goal_adherence', 'avg_cash', 'avg_invested', 'avg_duration'];
const HISTORY_COLUMNS = COLUMNS.filter((c) => c !== 'ts');
// While a bridge is down, Chromium logs the refused connections itself.
const BRIDGE_DOWN = /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed|Failed to load resource/;
// A refused CONNECT ends the session while the client may still have a
// WebSocket upgrade probe or a poll in flight; Chromium logs those.
const REFUSED_SESSION = /WebSocket connection to .* failed: WebSocket is closed before the connection is established|Failed to load resource: the server responded with a status of 400/;

// A socket.io-client in every room, without history: what was published.
async function reference(t, bridge) {
  const sock = await connectClient(t, bridge);
  const ack = await sock.timeout(5000).emitWithAck('subscribe_training', { scenario_name: '*', history: 'none' });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  return sock;
}

const runOf = (runs, scenario, trainer) => runs.find((r) => r.scenario === scenario && r.trainer === trainer);
const isTerminal = (r) => r && ['completed', 'stopped', 'error'].includes(r.state);

test('the page loads from the bridge: no console errors, no other origin, default transports, cached assets', async (t) => {
  const bridge = await startBridge(t);
  const r = await httpGet(bridge.port, '/', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(r.headers.vary, 'Accept-Encoding');
  assert.match(r.headers['content-security-policy'], /default-src 'self'/);
  assert.match(r.headers.etag, /^"[0-9a-f]{16}-gz"$/);
  assert.equal(r.headers['cache-control'], 'no-cache');

  const browser = await launch(t);
  const page = await openPage(browser, `${bridge.url}/`);
  await waitState(page, 'connected');
  await waitUntil(() => page.evaluate(() => window.__trainbridge.socket.io.engine.transport.name === 'websocket'), {
    timeoutMs: 10000, what: 'the upgrade to WebSocket',
  });
  assert.ok(page.requests.some((u) => u.includes('/socket.io/?EIO=4&transport=polling')), 'no long-polling handshake');
  assert.ok(page.websockets.some((u) => u.includes('transport=websocket')), 'no WebSocket');
  assert.equal(await page.locator('#conn').textContent(), 'connected');
  const { state } = await hook(page);
  t.diagnostic(`connection detail: ${state.detail}`);

  // A reload revalidates the files: 304s, no bodies.
  const before = (await bridge.metrics()).get('trainbridge_dashboard_not_modified_total');
  await page.reload({ waitUntil: 'load' });
  await waitState(page, 'connected');
  const after = (await bridge.metrics()).get('trainbridge_dashboard_not_modified_total');
  assert.ok(after > before, `no 304 on reload (${before} -> ${after})`);
  assertClean(page);
});

test('two scenarios from trainsim: the charts grow with exactly what was published, badges end completed/stopped/error', async (t) => {
  const bridge = await startBridge(t);
  const ref = await reference(t, bridge);
  const browser = await launch(t);
  const page = await openPage(browser, `${bridge.url}/`);
  await waitState(page, 'connected');

  const sims = [
    startSim(t, bridge, { scenarios: ['alpha', 'beta'], trainer: 'sim-a', episodes: 40, rate: 10 }),
    startSim(t, bridge, { scenarios: ['alpha'], trainer: 'sim-b', episodes: 40, rate: 10, stopAt: 25 }),
    startSim(t, bridge, { scenarios: ['beta'], trainer: 'sim-c', episodes: 40, rate: 10, failAt: 30 }),
  ];
  const keys = [['alpha', 'sim-a'], ['beta', 'sim-a'], ['alpha', 'sim-b'], ['beta', 'sim-c']];
  const seen = new Map(keys.map((k) => [k.join('/'), []])); // [{state, points}]
  await waitUntil(async () => {
    const { runs } = await hook(page);
    for (const [s, tr] of keys) {
      const r = runOf(runs, s, tr);
      if (r) seen.get(`${s}/${tr}`).push({ state: r.state, points: r.points });
    }
    return keys.every(([s, tr]) => isTerminal(runOf(runs, s, tr)));
  }, { timeoutMs: 30000, intervalMs: 100, what: 'four runs to end in the page' });
  for (const sim of sims) assert.equal((await sim.waitExit(10000)).code, 0, sim.describe());

  for (const [key, samples] of seen) {
    const running = samples.filter((x) => x.state === 'running').map((x) => x.points);
    assert.ok(new Set(running).size >= 3, `${key}: the curve did not grow while running (${running.join(',')})`);
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i].points >= samples[i - 1].points, `${key}: points went down`);
  }
  const { runs } = await hook(page);
  assert.equal(runs.length, 4);
  const expected = { 'alpha/sim-a': 'completed', 'beta/sim-a': 'completed', 'alpha/sim-b': 'stopped', 'beta/sim-c': 'error' };
  for (const [s, tr] of keys) {
    const r = runOf(runs, s, tr);
    assert.equal(r.state, expected[`${s}/${tr}`]);
    const got = await points(page, r.id);
    const want = referenceColumns(ref.rec, s, tr, COLUMNS);
    assert.ok(want.episode.length >= 25, `${s}/${tr}: reference has ${want.episode.length}`);
    assert.deepEqual(got, want, `${s}/${tr}: chart data differs from what was published`);
    const badge = await page.locator(`.run[data-run="${r.id}"] .badge`).textContent();
    assert.equal(badge, r.state);
  }
  const failed = runOf(runs, 'beta', 'sim-c');
  const refError = ref.rec.events.find((e) => e.event === 'training_error');
  assert.deepEqual(failed.terminal.payload, refError.payload);
  const errorText = await page.locator(`.run[data-run="${failed.id}"] .error`).textContent();
  assert.ok(errorText.includes(refError.payload.message) && errorText.includes(refError.payload.details));
  const canvases = await page.locator('#charts canvas').count();
  assert.equal(canvases, 6, 'one chart per metric');
  const titles = await page.locator('#charts h3').allTextContents();
  assert.deepEqual(titles, ['avg_reward', 'stability', 'goal_adherence', 'avg_cash', 'avg_invested', 'avg_duration']);

  await page.waitForTimeout(300); // the last frame
  const shot = path.join(BUILD_DIR, 'dashboard.png');
  const png = await page.screenshot({ path: shot });
  const fig = await pngFigures(browser, png);
  await page.bringToFront(); // a page in the background gets no animation frames
  t.diagnostic(`screenshot ${shot}: ${fig.width}x${fig.height}, ${fig.colours} colours, ${(fig.notBackground * 100).toFixed(1)} % not background`);
  assert.ok(fig.colours > 100 && fig.notBackground > 0.05, `blank screenshot: ${JSON.stringify(fig)}`);
  if (process.env.TB_DOCS_SCREENSHOT) fs.copyFileSync(shot, process.env.TB_DOCS_SCREENSHOT);

  // The controls: hover shows exact values, the other x axes and the
  // smoothing slider redraw, a scenario filters the run list and charts.
  const plot = page.locator('.chart[data-metric="avg_reward"] .u-over');
  const box = await plot.boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  const tip = page.locator('.chart[data-metric="avg_reward"] .tip');
  await tip.waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await tip.textContent(), /episode \d+.*alpha\/sim-a: -?\d/s);
  for (const axis of ['relative', 'wall', 'episode']) {
    const draws = (await hook(page)).stats.draws;
    await page.selectOption('#xaxis', axis);
    await waitUntil(async () => (await hook(page)).stats.draws > draws, {
      timeoutMs: 10000, what: `a redraw with the ${axis} x axis`, detail: () => JSON.stringify(page.problems),
    });
  }
  await page.locator('#smoothing').fill('0.95');
  assert.equal(await page.locator('#smoothing-value').textContent(), '0.95');
  await page.selectOption('#scenario', 'beta');
  await waitUntil(async () => (await page.locator('#runs h2').allTextContents()).join() === 'beta', { what: 'only beta listed' });
  assert.equal(await page.locator('#runs .run').count(), 2);
  assertClean(page);
});

test('a page opened mid-run shows the run so far (history, where the bridge has it) and continues without a gap', async (t) => {
  const bridge = await startBridge(t);
  const ref = await reference(t, bridge);
  const browser = await launch(t);
  const sim = startSim(t, bridge, { scenarios: ['gamma'], trainer: 'sim-m', episodes: 300, rate: 30 });
  await ref.rec.waitCount(40, { filter: (e) => e.event === 'training_progress', timeoutMs: 15000 });
  const page = await openPage(browser, `${bridge.url}/`);
  await waitState(page, ['connected', 'replaying']);
  assert.ok(!ref.rec.events.some((e) => e.event === 'training_completed'), 'the run ended before the page connected');
  const runs = await waitRuns(page, (rs) => runOf(rs, 'gamma', 'sim-m')?.state === 'completed', { what: 'gamma to complete in the page' });
  assert.equal((await sim.waitExit(10000)).code, 0);
  const run = runOf(runs, 'gamma', 'sim-m');
  const got = await points(page, run.id);
  const want = referenceColumns(ref.rec, 'gamma', 'sim-m', HISTORY_COLUMNS);
  const { state } = await hook(page);
  if (state.historyRuns !== null) {
    for (const c of HISTORY_COLUMNS) assert.deepEqual(got[c], want[c], `${c}: history + live differ from what was published`);
    t.diagnostic(`history: ${state.historyRuns} runs replayed; the page holds all ${got.episode.length} episodes`);
  } else {
    // A bridge without run history sends live events only: the page starts
    // where it joined, and from there nothing is missing.
    const from = want.episode.indexOf(got.episode[0]);
    assert.ok(got.episode[0] > 1 && from > 0, `the page joined at episode ${got.episode[0]}`);
    for (const c of HISTORY_COLUMNS) assert.deepEqual(got[c], want[c].slice(from), `${c}: a gap after joining`);
    t.diagnostic(`bridge without history: the page joined at episode ${got.episode[0]} and has every episode since`);
  }
  assertClean(page);
});

test('the page reconnects by itself after the bridge restarts and after a dropped connection', async (t) => {
  let bridge = await startBridge(t);
  const port = bridge.port;
  const browser = await launch(t);
  const page = await openPage(browser, `${bridge.url}/`);
  await waitState(page, 'connected');
  await startSim(t, bridge, { scenarios: ['delta'], trainer: 'before', episodes: 10, rate: 0 }).waitExit(10000);
  await waitRuns(page, (rs) => runOf(rs, 'delta', 'before')?.state === 'completed');

  await bridge.stop();
  await waitState(page, 'reconnecting', 10000);
  bridge = await startBridge(t, ['--listen', `127.0.0.1:${port}`]);
  await waitState(page, 'connected', 30000);
  await startSim(t, bridge, { scenarios: ['delta'], trainer: 'after', episodes: 10, rate: 0 }).waitExit(10000);
  const runs = await waitRuns(page, (rs) => runOf(rs, 'delta', 'after')?.state === 'completed', { what: 'a run published after the restart' });
  assert.equal(runOf(runs, 'delta', 'before').points, 10, 'the page lost the curve it had');
  assert.equal(runOf(runs, 'delta', 'after').points, 10);

  // A dropped connection in the middle of a run: the client reconnects by
  // itself ("recovered" only when the bridge restored the session); with
  // run history the re-subscribe fills the gap, so the page ends up with
  // every episode, exactly once.
  const ref = await reference(t, bridge);
  const sim = startSim(t, bridge, { scenarios: ['delta'], trainer: 'dropped', episodes: 200, rate: 40 });
  await ref.rec.waitCount(40, { filter: (e) => e.event === 'training_progress', timeoutMs: 15000 });
  await page.evaluate(() => window.__trainbridge.socket.io.engine.close());
  await waitUntil(() => page.evaluate(() => window.__trainbridge.socket.connected), { timeoutMs: 15000, what: 'the reconnect' });
  const st = await waitState(page, ['connected', 'recovered']);
  assert.equal(st === 'recovered', await page.evaluate(() => Boolean(window.__trainbridge.socket.recovered)));
  assert.equal((await sim.waitExit(20000)).code, 0);
  const done = await waitRuns(page, (rs) => runOf(rs, 'delta', 'dropped')?.state === 'completed', { what: 'the run across the drop' });
  const got = await points(page, runOf(done, 'delta', 'dropped').id);
  const want = referenceColumns(ref.rec, 'delta', 'dropped', HISTORY_COLUMNS);
  const { state } = await hook(page);
  if (st === 'recovered' || state.historyRuns !== null) {
    for (const c of HISTORY_COLUMNS) assert.deepEqual(got[c], want[c], `${c}: a gap or a duplicate across the drop`);
  } else {
    const missing = want.episode.filter((e) => !got.episode.includes(e));
    assert.ok(got.episode.every((e, i) => i === 0 || e > got.episode[i - 1]), 'episodes out of order');
    t.diagnostic(`bridge without history or recovery: ${missing.length} episodes missed while reconnecting`);
  }
  t.diagnostic(`after a dropped connection: ${st}, ${got.episode.length} of ${want.episode.length} episodes`);
  page.problems.console = page.problems.console.filter((m) => !BRIDGE_DOWN.test(m));
  assertClean(page, { allowFailed: true });
});

test('a token in the URL fragment goes to session storage and into the CONNECT auth', async (t) => {
  const bridge = await startBridge(t);
  const browser = await launch(t);
  const page = await openPage(browser, `${bridge.url}/#token=s3cret%2Fx`);
  await waitState(page, 'connected');
  const seen = await page.evaluate(async () => ({
    stored: sessionStorage.getItem('trainbridge.token'),
    hash: location.hash,
    auth: await new Promise((resolve) => window.__trainbridge.socket.auth(resolve)),
  }));
  assert.deepEqual(seen, { stored: 's3cret/x', hash: '', auth: { token: 's3cret/x' } });
  assertClean(page);
});

// An HS256 JSON Web Token, signed here with node:crypto.
function jwt(claims, key) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${crypto.createHmac('sha256', key).update(body).digest('base64url')}`;
}

async function waitReason(page, re) {
  return waitUntil(async () => {
    const st = await page.evaluate(() => window.__trainbridge.state);
    return st.connection === 'refused' && re.test(await page.locator('#auth-reason').textContent()) && st;
  }, { timeoutMs: 15000, what: `the page to show a refusal matching ${re}` });
}

test('tokens: a missing or bad token shows the reason and a form; a good one from the form or the URL fragment connects', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-dash-auth-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = crypto.randomBytes(32).toString('base64url');
  fs.writeFileSync(path.join(dir, 'jwt.secret'), key);
  const bridge = await startBridge(t, ['--auth-jwt-secret', path.join(dir, 'jwt.secret')]);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const good = jwt({ scenarios: ['*'], exp }, key);
  const browser = await launch(t);

  const page = await openPage(browser, `${bridge.url}/`);
  await waitReason(page, /missing/);
  assert.ok(await page.locator('#auth').isVisible(), 'no token form');
  await page.fill('#auth-token', jwt({ scenarios: ['*'], exp }, 'another key of at least thirty-two bytes'));
  await page.click('#auth button');
  await waitReason(page, /signature/);
  await page.fill('#auth-token', good);
  await page.click('#auth button');
  await waitState(page, 'connected');
  assert.ok(await page.locator('#auth').isHidden(), 'the form stayed');
  await startSim(t, bridge, { scenarios: ['omega'], trainer: 'authed', episodes: 5, rate: 0 }).waitExit(10000);
  await waitRuns(page, (rs) => runOf(rs, 'omega', 'authed')?.state === 'completed', { what: 'a run through an authenticated page' });
  page.problems.console = page.problems.console.filter((m) => !REFUSED_SESSION.test(m));
  assertClean(page);

  const fromUrl = await openPage(browser, `${bridge.url}/#token=${good}`);
  await waitState(fromUrl, 'connected');
  assert.equal(await fromUrl.evaluate(() => location.hash), '');
  assertClean(fromUrl);

  const narrow = await openPage(browser, `${bridge.url}/#token=${jwt({ scenarios: ['alpha'], exp }, key)}`);
  await waitReason(narrow, /forbidden/);
  assertClean(narrow);
});

test('1000 events/s for 20 s: the page keeps drawing and its data is complete', async (t) => {
  const bridge = await startBridge(t);
  const browser = await launch(t);
  const page = await openPage(browser, `${bridge.url}/`);
  await waitState(page, 'connected');
  const scenarios = Array.from({ length: 10 }, (_, i) => `flood${i}`);
  const episodes = 2000;
  const stopMeter = await startFrameMeter(page);
  const t0 = Date.now();
  const sim = startSim(t, bridge, { scenarios, trainer: 'flood', episodes, rate: 100 });
  const rtts = [];
  while (sim.running && Date.now() - t0 < 60000) {
    const s = performance.now();
    await page.evaluate(() => window.__trainbridge.state.events);
    rtts.push(performance.now() - s);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal((await sim.waitExit(30000)).code, 0, sim.describe());
  const seconds = (Date.now() - t0) / 1000;
  const runs = await waitRuns(page, (rs) => rs.filter((r) => r.state === 'completed').length === scenarios.length, { what: 'every flood run to complete' });
  const frames = await stopMeter();
  const { stats, state } = await hook(page);
  for (const r of runs) {
    assert.equal(r.received, episodes, `${r.scenario}: ${r.received} of ${episodes} events`);
    const got = await points(page, r.id);
    assert.deepEqual(got.episode, Array.from({ length: episodes }, (_, i) => i + 1), `${r.scenario}: episodes missing`);
  }
  rtts.sort((a, b) => a - b);
  const events = scenarios.length * episodes;
  console.log(`dashboard flood: ${events} progress events in ${seconds.toFixed(1)} s (${Math.round(events / seconds)}/s offered), ` +
    `${state.events} events in the page; frames ${frames.n}, frame interval p50 ${frames.p50.toFixed(1)} ms p99 ${frames.p99.toFixed(1)} ms ` +
    `max ${frames.max.toFixed(1)} ms; long tasks ${frames.longTasks} (${frames.longTaskMs.toFixed(0)} ms); chart redraws ${stats.draws} ` +
    `(mean ${(stats.drawMsTotal / stats.draws).toFixed(1)} ms, max ${stats.drawMsMax.toFixed(1)} ms); ` +
    `page round trip p50 ${percentile(rtts, 50).toFixed(1)} ms p99 ${percentile(rtts, 99).toFixed(1)} ms; ` +
    `load average ${os.loadavg()[0].toFixed(1)}`);
  assert.ok(frames.n >= 100, `only ${frames.n} animation frames in ${seconds} s`);
  assertClean(page);
});

test('benchmark: publish -> point in the page, p50/p99 over 1000 events with 1 page', async (t) => {
  const bridge = await startBridge(t);
  const browser = await launch(t);
  const page = await openPage(browser, `${bridge.url}/`);
  await waitState(page, 'connected');
  await page.evaluate(() => window.__trainbridge.resetLatency());
  const stopMeter = await startFrameMeter(page);
  const sim = startSim(t, bridge, { scenarios: ['lat'], trainer: 'lat', episodes: 1000, rate: 200 });
  assert.equal((await sim.waitExit(30000)).code, 0);
  await waitRuns(page, (rs) => runOf(rs, 'lat', 'lat')?.state === 'completed');
  const lat = await waitUntil(async () => {
    const l = await page.evaluate(() => window.__trainbridge.latency());
    return l.drawn.length >= 1000 ? l : null;
  }, { timeoutMs: 10000, what: 'every point drawn' });
  assert.equal(lat.arrival.length, 1000);
  const frames = await stopMeter();
  const { stats } = await hook(page);
  const worst = lat.arrival.map((us, i) => [i, Math.round(us / 1000)]).sort((a, b) => b[1] - a[1]).slice(0, 12);
  t.diagnostic(`slowest arrivals [event index, ms]: ${JSON.stringify(worst)}`);
  const ms = (a) => a.map((us) => us / 1000).sort((x, y) => x - y);
  const arrival = ms(lat.arrival);
  const drawn = ms(lat.drawn);
  console.log(`dashboard latency over ${arrival.length} events at 200/s: publish -> page data p50 ${percentile(arrival, 50).toFixed(2)} ms ` +
    `p99 ${percentile(arrival, 99).toFixed(2)} ms max ${arrival[arrival.length - 1].toFixed(2)} ms; publish -> drawn p50 ` +
    `${percentile(drawn, 50).toFixed(2)} ms p99 ${percentile(drawn, 99).toFixed(2)} ms (${drawn.length} points); ` +
    `${stats.draws} redraws (mean ${(stats.drawMsTotal / stats.draws).toFixed(1)} ms of script), frame interval p50 ` +
    `${frames.p50.toFixed(1)} ms p99 ${frames.p99.toFixed(1)} ms; load average ${os.loadavg()[0].toFixed(1)}`);
  assertClean(page);
});
