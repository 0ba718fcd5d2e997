// The live view: bars, scrolling envelope traces, rep counter, phase and hold timer, per-rep traffic
// light, device status, operator controls (docs/CLINICIAN.md "Live").
import uPlot from './uPlot.esm.js';
import { colour, SIDE_DASH, shortName, fmt, el, chartWidth, gluteToEs } from './common.js';

const WINDOW_COLUMNS = 1000;  // 10 s of 10-ms columns
const BAR_COLUMNS = 25;       // bars show the mean RMS of the last 250 ms

export function startLive(send, stats) {
  document.getElementById('live').hidden = false;
  document.getElementById('mode').textContent = 'live recording';
  const state = {
    channels: [], columnS: 0.01, rms: [], times: [], lastColumn: -1, dirty: false, newestWallMs: NaN,
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
        value: (u, v) => fmt(v, 0, ' µV'),
      }))];
      const plot = new uPlot({
        width: chartWidth(node), height: 160, series, legend: { live: false },
        scales: { x: { time: false } }, cursor: { show: false },
        axes: [{ label: 's' }, { label: 'µV RMS', size: 60 }],
      }, [[], ...idx.map(() => [])], node);
      return { plot, idx: idx.map(([, i]) => i) };
    });
  }

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
      for (let c = 0; c < channels; ++c) state.rms[c].push(v.getFloat32(24 + (k * channels + c) * 12 + 8, true));
      state.lastColumn = col;
    }
    const extra = state.times.length - WINDOW_COLUMNS;
    if (extra > 0) {
      state.times.splice(0, extra);
      for (const r of state.rms) r.splice(0, extra);
    }
    state.newestWallMs = wall;
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

  function frame() {
    stats.animationFrames = (stats.animationFrames ?? 0) + 1;
    if (state.dirty && charts.length) {
      const t0 = performance.now();
      for (const { plot, idx } of charts) plot.setData([state.times, ...idx.map((i) => state.rms[i])]);
      drawBars();
      (stats.drawMs ??= []).push(performance.now() - t0);  // the page's own work per frame (benchmark)
      if (stats.drawMs.length > 5000) stats.drawMs.splice(0, 1000);
      state.dirty = false;
      stats.framesDrawn = (stats.framesDrawn ?? 0) + 1;
      stats.firstDrawAt ??= performance.now();
      stats.lastDrawAt = performance.now();
      if (Number.isFinite(state.newestWallMs)) stats.sampleLatencyMs.push(Date.now() - state.newestWallMs);
      if (stats.sampleLatencyMs.length > 5000) stats.sampleLatencyMs.splice(0, 1000);
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
        setupTraces();
        setupBars();
        setupControls(msg);
      } else if (msg.type === 'status') {
        state.status = msg;
        state.statusAt = performance.now();
      } else if (msg.type === 'rep') {
        onRep(msg);
      } else if (msg.type === 'ack') {
        document.getElementById('ack').textContent = msg.ok ? `sent: ${msg.command}` : `refused: ${msg.error}`;
      }
    },
  };
}
