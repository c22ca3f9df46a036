import test from 'node:test';
import assert from 'node:assert/strict';
import { createSessionClock, ClockError } from '../session-clock.js';
import { createFakeEnv, flush } from '../testing/fakes.js';

// Any unhandled rejection in this file fails the test that is running.
const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
test.afterEach(() => assert.deepEqual(unhandled.splice(0), [], 'no unhandled rejections'));

test('destroy stops timers, frames, the stream, requests and listeners', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 1_000);
  const clock = createSessionClock(env.options({ samples: 1, pollMs: 1_000 }));
  await clock.ready;
  await env.advance(1);
  let calls = 0;
  clock.subscribe(() => { calls++; });
  assert.equal(env.pendingFrames.size, 1);
  assert.ok(env.pendingTimers.size > 0);

  clock.destroy();
  await flush();
  assert.equal(env.pendingFrames.size, 0, 'frame cancelled');
  assert.equal(env.pendingTimers.size, 0, 'sync, retry and idle timers cleared');
  assert.equal(env.streams[0].cancelled, true, 'stream aborted');

  const requests = env.requests.length;
  const callsAtDestroy = calls;
  await env.advance(120_000);
  env.frame();
  assert.equal(env.requests.length, requests, 'no request after destroy');
  assert.equal(env.streams.length, 1, 'no reconnect after destroy');
  assert.equal(calls, callsAtDestroy, 'listeners not called after destroy');
  clock.destroy(); // idempotent
});

test('destroy before the first snapshot resolves ready with null and stops retrying', async () => {
  const env = createFakeEnv();
  env.clockFailure = 'network';
  env.streamFailure = 'network';
  const errors = [];
  const clock = createSessionClock(env.options({ samples: 3, onError: (e) => errors.push(e) }));
  await flush();
  const reported = errors.length;
  clock.destroy();
  assert.equal(await clock.ready, null);
  const requests = env.requests.length;
  await env.advance(60_000);
  assert.equal(env.requests.length, requests);
  assert.equal(errors.length, reported, 'nothing reported after destroy');
});

test('HTTP errors surface through onError and state.error with kind and status, never as rejections', async () => {
  const cases = [[401, 'unauthorized'], [403, 'forbidden'], [404, 'not-found'], [400, 'bad-request'], [500, 'http']];
  for (const [status, kind] of cases) {
    const env = createFakeEnv();
    env.clockFailure = status;
    env.streamFailure = status;
    const errors = [];
    const clock = createSessionClock(env.options({ onError: (e) => errors.push(e) }));
    await env.advance(1);
    assert.ok(errors.length >= 1, `${status} reported`);
    assert.ok(errors[0] instanceof ClockError);
    assert.deepEqual([errors[0].kind, errors[0].status, errors[0].source], [kind, status, 'sync']);
    assert.equal(env.clockRequests().length, 1, 'the initial burst stops at the first error');
    assert.equal(clock.snapshot().error.status, status);
    assert.equal(clock.snapshot().clock, null);
    assert.ok(errors.some((e) => e.source === 'stream' && e.status === status), 'stream error reported too');
    clock.destroy();
  }
});

test('a network error is reported as kind "network"; the clock recovers and clears the error', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 10_000);
  env.clockFailure = 'network';
  env.streamFailure = 'network';
  const errors = [];
  const clock = createSessionClock(env.options({ pollMs: 1_000, onError: (e) => errors.push(e) }));
  let ready = false;
  clock.ready.then(() => { ready = true; });
  await env.advance(1);
  assert.equal(errors[0].kind, 'network');
  assert.equal(ready, false);

  env.clockFailure = null; // the network is back
  env.streamFailure = null;
  await env.advance(1_000);
  assert.equal(ready, true);
  assert.equal(clock.snapshot().error, null);
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  clock.destroy();
});

test('a failing token function is reported as kind "token"', async () => {
  const env = createFakeEnv();
  const errors = [];
  const clock = createSessionClock(env.options({
    token: async () => { throw new Error('session expired'); },
    onError: (e) => errors.push(e),
  }));
  await env.advance(1);
  assert.equal(errors[0].kind, 'token');
  assert.equal(errors[0].cause.message, 'session expired');
  assert.equal(env.requests.length, 0, 'nothing sent without a token');
  clock.destroy();
});

test('without onError, errors only appear in state.error (and nothing is thrown)', async () => {
  const env = createFakeEnv();
  env.clockFailure = 401;
  const clock = createSessionClock(env.options({ stream: false }));
  const seen = [];
  clock.subscribe((s) => seen.push(s.error));
  await env.advance(1);
  assert.equal(seen.at(-1)?.kind, 'unauthorized');
  clock.destroy();
});

test('a throwing onError does not break the clock', async () => {
  const env = createFakeEnv();
  env.streamFailure = 500; // not 503, which also freezes the display (stale.test.js)
  env.start(env.serverNow() - 1_000);
  let handlerCalls = 0;
  const clock = createSessionClock(env.options({ samples: 1, onError: () => { handlerCalls++; throw new Error('bad handler'); } }));
  await clock.ready;
  await env.advance(1);
  assert.equal(clock.snapshot().error.status, 500);
  await env.advance(10_000);
  assert.ok(handlerCalls >= 3, 'still reporting (stream retries)');
  assert.ok(env.streamRequests().length >= 3, 'still retrying the stream');
  assert.equal(clock.elapsedMs(), env.trueElapsed(), 'still polling');
  clock.destroy();
});

test('a malformed snapshot is a protocol error', async () => {
  const env = createFakeEnv();
  const errors = [];
  const fetch = async () => new Response('{"started_at":null}', { status: 200 });
  const clock = createSessionClock(env.options({ fetch, stream: false, onError: (e) => errors.push(e) }));
  await env.advance(1);
  assert.equal(errors[0].kind, 'protocol');
  clock.destroy();
});

test('createSessionClock needs baseUrl and sessionId', () => {
  assert.throws(() => createSessionClock({ sessionId: 'x' }), TypeError);
  assert.throws(() => createSessionClock({ baseUrl: 'x' }), TypeError);
});
