// Clients never touch the recording: the same simulated session (same seed, so the same bytes) is recorded
// twice at once, once with --web while 20 clients connect and disconnect, one client never reads (it
// must be dropped and counted, not slow the recorder) and one sends an oversized message (closed), and
// once without --web (nor --live). Every dataset that does not hold host clock times must be bit-identical (h5py),
// and both files get every simulated rep's data.
import path from 'node:path';
import { check, freshDir, h5Summary, interrupt, RawWs, readLine, run, simulate, sleep } from './support.mjs';

const dir = freshDir('load');
const withDir = freshDir('load/with-web'), withoutDir = freshDir('load/without-web');
const simArgs = ['--seed', '21', '--reps', '6', '--speed', '1'];
const [a, b] = await Promise.all([simulate(withDir, simArgs), simulate(withoutDir, simArgs)]);
const fileWith = path.join(withDir, 'session.h5'), fileWithout = path.join(withoutDir, 'session.h5');
const recWith = run(['record', '--port', a.pty, '--subject', 'S021', '--out', fileWith, '--no-keys', '--web', '127.0.0.1:0'],
  path.join(withDir, 'record.log'));
const recWithout = run(['record', '--port', b.pty, '--subject', 'S021', '--out', fileWithout, '--no-keys'],
  path.join(withoutDir, 'record.log'));
const url = await readLine(recWith, /web: (http\S+)/, 30000, 'the web URL');
const port = Number(new URL(url).port);

const slow = await RawWs.connect(port, { read: false });  // never reads: its queue must overflow
let steady = await RawWs.connect(port);
let cycles = 0, received = 0;
const churn = (async () => {
  // 20 clients at a time: connect, read for a moment, disconnect, until the simulator is done.
  let done = false;
  a.sim.exited.then(() => { done = true; });
  while (!done) {
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawWs.connect(port)));
    await sleep(400 + Math.random() * 400);
    received += clients.reduce((n, c) => n + c.messages.length, 0);
    for (const c of clients) c.close();
    cycles += 1;
  }
})();
await sleep(5000);
const oversized = await RawWs.connect(port);
oversized.sendFrame('x'.repeat(64 * 1024));
await sleep(1000);
check(oversized.closed, 'an oversized message during the recording closes that connection');
const steadyBefore = steady.messages.length;
await sleep(2000);
check(!steady.closed && steady.messages.length > steadyBefore, 'another client keeps receiving meanwhile');
await churn;
await b.sim.exited;
await sleep(1500);
check(cycles >= 5 && received > 0, `20 clients connected and disconnected ${cycles} times (${received} messages read)`);
steady.close();
const codeWith = await interrupt(recWith), codeWithout = await interrupt(recWithout);
check(codeWith === 0 && codeWithout === 0, `both recordings end cleanly (${codeWith}, ${codeWithout})`);
const served = recWith.out.stdout.match(/web: (\d+) clients served, (\d+) dropped as too slow, (\d+) closed for bad messages/);
check(served !== null, 'the recorder prints its web counters');
check(Number(served[2]) >= 1, `the client that never read was dropped and counted (${served[2]} dropped)`);
check(Number(served[3]) === 1, `one client was closed for a bad message (${served[3]})`);
check(Number(served[1]) >= 20 * cycles, `every client was served (${served[1]})`);

const sw = h5Summary(fileWith), so = h5Summary(fileWithout);
// Host clock datasets differ between any two recordings (arrival times; event times on the host clock; the
// disconnect event's text names the pty), the rest must not.
const hostClock = /host_time|starting_time|timing_fit|session_start_time|statistics|file_create|identifier|events\/time_s|events\/text/;
const names = Object.keys(so.datasets).filter((n) => !hostClock.test(n)).sort();
check(names.length > 20 && names.some((n) => n === 'acquisition/emg/data'), `${names.length} datasets compared`);
check(JSON.stringify(Object.keys(sw.datasets).sort()) === JSON.stringify(Object.keys(so.datasets).sort()),
  'the same datasets in both files');
const differing = names.filter((n) => sw.datasets[n].sha256 !== so.datasets[n].sha256);
check(differing.length === 0, `every non-host-clock dataset is bit-identical with and without web clients (${differing.join(', ')})`);
const kinds = (s) => s.events.filter((e) => e.text === 'device').map((e) => `${e.kind}/${e.exercise}`).join(',');
check(kinds(sw) === kinds(so) && kinds(sw).length > 0, 'the same device events in both files');
