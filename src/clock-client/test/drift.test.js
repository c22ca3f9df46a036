import test from 'node:test';
import assert from 'node:assert/strict';
import { createSessionClock, SNAP_DRIFT_MS, IGNORE_DRIFT_MS, EASE_MS } from '../session-clock.js';
import { createFakeEnv, flush } from '../testing/fakes.js';

// Every round trip is symmetric (10 ms each way), so each sample's offset is exact. Drift is created
// by moving the server's clock relative to the monotonic clock, which is what a bad earlier estimate
// looks like to the client. Time moves by setting env.mono directly: no timer fires, no poll interferes.
async function runningClock() {
  const env = createFakeEnv();
  env.start(env.serverNow() - 300_000);
  const clock = createSessionClock(env.options({ stream: false, samples: 1, pollMs: 1e9, resyncMs: 1e9 }));
  await clock.ready;
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  return { env, clock };
}

/** The server clock jumps by driftMs; the client resyncs. Returns the display just before it. */
async function resyncAfterServerJump(env, clock, driftMs) {
  env.serverOffsetMs += driftMs;
  await clock.resync();
  await flush();
}

test('drift thresholds: ignore < 0.1 s, ease 0.1–1.5 s, snap > 1.5 s', () => {
  assert.deepEqual([IGNORE_DRIFT_MS, SNAP_DRIFT_MS, EASE_MS], [100, 1500, 1000]);
});

test('drift > 1.5 s snaps at once', async () => {
  for (const drift of [1501, 3000, -1600]) {
    const { env, clock } = await runningClock();
    await resyncAfterServerJump(env, clock, drift);
    assert.equal(clock.elapsedMs(), env.trueElapsed(), `drift ${drift}`);
    clock.destroy();
  }
});

test('drift < 0.1 s is left alone (held, no jitter)', async () => {
  for (const drift of [50, 99, -99]) {
    const { env, clock } = await runningClock();
    await resyncAfterServerJump(env, clock, drift);
    assert.equal(clock.elapsedMs(), env.trueElapsed() - drift, `drift ${drift}: display unchanged`);
    env.mono += 5_000;
    assert.equal(clock.elapsedMs(), env.trueElapsed() - drift, `drift ${drift}: still held, running at 1×`);
    clock.destroy();
  }
});

test('held differences do not accumulate: once they reach 0.1 s they are eased away', async () => {
  const { env, clock } = await runningClock();
  await resyncAfterServerJump(env, clock, 60); // held
  await resyncAfterServerJump(env, clock, 60); // now 120 behind → ease
  assert.equal(clock.elapsedMs(), env.trueElapsed() - 120);
  env.mono += EASE_MS;
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  clock.destroy();
});

test('behind by 0.1–1.5 s: eased in over 1 s, continuous at the resync', async () => {
  for (const drift of [100, 500, 1500]) {
    const { env, clock } = await runningClock();
    await resyncAfterServerJump(env, clock, drift);
    assert.equal(clock.elapsedMs(), env.trueElapsed() - drift, `drift ${drift}: no jump at the resync`);
    env.mono += EASE_MS / 2;
    assert.equal(clock.elapsedMs(), env.trueElapsed() - drift / 2, `drift ${drift}: half way after 0.5 s`);
    env.mono += EASE_MS / 2;
    assert.equal(clock.elapsedMs(), env.trueElapsed(), `drift ${drift}: converged after 1 s`);
    env.mono += 10_000;
    assert.equal(clock.elapsedMs(), env.trueElapsed());
    clock.destroy();
  }
});

test('ahead by 0.1–1.5 s: slows down, never runs backwards, converges', async () => {
  for (const drift of [-300, -1000, -1500]) {
    const { env, clock } = await runningClock();
    await resyncAfterServerJump(env, clock, drift);
    assert.equal(clock.elapsedMs(), env.trueElapsed() - drift, `drift ${drift}: no jump at the resync`);
    let previous = clock.elapsedMs();
    const easeMs = Math.max(EASE_MS, 2 * -drift);
    for (let t = 0; t < easeMs; t += 50) {
      env.mono += 50;
      const shown = clock.elapsedMs();
      assert.ok(shown - previous >= 24, `drift ${drift}: at least half speed (moved ${shown - previous} ms in 50 ms)`);
      previous = shown;
    }
    assert.equal(clock.elapsedMs(), env.trueElapsed(), `drift ${drift}: converged after ${easeMs} ms`);
    clock.destroy();
  }
});

test('a pause during an ease applies at once, at the exact server value', async () => {
  const { env, clock } = await runningClock();
  await resyncAfterServerJump(env, clock, 800); // easing
  env.mono += 300;
  env.pause(env.serverNow() - 2_000); // effective 2 s ago (e.g. end of a grace period)
  await clock.resync();
  assert.equal(clock.isPaused(), true);
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  const frozen = clock.elapsedMs();
  env.mono += 5_000;
  assert.equal(clock.elapsedMs(), frozen);
  clock.destroy();
});
