import test from 'node:test';
import assert from 'node:assert/strict';
import { createSessionClock } from '../session-clock.js';
import { createFakeEnv } from '../testing/fakes.js';

// The daemon refuses a stream past ClockApi:MaxStreamsPerToken or ClockApi:MaxStreams with 429 and Retry-After: 5.

test('a stream refused with 429 is retried no sooner than Retry-After, backing off, while polls keep the clock', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 60_000);
  env.streamFailure = 429;
  env.retryAfter = '5';
  const streamAttemptsAt = [];
  const fetch = (url, init) => {
    if (url.endsWith('/stream')) streamAttemptsAt.push(env.mono);
    return env.fetch(url, init);
  };
  const errors = [];
  const clock = createSessionClock(env.options({ samples: 1, pollMs: 2_000, streamIdleMs: 1e9, fetch, onError: (e) => errors.push(e) }));
  await clock.ready;
  await env.advance(60_000);

  assert.equal(errors[0].kind, 'too-many-streams');
  assert.equal(errors[0].status, 429);
  assert.equal(errors[0].source, 'stream');
  const gaps = streamAttemptsAt.slice(1).map((at, i) => at - streamAttemptsAt[i]);
  assert.ok(gaps.length >= 3, `retried (${streamAttemptsAt.length} attempts)`);
  assert.ok(gaps.every((gap) => gap >= 5_000), `never sooner than Retry-After: ${gaps}`);
  assert.ok(gaps.at(-1) >= 16_000, `and backing off beyond it: ${gaps}`);
  assert.equal(clock.snapshot().stale, false, 'a refused stream does not freeze the display: the polls vouch');
  const polls = env.clockRequests().length;
  assert.ok(polls >= 28, `polled every 2 s meanwhile (${polls})`);

  env.pause();
  await env.advance(2_100);
  assert.equal(clock.isPaused(), true, 'a pause arrives through polling');

  env.streamFailure = null; // a slot is free again
  await env.advance(60_000);
  assert.equal(env.streams.length, 1, 'the stream is open again');
  clock.destroy();
});

test('a 429 without Retry-After is retried with the usual backoff', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 60_000);
  env.streamFailure = 429;
  env.retryAfter = null;
  const clock = createSessionClock(env.options({ samples: 1, pollMs: 2_000, streamIdleMs: 1e9 }));
  await clock.ready;
  await env.advance(10_000);
  const attempts = env.streamRequests().length;
  assert.ok(attempts >= 3 && attempts <= 5, `stream retried with backoff (${attempts} attempts in 10 s)`);
  clock.destroy();
});
