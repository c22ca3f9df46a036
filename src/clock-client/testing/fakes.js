// Test doubles for session-clock.js: one fake monotonic clock that drives the timers, the frame
// scheduler and the fake server's clock, so tests control time completely and never really wait.
// (Kept outside test/ because Node's runner treats every .js file under test/ as a test file.)

import { createSessionClock } from '../session-clock.js';

export const SESSION_ID = '6b1f3c2e-8a4d-4e1b-9f0a-2c3d4e5f6a7b';
export const BASE_URL = 'https://clock.test';
export const EPOCH = Date.parse('2026-11-24T14:00:00.000Z');

const iso = (ms) => (ms === null ? null : new Date(ms).toISOString());

/** Lets pending promise chains (fetch, Response.json, stream reads) run to completion. */
export async function flush(rounds = 10) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

export function createFakeEnv() {
  const env = {
    mono: 1000, // local monotonic ms (performance.now())
    // The database's clock = mono + serverOffsetMs; tests move it to simulate a wrong estimate.
    serverOffsetMs: EPOCH - 1000,
    // Session state in epoch ms, as the database stores it.
    session: { startedAt: null, endedAt: null, isPaused: false, totalPausedMs: 0, lastStateChangeAt: null },
    requests: [], // { url, authorization, accept }
    // Per GET /clock request: { up, down } network delays; default below when empty.
    delays: [],
    defaultDelay: { up: 10, down: 10 },
    // GET /clock answers: null → 200 snapshot; a number → that status; 'network' → fetch rejects;
    // 'hang' → no answer until the request is aborted.
    clockFailure: null,
    // The Retry-After header of a 503 (the daemon's: 1 s) or a 429 (the daemon's: 5 s); null sends none.
    retryAfter: '1',
    // GET /clock/stream answers, same meaning; consumed in order, then streamFailure.
    streamFailures: [],
    streamFailure: null,
    streams: [], // open fake SSE connections
  };

  env.now = () => env.mono;
  env.serverNow = () => env.mono + env.serverOffsetMs;

  // --- server-side clock operations (all take server epoch ms; default: now) ---
  env.start = (at = env.serverNow()) => { Object.assign(env.session, { startedAt: at, lastStateChangeAt: at }); };
  env.pause = (at = env.serverNow()) => { Object.assign(env.session, { isPaused: true, lastStateChangeAt: at }); };
  env.resume = (at = env.serverNow()) => {
    const s = env.session;
    Object.assign(s, { isPaused: false, totalPausedMs: s.totalPausedMs + (at - s.lastStateChangeAt), lastStateChangeAt: at });
  };
  env.end = (at = env.serverNow()) => { env.session.endedAt = at; };

  /** The exact elapsed time the server would report now. */
  env.trueElapsed = () => {
    const s = env.session;
    if (s.startedAt === null) return 0;
    const end = s.isPaused ? s.lastStateChangeAt : (s.endedAt ?? env.serverNow());
    return end - s.startedAt - s.totalPausedMs;
  };

  env.snapshot = () => {
    const s = env.session;
    return {
      session_id: SESSION_ID,
      started_at: iso(s.startedAt),
      ended_at: iso(s.endedAt),
      is_paused: s.isPaused,
      total_paused_ms: s.totalPausedMs,
      last_state_change_at: iso(s.lastStateChangeAt),
      server_now: iso(env.serverNow()),
      elapsed_ms: env.trueElapsed(),
    };
  };

  env.clockRequests = () => env.requests.filter((r) => !r.url.endsWith('/stream'));
  env.streamRequests = () => env.requests.filter((r) => r.url.endsWith('/stream'));

  // --- fetch ---
  env.fetch = async (url, init = {}) => {
    const headers = init.headers ?? {};
    env.requests.push({ url, authorization: headers.Authorization ?? null, accept: headers.Accept ?? null });
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const isStream = url.endsWith('/stream');
    const failure = isStream ? (env.streamFailures.length ? env.streamFailures.shift() : env.streamFailure) : env.clockFailure;
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure === 'hang') {
      return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    }
    if (typeof failure === 'number') {
      const headers = { 'content-type': 'application/json' };
      if ((failure === 503 || failure === 429) && env.retryAfter !== null) headers['retry-after'] = env.retryAfter;
      return new Response(JSON.stringify({ error: 'nope' }), { status: failure, headers });
    }
    return isStream ? openStream(init.signal) : answerClock();
  };

  function answerClock() {
    const { up, down } = env.delays.length ? env.delays.shift() : env.defaultDelay;
    env.mono += up; // the request travels; the database reads its clock on arrival
    const body = JSON.stringify(env.snapshot());
    env.mono += down;
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  }

  function openStream(signal) {
    const encoder = new TextEncoder();
    const connection = { cancelled: false, closed: false };
    const body = new ReadableStream({
      start(controller) {
        connection.send = (text) => controller.enqueue(encoder.encode(text));
        connection.close = () => { connection.closed = true; controller.close(); };
        connection.fail = () => { connection.closed = true; controller.error(new TypeError('network lost')); };
      },
      cancel() { connection.cancelled = true; },
    });
    // A real fetch aborts its body stream when the signal fires.
    signal?.addEventListener('abort', () => {
      if (!connection.closed) { connection.cancelled = true; connection.fail(); }
    });
    connection.sendClock = () => connection.send(`event: clock\ndata: ${JSON.stringify(env.snapshot())}\n\n`);
    // What the daemon sends when it stops vouching for its clocks, before it ends the stream.
    connection.sendUnavailable = (retryAfterMs = 1000) => connection.send(`event: unavailable\ndata: {"retry_after_ms":${retryAfterMs}}\n\n`);
    connection.sendClock(); // the server sends the snapshot on connect
    env.streams.push(connection);
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }

  // --- timers (driven by env.mono) ---
  let nextTimerId = 1;
  env.pendingTimers = new Map(); // id → { at, fn }
  env.timers = {
    setTimeout: (fn, ms = 0) => {
      const id = nextTimerId++;
      env.pendingTimers.set(id, { at: env.mono + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout: (id) => { env.pendingTimers.delete(id); },
  };

  /** Moves monotonic time forward by ms, firing due timers in order and letting promises settle. */
  env.advance = async (ms) => {
    const target = env.mono + ms;
    await flush();
    for (;;) {
      let due = null;
      for (const [id, timer] of env.pendingTimers) {
        if (timer.at <= target && (due === null || timer.at < due.timer.at)) due = { id, timer };
      }
      if (due === null) break;
      env.pendingTimers.delete(due.id);
      env.mono = Math.max(env.mono, due.timer.at);
      due.timer.fn();
      await flush();
    }
    env.mono = Math.max(env.mono, target);
    await flush();
  };

  // --- animation frames ---
  let nextFrameId = 1;
  env.pendingFrames = new Map();
  env.requestFrame = (callback) => { const id = nextFrameId++; env.pendingFrames.set(id, callback); return id; };
  env.cancelFrame = (id) => { env.pendingFrames.delete(id); };
  /** Runs one animation frame: every callback requested so far. */
  env.frame = () => {
    const callbacks = [...env.pendingFrames.values()];
    env.pendingFrames.clear();
    for (const callback of callbacks) callback(env.mono);
  };

  /** Options for createSessionClock wired to this environment. */
  env.options = (overrides = {}) => ({
    baseUrl: BASE_URL,
    sessionId: SESSION_ID,
    token: 'join-token',
    fetch: env.fetch,
    now: env.now,
    timers: env.timers,
    requestFrame: env.requestFrame,
    cancelFrame: env.cancelFrame,
    ...overrides,
  });

  return env;
}

/** A clock on a fresh environment, running for a minute, its stream connected; errors collected. */
export async function runningClock(overrides = {}) {
  const env = createFakeEnv();
  env.start(env.serverNow() - 60_000);
  const errors = [];
  const clock = createSessionClock(env.options({ samples: 2, onError: (e) => errors.push(e), ...overrides }));
  await clock.ready;
  await env.advance(1); // the stream connects after the initial sync
  return { env, clock, errors };
}
