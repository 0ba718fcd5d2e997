// Test helpers for the clinician page's end-to-end tests (tests/web/CMakeLists.txt runs them with node):
// the real glutescope binary (simulator over a pty, recorder, viewer), Debian's Chromium through
// playwright-core (from web/package-lock.json, installed into the build tree), a minimal WebSocket client
// written on net (so a test can send oversized or malformed frames and stop reading), and h5py through
// Debian's python3 to read session files back.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const GLUTESCOPE = process.env.GLUTESCOPE_EXE;
export const TEST_DIR = process.env.GLUTESCOPE_TEST_DIR;
const require = createRequire(path.join(process.env.GLUTESCOPE_NODE_MODULES, 'noop.js'));

export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}
export function check(condition, message) {
  if (!condition) fail(message);
  console.log(`ok: ${message}`);
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `probe` every 100 ms until it returns a truthy value or `timeoutMs` passes (then fails).
export async function waitFor(probe, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export function freshDir(name) {
  const dir = path.join(TEST_DIR, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// Children still running when the script ends (a failed check threw) are killed: no recorder outlives a test.
const children = new Set();
process.on('exit', () => { for (const p of children) p.kill('SIGKILL'); });

// A child process whose stdout and stderr are collected; `exited` resolves to the exit code.
export function run(args, logPath) {
  const proc = spawn(GLUTESCOPE, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const out = { stdout: '', stderr: '' };
  proc.stdout.on('data', (d) => { out.stdout += d; });
  proc.stderr.on('data', (d) => { out.stderr += d; });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => {
    if (logPath) fs.writeFileSync(logPath, `$ glutescope ${args.join(' ')}\n${out.stdout}\n--- stderr\n${out.stderr}`);
    resolve(code ?? signal);
  }));
  return { proc, out, exited };
}

export async function readLine(child, regex, timeoutMs, what) {
  return waitFor(() => child.out.stdout.match(regex)?.[1] ?? child.out.stderr.match(regex)?.[1],
    timeoutMs, what);
}

// `glutescope simulate --pty ...`: returns the child and the pty path.
export async function simulate(dir, extra) {
  const sim = run(['simulate', '--pty', '--truth', path.join(dir, 'truth.json'), ...extra],
    path.join(dir, 'simulate.log'));
  const pty = await readLine(sim, /pty: (\S+)/, 30000, 'the simulator pty');
  return { sim, pty };
}

// Ends a recorder with SIGINT (as Ctrl-C) and returns its exit code (bounded wait).
export async function interrupt(child, timeoutMs = 30000) {
  child.proc.kill('SIGINT');
  const code = await Promise.race([child.exited, sleep(timeoutMs).then(() => 'timeout')]);
  if (code === 'timeout') { child.proc.kill('SIGKILL'); fail('process did not end within the bounded wait'); }
  return code;
}

export function truth(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'truth.json'), 'utf8'));
}

// Datasets and events of a session file through h5py (tests/web/h5_summary.py).
export function h5Summary(file) {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'h5_summary.py');
  const r = spawnSync('/usr/bin/python3', [script, file], { encoding: 'utf8' });
  if (r.status !== 0) fail(`h5_summary.py ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Headless Debian Chromium with a fresh profile; console errors and page errors are collected.
export async function browser(dir) {
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(dir, 'profile-'));
  // A fresh --user-data-dir: playwright takes it as the persistent context's directory.
  const b = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = b.pages()[0] ?? await b.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { browser: b, page, errors };
}

export function percentile(values, p) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  return v[Math.min(v.length - 1, Math.floor(p * (v.length - 1) + 0.5))];
}

// ---- A minimal WebSocket client (RFC 6455) on a raw TCP socket --------------------------------------
export function httpRequest(port, rawRequest) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(rawRequest));
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve(data));
    s.on('error', reject);
    s.setTimeout(10000, () => { s.destroy(); resolve(data); });
  });
}
export const statusOf = (response) => Number(response.split(' ')[1]);

export class RawWs {
  // Opens a WebSocket to /ws; `read=false` never reads from the socket (a slow client).
  static connect(port, { token = '', origin = '', read = true } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new RawWs();
      ws.socket = net.connect(port, '127.0.0.1');
      const key = crypto.randomBytes(16).toString('base64');
      const target = token ? `/ws?token=${token}` : '/ws';
      ws.socket.on('connect', () => ws.socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        `Sec-WebSocket-Key: ${key}\r\n${origin ? `Origin: ${origin}\r\n` : ''}\r\n`));
      ws.socket.on('error', (e) => { ws.closed = true; reject(e); });
      ws.socket.on('close', () => { ws.closed = true; });
      let head = Buffer.alloc(0);
      const onHead = (d) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        ws.socket.off('data', onHead);
        ws.status = statusOf(head.subarray(0, end).toString());
        ws.buffer = head.subarray(end + 4);
        if (read) ws.socket.on('data', (x) => ws.feed(x));
        else ws.socket.pause();
        if (read) ws.feed(Buffer.alloc(0));
        resolve(ws);
      };
      ws.socket.on('data', onHead);
    });
  }
  constructor() { this.messages = []; this.closed = false; this.buffer = Buffer.alloc(0); }
  feed(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0] & 0x0f;
      let len = this.buffer[1] & 0x7f, at = 2;
      if (len === 126) { if (this.buffer.length < 4) return; len = this.buffer.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (this.buffer.length < 10) return; len = Number(this.buffer.readBigUInt64BE(2)); at = 10; }
      if (this.buffer.length < at + len) return;
      const fin = (this.buffer[0] & 0x80) !== 0;
      const payload = this.buffer.subarray(at, at + len);
      this.buffer = this.buffer.subarray(at + len);
      if (opcode === 8) { this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 0; continue; }
      if (opcode === 9 || opcode === 10) continue;  // ping, pong
      if (opcode !== 0) this.fragments = { opcode, parts: [] };  // a message's first frame
      this.fragments.parts.push(Buffer.from(payload));
      if (!fin) continue;
      const whole = Buffer.concat(this.fragments.parts);
      if (this.fragments.opcode === 1) this.messages.push(JSON.parse(whole.toString()));
      else this.messages.push({ type: 'binary', bytes: whole.length });
    }
  }
  // One masked frame (client frames must be masked); opcode 1 text, 2 binary.
  sendFrame(payload, opcode = 1) {
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const mask = crypto.randomBytes(4);
    let header;
    if (data.length < 126) header = Buffer.from([0x80 | opcode, 0x80 | data.length]);
    else if (data.length < 65536) { header = Buffer.from([0x80 | opcode, 0x80 | 126, 0, 0]); header.writeUInt16BE(data.length, 2); }
    else { header = Buffer.alloc(10); header[0] = 0x80 | opcode; header[1] = 0x80 | 127; header.writeBigUInt64BE(BigInt(data.length), 2); }
    const masked = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
    this.socket.write(Buffer.concat([header, mask, masked]));
  }
  send(obj) { this.sendFrame(JSON.stringify(obj)); }
  close() { this.socket.destroy(); this.closed = true; }
}
