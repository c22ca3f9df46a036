import test from 'node:test';
import assert from 'node:assert/strict';
import { createSessionClock } from '../session-clock.js';
import { createFakeEnv, BASE_URL, SESSION_ID } from '../testing/fakes.js';

test('initial sync takes `samples` round trips and keeps the one with the lowest round trip', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 60_000);
  // offset error of a sample = (up − down) / 2: only the 12 ms round trip is symmetric.
  env.delays = [
    { up: 70, down: 10 }, // rtt 80, error +30
    { up: 40, down: 20 }, // rtt 60, error +10
    { up: 6, down: 6 }, //   rtt 12, error 0   ← lowest
    { up: 10, down: 30 }, // rtt 40, error −10
    { up: 100, down: 50 }, // rtt 150, error +25
  ];
  const clock = createSessionClock(env.options({ stream: false }));
  await clock.ready;
  assert.equal(env.clockRequests().length, 5);
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  await env.advance(3_000); // no resync yet (pollMs 5 s): still exact, derived from the monotonic clock
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  clock.destroy();
});

test('the rtt/2 compensation: a symmetric round trip gives the exact server time', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 1_000);
  env.defaultDelay = { up: 400, down: 400 }; // slow network, but symmetric
  const clock = createSessionClock(env.options({ stream: false, samples: 1 }));
  await clock.ready;
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  clock.destroy();
});

test('later resyncs choose from a sliding window of the last `samples` samples', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 60_000);
  env.delays = [{ up: 50, down: 50 }, { up: 5, down: 5 }]; // best: the newer, 10 ms, exact
  const clock = createSessionClock(env.options({ stream: false, samples: 2, pollMs: 1_000 }));
  await clock.ready;
  const lopsided = { up: 290, down: 10 }; // rtt 300, offset error +140 ms
  env.delays = [lopsided];
  await env.advance(1_000); // window: [10 ms exact, 300 ms] → the 10 ms sample still wins
  await env.advance(500);
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  env.defaultDelay = lopsided; // from now on every round trip is lopsided
  await env.advance(500); // window: [300 ms, 300 ms] → the newer one; 140 ms drift is eased in
  await env.advance(2_000); // the ease has finished (further polls carry the same error: no drift)
  assert.equal(clock.elapsedMs(), env.trueElapsed() + 140);
  clock.destroy();
});

test('requests go to {baseUrl}/clock/{id} with the token as Bearer', async () => {
  const env = createFakeEnv();
  const clock = createSessionClock(env.options({ baseUrl: `${BASE_URL}/`, samples: 2 }));
  await clock.ready;
  await env.advance(10);
  assert.deepEqual(env.clockRequests().map((r) => [r.url, r.authorization]), [
    [`${BASE_URL}/clock/${SESSION_ID}`, 'Bearer join-token'],
    [`${BASE_URL}/clock/${SESSION_ID}`, 'Bearer join-token'],
  ]);
  assert.deepEqual(env.streamRequests().map((r) => [r.url, r.authorization, r.accept]), [
    [`${BASE_URL}/clock/${SESSION_ID}/stream`, 'Bearer join-token', 'text/event-stream'],
  ]);
  clock.destroy();
});

test('a token function is called for every request (sync and async), so the app can refresh it', async () => {
  const env = createFakeEnv();
  let calls = 0;
  const token = async () => `token-${++calls}`;
  const clock = createSessionClock(env.options({ token, samples: 3 }));
  await clock.ready;
  await env.advance(10);
  assert.deepEqual(env.requests.map((r) => r.authorization), ['Bearer token-1', 'Bearer token-2', 'Bearer token-3', 'Bearer token-4']);
  clock.destroy();

  const env2 = createFakeEnv();
  const clock2 = createSessionClock(env2.options({ token: () => 'plain', samples: 1, stream: false }));
  await clock2.ready;
  assert.equal(env2.requests[0].authorization, 'Bearer plain');
  clock2.destroy();
});

test('without a token no Authorization header is sent (ClockApi:RequireToken=false)', async () => {
  const env = createFakeEnv();
  const clock = createSessionClock(env.options({ token: undefined, samples: 1, stream: false }));
  await clock.ready;
  assert.equal(env.requests[0].authorization, null);
  clock.destroy();
});
