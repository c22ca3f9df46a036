import test from 'node:test';
import assert from 'node:assert/strict';
import { createSessionClock } from '../session-clock.js';
import { createFakeEnv } from '../testing/fakes.js';

async function clockFor(env, overrides = {}) {
  const clock = createSessionClock(env.options({ stream: false, samples: 1, ...overrides }));
  await clock.ready;
  return clock;
}

test('not started: 0, not started, not paused', async () => {
  const env = createFakeEnv();
  const clock = await clockFor(env);
  await env.advance(3_000);
  assert.deepEqual(
    (({ elapsedMs, isPaused, started, ended }) => ({ elapsedMs, isPaused, started, ended }))(clock.snapshot()),
    { elapsedMs: 0, isPaused: false, started: false, ended: false },
  );
  clock.destroy();
});

test('running: derived from the monotonic clock, advancing with it between syncs', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 135_000); // 2:15 already
  const clock = await clockFor(env);
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  env.mono += 1_234; // no timers, no requests: pure derivation
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  assert.equal(clock.snapshot().started, true);
  assert.equal(clock.isPaused(), false);
  clock.destroy();
});

test('paused: frozen at the server value however long it stays paused', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 90_000);
  env.pause(env.serverNow() - 10_000); // paused at 1:20
  const clock = await clockFor(env);
  assert.equal(clock.elapsedMs(), 80_000);
  assert.equal(clock.isPaused(), true);
  await env.advance(60_000);
  assert.equal(clock.elapsedMs(), 80_000);
  clock.destroy();
});

test('ended: frozen at the end', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 600_000);
  env.end(env.serverNow() - 100_000);
  const clock = await clockFor(env);
  await env.advance(30_000);
  assert.equal(clock.elapsedMs(), 500_000);
  assert.equal(clock.snapshot().ended, true);
  clock.destroy();
});

test('ended while paused: frozen at the pause', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 600_000);
  env.pause(env.serverNow() - 300_000);
  env.end(env.serverNow() - 100_000);
  const clock = await clockFor(env);
  await env.advance(30_000);
  assert.equal(clock.elapsedMs(), 300_000);
  assert.deepEqual([clock.snapshot().isPaused, clock.snapshot().ended], [true, true]);
  clock.destroy();
});

test('listeners get { elapsedMs, isPaused, started, ended, clock } at once, on every frame, and on changes', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 5_000);
  const clock = await clockFor(env, { pollMs: 1_000 });
  const seen = [];
  const unsubscribe = clock.subscribe((state) => seen.push(state));
  assert.equal(seen.length, 1, 'called at once');
  assert.deepEqual(Object.keys(seen[0]).sort(), ['clock', 'elapsedMs', 'ended', 'error', 'isPaused', 'stale', 'started']);
  assert.equal(seen[0].clock.session_id, env.snapshot().session_id);

  env.mono += 16; env.frame();
  env.mono += 16; env.frame();
  assert.equal(seen.length, 3);
  assert.equal(seen[2].elapsedMs - seen[1].elapsedMs, 16);

  env.pause();
  await env.advance(1_000); // a poll brings the pause: a change, emitted without waiting for a frame
  assert.equal(seen.at(-1).isPaused, true);

  unsubscribe();
  assert.equal(env.pendingFrames.size, 0, 'no frames requested without listeners');
  const count = seen.length;
  env.frame();
  await env.advance(2_000);
  assert.equal(seen.length, count);
  clock.destroy();
});

test('a throwing listener does not stop the others or the frames; it is reported', async () => {
  const env = createFakeEnv();
  const errors = [];
  const clock = await clockFor(env, { onError: (e) => errors.push(e) });
  let good = 0;
  let calls = 0;
  clock.subscribe(() => { calls++; throw new Error('boom'); });
  clock.subscribe(() => { good++; });
  env.frame();
  env.frame();
  assert.equal(good, 3);
  assert.equal(errors.length, 3, 'the first call at subscribe is reported too');
  assert.equal(errors[0].kind, 'listener');
  clock.destroy();
});
