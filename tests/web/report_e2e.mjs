// The clinician's HTML report (issue 15 point 5) with the real binary: a 10-rep bridge set with MVC trials
// printed by `glutescope report --pdf` through headless Chromium is one A4 page; the HTML has one traffic
// light per rep (as many as the simulator's truth has reps), small multiples for glutes and compensators
// instead of overlapping traces, onset markers, the driving angle, units in every verdict header, and reads
// ratios one way only (glute:ES, never ES/glute). Screenshot: report.png.
import fs from 'node:fs';
import path from 'node:path';
import { browser, check, freshDir, run, truth } from './support.mjs';

const dir = freshDir('report');
const session = path.join(dir, 's.h5');
const made = run(['simulate', '--session', session, '--mvc', '--reps', '10', '--seed', '12', '--truth',
  path.join(dir, 'truth.json')], path.join(dir, 'simulate.log'));
check(await made.exited === 0, 'a simulated 10-rep session is written');
const reps = truth(dir).reps.length;
check(reps === 10, 'the truth has 10 reps');
const pdf = path.join(dir, 'report.pdf'), html = path.join(dir, 'report.html');
const report = run(['report', session, '--html', html, '--pdf', pdf], path.join(dir, 'report.log'));
check(await report.exited === 0, 'report --html --pdf succeeds');

const bytes = fs.readFileSync(pdf).toString('latin1');
const pages = bytes.match(/\/Type\s*\/Page[^s]/g) ?? [];
check(pages.length === 1, `the 10-rep set prints on one page (${pages.length})`);
const box = bytes.match(/\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/);
check(box && Math.abs(Number(box[1]) - 595.9) < 2 && Math.abs(Number(box[2]) - 842.9) < 2,
  `the page is A4 (${box?.[1]} x ${box?.[2]} pt)`);

const text = fs.readFileSync(html, 'utf8');
const count = (re) => (text.match(re) ?? []).length;
check(count(/class="verdict-row/g) === reps, `one table row per rep (${reps})`);
check(count(/<td class="light light-(green|amber|red|grey)">/g) === reps, 'one traffic light per rep in the table');
check(count(/<svg class="angle-plot"/g) === 1, 'the driving angle is plotted');
check(count(/<svg class="envelope-plot" data-group="glutes"/g) === 1 &&
  count(/<svg class="envelope-plot" data-group="compensators"/g) === 1,
  'small multiples for the glutes and the compensators');
check(count(/<polyline/g) === 9, 'one trace per channel (8) and the angle, none overlapping another');
check(count(/<line class="onset"/g) >= reps * 4, `onset markers (${count(/<line class="onset"/g)})`);
check(!/ES\/glute/.test(text) && /glute:ES/.test(text), 'ratios read one way: glute:ES, never ES/glute');
check(!/(yes|no) \(-?[\d.]+\)/.test(text), 'no bare "yes (33.81)" numbers without a unit');
for (const header of ['%MVIC', 'glute:ES', '(°', 'ms', 'BF:GMax', 'TFL:GMed']) {
  check(text.includes(header), `a verdict header names its unit: ${header}`);
}
check(!text.includes('<script') && !/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(text), 'self-contained: no scripts, no links out');

const { browser: b, page, errors } = await browser(dir);
try {
  await page.setViewportSize({ width: 900, height: 1270 });
  await page.goto(`file://${html}`);
  await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: true });
  check(errors.length === 0, 'the report renders without console errors');
} finally {
  await b.close();
}
