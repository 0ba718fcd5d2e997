// The review view: step through sets and reps, per-rep detail (raw EMG, envelope, onsets, driving
// angle) with zoom, and the verdict table (docs/CLINICIAN.md "Review").
import uPlot from './uPlot.esm.js';
import { colour, shortName, fmt, el, chartWidth, gluteToEs, VERDICTS } from './common.js';

const PHASES = ['start', 'concentric end', 'hold end', 'end'];

// Vertical lines at the given x values (onsets, phases), drawn over the plot.
function markers(getLines) {
  return {
    hooks: {
      draw: [(u) => {
        const { ctx } = u;
        for (const { x, colour: c, dash } of getLines()) {
          if (!Number.isFinite(x)) continue;
          const px = u.valToPos(x, 'x', true);
          ctx.save();
          ctx.strokeStyle = c;
          ctx.setLineDash(dash ?? []);
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(px, u.bbox.top);
          ctx.lineTo(px, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        }
      }],
    },
  };
}

export function startReview(send, stats) {
  document.getElementById('review').hidden = false;
  const reps = [];  // {set, rep, score, exercise, light}
  let current = -1, channels = [];

  function select(i) {
    if (i < 0 || i >= reps.length) return;
    current = i;
    document.querySelectorAll('#rep-picker button').forEach((b, k) => b.classList.toggle('current', k === i));
    document.querySelectorAll('#verdict-table tbody tr').forEach((r, k) => r.classList.toggle('current', k === i));
    send({ type: 'rep_detail', set: reps[i].set, rep: reps[i].rep });
  }

  function verdictTable() {
    document.querySelector('#verdict-table thead').replaceChildren(el('tr', {}, [
      ...['set', 'rep', '', 'glute:ES', 'ROM', 'clinician line'].map((t) => el('th', { textContent: t })),
      ...VERDICTS.map((v) => el('th', { textContent: v.replace('_', ' ') }))]));
    document.querySelector('#verdict-table tbody').replaceChildren(...reps.map((r, i) => {
      const dot = el('span', { className: 'dot', title: r.light });
      dot.dataset.light = r.light;
      const row = el('tr', {}, [el('td', { textContent: r.set + 1 }), el('td', { textContent: r.rep + 1 }),
        el('td', {}, [dot]), el('td', { textContent: fmt(gluteToEs(r.score, r.exercise)) }),
        el('td', { textContent: fmt(r.score.rom_deg, 0, '°') }), el('td', { textContent: r.score.summary }),
        ...VERDICTS.map((v) => el('td', { textContent: r.score.verdicts[v].state.replace('_', ' ') }))]);
      row.dataset.testid = 'review-rep-row';
      row.onclick = () => select(i);
      return row;
    }));
  }

  function onReview(msg) {
    channels = msg.channels;
    document.getElementById('mode').textContent = `review · subject ${msg.subject}`;
    document.getElementById('review-title').textContent = `${msg.file} · ${msg.start_time}`;
    msg.analysis.sets.forEach((set, s) => set.reps.forEach((score, k) =>
      reps.push({ set: s, rep: k, score, exercise: set.exercise, light: msg.lights[s][k] })));
    stats.reps = reps.map((r) => ({ set: r.set, rep: r.rep, start_s: r.score.start_s, end_s: r.score.end_s }));
    document.getElementById('rep-picker').replaceChildren(...reps.map((r, i) => {
      const b = el('button', { textContent: `${r.set + 1}.${r.rep + 1}`, title: r.score.summary });
      b.onclick = () => select(i);
      return b;
    }));
    verdictTable();
    document.getElementById('prev-rep').onclick = () => select(current - 1);
    document.getElementById('next-rep').onclick = () => select(current + 1);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowLeft') select(current - 1);
      if (e.key === 'ArrowRight') select(current + 1);
    });
    if (reps.length) select(0);
  }

  function onDetail(d) {
    const r = reps.find((x) => x.set === d.set && x.rep === d.rep);
    document.getElementById('detail-title').textContent =
      `set ${d.set + 1} rep ${d.rep + 1} (${r.exercise}) · ${d.score.summary}`;
    const light = el('span', { className: 'dot' });
    light.dataset.light = d.light;
    document.getElementById('detail-verdict').replaceChildren(light, ` glute:ES ${fmt(gluteToEs(d.score, r.exercise))}` +
      ` · ROM ${fmt(d.score.rom_deg, 0, '°')} · firing order ${d.score.firing_order.join(' → ') || '–'}`);
    const phaseLines = () => d.phases_s.map((x, i) => ({ x, colour: '#607d8b', dash: i % 3 ? [4, 4] : [] }));
    const angleNode = document.getElementById('detail-angle');
    angleNode.replaceChildren();
    new uPlot({ title: 'driving angle (lines: start, concentric end, hold end, end)', width: chartWidth(angleNode),
      height: 150, scales: { x: { time: false } }, series: [{ label: 's' }, { label: 'angle', stroke: '#37474f',
        value: (u, v) => fmt(v, 1, '°') }], axes: [{ label: 's' }, { label: 'deg', size: 50 }],
    plugins: [markers(phaseLines)] }, [d.angle_t_s, d.angle_deg], angleNode);
    const grid = document.getElementById('detail-emg');
    grid.replaceChildren();
    channels.forEach((ch, c) => {
      const box = el('div');
      grid.append(box);
      const raw = d.raw[c], env = d.envelope_uv[c];
      const t = raw.min_uv.map((_, k) => d.raw_t0_s + k * d.raw_column_s);
      // The envelope on the raw trace's time axis (nearest envelope row).
      const e = t.map((x) => env[Math.round((x - d.envelope_t0_s) * d.envelope_rate_hz)] ?? null);
      const lines = () => [{ x: d.onset_s[c], colour: '#d50000' }, ...phaseLines()];
      new uPlot({ title: `${shortName(ch)} (${ch.label}) · onset ${fmt(d.score.channels[ch.label]?.onset_rel_ms, 0, ' ms')}`,
        width: chartWidth(box), height: 170, scales: { x: { time: false } },
        series: [{ label: 's' }, { label: 'raw min', stroke: '#b0bec5' }, { label: 'raw max', stroke: '#b0bec5' },
          { label: 'RMS envelope', stroke: colour(ch.muscle), width: 2 }],
        bands: [{ series: [2, 1], fill: '#cfd8dc80' }], legend: { show: false },
        axes: [{ label: 's' }, { label: 'µV', size: 50 }], plugins: [markers(lines)] },
      [t, raw.min_uv, raw.max_uv, e], box);
    });
    stats.detailShown = { set: d.set, rep: d.rep };
  }

  return {
    binary() {},
    message(msg) {
      if (msg.type === 'review') onReview(msg);
      if (msg.type === 'rep_detail') onDetail(msg);
    },
  };
}
