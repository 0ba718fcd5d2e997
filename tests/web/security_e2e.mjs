// The web server's security rules with the real binary (`glutescope view` serves the same WebServer as
// `record --web`): a non-loopback bind without a token is refused; a wrong or missing token gets 401 on
// HTTP and on the upgrade; a foreign Origin gets 403; only embedded assets are served (traversal
// attempts get 404); an oversized, a malformed and an unknown-type WebSocket message each close only
// their own connection.
import fs from 'node:fs';
import path from 'node:path';
import { check, freshDir, httpRequest, interrupt, RawWs, readLine, run, sleep, statusOf, waitFor } from './support.mjs';

const dir = freshDir('security');
const session = path.join(dir, 'view.h5');
const made = run(['simulate', '--session', session, '--reps', '3', '--seed', '4'], path.join(dir, 'simulate.log'));
check(await made.exited === 0, 'a simulated session file is written');

// Non-loopback without a token: refused before anything is served or recorded.
const refused = run(['record', '--port', '/dev/null', '--subject', 'S1', '--out', path.join(dir, 'never.h5'),
  '--web', '0.0.0.0:0'], path.join(dir, 'refused.log'));
const code = await refused.exited;
check(code !== 0 && /--web-token/.test(refused.out.stderr), `record --web 0.0.0.0:0 without a token is refused (exit ${code})`);
check(!fs.existsSync(path.join(dir, 'never.h5')), 'no session file is created when the bind is refused');
const viewRefused = run(['view', session, '--web', '0.0.0.0:0']);
check(await viewRefused.exited !== 0 && /--web-token/.test(viewRefused.out.stderr), 'view --web 0.0.0.0:0 without a token is refused');

// Non-loopback with a token.
const token = 'c0ffee0123456789';
const view = run(['view', session, '--web', '0.0.0.0:0', '--web-token', token], path.join(dir, 'view.log'));
const url = await readLine(view, /web: (http\S+)/, 60000, 'the view URL');
const port = Number(new URL(url).port);
check(new URL(url).searchParams.get('token') === token, 'the printed URL carries the token');
const get = (target, extra = '') => httpRequest(port,
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${extra}\r\n`);
try {
  check(statusOf(await get('/')) === 401, 'no token: 401');
  check(statusOf(await get('/?token=wrong')) === 401, 'wrong token: 401');
  check(statusOf(await get(`/?token=${token}x`)) === 401, 'token with an extra character: 401');
  const page = await get(`/?token=${token}`);
  check(statusOf(page) === 200 && /Set-Cookie: glutescope_token=/i.test(page), 'right token: 200 and the cookie');
  check(statusOf(await get('/app.js', `Cookie: glutescope_token=${token}\r\n`)) === 200, 'cookie token: 200');
  for (const target of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd',
    '//etc/passwd', '/web/src/app.js', '/index.html/..', '/CMakeLists.txt', '/app.js%00.html']) {
    check(statusOf(await get(`${target}?token=${token}`)) === 404, `path traversal ${target}: 404`);
  }
  // With a token, any Host may carry it (a non-loopback bind is reached by the machine's name or address).
  check(statusOf(await httpRequest(port, `GET /?token=${token} HTTP/1.1\r\nHost: clinic-pc.example:${port}\r\nConnection: close\r\n\r\n`)) === 200,
    'with the token, another Host name is served');
  const post = await httpRequest(port, `POST /?token=${token} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  check(statusOf(post) === 405, 'POST: 405');

  const noToken = await RawWs.connect(port);
  check(noToken.status === 401, 'WebSocket upgrade without a token: 401');
  const wrongToken = await RawWs.connect(port, { token: 'nope' });
  check(wrongToken.status === 401, 'WebSocket upgrade with a wrong token: 401');
  const foreign = await RawWs.connect(port, { token, origin: 'http://evil.example' });
  check(foreign.status === 403, 'WebSocket upgrade from a foreign Origin: 403');

  const good = await RawWs.connect(port, { token, origin: `http://127.0.0.1:${port}` });
  check(good.status === 101, 'WebSocket upgrade with the token and the page\'s Origin: 101');
  await waitFor(() => good.messages.some((m) => m.type === 'review'), 20000, 'the review message');

  const bad = [['oversized (5000 bytes)', (ws) => ws.send({ type: 'ping', pad: 'x'.repeat(5000) })],
    ['not JSON', (ws) => ws.sendFrame('{not json')],
    ['unknown type', (ws) => ws.send({ type: 'format_disk' })],
    ['binary', (ws) => ws.sendFrame(Buffer.from([1, 2, 3]), 2)],
    ['JSON array', (ws) => ws.sendFrame('[1,2]')]];
  for (const [what, sendBad] of bad) {
    const ws = await RawWs.connect(port, { token });
    await waitFor(() => ws.messages.length > 0, 20000, 'the first message');
    sendBad(ws);
    await waitFor(() => ws.closed, 10000, `the ${what} message closing its connection`);
    check(ws.closed, `a ${what} message closes that connection`);
  }
  // The well-behaved client is still served.
  const before = good.messages.length;
  good.send({ type: 'rep_detail', set: 0, rep: 1 });
  await waitFor(() => good.messages.length > before, 10000, 'a rep_detail reply after the bad clients');
  const detail = good.messages.at(-1);
  check(!good.closed && detail.type === 'rep_detail' && detail.rep === 1, 'the other connection goes on (rep_detail answered)');
  good.send({ type: 'rep_detail', set: 0, rep: 99 });
  await waitFor(() => good.messages.at(-1).type === 'error', 10000, 'an error reply');
  check(!good.closed, 'a rep that does not exist is answered with an error, the connection stays');
  good.close();
} finally {
  const end = await interrupt(view);
  check(end === 0, `view ends cleanly on SIGINT (exit ${end})`);
}

// Loopback without a token: only loopback Host names are served. A foreign name (a DNS-rebinding page, whose
// Origin matches its own Host) gets 401 on HTTP and on the upgrade.
const local = run(['view', session, '--web', '127.0.0.1:0'], path.join(dir, 'local.log'));
const localUrl = await readLine(local, /web: (http\S+)/, 60000, 'the loopback view URL');
const localPort = Number(new URL(localUrl).port);
const hostGet = (host) => httpRequest(localPort, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
try {
  for (const host of [`127.0.0.1:${localPort}`, `localhost:${localPort}`, `[::1]:${localPort}`, '127.0.0.1']) {
    check(statusOf(await hostGet(host)) === 200, `loopback Host ${host}: 200`);
  }
  for (const host of [`rebind.example:${localPort}`, 'rebind.example', `10.1.2.3:${localPort}`, '', '[::1']) {
    check(statusOf(await hostGet(host)) === 401, `Host '${host}' without a token: 401`);
  }
  const rebound = await httpRequest(localPort, `GET /ws HTTP/1.1\r\nHost: rebind.example:${localPort}\r\n` +
    `Origin: http://rebind.example:${localPort}\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  check(statusOf(rebound) === 401, 'a rebound page\'s WebSocket upgrade (its Host and Origin agree): 401');
} finally {
  const end = await interrupt(local);
  check(end === 0, `the loopback view ends cleanly on SIGINT (exit ${end})`);
}
