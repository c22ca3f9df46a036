// Runs the real module in Node against a real daemon and prints what it would show, one JSON line every
// `everyMs`: {"at": epoch ms, "elapsedMs", "isPaused", "stale", "error"}. The daemon's outage tests read it.
// Usage: node testing/follow.js <baseUrl> <sessionId> [pollMs] [everyMs]
import { createSessionClock } from '../session-clock.js';

const [baseUrl, sessionId, pollMs = '2000', everyMs = '50'] = process.argv.slice(2);
if (!baseUrl || !sessionId) {
  console.error('usage: node testing/follow.js <baseUrl> <sessionId> [pollMs] [everyMs]');
  process.exit(2);
}
const clock = createSessionClock({ baseUrl, sessionId, pollMs: Number(pollMs), samples: 1 });
setInterval(() => {
  const { elapsedMs, isPaused, stale, error } = clock.snapshot();
  process.stdout.write(`${JSON.stringify({ at: Date.now(), elapsedMs, isPaused, stale, error: error?.message ?? null })}\n`);
}, Number(everyMs));
process.on('SIGTERM', () => { clock.destroy(); process.exit(0); });
