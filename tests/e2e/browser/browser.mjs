// browser: what the dashboard's browser tests share. Debian's Chromium
// driven by playwright-core (which never downloads a browser: it is given
// /usr/bin/chromium, or TB_CHROMIUM). Every page opened here records its
// console errors, uncaught exceptions, requests to any other origin and
// failed requests; the test hook window.__trainbridge is read through
// hook(). Builds on ../node/harness.mjs (bridge, trainsim, clients).

import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { BIN_DIR, waitUntil } from '../node/harness.mjs';

export const CHROMIUM = process.env.TB_CHROMIUM || '/usr/bin/chromium';
// Screenshots and figures go to the build directory (TB_BIN_DIR's parent).
export const BUILD_DIR = process.env.TB_BUILD_DIR || path.dirname(BIN_DIR);

export async function launch(t) {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (deploy/install-deps.sh)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 30000,
  });
  t.after(() => browser.close());
  return browser;
}

// Opens url in a new page (1400x900) and starts recording what went wrong.
export async function openPage(browser, url, { wait = true } = {}) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const origin = new URL(url).origin;
  page.problems = { console: [], errors: [], foreign: [], failed: [] };
  page.requests = [];
  page.websockets = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') page.problems.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.errors.push(e.message));
  page.on('request', (r) => {
    page.requests.push(r.url());
    const u = new URL(r.url());
    const sameOrigin = u.origin === origin || `${u.protocol === 'ws:' ? 'http:' : 'https:'}//${u.host}` === origin;
    if (!sameOrigin && u.protocol !== 'data:') page.problems.foreign.push(r.url());
  });
  page.on('requestfailed', (r) => page.problems.failed.push(`${r.url()}: ${r.failure() && r.failure().errorText}`));
  page.on('websocket', (ws) => {
    page.websockets.push(ws.url());
    if (new URL(ws.url()).host !== new URL(url).host) page.problems.foreign.push(ws.url());
  });
  if (wait) {
    await page.goto(url, { waitUntil: 'load', timeout: 15000 });
    await page.waitForFunction(() => window.__trainbridge !== undefined, null, { timeout: 10000 });
  }
  return page;
}

// Asserts the page has logged no console error or warning, thrown nothing
// and asked no other origin for anything. Failed requests are allowed only
// where a test expects them (a bridge that went away).
export function assertClean(page, { allowFailed = false } = {}) {
  const p = page.problems;
  assert.deepEqual(p.errors, [], 'uncaught exceptions in the page');
  assert.deepEqual(p.console, [], 'console errors or warnings');
  assert.deepEqual(p.foreign, [], 'requests to another origin');
  if (!allowFailed) assert.deepEqual(p.failed, [], 'failed requests');
}

// The hook's view: {state, runs, stats}.
export function hook(page) {
  return page.evaluate(() => ({
    state: window.__trainbridge.state,
    runs: window.__trainbridge.runs(),
    stats: window.__trainbridge.stats(),
  }));
}

export function points(page, id) {
  return page.evaluate((runId) => window.__trainbridge.points(runId), id);
}

export async function waitState(page, states, timeoutMs = 15000) {
  const want = [].concat(states);
  return waitUntil(async () => {
    const s = await page.evaluate(() => window.__trainbridge.state.connection);
    return want.includes(s) ? s : null;
  }, { timeoutMs, intervalMs: 50, what: `page connection state ${want.join('|')}` });
}

// Waits until the page knows runs matching pred(runs) -> truthy.
export async function waitRuns(page, pred, { timeoutMs = 30000, what = 'runs in the page' } = {}) {
  let last = [];
  return waitUntil(async () => {
    last = (await hook(page)).runs;
    return pred(last) ? last : null;
  }, { timeoutMs, intervalMs: 100, what, detail: () => JSON.stringify(last.map((r) => [r.scenario, r.trainer, r.state, r.episode])) });
}

// The progress events a reference client received for (scenario, trainer),
// as the page's columns.
export function referenceColumns(rec, scenario, trainer, columns) {
  const out = {};
  for (const c of columns) out[c] = [];
  for (const e of rec.events) {
    if (e.event !== 'training_progress' || e.meta.scenario_name !== scenario || e.meta.trainer !== trainer) continue;
    for (const c of columns) out[c].push(c === 'ts' ? e.meta.ts : e.payload[c]);
  }
  return out;
}

// Decodes a PNG in a blank page (no CSP there) and counts its colours and
// the share of pixels unlike the most common one.
export async function pngFigures(browser, png) {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const counts = new Map();
      for (let i = 0; i < d.length; i += 4) {
        const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
        counts.set(k, (counts.get(k) || 0) + 1);
      }
      const top = Math.max(...counts.values());
      return { width: c.width, height: c.height, colours: counts.size, notBackground: 1 - top / (d.length / 4) };
    }, png.toString('base64'));
  } finally {
    await page.close();
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// Frame intervals measured in the page by requestAnimationFrame, until
// stop() is called: {n, p50, p99, max, longTasks}.
export async function startFrameMeter(page) {
  await page.evaluate(() => {
    const m = { intervals: [], longTasks: 0, longTaskMs: 0, running: true, last: performance.now() };
    window.__frameMeter = m;
    const tick = (t) => {
      m.intervals.push(t - m.last);
      m.last = t;
      if (m.running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          m.longTasks++;
          m.longTaskMs += e.duration;
        }
      }).observe({ type: 'longtask', buffered: false });
    } catch {
      /* no longtask timing */
    }
  });
  return async () => {
    const m = await page.evaluate(() => {
      window.__frameMeter.running = false;
      return window.__frameMeter;
    });
    const s = m.intervals.slice(1).sort((a, b) => a - b);
    return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1], longTasks: m.longTasks, longTaskMs: m.longTaskMs };
  };
}
