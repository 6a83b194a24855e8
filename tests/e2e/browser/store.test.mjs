// The dashboard's store (bridge/web/store.js) without a browser: runs from
// events, merge of replayed history, bounded curves, TensorBoard smoothing.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Store, smooth, decimate, MAX_POINTS } from '../../../bridge/web/store.js';

const meta = (seq, extra = {}) => ({ scenario_name: 'alpha', trainer: 't1', seq, ts: 1e15 + seq, ...extra });
const progress = (episode, reward = episode) => ({
  episode, total_episodes: 10, avg_reward: reward, avg_duration: 1.5, avg_cash: 2.5,
  avg_invested: 3.5, stability: 0.5, goal_adherence: 0.25, elapsed_time: episode * 0.5,
});
const started = (time = '2026-12-04T03:00:00Z') => ({ scenario_name: 'alpha', num_episodes: 10, start_time: time });

test('a run goes running -> completed and keeps every point in order', () => {
  const s = new Store();
  s.onEvent('training_started', started(), meta(1));
  for (let e = 1; e <= 10; e++) s.onEvent('training_progress', progress(e), meta(e + 1));
  s.onEvent('training_completed', { scenario_name: 'alpha', episodes_completed: 10, final_metrics: {} }, meta(12));
  const [run] = s.runs.values();
  assert.equal(run.state, 'completed');
  assert.deepEqual(run.points.episode, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(run.points.avg_reward, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(run.latest.episode, 10);
});

test('error and stopped runs; a new training_started abandons an unfinished run', () => {
  const s = new Store();
  s.onEvent('training_started', started('a'), meta(1));
  s.onEvent('training_progress', progress(1), meta(2));
  s.onEvent('training_started', started('b'), meta(3));
  s.onEvent('training_error', { message: 'boom', details: 'trace' }, meta(4));
  const runs = [...s.runs.values()];
  assert.deepEqual(runs.map((r) => r.state), ['abandoned', 'error']);
  assert.equal(runs[1].terminal.payload.message, 'boom');
});

test('replayed history merges with what the page has: no duplicates, gaps filled', () => {
  const s = new Store();
  s.onEvent('training_started', started(), meta(1));
  for (const e of [1, 2, 5]) s.onEvent('training_progress', progress(e), meta(e + 1));
  s.onEvent('training_started', started(), meta(1, { replay: true }));
  for (const e of [1, 2, 3, 4, 5]) s.onEvent('training_progress', progress(e), meta(e + 1, { replay: true }));
  assert.equal(s.runs.size, 1);
  assert.deepEqual([...s.runs.values()][0].points.episode, [1, 2, 3, 4, 5]);
});

test('compact training_history (proto/EVENTS.md) becomes a run with its points and terminal state', () => {
  const s = new Store();
  const cols = ['episode', 'total_episodes', 'avg_reward', 'stability'];
  const hist = (trainer, state, terminal) => ({
    scenario_name: 'beta', trainer, state, started: { ...started(), scenario_name: 'beta' },
    columns: cols, points: [[1, 5, 10, 0.1], [4, 5, 40, 0.4]], latest: progress(5, 50), terminal,
  });
  const meta = { scenario_name: 'beta', trainer: 't9', replay: true };
  s.onEvent('training_history', hist('t9', 'completed', { scenario_name: 'beta', episodes_completed: 5, final_metrics: {} }), meta);
  s.onEvent('training_history', hist('t8', 'failed', { message: 'boom', details: 'trace' }), { ...meta, trainer: 't8' });
  s.onEvent('training_history', hist('t7', 'superseded', null), { ...meta, trainer: 't7' });
  s.onEvent('training_history', hist('t6', 'running', null), { ...meta, trainer: 't6' });
  const [done, failed, superseded, running] = s.runs.values();
  assert.equal(done.state, 'completed');
  assert.deepEqual(done.points.episode, [1, 4, 5]);
  assert.deepEqual(done.points.avg_reward, [10, 40, 50]);
  assert.equal(done.terminal.event, 'training_completed');
  assert.equal(done.startTs, Date.parse('2026-12-04T03:00:00Z') * 1000);
  assert.equal(failed.state, 'error');
  assert.deepEqual(failed.terminal, { event: 'training_error', payload: { message: 'boom', details: 'trace' } });
  assert.equal(superseded.state, 'abandoned');
  assert.equal(running.state, 'running');
  assert.equal(running.latest.episode, 5);
  // live events continue the replayed run, without duplicates
  s.onEvent('training_progress', progress(6, 60), { scenario_name: 'beta', trainer: 't6', seq: 9, ts: 1 });
  assert.deepEqual(running.points.episode, [1, 4, 5, 6]);
});

test('a live episode that goes backwards drops the points at or after it', () => {
  const s = new Store();
  for (let e = 1; e <= 6; e++) s.onEvent('training_progress', progress(e), meta(e));
  s.onEvent('training_progress', progress(4, 99), meta(7));
  assert.deepEqual([...s.runs.values()][0].points.episode, [1, 2, 3, 4]);
  assert.equal([...s.runs.values()][0].points.avg_reward[3], 99);
});

test('curves stay bounded, keep first, latest and the reward extremes', () => {
  const s = new Store();
  const n = 100000;
  for (let e = 1; e <= n; e++) s.onEvent('training_progress', progress(e, e === 31337 ? 1e6 : e === 77777 ? -1e6 : Math.sin(e)), meta(e));
  const run = [...s.runs.values()][0];
  assert.ok(run.n <= MAX_POINTS, `${run.n} points`);
  assert.equal(run.points.episode[0], 1);
  assert.equal(run.points.episode[run.n - 1], n);
  assert.ok(run.points.avg_reward.includes(1e6) && run.points.avg_reward.includes(-1e6));
  for (let i = 1; i < run.n; i++) assert.ok(run.points.episode[i] > run.points.episode[i - 1]);
  assert.equal(run.received, n);
});

test('smoothing is TensorBoard\'s de-biased EMA', () => {
  assert.deepEqual(smooth([5, 5, 5], 0.6).map((v) => Math.round(v * 1e9) / 1e9), [5, 5, 5]);
  const out = smooth([1, 2], 0.6);
  assert.equal(out[0], 1);
  const last = (0.4 * 1) * 0.6 + 0.4 * 2;
  assert.ok(Math.abs(out[1] - last / (1 - 0.36)) < 1e-12);
  assert.deepEqual(smooth([1, 2, 3], 0), [1, 2, 3]);
  assert.deepEqual(smooth([null, 3], 0.5), [null, 3]);
});

test('events without scenario and trainer in meta are ignored', () => {
  const s = new Store();
  assert.equal(s.onEvent('training_progress', progress(1), undefined), null);
  assert.equal(s.onEvent('whatever', {}, meta(1)), null);
  assert.equal(s.runs.size, 0);
});

test('decimation for drawing keeps first, last and the extremes of each bucket, in order', () => {
  const n = 10000;
  const x = Array.from({ length: n }, (_, i) => i + 1);
  const y = x.map((v) => (v === 4321 ? 1e6 : v === 8765 ? -1e6 : Math.sin(v)));
  const [dx, dy, ds] = decimate([x, y, y.map((v) => v * 2)], 100);
  assert.ok(dx.length <= 400, `${dx.length} points`);
  assert.equal(dx[0], 1);
  assert.equal(dx[dx.length - 1], n);
  assert.ok(dy.includes(1e6) && dy.includes(-1e6));
  for (let i = 1; i < dx.length; i++) assert.ok(dx[i] > dx[i - 1]);
  dx.forEach((v, i) => {
    assert.equal(dy[i], y[v - 1]);
    assert.equal(ds[i], 2 * y[v - 1]);
  });
  const small = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
  assert.equal(decimate(small, 100), small);
});
