// Connects to /ws (same origin; the token travels in the cookie set with the page) and hands messages
// to the live or the review view, whichever the server announces first.
import { startLive } from './live.js';
import { startReview } from './review.js';

const link = document.getElementById('link');
const stats = { mode: null, messages: 0, repLatencyMs: [], sampleLatencyMs: [], reps: [], errors: [] };
window.glutescope = stats;

const ws = new WebSocket(`ws://${location.host}/ws`);
ws.binaryType = 'arraybuffer';
let view = null;
const send = (obj) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(obj));

ws.onopen = () => { link.textContent = 'connected'; link.dataset.state = 'up'; };
ws.onclose = () => { link.textContent = 'disconnected'; link.dataset.state = 'down'; };
ws.onmessage = (event) => {
  stats.messages += 1;
  if (typeof event.data !== 'string') { view?.binary(event.data); return; }
  const msg = JSON.parse(event.data);
  if (!view && msg.type === 'info') { stats.mode = 'live'; view = startLive(send, stats); }
  if (!view && msg.type === 'review') { stats.mode = 'review'; view = startReview(send, stats); }
  view?.message(msg);
};
