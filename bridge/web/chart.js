// chart: one uPlot chart of one metric, every shown run overlaid in its own
// colour: the raw series faint behind the smoothed one. A hover tooltip
// lists the exact values at the cursor. The chart is rebuilt when the set
// of runs or the x axis changes, otherwise only its data is replaced.

import uPlot from './vendor/uPlot.esm.js';
import { decimate, smooth } from './store.js';

const HEIGHT = 190;
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

export function runColor(index) {
  return PALETTE[index % PALETTE.length];
}

function faint(hex) {
  return `${hex}44`;
}

const X_LABELS = { episode: 'episode', relative: 'elapsed (s)', wall: 'time' };

// x values of a run's points for the chosen axis.
export function xValues(run, mode) {
  const p = run.points;
  if (mode === 'relative') return p.elapsed_time;
  if (mode === 'wall') return p.ts.map((t, i) => (t ? t / 1e6 : run.startTs ? run.startTs / 1e6 + p.elapsed_time[i] : null));
  return p.episode;
}

function fmt(v) {
  if (v === null || v === undefined) return '–';
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v * 1000) / 1000) : v.toPrecision(5);
}

function tooltipPlugin(chart) {
  let tip;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'tip';
        tip.hidden = true;
        u.over.appendChild(tip);
      },
      setCursor: (u) => {
        const i = u.cursor.idx;
        if (i === null || i === undefined || u.cursor.left < 0) {
          tip.hidden = true;
          return;
        }
        const x = u.data[0][i];
        const head = document.createElement('b');
        head.textContent = `${chart.xLabel()} ${chart.mode === 'wall' ? new Date(x * 1000).toLocaleTimeString() : fmt(x)}`;
        const lines = [head];
        chart.runs.forEach((r, k) => {
          const raw = u.data[1 + 2 * k][i];
          if (raw === null || raw === undefined) return;
          const line = document.createElement('div');
          const mark = document.createElement('span');
          mark.textContent = '■ ';
          mark.style.color = r.color;
          line.append(mark, `${r.label}: ${fmt(raw)} (smoothed ${fmt(u.data[2 + 2 * k][i])})`);
          lines.push(line);
        });
        tip.replaceChildren(...lines);
        tip.hidden = lines.length < 2;
        const left = u.cursor.left + 12;
        tip.style.left = `${Math.min(left, u.over.clientWidth - tip.offsetWidth)}px`;
        tip.style.top = `${Math.max(0, u.cursor.top - tip.offsetHeight - 8)}px`;
      },
    },
  };
}

export class MetricChart {
  constructor(container, metric) {
    this.metric = metric;
    this.el = document.createElement('section');
    this.el.className = 'chart';
    this.el.dataset.metric = metric;
    const h = document.createElement('h3');
    h.textContent = metric;
    this.el.appendChild(h);
    this.plotEl = document.createElement('div');
    this.el.appendChild(this.plotEl);
    container.appendChild(this.el);
    this.plot = null;
    this.ids = null;
    this.runs = [];
    this.mode = 'episode';
  }

  xLabel() {
    return X_LABELS[this.mode];
  }

  seriesOpts(r) {
    return [
      { label: `${r.label} raw`, stroke: faint(r.color), width: 1, spanGaps: true, points: { show: false } },
      { label: r.label, stroke: r.color, width: 2, spanGaps: true, points: { show: false } },
    ];
  }

  build(runs, mode) {
    if (this.plot) this.plot.destroy();
    this.mode = mode;
    const opts = {
      width: Math.max(200, this.plotEl.clientWidth || 400),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: mode === 'wall' } },
      axes: [{ label: this.xLabel(), size: 36 }, { size: 60 }],
      series: [{ label: this.xLabel() }, ...runs.flatMap((r) => this.seriesOpts(r))],
      plugins: [tooltipPlugin(this)],
    };
    this.plot = new uPlot(opts, [[]].concat(runs.flatMap(() => [[], []])), this.plotEl);
    this.ids = runs.map((r) => r.id);
  }

  // Brings the chart's series in line with runs: new runs at the end are
  // added in place (building a chart costs more than drawing it); any other
  // change, or another x axis, builds the chart anew.
  fitSeries(runs, mode) {
    const ids = runs.map((r) => r.id);
    const old = this.ids || [];
    const isAppend = this.plot && mode === this.mode && ids.length >= old.length && old.every((id, i) => ids[i] === id);
    if (!isAppend) return this.build(runs, mode);
    for (const r of runs.slice(old.length)) {
      for (const opts of this.seriesOpts(r)) this.plot.addSeries(opts);
    }
    this.ids = ids;
    return undefined;
  }

  // runs: [{id, label, color, run}] in display order; mode: x axis; weight: EMA.
  update(runs, mode, weight) {
    this.runs = runs;
    this.fitSeries(runs, mode);
    if (runs.length === 0) return;
    const buckets = Math.max(50, Math.round(this.plotEl.clientWidth / 4));
    const tables = runs.map((r) => {
      const y = r.run.points[this.metric];
      return decimate([xValues(r.run, mode), y, smooth(y, weight)], buckets);
    });
    this.plot.setData(tables.length === 1 ? tables[0] : uPlot.join(tables));
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(200, this.plotEl.clientWidth), height: HEIGHT });
  }
}
