// Review page end to end: `glutescope view` over a simulated session file (written as the recorder writes
// one) in headless Chromium. Asserts: no console errors; every simulated rep (truth) is in the verdict
// table and the rep picker, matched by end time; stepping through every rep shows its detail (raw EMG and
// envelope per channel, driving angle). Screenshots: review.png, review-verdicts.png.
import path from 'node:path';
import { browser, check, freshDir, interrupt, readLine, run, truth } from './support.mjs';

const dir = freshDir('view');
const reps = 6;
const session = path.join(dir, 'session.h5');
const made = run(['simulate', '--session', session, '--mvc', '--reps', String(reps), '--seed', '8',
  '--truth', path.join(dir, 'truth.json')], path.join(dir, 'simulate.log'));
check(await made.exited === 0, 'a simulated session file is written');
const t = truth(dir);
check(t.reps.length === reps, `the truth has ${reps} reps`);

const view = run(['view', session, '--web', '127.0.0.1:0'], path.join(dir, 'view.log'));
const url = await readLine(view, /web: (http\S+)/, 120000, 'the view URL');
const { browser: b, page, errors } = await browser(dir);
try {
  await page.goto(url);
  await page.waitForSelector('#review:not([hidden])', { timeout: 30000 });
  await page.waitForFunction(() => window.glutescope.detailShown !== undefined, null, { timeout: 30000 });
  check(!(await page.isVisible('#live')), 'the live panels are hidden in the review');
  const shown = await page.evaluate(() => window.glutescope.reps);
  check(shown.length === reps, `the page lists ${shown.length} reps, the truth ${reps}`);
  for (const [i, tr] of t.reps.entries()) {
    check(shown.filter((r) => Math.abs(r.end_s - tr.end_s) < 0.5).length === 1,
      `truth rep ${i + 1} (end ${tr.end_s.toFixed(2)} s) is on the page once`);
  }
  check(await page.$$eval('[data-testid="review-rep-row"], #verdict-table tbody tr', (r) => r.length) === reps,
    'the verdict table has one row per rep');
  check(await page.$$eval('#rep-picker button', (r) => r.length) === reps, 'the picker has one button per rep');
  await page.screenshot({ path: path.join(dir, 'review.png'), fullPage: false });
  for (let i = 0; i < reps; ++i) {
    await page.click(`#rep-picker button:nth-child(${i + 1})`);
    await page.waitForFunction((k) => window.glutescope.detailShown?.rep === k, i, { timeout: 10000 });
    const title = await page.textContent('#detail-title');
    check(title.startsWith(`set 1 rep ${i + 1} `), `rep ${i + 1}'s detail is shown (${title.slice(0, 60)})`);
    const charts = await page.$$eval('#detail-emg .uplot', (c) => c.length);
    const angle = await page.$$eval('#detail-angle .uplot', (c) => c.length);
    check(charts === 8 && angle === 1, `rep ${i + 1}: 8 EMG charts and the driving angle`);
  }
  await page.click('#rep-picker button:nth-child(2)');
  await page.waitForFunction(() => window.glutescope.detailShown?.rep === 1);
  await page.$eval('#verdict-table', (e) => e.scrollIntoView());
  await page.screenshot({ path: path.join(dir, 'review-verdicts.png') });
  check(errors.length === 0, `no console errors on the page (${errors.join(' | ')})`);
} finally {
  await b.close();
  const code = await interrupt(view);
  check(code === 0, `view ends cleanly on SIGINT (exit ${code})`);
}
