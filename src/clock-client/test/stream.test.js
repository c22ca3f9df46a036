import test from 'node:test';
import assert from 'node:assert/strict';
import { createSessionClock } from '../session-clock.js';
import { createFakeEnv, flush, runningClock } from '../testing/fakes.js';

test('a pause pushed on the stream applies at once, frozen at the exact server value', async () => {
  const { env, clock, errors } = await runningClock();
  assert.equal(env.streams.length, 1);
  const states = [];
  clock.subscribe((s) => states.push(s));
  env.mono += 10_000;
  const runningValue = clock.elapsedMs();
  env.pause(env.serverNow() - 1_500); // the server says: paused 1.5 s ago
  env.streams[0].sendClock();
  await flush();
  assert.equal(clock.isPaused(), true);
  assert.equal(states.at(-1).isPaused, true, 'listeners told without waiting for a frame');
  assert.equal(clock.elapsedMs(), runningValue - 1_500, 'the exact server value, not eased');
  env.mono += 3_000;
  env.frame();
  assert.equal(states.at(-1).elapsedMs, runningValue - 1_500, 'frozen');
  assert.equal(env.clockRequests().length, 2, 'no poll was needed');
  assert.deepEqual(errors, []);
  clock.destroy();
});

test('a resume pushed on the stream continues from the frozen value at once', async () => {
  const { env, clock } = await runningClock();
  env.pause();
  env.streams[0].sendClock();
  await flush();
  const frozen = clock.elapsedMs();
  env.mono += 30_000;
  env.resume();
  env.streams[0].sendClock();
  await flush();
  assert.equal(clock.isPaused(), false);
  assert.equal(clock.elapsedMs(), frozen);
  env.mono += 1_000;
  assert.equal(clock.elapsedMs(), frozen + 1_000);
  clock.destroy();
});

test('a poll answered before a stream event but arriving after it does not undo the event', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 60_000);
  let holdAnswers = false;
  let releaseAnswer = null;
  const fetch = async (url, init) => {
    const answer = await env.fetch(url, init);
    if (!holdAnswers || url.endsWith('/stream')) return answer;
    return new Promise((resolve) => { releaseAnswer = () => resolve(answer); });
  };
  const clock = createSessionClock(env.options({ samples: 1, fetch }));
  await clock.ready;
  await env.advance(1);
  holdAnswers = true;
  const inFlight = clock.resync(); // the server answers "running" ...
  await flush();
  env.mono += 500;
  env.pause();
  env.streams[0].sendClock(); // ... but its later "paused" arrives first
  await flush();
  assert.equal(clock.isPaused(), true);
  releaseAnswer();
  await inFlight;
  assert.equal(clock.isPaused(), true, 'the older answer is not applied');
  assert.equal(clock.elapsedMs(), env.trueElapsed());
  clock.destroy();
});

test('heartbeat comments keep the stream; silence beyond streamIdleMs reconnects', async () => {
  const { env, clock, errors } = await runningClock({ streamIdleMs: 45_000 });
  for (let i = 0; i < 4; i++) {
    await env.advance(15_000);
    env.streams[0].send(': heartbeat\n\n');
  }
  assert.equal(env.streams.length, 1, 'heartbeats every 15 s keep the connection');
  await env.advance(46_000);
  assert.equal(errors.at(-1)?.kind, 'network');
  assert.equal(errors.at(-1)?.source, 'stream');
  assert.equal(env.streams[0].cancelled, true, 'the silent connection is aborted');
  await env.advance(1_500);
  assert.equal(env.streams.length, 2, 'and a new one opened');
  clock.destroy();
});

test('stream unavailable: falls back to polling at pollMs, then back to the stream with backoff', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 60_000);
  env.streamFailure = 503;
  const errors = [];
  const clock = createSessionClock(env.options({ samples: 1, pollMs: 2_000, resyncMs: 20_000, streamIdleMs: 1e9, onError: (e) => errors.push(e) }));
  await clock.ready;
  await env.advance(1);
  assert.equal(errors[0].kind, 'http');
  assert.equal(errors[0].status, 503);
  assert.equal(errors[0].source, 'stream');

  const pollsBefore = env.clockRequests().length;
  await env.advance(10_000);
  const polls = env.clockRequests().length - pollsBefore;
  assert.ok(polls >= 4 && polls <= 5, `polled every 2 s (${polls} polls in 10 s)`);
  const attempts = env.streamRequests().length;
  assert.ok(attempts >= 3 && attempts <= 5, `stream retried with backoff (${attempts} attempts in 10 s)`);

  env.pause(); // the pause arrives through polling
  await env.advance(2_100);
  assert.equal(clock.isPaused(), true);
  assert.equal(clock.elapsedMs(), env.trueElapsed());

  env.streamFailure = null; // the stream comes back
  await env.advance(20_000);
  assert.equal(env.streams.length, 1);
  const pollsWithStream = env.clockRequests().length;
  await env.advance(40_000);
  const resyncs = env.clockRequests().length - pollsWithStream;
  assert.ok(resyncs >= 1 && resyncs <= 2, `only resyncs every 20 s while the stream is up (${resyncs})`);
  clock.destroy();
});

test('a dropped stream polls at once and reconnects', async () => {
  const { env, clock, errors } = await runningClock({ pollMs: 5_000 });
  const polls = env.clockRequests().length;
  env.streams[0].fail();
  await env.advance(1);
  assert.equal(env.clockRequests().length, polls + 1, 'immediate poll for anything missed');
  assert.equal(errors.at(-1).source, 'stream');
  await env.advance(1_300);
  assert.equal(env.streams.length, 2, 'reconnected');
  clock.destroy();
});

test('a clean end of the stream reconnects without reporting an error', async () => {
  const { env, clock, errors } = await runningClock();
  env.streams[0].close();
  await env.advance(1_300);
  assert.equal(env.streams.length, 2);
  assert.deepEqual(errors, []);
  clock.destroy();
});

test('a malformed clock event is reported and the stream carries on', async () => {
  const { env, clock, errors } = await runningClock();
  env.streams[0].send('event: clock\ndata: {not json\n\n');
  await flush();
  assert.equal(errors.at(-1).kind, 'protocol');
  assert.equal(clock.snapshot().error, errors.at(-1));
  env.pause();
  env.streams[0].sendClock();
  await flush();
  assert.equal(clock.isPaused(), true);
  assert.equal(clock.snapshot().error, null, 'cleared by the next snapshot');
  assert.equal(env.streams.length, 1);
  clock.destroy();
});

test('stream: false only polls', async () => {
  const env = createFakeEnv();
  const clock = createSessionClock(env.options({ stream: false, samples: 1, pollMs: 1_000 }));
  await clock.ready;
  await env.advance(5_500);
  assert.equal(env.streamRequests().length, 0);
  assert.equal(env.clockRequests().length, 6);
  clock.destroy();
});

test('an offset guessed from the stream alone is replaced outright by the first round trip', async () => {
  const env = createFakeEnv();
  env.start(env.serverNow() - 30_000);
  env.clockFailure = 'network'; // round trips fail; the stream works
  let push;
  const fetch = async (url, init) => {
    if (!url.endsWith('/stream')) return env.fetch(url, init);
    const body = new ReadableStream({ start(c) { push = (text) => c.enqueue(new TextEncoder().encode(text)); } });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
  const clock = createSessionClock(env.options({ fetch, pollMs: 1_000, onError: () => {} }));
  await env.advance(1);
  const written = env.snapshot();
  env.mono += 80; // delivered 80 ms after the server wrote it
  push(`event: clock\ndata: ${JSON.stringify(written)}\n\n`);
  assert.notEqual(await clock.ready, null, 'the stream alone makes the clock ready');
  assert.equal(clock.elapsedMs(), env.trueElapsed() - 80, 'the guess lags by the delivery delay');
  env.clockFailure = null;
  await env.advance(1_000);
  assert.equal(clock.elapsedMs(), env.trueElapsed(), 'snapped to the measured offset, not held');
  clock.destroy();
});
