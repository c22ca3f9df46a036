/**
 * session-clock.js — the browser half of RoomReconciler's billing clock.
 *
 * The clock lives in PostgreSQL; the daemon serves snapshots of it (GET /clock/{id}) and pushes a new
 * snapshot on every change (GET /clock/{id}/stream, Server-Sent Events). This module turns those snapshots
 * into an elapsed time that every participant sees identically:
 *
 * - The elapsed time is DERIVED on every frame from the snapshot and an estimate of the server's clock,
 *   never incremented locally, so it cannot accumulate drift.
 * - The server's clock is estimated from several request round trips, keeping the one with the lowest
 *   round-trip time (the tightest bound on when `server_now` was taken), mapped onto the local monotonic
 *   clock (performance.now()), which wall-clock changes on the device cannot disturb.
 * - Resyncs only re-estimate that offset; when the display would move because of it, small differences are
 *   ignored, medium ones eased, large ones snapped. Pause, resume, start and end apply at once.
 * - A clock nobody vouches for is never shown running: when the server says it cannot vouch (a 503, the
 *   stream's `unavailable` event) or does not answer in time, the display freezes and `state.stale` is true
 *   until a fresh snapshot arrives (polled through the load balancer, so another replica can answer).
 *
 * No dependencies; runs in browsers and in Node 20 (fetch, ReadableStream, TextDecoder, AbortController).
 *
 * @module session-clock
 */

/** Drift (ms) above which a resync jumps straight to the server's value. */
export const SNAP_DRIFT_MS = 1500;
/** Drift (ms) below which a resync leaves the display alone (avoids visible jitter). */
export const IGNORE_DRIFT_MS = 100;
/** Time (ms) over which a medium drift is eased away when the display is behind. */
export const EASE_MS = 1000;

const DEFAULT_RESYNC_MS = 20_000;
const DEFAULT_POLL_MS = 5_000;
const DEFAULT_SAMPLES = 5;
// The server sends a heartbeat every 15 s; three missed ones mean the connection is dead even if TCP
// has not noticed (proxies, sleeping laptops).
const DEFAULT_STREAM_IDLE_MS = 45_000;
const STREAM_RETRY_MIN_MS = 1_000;
const STREAM_RETRY_MAX_MS = 30_000;
// Longer than the daemon's own bound on any answer (1 s), shorter than a person notices a wrong clock.
const DEFAULT_REQUEST_TIMEOUT_MS = 2_500;
// When the server gives no Retry-After (or an HTTP date), as the daemon's own.
const DEFAULT_RETRY_AFTER_MS = 1_000;

const KIND_BY_STATUS = { 400: 'bad-request', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found', 429: 'too-many-streams' };

/**
 * An error from the clock client. Never thrown at the application: it reaches `onError` and the
 * `error` field of the state given to listeners.
 */
export class ClockError extends Error {
  /**
   * @param {string} message
   * @param {{kind: string, status?: number|null, source?: string, cause?: unknown}} details
   *   kind: 'bad-request' | 'unauthorized' | 'forbidden' | 'not-found' | 'too-many-streams' | 'http' | 'network'
   *         | 'protocol' | 'token' | 'listener';
   *   status: the HTTP status, if there was one; source: 'sync' (GET /clock) or 'stream'.
   */
  constructor(message, { kind, status = null, source, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ClockError';
    this.kind = kind;
    this.status = status;
    this.source = source;
  }
}

// ---------------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------------

/**
 * Formats elapsed milliseconds as "m:ss", or "h:mm:ss" from one hour on. Whole seconds, rounded down
 * (a billed second is shown once it has fully passed); negative or invalid input shows "0:00".
 * @param {number} ms
 * @returns {string}
 */
export function formatElapsed(ms) {
  const totalSeconds = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

function parseTime(iso) {
  if (iso == null) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** Parses a server snapshot once, so frames do arithmetic only. Throws ClockError('protocol'). */
function readClockTimes(snapshot) {
  const serverNow = snapshot && typeof snapshot === 'object' ? parseTime(snapshot.server_now) : null;
  if (serverNow === null) {
    throw new ClockError('clock snapshot without a valid server_now', { kind: 'protocol' });
  }
  return {
    startedAt: parseTime(snapshot.started_at),
    endedAt: parseTime(snapshot.ended_at),
    isPaused: snapshot.is_paused === true,
    totalPausedMs: Number(snapshot.total_paused_ms) || 0,
    lastStateChangeAt: parseTime(snapshot.last_state_change_at),
    serverNow,
  };
}

function elapsedFromTimes(times, serverNowMs) {
  if (times.startedAt === null) return 0;
  let end = serverNowMs;
  if (times.isPaused && times.lastStateChangeAt !== null) end = times.lastStateChangeAt;
  else if (times.endedAt !== null) end = times.endedAt;
  return Math.max(0, end - times.startedAt - times.totalPausedMs);
}

/** True when the elapsed time does not move: not started, paused or ended. */
function isFrozen(times) {
  return times.startedAt === null || times.isPaused || times.endedAt !== null;
}

/** Everything except server_now: if this changes, the billing state changed (not just time passing). */
function stateKey(times) {
  return [times.startedAt, times.endedAt, times.isPaused, times.totalPausedMs, times.lastStateChangeAt].join('|');
}

/**
 * Elapsed billing time of a snapshot at a given server time, exactly as the server defines it:
 * 0 before start; otherwise end − started_at − total_paused_ms, where end is last_state_change_at while
 * paused, else ended_at if set, else serverNowMs.
 * @param {object} snapshot the JSON of GET /clock/{id}
 * @param {number} serverNowMs server time in epoch milliseconds
 * @returns {number}
 */
export function deriveElapsedMs(snapshot, serverNowMs) {
  return elapsedFromTimes(readClockTimes(snapshot), serverNowMs);
}

/**
 * An incremental Server-Sent Events parser (WHATWG EventSource rules, the parts this API uses):
 * lines end in LF, CR or CRLF (also when CR and LF arrive in different chunks), `event:` and `data:`
 * fields (several data lines join with "\n"), `id:`, comments (lines starting with ':'), dispatch on a
 * blank line, events without data are dropped. Feed it decoded text in chunks of any size.
 * (A leading BOM is removed by TextDecoder, which the stream reader uses.)
 * @param {(event: {type: string, data: string, id: string}) => void} onEvent
 * @param {{onComment?: (text: string) => void}} [options]
 * @returns {{push(text: string): void}}
 */
export function createSseParser(onEvent, { onComment } = {}) {
  let pending = '';
  let chunkEndedWithCr = false; // then a leading LF in the next chunk ends nothing: it is that CRLF's LF
  let eventType = '';
  let dataLines = [];
  let lastEventId = '';

  function dispatch() {
    const event = { type: eventType || 'message', data: dataLines.join('\n'), id: lastEventId };
    const hasData = dataLines.length > 0;
    eventType = '';
    dataLines = [];
    if (hasData) onEvent(event);
  }

  function processLine(line) {
    if (line === '') return dispatch();
    if (line[0] === ':') return onComment?.(line.slice(1));
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'event') eventType = value;
    else if (field === 'data') dataLines.push(value);
    else if (field === 'id' && !value.includes('\0')) lastEventId = value;
    // 'retry' and unknown fields are ignored: reconnection uses its own backoff.
  }

  return {
    push(text) {
      if (!text) return;
      if (chunkEndedWithCr && text[0] === '\n') text = text.slice(1);
      chunkEndedWithCr = false;
      const buffer = pending + text;
      let lineStart = 0;
      for (let i = 0; i < buffer.length; i++) {
        const ch = buffer[i];
        if (ch !== '\n' && ch !== '\r') continue;
        processLine(buffer.slice(lineStart, i));
        if (ch === '\r') {
          if (i + 1 === buffer.length) chunkEndedWithCr = true;
          else if (buffer[i + 1] === '\n') i++;
        }
        lineStart = i + 1;
      }
      pending = buffer.slice(lineStart);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The clock
// ---------------------------------------------------------------------------------------------------

/**
 * @typedef {object} ClockState  What listeners receive on every frame and every change.
 * @property {number} elapsedMs  the elapsed billing time to display, in ms (integer)
 * @property {boolean} isPaused  the server has paused the clock
 * @property {boolean} started   the session's clock has started
 * @property {boolean} ended     the session has ended
 * @property {object|null} clock the last server snapshot applied (raw JSON), null until the first one
 * @property {ClockError|null} error the last error, cleared by the next snapshot received
 * @property {boolean} stale no server vouches for the clock now (a 503, the stream's `unavailable` event,
 *   a request timeout, a network error on a poll): elapsedMs is frozen at what was shown then, until the
 *   next snapshot
 */

/**
 * @typedef {object} SessionClock
 * @property {(listener: (state: ClockState) => void) => () => void} subscribe
 *   calls the listener at once and then on every animation frame and every change; returns unsubscribe.
 *   Frames run only while someone is subscribed.
 * @property {() => ClockState} snapshot the current state, computed now
 * @property {() => number} elapsedMs the elapsed time to display now
 * @property {() => boolean} isPaused
 * @property {() => Promise<void>} resync fetch a fresh snapshot now (e.g. on a LiveKit participant event)
 * @property {Promise<ClockState|null>} ready resolves with the state once the first snapshot is known,
 *   or with null if destroyed first. Never rejects: errors go to onError / state.error, and the client
 *   keeps retrying.
 * @property {() => void} destroy stops timers, frames, the stream and in-flight requests
 */

/**
 * Creates a client-side view of one session's server clock.
 *
 * @param {object} options
 * @param {string} options.baseUrl the daemon's URL, e.g. "https://clock.example.com"
 * @param {string} options.sessionId the session's UUID
 * @param {string|(() => string|Promise<string>)} [options.token] the LiveKit join token, or a function
 *   returning it (called before every request, so the app can refresh it). Sent as `Authorization: Bearer`.
 * @param {(error: ClockError) => void} [options.onError] told about every error; never required
 * @param {typeof fetch} [options.fetch] defaults to the global fetch
 * @param {() => number} [options.now] monotonic milliseconds; defaults to performance.now()
 * @param {(callback: () => void) => any} [options.requestFrame] defaults to requestAnimationFrame
 *   (or a 16 ms timer where there is none)
 * @param {(handle: any) => void} [options.cancelFrame] pairs with requestFrame
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers] defaults to the globals
 * @param {number} [options.resyncMs=20000] resync interval while the stream is up
 * @param {number} [options.pollMs=5000] poll interval while the stream is down (or disabled)
 * @param {number} [options.samples=5] round trips at start; also the size of the window the
 *   lowest-round-trip sample is chosen from on later resyncs
 * @param {boolean} [options.stream=true] follow GET /clock/{id}/stream for immediate pause/resume
 * @param {number} [options.streamIdleMs=45000] reconnect when the stream is silent this long
 * @param {number} [options.requestTimeoutMs=2500] a request without an answer (headers) this long is
 *   aborted and counts as the server not vouching
 * @returns {SessionClock}
 */
export function createSessionClock(options) {
  const {
    baseUrl,
    sessionId,
    token,
    onError,
    fetch: fetchImpl = (...args) => globalThis.fetch(...args), // unbound window.fetch throws in browsers
    now = () => globalThis.performance.now(),
    timers = globalThis,
    resyncMs = DEFAULT_RESYNC_MS,
    pollMs = DEFAULT_POLL_MS,
    samples = DEFAULT_SAMPLES,
    stream: useStream = true,
    streamIdleMs = DEFAULT_STREAM_IDLE_MS,
    requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  } = options;
  if (!baseUrl || !sessionId) throw new TypeError('createSessionClock needs baseUrl and sessionId');
  const sampleCount = Math.max(1, Math.floor(samples));
  const { requestFrame, cancelFrame } = frameScheduler(options, timers, now);

  const clockUrl = `${String(baseUrl).replace(/\/+$/, '')}/clock/${encodeURIComponent(sessionId)}`;
  const streamUrl = `${clockUrl}/stream`;

  // --- state ---
  let clock = null; // raw server snapshot
  let times = null; // its parsed times
  let lastError = null;
  // Not vouched for: the display holds frozenMs until a fresh snapshot; polls back off from retryAfterMs.
  let stale = false;
  let frozenMs = 0;
  let retryAfterMs = DEFAULT_RETRY_AFTER_MS;
  let stalePolls = 0;
  // Offset samples: serverMs ≈ monotonicMs + offsetMs. The sample with the lowest round trip wins;
  // the window slides so the estimate follows slow rate differences between the two clocks.
  const offsetSamples = [];
  let offsetMs = null;
  // What is shown minus what is derived, decaying linearly to 0 over durationMs (Infinity: held).
  let correction = { startMs: 0, atMs: 0, durationMs: Infinity };

  const listeners = new Set();
  let frameHandle = null;
  let syncTimer = null;
  let syncing = false;
  let streamUp = false; // a clock event arrived on the current stream connection
  let streamController = null;
  let streamRetryTimer = null;
  let streamIdleTimer = null;
  let streamAttempts = 0;
  let streamRetryAfterMs = null; // the Retry-After of the last stream refused by a stream limit (429)
  let destroyed = false;
  const inFlight = new Set(); // the AbortControllers of in-flight GET /clock, aborted on destroy

  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });

  // --- derived time ---

  function correctionAt(t) {
    const { startMs, atMs, durationMs } = correction;
    if (startMs === 0 || durationMs === Infinity) return startMs;
    const remaining = 1 - (t - atMs) / durationMs;
    return remaining > 0 ? startMs * remaining : 0;
  }

  function derivedAt(t) {
    return times ? elapsedFromTimes(times, t + offsetMs) : 0;
  }

  function shownAt(t) {
    if (stale) return frozenMs;
    return times ? Math.max(0, derivedAt(t) + correctionAt(t)) : 0;
  }

  function stateAt(t) {
    return {
      elapsedMs: Math.round(shownAt(t)),
      isPaused: times?.isPaused ?? false,
      started: (times?.startedAt ?? null) !== null,
      ended: (times?.endedAt ?? null) !== null,
      clock,
      error: lastError,
      stale,
    };
  }

  /**
   * No server vouches for the clock now: freeze the display where it is (a running clock nobody vouches for
   * is never shown) and poll again after `afterMs`, backing off from there.
   */
  function markStale(afterMs) {
    retryAfterMs = Number.isFinite(afterMs) && afterMs >= 0 ? afterMs : DEFAULT_RETRY_AFTER_MS;
    if (stale) return;
    frozenMs = shownAt(now());
    stale = true;
    stalePolls = 0;
    scheduleSync(retryAfterMs);
    emit();
  }

  /** While stale: Retry-After, doubling, at most pollMs; else the usual cadence. */
  function nextSyncDelay() {
    if (stale) return Math.min(pollMs, retryAfterMs * 2 ** stalePolls++);
    return streamUp ? resyncMs : pollMs;
  }

  /**
   * Applies a snapshot (from a poll or the stream) and any new offset samples, then decides how the
   * display moves. State changes (pause, resume, start, end) apply at once. Otherwise the only thing that
   * can move the display is a new offset estimate, and the drift rules apply:
   *   |drift| > 1.5 s  → snap;
   *   0.1 – 1.5 s      → ease: behind catches up over 1 s (runs up to 2.5× speed); ahead slows down, over
   *                      max(1 s, 2 × drift) so it runs at ≥ half speed and a running clock never goes back;
   *   < 0.1 s          → leave the display where it is (the small difference is held, never accumulates:
   *                      once it reaches 0.1 s the next resync eases it away).
   */
  function applySnapshot(snapshot, snapshotTimes, newSamples = []) {
    const t = now();
    const shownBefore = times ? shownAt(t) : null;
    const wasStale = stale;
    stale = false;
    const offsetWasGuess = offsetSamples.length > 0 && bestSample(offsetSamples).rttMs === Infinity;

    for (const sample of newSamples) offsetSamples.push(sample);
    while (offsetSamples.length > sampleCount) offsetSamples.shift();
    if (offsetSamples.length === 0) {
      // Stream before any round trip succeeded: its server_now is better than nothing, and any real
      // round trip replaces it.
      offsetSamples.push({ rttMs: Infinity, offsetMs: snapshotTimes.serverNow - t });
    }
    offsetMs = bestSample(offsetSamples).offsetMs;

    // A poll answered before a stream event but delivered after it must not undo that event.
    const outOfOrder = times !== null && snapshotTimes.serverNow < times.serverNow;
    const stateChanged = !outOfOrder && (times === null || stateKey(snapshotTimes) !== stateKey(times));
    if (!outOfOrder) {
      clock = snapshot;
      times = snapshotTimes;
    }
    lastError = null;

    const drift = derivedAt(t) - shownBefore;
    const magnitude = Math.abs(drift);
    // A guessed offset (see above) is not worth keeping the display continuous for: replace it outright; nor is a
    // display frozen while nobody vouched for it.
    if (shownBefore === null || stateChanged || isFrozen(times) || offsetWasGuess || wasStale || magnitude > SNAP_DRIFT_MS) {
      correction = { startMs: 0, atMs: t, durationMs: Infinity };
    } else if (magnitude < IGNORE_DRIFT_MS) {
      correction = { startMs: -drift, atMs: t, durationMs: Infinity };
    } else {
      const durationMs = drift < 0 ? Math.max(EASE_MS, 2 * magnitude) : EASE_MS;
      correction = { startMs: -drift, atMs: t, durationMs };
    }

    resolveReady(stateAt(t));
    emit();
  }

  // --- listeners and frames ---

  function notify(listener, state) {
    try {
      listener(state);
    } catch (err) {
      // A broken listener must not stop the frame loop or the other listeners.
      if (onError) safely(() => onError(new ClockError('a clock listener threw', { kind: 'listener', cause: err })));
    }
  }

  function emit() {
    if (destroyed || listeners.size === 0) return;
    const state = stateAt(now());
    for (const listener of [...listeners]) notify(listener, state);
  }

  function onFrame() {
    frameHandle = null;
    if (destroyed || listeners.size === 0) return;
    emit();
    scheduleFrame();
  }

  function scheduleFrame() {
    if (frameHandle === null && !destroyed && listeners.size > 0) frameHandle = requestFrame(onFrame);
  }

  function stopFrames() {
    if (frameHandle !== null) cancelFrame(frameHandle);
    frameHandle = null;
  }

  // --- errors ---

  function report(error, source) {
    if (destroyed) return;
    const clockError = error instanceof ClockError
      ? error
      : new ClockError(String(error?.message ?? error), { kind: 'protocol', cause: error });
    clockError.source ??= source;
    lastError = clockError;
    if (onError) safely(() => onError(clockError));
    // A poll that the server refused to vouch for (503) or that nobody answered. A stream's failures are left to the
    // polls: a refused or cut stream says nothing about the snapshot the last poll vouched for. (A stream the
    // server withdraws says so with its `unavailable` event.)
    if (source === 'sync' && (clockError.status === 503 || clockError.kind === 'network')) markStale(clockError.retryAfterMs);
    emit();
  }

  // --- HTTP ---

  async function resolveToken() {
    try {
      const value = typeof token === 'function' ? await token() : token;
      return value ? String(value) : null;
    } catch (err) {
      throw new ClockError('could not get the LiveKit token', { kind: 'token', cause: err });
    }
  }

  /** A GET on `controller`, which is aborted when no answer (headers) comes within requestTimeoutMs. */
  async function request(url, bearer, controller, accept) {
    const headers = { Accept: accept };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let timedOut = false;
    const timeout = timers.setTimeout(() => { timedOut = true; controller.abort(); }, requestTimeoutMs);
    let response;
    try {
      response = await fetchImpl(url, { method: 'GET', headers, cache: 'no-store', signal: controller.signal });
    } catch (err) {
      const message = timedOut ? `no answer to GET ${url} within ${requestTimeoutMs} ms` : `network error on GET ${url}: ${err?.message ?? err}`;
      throw new ClockError(message, { kind: 'network', cause: err });
    } finally {
      timers.clearTimeout(timeout);
    }
    if (!response.ok) {
      discardBody(response);
      const error = new ClockError(`GET ${url} answered ${response.status}`, {
        kind: KIND_BY_STATUS[response.status] ?? 'http',
        status: response.status,
      });
      error.retryAfterMs = retryAfter(response);
      throw error;
    }
    return response;
  }

  /** One round trip: the snapshot plus an offset sample. */
  async function takeSample() {
    const bearer = await resolveToken(); // before timing: a token refresh is not network latency
    const controller = new AbortController();
    inFlight.add(controller);
    const sentAt = now();
    let receivedAt, snapshot;
    try {
      const response = await request(clockUrl, bearer, controller, 'application/json');
      receivedAt = now(); // headers are in; the small body adds nothing the server clock saw
      try {
        snapshot = await response.json();
      } catch (err) {
        throw new ClockError('clock answer is not JSON', { kind: 'protocol', cause: err });
      }
    } finally {
      inFlight.delete(controller);
    }
    const snapshotTimes = readClockTimes(snapshot);
    // server_now was taken somewhere inside the round trip; the midpoint is the best guess, and its
    // error is at most rtt/2 — hence keeping the lowest round trip.
    const sample = { rttMs: receivedAt - sentAt, offsetMs: snapshotTimes.serverNow - (sentAt + receivedAt) / 2 };
    return { snapshot, snapshotTimes, sample };
  }

  /** Takes `count` round trips (stopping at the first error) and applies the latest snapshot. */
  async function sync(count) {
    if (syncing || destroyed) return;
    syncing = true;
    try {
      const taken = [];
      for (let i = 0; i < count && !destroyed; i++) {
        try {
          taken.push(await takeSample());
        } catch (err) {
          report(err, 'sync');
          break;
        }
      }
      if (taken.length > 0 && !destroyed) {
        const latest = taken[taken.length - 1];
        applySnapshot(latest.snapshot, latest.snapshotTimes, taken.map((t) => t.sample));
      }
    } finally {
      syncing = false;
    }
  }

  function scheduleSync(delayMs) {
    if (destroyed) return;
    if (syncTimer !== null) timers.clearTimeout(syncTimer);
    syncTimer = timers.setTimeout(async () => {
      syncTimer = null;
      await sync(1);
      // While the stream is up it delivers changes at once, so resyncs only refresh the offset.
      scheduleSync(nextSyncDelay());
    }, delayMs);
  }

  // --- stream ---

  async function runStream() {
    if (destroyed) return;
    const controller = new AbortController();
    streamController = controller;
    let idledOut = false;
    const armIdleTimer = () => {
      if (streamIdleTimer !== null) timers.clearTimeout(streamIdleTimer);
      streamIdleTimer = timers.setTimeout(() => { idledOut = true; controller.abort(); }, streamIdleMs);
    };
    try {
      const bearer = await resolveToken();
      const response = await request(streamUrl, bearer, controller, 'text/event-stream');
      if (typeof response.body?.getReader !== 'function') {
        throw new ClockError('the clock stream has no readable body', { kind: 'protocol' });
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let toldUnavailable = false;
      const parser = createSseParser((event) => {
        if (event.type === 'unavailable') {
          // The replica cannot vouch for its clocks any more: freeze, poll (through the load balancer) after its
          // Retry-After, and reconnect, most likely to another replica.
          toldUnavailable = true;
          streamUp = false;
          markStale(unavailableRetryMs(event.data));
          return;
        }
        if (event.type !== 'clock') return;
        try {
          const snapshot = JSON.parse(event.data);
          applySnapshot(snapshot, readClockTimes(snapshot));
          streamUp = true;
          streamAttempts = 0;
        } catch (err) {
          report(err instanceof ClockError ? err : new ClockError('clock event is not JSON', { kind: 'protocol', cause: err }), 'stream');
        }
      });
      armIdleTimer();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || destroyed) break;
        armIdleTimer(); // any bytes, heartbeat comments included, prove the connection alive
        parser.push(decoder.decode(value, { stream: true }));
        if (toldUnavailable) {
          reader.cancel().catch(() => {});
          break;
        }
      }
      // A clean end (deploy, proxy timeout) is not an error: just reconnect.
    } catch (err) {
      if (destroyed) return;
      if (err instanceof ClockError && err.status === 429) streamRetryAfterMs = err.retryAfterMs;
      if (idledOut) {
        report(new ClockError(`clock stream silent for ${streamIdleMs} ms`, { kind: 'network', cause: err }), 'stream');
      } else {
        report(err instanceof ClockError ? err : new ClockError(`clock stream failed: ${err?.message ?? err}`, { kind: 'network', cause: err }), 'stream');
      }
    } finally {
      if (streamIdleTimer !== null) timers.clearTimeout(streamIdleTimer);
      streamIdleTimer = null;
      if (streamController === controller) streamController = null;
      if (!destroyed) streamDown();
    }
  }

  function streamDown() {
    const wasUp = streamUp;
    streamUp = false;
    // Fall back to polling; if the stream had been carrying changes, poll at once for any we missed.
    // Otherwise keep the poll already scheduled: failed reconnects must not keep pushing it back.
    if (wasUp) scheduleSync(0);
    else if (syncTimer === null && !syncing) scheduleSync(pollMs);
    const backoffMs = Math.min(STREAM_RETRY_MAX_MS, STREAM_RETRY_MIN_MS * 2 ** streamAttempts);
    streamAttempts++;
    // Jitter spreads the reconnects of many clients after a daemon restart. A stream limit's Retry-After is
    // honoured: never sooner, and spread over half as long again, so that the clients refused together do not
    // all come back in the same instant.
    const retryAfterMs = streamRetryAfterMs;
    streamRetryAfterMs = null;
    const delayMs = retryAfterMs !== null
      ? Math.max(backoffMs, retryAfterMs) * (1 + Math.random() * 0.5)
      : backoffMs * (0.75 + Math.random() * 0.5);
    streamRetryTimer = timers.setTimeout(() => { streamRetryTimer = null; runStream(); }, delayMs);
  }

  // --- start ---

  sync(sampleCount).then(() => {
    if (destroyed) return;
    scheduleSync(nextSyncDelay()); // becomes resyncMs once the stream delivers
    if (useStream) runStream();
  });

  return {
    subscribe(listener) {
      if (typeof listener !== 'function') throw new TypeError('subscribe needs a function');
      listeners.add(listener);
      if (!destroyed) notify(listener, stateAt(now()));
      scheduleFrame();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stopFrames();
      };
    },
    snapshot: () => stateAt(now()),
    elapsedMs: () => Math.round(shownAt(now())),
    isPaused: () => times?.isPaused ?? false,
    resync: () => sync(1),
    ready,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      stopFrames();
      listeners.clear();
      for (const timer of [syncTimer, streamRetryTimer, streamIdleTimer]) {
        if (timer !== null) timers.clearTimeout(timer);
      }
      syncTimer = streamRetryTimer = streamIdleTimer = null;
      for (const controller of inFlight) controller.abort();
      streamController?.abort();
      resolveReady(null);
    },
  };
}

function bestSample(samples) {
  // Lowest round trip; on a tie the newer sample, which reflects the current clock rate.
  return samples.reduce((best, sample) => (sample.rttMs <= best.rttMs ? sample : best));
}

function frameScheduler(options, timers, now) {
  if (options.requestFrame) {
    return { requestFrame: options.requestFrame, cancelFrame: options.cancelFrame ?? (() => {}) };
  }
  if (typeof globalThis.requestAnimationFrame === 'function') {
    return {
      requestFrame: (callback) => globalThis.requestAnimationFrame(callback),
      cancelFrame: (handle) => globalThis.cancelAnimationFrame(handle),
    };
  }
  return {
    requestFrame: (callback) => timers.setTimeout(() => callback(now()), 16),
    cancelFrame: (handle) => timers.clearTimeout(handle),
  };
}

/** Retry-After in ms: delta-seconds only (the daemon's form); an HTTP date or nothing gives null. */
function retryAfter(response) {
  const value = response.headers?.get?.('retry-after');
  return value != null && /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : null;
}

/** The `unavailable` event's data: {"retry_after_ms": n}; anything else gives null. */
function unavailableRetryMs(data) {
  try {
    const ms = JSON.parse(data)?.retry_after_ms;
    return Number.isFinite(ms) ? ms : null;
  } catch {
    return null;
  }
}

function discardBody(response) {
  try {
    response.body?.cancel?.()?.catch?.(() => {});
  } catch {
    // nothing to release
  }
}

function safely(fn) {
  try {
    fn();
  } catch {
    // an application callback failed; the clock carries on
  }
}
