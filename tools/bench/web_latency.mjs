// Benchmark of the clinician page (docs/CLINICIAN.md "Figures"): a simulated session recorded with
// `record --web`, watched by headless Chromium (playwright-core, Debian's /usr/bin/chromium).
//   rep end → verdict on page: the page's arrival time minus the wall-clock time the segmenter's end
//     sample was acquired (device time through the recorder's device→host fit), per rep;
//   sample → pixel: at each drawn frame, now minus the acquisition time of the newest sample drawn;
//   frames drawn with new data per second (headless Chromium's animation frames);
//   server CPU per client: the recorder's CPU time (/proc/PID/stat) over equal windows with 0, 10 and 20
//     extra reading WebSocket clients, (cpu_N - cpu_0) / N.
// Usage: node tools/bench/web_latency.mjs BUILD_DIR [REPS]   (BUILD_DIR has glutescope and web/node_modules)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const build = path.resolve(process.argv[2] ?? 'build/release');
const reps = Number(process.argv[3] ?? 12);
process.env.GLUTESCOPE_EXE = path.join(build, 'glutescope');
process.env.GLUTESCOPE_NODE_MODULES = path.join(build, 'web', 'node_modules');
process.env.GLUTESCOPE_TEST_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'glutescope-web-bench-'));
const s = await import('../../tests/web/support.mjs');

const cpuSeconds = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime + stime, USER_HZ = 100 on Linux
};
const dir = s.freshDir('bench');
const { sim, pty } = await s.simulate(dir, ['--mvc', '--seed', '2', '--reps', String(reps), '--speed', '1']);
const rec = s.run(['record', '--port', pty, '--subject', 'B001', '--out', path.join(dir, 'bench.h5'), '--no-keys',
  '--web', '127.0.0.1:0'], path.join(dir, 'record.log'));
const url = await s.readLine(rec, /web: (http\S+)/, 30000, 'the URL');
const port = Number(new URL(url).port);
const { browser, page } = await s.browser(dir);
await page.goto(url);
await s.sleep(5000);
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
await browser.close();
await s.interrupt(rec);
const row = (name, v) => console.log(`${name.padEnd(34)} median ${s.percentile(v, 0.5).toFixed(0).padStart(5)} ms   ` +
  `p95 ${s.percentile(v, 0.95).toFixed(0).padStart(5)} ms   (n = ${v.length})`);
console.log(`glutescope web benchmark: ${reps} simulated bridge reps at 2 kHz x 8 channels, ${os.cpus().length} CPUs`);
row('rep end -> verdict on page', stats.repLatencyMs);
row('sample -> pixel', stats.sampleLatencyMs);
const fps = (stats.framesDrawn - 1) / ((stats.lastDrawAt - stats.firstDrawAt) / 1000);
console.log(`trace frames drawn with new data: ${fps.toFixed(1)} per second (${stats.framesDrawn} frames)`);
console.log(`recorder CPU: ${(100 * cpu[0]).toFixed(1)} % of a core with the page only; ` +
  `+${(100 * (cpu[10] - cpu[0]) / 10).toFixed(2)} % per client (10 extra), ` +
  `+${(100 * (cpu[20] - cpu[0]) / 20).toFixed(2)} % per client (20 extra)`);
fs.rmSync(process.env.GLUTESCOPE_TEST_DIR, { recursive: true, force: true });
