// Compiled with `tsc --noEmit --strict` in CI (test.sh): the declarations in ../session-clock.d.ts serve a typed
// client such as the React `SessionTimer` of ../README.md, and misuse fails to compile (the @ts-expect-error lines).
import {
  createSessionClock, createSseParser, deriveElapsedMs, formatElapsed, ClockError,
  EASE_MS, IGNORE_DRIFT_MS, SNAP_DRIFT_MS,
  type ClockErrorKind, type ClockSnapshot, type ClockState, type SessionClock, type SessionEvent, type SessionEventType,
} from '../session-clock.js';

const clock: SessionClock = createSessionClock({
  baseUrl: 'https://clock.example.com',
  sessionId: '0b6f2c1e-3a7d-4c1f-9a53-1f2e3d4c5b6a',
  token: async () => 'a LiveKit join token',
  onError: (error: ClockError) => console.warn(error.kind satisfies ClockErrorKind, error.status, error.source),
  stream: true,
  resyncMs: 20_000,
  requestTimeoutMs: 2_500,
});

const unsubscribe: () => void = clock.subscribe((state: ClockState) => {
  const label: string = formatElapsed(state.elapsedMs);
  const paused: boolean = state.isPaused && state.started && !state.ended;
  // Frozen and not vouched for: show it as such rather than as a running clock.
  const stale: boolean = state.stale;
  const serverNow: string | undefined = state.clock?.server_now;
  console.log(label, paused, stale, serverNow, state.error?.message);
});

async function firstState(): Promise<number | null> {
  const state = await clock.ready;
  await clock.resync();
  return state === null ? null : state.elapsedMs;
}

const snapshot: ClockSnapshot = {
  session_id: '0b6f2c1e-3a7d-4c1f-9a53-1f2e3d4c5b6a', started_at: '2026-01-01T10:00:00.000Z', ended_at: null,
  is_paused: false, total_paused_ms: 0, last_state_change_at: '2026-01-01T10:00:00.000Z',
  server_now: '2026-01-01T10:01:00.000Z', elapsed_ms: 60_000,
};
const elapsed: number = deriveElapsedMs(snapshot, Date.parse(snapshot.server_now));
const parser = createSseParser((event) => console.log(event.type, event.data, event.id), { onComment: (text) => text.length });
parser.push('event: clock\ndata: {}\n\n');
const thresholds: number[] = [SNAP_DRIFT_MS, IGNORE_DRIFT_MS, EASE_MS, elapsed, clock.elapsedMs()];

// @ts-expect-error sessionId is required
createSessionClock({ baseUrl: 'https://clock.example.com' });
// @ts-expect-error elapsedMs is a number
const wrong: string = clock.snapshot().elapsedMs;
// @ts-expect-error stale is a boolean
const staleText: string = clock.snapshot().stale;
// @ts-expect-error not an error kind
const kind: ClockErrorKind = 'timeout';

export { unsubscribe, firstState, thresholds, wrong, staleText, kind };

// An application server's handler of outbound events (after verifying them with the standardwebhooks package).
function onSessionEvent(event: SessionEvent, lastApplied: number): number {
  if (event.data.sequence <= lastApplied) return lastApplied;
  const type: SessionEventType = event.type;
  const billedMs: number = event.data.clock.elapsed_ms;
  const bySql: boolean = event.data.source === 'api';
  console.log(type, event.data.session_id, billedMs, bySql, event.data.reason ?? 'no reason', event.timestamp === event.data.effective_at);
  return event.data.sequence;
}
onSessionEvent({
  type: 'session.paused', timestamp: '2026-12-01T10:00:00.000Z',
  data: {
    session_id: '0b6f2c1e-3a7d-4c1f-9a53-1f2e3d4c5b6a', sequence: 2, reason: 'grace_expired', source: 'poll',
    effective_at: '2026-12-01T10:00:00.000Z',
    clock: {
      session_id: '0b6f2c1e-3a7d-4c1f-9a53-1f2e3d4c5b6a', started_at: '2026-12-01T09:00:00.000Z', ended_at: null, is_paused: true,
      total_paused_ms: 0, last_state_change_at: '2026-12-01T10:00:00.000Z', server_now: '2026-12-01T10:00:01.000Z', elapsed_ms: 3_600_000,
    },
  },
}, 1);
// @ts-expect-error an event type that does not exist
const wrongType: SessionEventType = 'session.billed';
void wrongType;
