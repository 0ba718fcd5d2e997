// Benchmark of the clinician page (docs/CLINICIAN.md "Figures"): a simulated session recorded with
// `record --web`, watched by headless Chromium (playwright-core, Debian's /usr/bin/chromium), once per
// source:
//   demo    the glutescope wearable simulator over a pty: 8 EMG channels at 2 kHz;
//   trigno  the Delsys Trigno emulator over loopback TCP (`simulate --device trigno --listen`) into
//           `record --device trigno` with datasets/montage-trigno.toml: 16 EMG channels at 1925.9 Hz.
// Per source:
//   rep end → verdict on page: the page's arrival time minus the wall-clock time the segmenter's end
//     sample was acquired (device time through the recorder's device→host fit), per rep;
//   sample → pixel: at each drawn frame, now minus the acquisition time of the newest sample drawn;
//   frames rendered per second: animation frames in which the traces' picture changed (new columns, or
//     the wall-clock scroll moved them by at least one CSS pixel), and of those the ones with new data;
//     the page's own time per rendered frame (uPlot's setData/setScale plus the bars, performance.now()
//     around them in live.js);
//   server CPU per client: the recorder's CPU time (/proc/PID/stat) over equal windows with 0, 10 and 20
//     extra reading WebSocket clients, (cpu_N - cpu_0) / N.
//   and, to tell the feed from the browser, per second: EMG blocks the live analysis took, trace frames
//     published, written by the server and received by the page, and animation frames.
// Usage: node tools/bench/web_latency.mjs BUILD_DIR [REPS] [demo,trigno]
//   (BUILD_DIR has glutescope and web/node_modules; default: 12 reps, both sources, one after the other)
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const build = path.resolve(process.argv[2] ?? 'build/release');
const reps = Number(process.argv[3] ?? 12);
const sources = (process.argv[4] ?? 'demo,trigno').split(',');
const source = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
process.env.GLUTESCOPE_EXE = path.join(build, 'glutescope');
process.env.GLUTESCOPE_NODE_MODULES = path.join(build, 'web', 'node_modules');
process.env.GLUTESCOPE_TEST_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'glutescope-web-bench-'));
const s = await import('../../tests/web/support.mjs');

const cpuSeconds = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime + stime, USER_HZ = 100 on Linux
};
// A base port whose next two ports are free too (the Trigno emulator listens on three).
async function freeBasePort() {
  const tryListen = (port) => new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  for (let base = 52000 + (process.pid % 400) * 10; ; base += 10) {
    if (await tryListen(base) && await tryListen(base + 1) && await tryListen(base + 2)) return base;
  }
}
const session = ['--mvc', '--seed', '2', '--reps', String(reps), '--speed', '1'];

// Starts the data source and the recorder; returns both children.
async function start(kind, dir) {
  const common = ['--subject', 'B001', '--out', path.join(dir, 'bench.h5'), '--no-keys', '--web', '127.0.0.1:0'];
  if (kind === 'demo') {
    const { sim, pty } = await s.simulate(dir, session);
    return { sim, rec: s.run(['record', '--port', pty, ...common], path.join(dir, 'record.log')) };
  }
  const port = await freeBasePort();
  const sim = s.run(['simulate', '--device', 'trigno', '--listen', `127.0.0.1:${port}`, ...session],
    path.join(dir, 'simulate.log'));
  await s.waitFor(() => /listening/.test(sim.out.stdout + sim.out.stderr), 30000, 'the Trigno emulator');
  return { sim, rec: s.run(['record', '--device', 'trigno', '--host', '127.0.0.1', '--base-port', String(port),
    '--montage', path.join(source, 'datasets', 'montage-trigno.toml'), ...common], path.join(dir, 'record.log')) };
}

async function measure(kind) {
  const dir = s.freshDir(`bench-${kind}`);
  const { sim, rec } = await start(kind, dir);
  const url = await s.readLine(rec, /web: (http\S+)/, 30000, 'the URL');
  const port = Number(new URL(url).port);
  const { browser, page } = await s.browser(dir);
  await page.goto(url);
  await s.sleep(5000);
  // The feed's counters while the page is the only client (the extra clients below also count as written).
  const feedAlone = await page.evaluate(() => window.glutescope.feedLast);
  const cpu = {};
  for (const n of [0, 10, 20]) {
    const clients = await Promise.all(Array.from({ length: n }, () => s.RawWs.connect(port)));
    await s.sleep(1000);
    const c0 = cpuSeconds(rec.proc.pid), t0 = Date.now();
    await s.sleep(10000);
    cpu[n] = (cpuSeconds(rec.proc.pid) - c0) / ((Date.now() - t0) / 1000);
    for (const c of clients) c.close();
  }
  await sim.exited;
  await s.sleep(2000);
  const stats = await page.evaluate(() => window.glutescope);
  const channels = await page.evaluate(() => document.querySelectorAll('#bars .bar').length);
  await browser.close();
  await s.interrupt(rec);
  if (kind === 'trigno') sim.proc.kill('SIGTERM');
  return { kind, channels, stats: { ...stats, feedAlone }, cpu };
}

const results = [];
for (const kind of sources) results.push(await measure(kind));
const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`glutescope web benchmark: ${reps} simulated bridge reps after 5 MVC trials per source, ` +
  `${os.cpus().length} CPUs (${os.cpus()[0].model}), load average ${load} at the end`);
const row = (name, v, unit = 'ms', digits = 0) => console.log(`  ${name.padEnd(32)} median ` +
  `${s.percentile(v, 0.5).toFixed(digits).padStart(5)} ${unit}   p95 ${s.percentile(v, 0.95).toFixed(digits).padStart(5)} ` +
  `${unit}   (n = ${v.length})`);
for (const { kind, channels, stats, cpu } of results) {
  console.log(`${kind}: ${channels} EMG channels`);
  row('rep end -> verdict on page', stats.repLatencyMs);
  row('sample -> pixel', stats.sampleLatencyMs);
  row('page draw time per frame', stats.drawMs ?? [], 'ms', 2);
  const perS = (name) => (stats[name] - 1) / ((stats[`${name}Last`] - stats[`${name}First`]) / 1000);
  const span = (stats.framesDrawnLast - stats.framesDrawnFirst) / 1000;  // approximate: counters run from page load
  console.log(`  frames rendered (picture changed: new data or scrolled >= 1 px): ${perS('framesRendered').toFixed(1)}` +
    ` per second; with new data ${perS('framesDrawn').toFixed(1)}/s (${stats.framesDrawn} frames); ` +
    `animation frames ${(stats.animationFrames / span).toFixed(1)}/s`);
  // The feed per second over the page's first 5 s, the page the only client: EMG blocks the live analysis
  // took (one per device read), trace frames it published, the server wrote and the page received.
  const [a, b] = [stats.feedFirst, stats.feedAlone], dt = (b.at - a.at) / 1000;
  const rate = (k) => ((b[k] - a[k]) / dt).toFixed(1);
  console.log(`  feed per second: EMG blocks analysed ${rate('emg_blocks')}, trace frames published ` +
    `${rate('trace_frames')}, written by the server ${rate('sent')}, received by the page ${rate('received')}`);
  console.log(`  recorder CPU: ${(100 * cpu[0]).toFixed(1)} % of a core with the page only; ` +
    `+${(100 * (cpu[10] - cpu[0]) / 10).toFixed(2)} % per client (10 extra), ` +
    `+${(100 * (cpu[20] - cpu[0]) / 20).toFixed(2)} % per client (20 extra)`);
}
fs.rmSync(process.env.GLUTESCOPE_TEST_DIR, { recursive: true, force: true });
