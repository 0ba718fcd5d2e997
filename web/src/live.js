// The live view: bars, scrolling raw-EMG band and envelope traces, rep counter, phase and hold timer, per-rep traffic
// light, device status, operator controls (docs/CLINICIAN.md "Live").
import uPlot from './uPlot.esm.js';
import { colour, SIDE_DASH, shortName, fmt, el, chartWidth, gluteToEs } from './common.js';

const WINDOW_COLUMNS = 1000;  // 10 s of 10-ms columns
const BAR_COLUMNS = 25;       // bars show the mean RMS of the last 250 ms
const WINDOW_S = 10;
// The traces scroll with the wall clock on every animation frame (as a scope does), not only when a
// frame arrives; after this long without data they stop, so a stalled link does not scroll them away.
const MAX_EXTRAPOLATION_S = 1;

// Translucent version of a '#rrggbb' colour (the raw-EMG band under the envelope).
const tint = (hex, alpha) => `${hex}${Math.round(alpha * 255).toString(16).padStart(2, '0')}`;

// The raw-EMG bands of one chart, drawn under the RMS envelopes (uPlot's drawAxes hook, after the grid
// and before the series): per channel one filled polygon, the max of each 10-ms column forward and the
// min back. One path per channel and no clipping: uPlot's own bands clip a fill per band, several times
// the cost per frame on the page's budget (docs/CLINICIAN.md "Figures").
function drawBands(u, chart, state) {
  const { ctx } = u, t = state.times;
  const x0 = u.scales.x.min, x1 = u.scales.x.max;
  let first = 0;
  while (first < t.length && t[first] < x0 - state.columnS) ++first;
  let last = t.length;
  while (last > first && t[last - 1] > x1 + state.columnS) --last;
  if (last - first < 2) return;
  const xs = [];
  for (let k = first; k < last; ++k) xs.push(u.valToPos(t[k], 'x', true));
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();  // once per chart: the polygons stay inside the plot area
  chart.idx.forEach((c, n) => {
    const lo = state.min[c], hi = state.max[c];
    ctx.beginPath();
    for (let k = first; k < last; ++k) ctx.lineTo(xs[k - first], u.valToPos(hi[k], 'y', true));
    for (let k = last - 1; k >= first; --k) ctx.lineTo(xs[k - first], u.valToPos(lo[k], 'y', true));
    ctx.closePath();
    ctx.fillStyle = chart.fills[n];
    ctx.fill();
    chart.bandDrawn[n] += 1;
  });
  ctx.restore();
}

export function startLive(send, stats) {
  document.getElementById('live').hidden = false;
  document.getElementById('mode').textContent = 'live recording';
  const state = {
    channels: [], columnS: 0.01, rms: [], min: [], max: [], times: [], lastColumn: -1, dirty: false,
    newestWallMs: NaN, newestT: NaN, newestAt: 0, shownMax: NaN,
    status: null, statusAt: 0, lastFrameAt: 0, seenReps: new Set(), over: [],
  };
  let charts = [];
  const link = document.getElementById('link');

  function setupTraces() {
    const groups = [['trace-glutes', 'glute'], ['trace-comp', 'compensator']];
    charts = groups.map(([id, role]) => {
      const node = document.getElementById(id);
      node.replaceChildren();
      const idx = state.channels.map((c, i) => [c, i]).filter(([c]) => role === 'glute' ?
        c.role === 'glute' : c.role !== 'glute');
      const series = [{ label: 's' }, ...idx.map(([c]) => ({
        label: shortName(c), stroke: colour(c.muscle), dash: SIDE_DASH[c.side], width: 1.5,
        points: { show: false }, value: (u, v) => fmt(v, 0, ' µV'),
      }))];
      const chart = { idx: idx.map(([, i]) => i), fills: idx.map(([c]) => tint(colour(c.muscle), 0.3)),
        bandDrawn: idx.map(() => 0), envelopeDrawn: idx.map(() => 0) };
      chart.plot = new uPlot({
        width: chartWidth(node), height: 200, series, legend: { show: false },
        hooks: { drawAxes: [(u) => drawBands(u, chart, state)],
          drawSeries: [(u, si) => { chart.envelopeDrawn[si - 1] += 1; }] },
        scales: { x: { time: false, auto: false }, y: { auto: false } }, cursor: { show: false },
        axes: [{}, { label: 'µV', size: 60 }],
      }, [[], ...idx.map(() => [])], node);
      return chart;
    });
  }

  // What the traces hold and have drawn, per channel (the e2e test's check that the bands are drawn):
  // the columns held, those whose band has a height (max > min), and how often the band and the
  // envelope were drawn.
  window.glutescopeTraces = () => charts.flatMap((chart) => chart.idx.map((c, n) => ({
    label: shortName(state.channels[c]), columns: state.times.length,
    bandColumns: state.max[c].filter((x, k) => x > state.min[c][k]).length,
    bandDrawn: chart.bandDrawn[n], envelopeDrawn: chart.envelopeDrawn[n],
  })));

  function setupBars() {
    const bars = document.getElementById('bars');
    bars.replaceChildren(...state.channels.map((c, i) => {
      const fill = el('div', { className: 'fill' });
      const line = el('div', { className: 'line' });
      const value = el('div', { className: 'value', textContent: '–' });
      const bar = el('div', { className: `bar ${c.role}` }, [value, el('div', { className: 'well' }, [fill, line]),
        el('div', { className: 'name', textContent: shortName(c) })]);
      bar.dataset.channel = i;
      return bar;
    }));
  }

  function setupControls(info) {
    if (!info.controls) return;
    document.getElementById('controls').hidden = false;
    const mvc = document.getElementById('mvc-choice');
    mvc.replaceChildren(...info.mvc_choices.map((c) => el('option', { value: c, textContent: c.slice(10) })));
    const control = (command) => send({ type: 'control', command });
    document.getElementById('start-bridge').onclick = () => control('start bridge');
    document.getElementById('start-clamshell').onclick = () => control('start clamshell');
    document.getElementById('start-mvc').onclick = () => mvc.value && control(mvc.value);
    document.getElementById('stop').onclick = () => control('stop');
    document.getElementById('add-note').onclick = () => {
      const text = document.getElementById('note-text');
      if (text.value.trim()) control(`note ${text.value.trim()}`);
      text.value = '';
    };
  }

  function onColumns(buffer) {
    const v = new DataView(buffer);
    if (buffer.byteLength < 24 || v.getUint32(0, false) !== 0x47534331) return;  // "GSC1"
    const first = v.getUint32(4, true), channels = v.getUint16(8, true), n = v.getUint16(10, true);
    const samples = v.getUint32(12, true), wall = v.getFloat64(16, true);
    if (channels !== state.channels.length || buffer.byteLength !== 24 + n * channels * 12) return;
    state.columnS = samples / state.emgRate;
    for (let k = 0; k < n; ++k) {
      const col = first + k;
      if (col <= state.lastColumn) continue;
      state.times.push(col * state.columnS);
      for (let c = 0; c < channels; ++c) {
        const at = 24 + (k * channels + c) * 12;
        state.min[c].push(v.getFloat32(at, true));
        state.max[c].push(v.getFloat32(at + 4, true));
        state.rms[c].push(v.getFloat32(at + 8, true));
      }
      state.lastColumn = col;
    }
    const extra = state.times.length - WINDOW_COLUMNS;
    if (extra > 0) {
      state.times.splice(0, extra);
      for (const r of [...state.rms, ...state.min, ...state.max]) r.splice(0, extra);
    }
    state.newestWallMs = wall;
    state.newestT = (state.lastColumn + 1) * state.columnS;  // end of the newest column (sample clock)
    state.newestAt = performance.now();
    stats.columnFrames = (stats.columnFrames ?? 0) + 1;
    state.lastFrameAt = performance.now();
    state.dirty = true;
  }

  function barReference(c) {
    const s = state.status;
    const mvc = s?.mvc_reference_uv?.[c];
    if (Number.isFinite(mvc) && mvc > 0) return { ref: mvc, unit: '%MVIC' };
    const peak = s?.set_peak_uv?.[c];
    return { ref: Number.isFinite(peak) && peak > 0 ? peak : NaN, unit: '% of set peak' };
  }

  function drawBars() {
    const target = Number(document.getElementById('target').value);
    const ceiling = Number(document.getElementById('ceiling').value);
    const units = new Set();
    document.querySelectorAll('#bars .bar').forEach((bar) => {
      const c = Number(bar.dataset.channel), ch = state.channels[c], r = state.rms[c];
      const recent = r.slice(-BAR_COLUMNS);
      const mean = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
      const { ref, unit } = barReference(c);
      units.add(unit);
      const pct = 100 * mean / ref;
      const limit = ch.role === 'glute' ? target : ceiling;
      const fill = bar.querySelector('.fill');
      fill.style.height = `${Math.min(100, Math.max(0, Number.isFinite(pct) ? pct / 1.5 : 0))}%`;
      bar.querySelector('.line').style.bottom = `${Math.min(100, limit / 1.5)}%`;
      bar.querySelector('.value').textContent = fmt(pct, 0, ' %');
      const met = ch.role === 'glute' && pct >= target, over = ch.role !== 'glute' && pct >= ceiling;
      fill.classList.toggle('met', met);
      fill.classList.toggle('over', over);
      cue(c, met || over, ch.role === 'glute' ? 880 : 220);
      bar.classList.toggle('lead-off', !!state.status?.lead_off?.[c]);
    });
    document.getElementById('bar-unit').textContent = `bars: ${[...units].join(' / ')} (full scale 150 %)`;
  }

  let audio = null;
  function cue(c, on, hz) {
    const was = state.over[c];
    state.over[c] = on;
    if (!on || was || !document.getElementById('audio').checked) return;
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    osc.frequency.value = hz;
    osc.connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.12);
  }

  function drawStatus() {
    const s = state.status;
    if (!s) return;
    const set = s.mvc_trial ? `MVC ${s.mvc_trial.muscle} ${s.mvc_trial.side}` :
      s.in_set ? `${s.exercise} set ${s.set_index + 1}` : 'no set open';
    document.getElementById('set-name').textContent = set;
    document.getElementById('rep-count').textContent = s.in_set ? s.reps_in_set : '–';
    document.getElementById('phase').textContent = s.in_set ? s.phase : '–';
    const hold = s.phase === 'hold' ? s.time_s - s.phase_since_s + (performance.now() - state.statusAt) / 1000 : NaN;
    document.getElementById('hold-timer').textContent = fmt(hold, 1, ' s');
    const leadOff = state.channels.filter((c, i) => s.lead_off[i]).map(shortName);
    const rows = [
      ['time', fmt(s.time_s, 1, ' s')],
      ['electrodes', leadOff.length ? `lead-off: ${leadOff.join(', ')}` : 'all in contact', leadOff.length],
      ['battery', s.battery_low ? 'LOW' : 'ok', s.battery_low],
      ['EMG lost', `${s.emg_gap_samples} samples`, s.emg_gap_samples > 0],
      ['IMU lost', `${s.imu_gap_samples} samples`, s.imu_gap_samples > 0],
      ['disconnects', s.disconnects, s.disconnects > 0],
      ['analysis dropped', `${s.analysis_dropped_blocks} blocks`, s.analysis_dropped_blocks > 0],
      ['viewers', s.web ? `${s.web.clients} (${s.web.clients_dropped} dropped as slow)` : '–'],
    ];
    document.getElementById('status').replaceChildren(...rows.flatMap(([k, v, bad]) =>
      [el('span', { textContent: k }), el('span', { textContent: String(v), className: bad ? 'bad' : '' })]));
  }

  function onRep(msg) {
    const key = `${msg.set_index}/${msg.score.index}`;
    if (state.seenReps.has(key)) return;
    state.seenReps.add(key);
    const latency = Number.isFinite(msg.end_wall_ms) ? Date.now() - msg.end_wall_ms : NaN;
    if (Number.isFinite(latency)) stats.repLatencyMs.push(latency);
    stats.reps.push({ set: msg.set_index, rep: msg.score.index, end_s: msg.score.end_s, light: msg.light,
      latency_ms: latency, line: msg.line });
    const ratio = gluteToEs(msg.score, msg.exercise);
    document.getElementById('light').dataset.light = msg.light;
    document.getElementById('verdict-line').textContent = msg.score.summary;
    document.getElementById('verdict-ratio').textContent =
      `set ${msg.set_index + 1} rep ${msg.score.index + 1} · glute:ES ${fmt(ratio)} · amplitudes in ${msg.normalisation}`;
    const row = el('tr', {}, [
      el('td', { textContent: msg.set_index + 1 }), el('td', { textContent: msg.score.index + 1 }),
      el('td', {}, [Object.assign(el('span', { className: 'dot' }), { title: msg.light })]),
      el('td', { textContent: fmt(ratio) }), el('td', { textContent: msg.score.summary }),
      el('td', { textContent: fmt(latency, 0, ' ms') })]);
    row.querySelector('.dot').dataset.light = msg.light;
    row.dataset.testid = 'rep-row';
    document.querySelector('#rep-table tbody').prepend(row);
  }

  // The traces' right edge now (s, sample clock): the newest column's end plus the wall-clock time since
  // that sample was acquired (the recorder's device→host fit; since the frame arrived when unknown), at
  // most MAX_EXTRAPOLATION_S past the data; small steps back (clock fit jitter) are held.
  function rightEdge() {
    const since = Number.isFinite(state.newestWallMs) ? (Date.now() - state.newestWallMs) / 1000 :
      (performance.now() - state.newestAt) / 1000;
    const right = state.newestT + Math.min(MAX_EXTRAPOLATION_S, Math.max(0, since));
    return right < state.shownMax && state.shownMax - right < 0.2 ? state.shownMax : right;
  }

  // One animation frame of the traces: new columns and the time axis scrolled to now. Returns whether
  // the picture changed (new data, or the axis moved by at least one CSS pixel), the page's "rendered
  // frame" (docs/CLINICIAN.md "Figures").
  function drawTraces() {
    if (!Number.isFinite(state.newestT)) return false;
    const right = rightEdge();
    const pxPerS = charts[0].plot.bbox.width / devicePixelRatio / WINDOW_S;
    const moved = Number.isFinite(state.shownMax) ? Math.abs(right - state.shownMax) * pxPerS : Infinity;
    if (!state.dirty && moved < 1) return false;
    for (const { plot, idx } of charts) {
      plot.batch(() => {
        if (state.dirty) {
          plot.setData([state.times, ...idx.map((i) => state.rms[i])], false);
          const peak = Math.max(1, ...idx.map((i) => Math.max(-Math.min(...state.min[i]), Math.max(...state.max[i]))));
          plot.setScale('y', { min: -peak, max: peak });  // symmetric: the band is centred on 0 µV
        }
        plot.setScale('x', { min: right - WINDOW_S, max: right });
      });
    }
    state.shownMax = right;
    return true;
  }

  function count(name, at) {
    stats[name] = (stats[name] ?? 0) + 1;
    stats[`${name}First`] ??= at;
    stats[`${name}Last`] = at;
  }

  function frame() {
    stats.animationFrames = (stats.animationFrames ?? 0) + 1;
    const t0 = performance.now(), withData = state.dirty;
    if (charts.length && drawTraces()) {
      if (withData) drawBars();
      (stats.drawMs ??= []).push(performance.now() - t0);  // the page's own work per frame (benchmark)
      if (stats.drawMs.length > 5000) stats.drawMs.splice(0, 1000);
      count('framesRendered', t0);
      if (withData) {
        count('framesDrawn', t0);
        if (Number.isFinite(state.newestWallMs)) stats.sampleLatencyMs.push(Date.now() - state.newestWallMs);
        if (stats.sampleLatencyMs.length > 5000) stats.sampleLatencyMs.splice(0, 1000);
      }
      state.dirty = false;
    }
    drawStatus();
    const age = (performance.now() - state.lastFrameAt) / 1000;
    if (link.dataset.state !== 'down') {
      link.dataset.state = age < 1 ? 'up' : 'stale';
      link.textContent = age < 1 ? 'receiving' : `no data for ${age.toFixed(0)} s`;
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);

  return {
    binary: onColumns,
    message(msg) {
      if (msg.type === 'info') {
        state.channels = msg.channels;
        state.emgRate = msg.emg_rate_hz;
        state.rms = msg.channels.map(() => []);
        state.min = msg.channels.map(() => []);
        state.max = msg.channels.map(() => []);
        setupTraces();
        setupBars();
        setupControls(msg);
      } else if (msg.type === 'status') {
        state.status = msg;
        state.statusAt = performance.now();
        // The feed's counters at the first and latest status: EMG blocks analysed, trace frames
        // published and written by the server (benchmark: where frames are lost).
        const feed = { at: state.statusAt, emg_blocks: msg.emg_blocks, trace_frames: msg.trace_frames,
          sent: msg.web?.trace_frames_sent, received: stats.columnFrames ?? 0 };
        stats.feedFirst ??= feed;
        stats.feedLast = feed;
      } else if (msg.type === 'rep') {
        onRep(msg);
      } else if (msg.type === 'ack') {
        document.getElementById('ack').textContent = msg.ok ? `sent: ${msg.command}` : `refused: ${msg.error}`;
      }
    },
  };
}
