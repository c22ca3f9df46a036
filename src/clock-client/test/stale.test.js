import test from 'node:test';
import assert from 'node:assert/strict';
import { flush, runningClock } from '../testing/fakes.js';

// A replica that cannot vouch for its clocks says so (a 503 with Retry-After, the stream's `unavailable` event) or
// does not answer; the module then freezes the display, marks it stale, and goes where the truth is.

test('event: unavailable freezes the display at once, polls at its retry_after_ms, and a fresh snapshot clears stale', async () => {
  const { env, clock } = await runningClock();
  assert.equal(clock.snapshot().stale, false);
  const states = [];
  clock.subscribe((s) => states.push(s));
  env.mono += 2_000;
  const shown = clock.elapsedMs();
  env.clockFailure = 503; // this replica still cannot answer the polls, nor open a stream
  env.streamFailure = 503;
  env.streams[0].sendUnavailable(1_500);
  env.streams[0].close();
  await flush();
  assert.equal(states.at(-1).stale, true, 'listeners told without waiting for a frame');
  assert.equal(clock.elapsedMs(), shown, 'frozen where it was');

  const polls = env.clockRequests().length;
  await env.advance(1_400);
  env.frame();
  assert.equal(states.at(-1).elapsedMs, shown, 'a running clock nobody vouches for is never shown');
  assert.equal(env.clockRequests().length, polls, 'not polled before retry_after_ms');
  await env.advance(200);
  assert.equal(env.clockRequests().length, polls + 1, 'polled at retry_after_ms');
  assert.equal(clock.snapshot().stale, true, 'a 503 keeps it stale');

  // Meanwhile the clock paused on the server; another replica (or this one, reconnected) answers.
  env.pause(env.serverNow() - 800);
  env.clockFailure = null;
  env.streamFailure = null;
  await env.advance(5_000);
  const state = clock.snapshot();
  assert.equal(state.stale, false);
  assert.equal(state.isPaused, true);
  assert.equal(state.elapsedMs, env.trueElapsed(), 'the exact server value once vouched for again');
  assert.ok(env.streams.length >= 2, 'the stream was reconnected');
  clock.destroy();
});

test('a 503 on a poll freezes the display and polls again at Retry-After, backing off to pollMs', async () => {
  const { env, clock, errors } = await runningClock({ stream: false, pollMs: 5_000 });
  env.retryAfter = '2';
  env.clockFailure = 503;
  await env.advance(5_000); // the regular poll meets the 503
  const shown = clock.elapsedMs();
  assert.equal(clock.snapshot().stale, true);
  assert.equal(errors.at(-1).status, 503);
  const at = (n) => env.clockRequests().length - n;
  const before = env.clockRequests().length;
  await env.advance(1_990);
  assert.equal(at(before), 0, 'nothing before Retry-After');
  await env.advance(10);
  assert.equal(at(before), 1, 'at Retry-After (2 s)');
  await env.advance(4_000);
  assert.equal(at(before), 2, 'then 4 s later');
  await env.advance(5_000);
  assert.equal(at(before), 3, 'then at most pollMs');
  assert.equal(clock.elapsedMs(), shown, 'still frozen');
  env.clockFailure = null;
  await env.advance(5_000);
  assert.equal(clock.snapshot().stale, false);
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  clock.destroy();
});

test('a request without an answer within requestTimeoutMs is aborted and counts as not vouched for', async () => {
  const { env, clock, errors } = await runningClock({ stream: false, pollMs: 1_000, requestTimeoutMs: 700 });
  env.clockFailure = 'hang';
  await env.advance(1_000);
  const shown = clock.elapsedMs();
  assert.equal(clock.snapshot().stale, false, 'still waiting within the timeout');
  await env.advance(700);
  assert.equal(clock.snapshot().stale, true);
  assert.equal(errors.at(-1).kind, 'network');
  assert.match(errors.at(-1).message, /within 700 ms/);
  const frozen = clock.elapsedMs();
  assert.ok(frozen - shown >= 690 && frozen - shown <= 700, 'frozen at what was shown when the request was given up');
  await env.advance(3_000);
  assert.equal(clock.elapsedMs(), frozen, 'and held there');
  env.clockFailure = null;
  await env.advance(2_000);
  assert.equal(clock.snapshot().stale, false);
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  clock.destroy();
});

test('a stream that merely drops does not freeze the display: the poll it triggers decides', async () => {
  const { env, clock } = await runningClock();
  env.streams[0].fail();
  await flush();
  assert.equal(clock.snapshot().stale, false);
  await env.advance(1);
  assert.equal(clock.snapshot().stale, false, 'the poll answered');
  env.mono += 1_000;
  assert.equal(clock.elapsedMs(), env.trueElapsed(), 'still running, as the server vouches');
  clock.destroy();
});
