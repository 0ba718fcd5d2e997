// Live page end to end: simulator → pty → `glutescope record --web` → headless Chromium.
// Asserts: the page loads without console errors; exactly one verdict per simulated rep (matched to the
// simulator's truth by its end time); the bars move; a start and a stop clicked on the page are stored as
// events in the session file (read back with h5py). Prints each rep's end → verdict-on-page latency
// (not asserted: a wall-clock budget would be flaky on a loaded machine; tools/bench/web_latency.mjs
// measures it); an electrode's lead-off (simulated) shows in the status and on its bar; every channel's
// trace is drawn as its raw-EMG min/max band with the RMS envelope over it. Screenshots: live-mid-set.png, live-end.png in the test's directory.
import path from 'node:path';
import { browser, check, freshDir, h5Summary, interrupt, percentile, readLine, run, simulate, truth,
  waitFor, sleep } from './support.mjs';

const dir = freshDir('live');
const reps = 5;
// TFL_L (channel 7, not scored in bridges) loses skin contact at 30 s: the page must say so.
const { sim, pty } = await simulate(dir, ['--seed', '15', '--reps', String(reps), '--speed', '1',
  '--lead-off', '7@30']);
const session = path.join(dir, 'live.h5');
const rec = run(['record', '--port', pty, '--subject', 'S015', '--out', session, '--no-keys',
  '--web', '127.0.0.1:0'], path.join(dir, 'record.log'));
const url = await readLine(rec, /web: (http\S+)/, 30000, 'the web URL on stdout');
const { browser: b, page, errors } = await browser(dir);
try {
  await page.goto(url);
  await page.waitForSelector('#live:not([hidden])', { timeout: 30000 });
  check(!(await page.isVisible('#review')), 'the review panels are hidden in the live view');
  const t = truth(dir);
  check(t.reps.length === reps, `the simulator's truth has ${reps} reps`);

  // Bars: the GMax bar's fill height sampled while the set runs.
  const heights = new Set();
  let midShot = false;
  const barHeight = () => page.$eval('#bars .bar[data-channel="0"] .fill', (e) => e.style.height);
  await waitFor(async () => {
    heights.add(await barHeight());
    const n = await page.evaluate(() => window.glutescope.reps.length);
    if (n >= 2 && !midShot) {
      midShot = true;
      await page.screenshot({ path: path.join(dir, 'live-mid-set.png') });
    }
    return n >= reps;
  }, (t.duration_s + 30) * 1000, 'a verdict for every simulated rep');
  await sim.exited;
  await sleep(1500);  // any late extra verdict would arrive now
  check(heights.size >= 5, `the bars move (${heights.size} different GMax bar heights seen)`);

  const shown = await page.evaluate(() => window.glutescope.reps);
  check(shown.length === reps, `one verdict per simulated rep (${shown.length} shown, ${reps} simulated)`);
  const latencies = [], raw = [];
  for (const [i, tr] of t.reps.entries()) {
    const match = shown.filter((r) => Math.abs(r.end_s - tr.end_s) < 0.5);
    check(match.length === 1, `truth rep ${i + 1} (end ${tr.end_s.toFixed(2)} s) has exactly one verdict on the page`);
    check(['green', 'amber', 'red', 'grey'].includes(match[0].light) && match[0].line.length > 0,
      `rep ${i + 1} shows a traffic light (${match[0].light}) and a clinician line`);
    // Arrival on the page minus the wall-clock time the truth's end sample was acquired: the page's
    // reported latency corrected by (truth end - detected end), device seconds = wall seconds at --speed 1.
    latencies.push(match[0].latency_ms - (tr.end_s - match[0].end_s) * 1000);
    raw.push(match[0].latency_ms);
  }
  // The live traces draw each channel's raw-EMG band (min/max of the filtered EMG per 10-ms column) with
  // its RMS envelope over it, from what the charts hold and drew (live.js glutescopeTraces).
  const traces = await page.evaluate(() => window.glutescopeTraces());
  check(traces.length === 8, `one min/max band per EMG channel (${traces.length})`);
  for (const tr of traces) {
    check(tr.bandDrawn > 0 && tr.envelopeDrawn > 0, `${tr.label}: band and envelope drawn ` +
      `(${tr.bandDrawn}, ${tr.envelopeDrawn} times)`);
    check(tr.columns > 0 && (tr.label === 'TFL L' || tr.bandColumns > 0.9 * tr.columns), `${tr.label}: the band has a height ` +
      `(max > min) in ${tr.bandColumns} of ${tr.columns} columns`);
  }
  const status = await page.textContent('#status');
  check(/lead-off: TFL L/.test(status), `the status names the electrode that lost contact (${status.slice(0, 80)})`);
  check(await page.$eval('#bars .bar[data-channel="7"]', (e) => e.classList.contains('lead-off')),
    'the TFL bar is marked lead-off');
  check(await page.$eval('#bars .bar[data-channel="0"]', (e) => !e.classList.contains('lead-off')),
    'the GMax bar is not');
  const rows = await page.$$eval('#rep-table tbody tr', (r) => r.length);
  check(rows === reps, `the rep table has ${reps} rows`);
  console.log(`rep end (segmenter's end sample) → verdict on page: ${raw.map((x) => x.toFixed(0)).join(', ')} ms; ` +
    `median ${percentile(raw, 0.5).toFixed(0)} ms, max ${Math.max(...raw).toFixed(0)} ms`);
  console.log(`rep end (truth; negative = shown before the truth's end) → verdict on page: ${latencies.map((x) => x.toFixed(0)).join(', ')} ms; ` +
    `median ${percentile(latencies, 0.5).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`);

  // Operator controls from the page, after the device's set (they must not split it).
  await page.click('#start-bridge');
  await page.waitForFunction(() => document.getElementById('ack').textContent === 'sent: start bridge');
  await sleep(300);
  await page.click('#stop');
  await page.waitForFunction(() => document.getElementById('ack').textContent === 'sent: stop');
  await sleep(500);  // the acquisition loop applies commands between reads
  await page.screenshot({ path: path.join(dir, 'live-end.png') });
  check(errors.length === 0, `no console errors on the page (${errors.join(' | ')})`);
} finally {
  await b.close();
}
const code = await interrupt(rec);
check(code === 0, `the recorder ends cleanly on SIGINT (exit ${code})`);
const events = h5Summary(session).events;
const operator = events.filter((e) => e.text !== 'device' && (e.kind === 1 || e.kind === 2));
const t = truth(dir);
check(operator.length === 2 && operator[0].kind === 1 && operator[0].exercise === 0 && operator[1].kind === 2,
  `the page's start bridge and stop are stored as set_start/set_stop events (${JSON.stringify(operator)})`);
check(operator[0].time_s > t.set.stop_s && operator[1].time_s > operator[0].time_s,
  'the page events are after the simulated set, in click order');
check(rec.out.stdout.includes('web: 1 clients served, 0 dropped'), 'the recorder counts its one web client');

// The session just recorded, reviewed: `view` shows every simulated rep of it.
const view = run(['view', session, '--web', '127.0.0.1:0'], path.join(dir, 'view.log'));
const viewUrl = await readLine(view, /web: (http\S+)/, 120000, 'the view URL');
const second = await browser(dir);
try {
  await second.page.goto(viewUrl);
  await second.page.waitForFunction(() => window.glutescope.detailShown !== undefined, null, { timeout: 30000 });
  const reviewed = await second.page.evaluate(() => window.glutescope.reps);
  check(t.reps.every((tr) => reviewed.filter((r) => Math.abs(r.end_s - tr.end_s) < 0.5).length === 1),
    `view of the recorded file shows every simulated rep once (${reviewed.length} reps)`);
  await second.page.screenshot({ path: path.join(dir, 'review-of-recording.png') });
  check(second.errors.length === 0, 'no console errors reviewing the recording');
} finally {
  await second.browser.close();
  check(await interrupt(view) === 0, 'view ends cleanly');
}
