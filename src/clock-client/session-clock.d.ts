// TypeScript declarations for session-clock.js, the browser client of RoomReconciler's session clock.
// Checked in CI (test.sh): types-check/usage.ts compiles against them with --strict, and
// test/declarations.test.js compares the names declared here with the module's exports.

/** Drift (ms) above which a resync jumps straight to the server's value. */
export declare const SNAP_DRIFT_MS: number;
/** Drift (ms) below which a resync leaves the display alone (avoids visible jitter). */
export declare const IGNORE_DRIFT_MS: number;
/** Time (ms) over which a medium drift is eased away when the display is behind. */
export declare const EASE_MS: number;

/** What went wrong, by cause. */
export type ClockErrorKind =
  | 'bad-request' | 'unauthorized' | 'forbidden' | 'not-found' | 'too-many-streams' | 'http' | 'network' | 'protocol'
  | 'token' | 'listener';

/**
 * An error from the clock client. Never thrown at the application: it reaches `onError` and the
 * `error` field of the state given to listeners.
 */
export declare class ClockError extends Error {
  constructor(message: string, details?: { kind: ClockErrorKind; status?: number | null; source?: 'sync' | 'stream'; cause?: unknown });
  readonly name: 'ClockError';
  readonly kind: ClockErrorKind;
  /** The HTTP status, if there was one. */
  readonly status: number | null;
  /** 'sync' (GET /clock) or 'stream'. */
  readonly source: 'sync' | 'stream' | undefined;
}

/** The JSON of GET /clock/{sessionId} (and of each `clock` event on its stream): the database's times, ISO-8601 UTC. */
export interface ClockSnapshot {
  session_id: string;
  started_at: string | null;
  ended_at: string | null;
  is_paused: boolean;
  total_paused_ms: number;
  last_state_change_at: string | null;
  server_now: string;
  elapsed_ms: number;
}

/** The type of an outbound event: one per clock transition (docs/contract.md, "Outbound events"). */
export type SessionEventType = 'session.started' | 'session.paused' | 'session.resumed' | 'session.ended';

/**
 * The JSON body of an outbound event, as the daemon POSTs it to the application's server (Standard Webhooks; verify it
 * with the standardwebhooks package before trusting it). `sequence` counts the session's events 1, 2, 3, ... without
 * gaps: apply only one newer than the last applied. Times are ISO-8601 UTC, as in ClockSnapshot.
 */
export interface SessionEvent {
  type: SessionEventType;
  /** When the transition took effect on the clock (the same as data.effective_at). */
  timestamp: string;
  data: {
    session_id: string;
    sequence: number;
    /** Why: the reconciler's reason (e.g. 'grace_expired') or the one given to session_clock_*. */
    reason: string | null;
    /** Who made the transition: the reconciler's poll, a LiveKit webhook, or the application's own SQL. */
    source: 'poll' | 'webhook' | 'api';
    effective_at: string;
    /** The clock just after the transition; server_now is when it was written. */
    clock: ClockSnapshot;
  };
}

/** Formats elapsed milliseconds as "m:ss", or "h:mm:ss" from one hour on; whole seconds, rounded down. */
export declare function formatElapsed(ms: number): string;

/** The elapsed time of a snapshot at the given server time (epoch milliseconds). */
export declare function deriveElapsedMs(snapshot: ClockSnapshot, serverNowMs: number): number;

/** One Server-Sent Event. */
export interface SseEvent {
  type: string;
  data: string;
  id: string;
}

/** An incremental parser of a text/event-stream body: push chunks as they arrive. */
export declare function createSseParser(
  onEvent: (event: SseEvent) => void,
  options?: { onComment?: (text: string) => void },
): { push(text: string): void };

/** What listeners receive on every frame and every change. */
export interface ClockState {
  /** The elapsed billing time to display, in ms (integer). */
  elapsedMs: number;
  /** The server has paused the clock. */
  isPaused: boolean;
  /** The session's clock has started. */
  started: boolean;
  /** The session has ended. */
  ended: boolean;
  /** The last server snapshot applied, null until the first one. */
  clock: ClockSnapshot | null;
  /** The last error, cleared by the next snapshot received. */
  error: ClockError | null;
  /**
   * No server vouches for the clock now: a poll answered 503 (with Retry-After) or got no answer within
   * `requestTimeoutMs`, or the stream's `unavailable` event came. `elapsedMs` is frozen at what was shown then,
   * so a running clock nobody vouches for is never shown; cleared by the next snapshot received.
   */
  stale: boolean;
}

export interface SessionClockOptions {
  /** The daemon's URL, e.g. "https://clock.example.com". */
  baseUrl: string;
  /** The session's UUID. */
  sessionId: string;
  /** The LiveKit join token, or a function returning it (called before every request). Sent as `Authorization: Bearer`. */
  token?: string | (() => string | Promise<string>);
  /** Told about every error; never required. */
  onError?: (error: ClockError) => void;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Monotonic milliseconds; defaults to performance.now(). */
  now?: () => number;
  /** Defaults to requestAnimationFrame (or a 16 ms timer where there is none). */
  requestFrame?: (callback: () => void) => unknown;
  /** Pairs with requestFrame. */
  cancelFrame?: (handle: any) => void;
  /** Defaults to the globals. */
  timers?: { setTimeout: (callback: () => void, ms: number) => unknown; clearTimeout: (handle: any) => void };
  /** Resync interval while the stream is up (default 20000). */
  resyncMs?: number;
  /** Poll interval while the stream is down or disabled (default 5000). */
  pollMs?: number;
  /** Round trips at start, and the window of later resyncs (default 5). */
  samples?: number;
  /** Follow GET /clock/{id}/stream for immediate pause and resume (default true). */
  stream?: boolean;
  /** Reconnect when the stream is silent this long (default 45000). */
  streamIdleMs?: number;
  /** Abort a request without an answer (headers) this long; a poll that times out makes the state stale (default 2500). */
  requestTimeoutMs?: number;
}

export interface SessionClock {
  /** Calls the listener at once, then on every animation frame and every change; returns unsubscribe. */
  subscribe(listener: (state: ClockState) => void): () => void;
  /** The current state, computed now. */
  snapshot(): ClockState;
  /** The elapsed time to display now. */
  elapsedMs(): number;
  isPaused(): boolean;
  /** Fetch a fresh snapshot now (e.g. on a LiveKit participant event). */
  resync(): Promise<void>;
  /** Resolves with the state once the first snapshot is known, or null if destroyed first. Never rejects. */
  readonly ready: Promise<ClockState | null>;
  /** Stops timers, frames, the stream and in-flight requests. */
  destroy(): void;
}

/** Creates a client-side view of one session's server clock. */
export declare function createSessionClock(options: SessionClockOptions): SessionClock;
