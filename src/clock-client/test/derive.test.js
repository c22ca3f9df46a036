import test from 'node:test';
import assert from 'node:assert/strict';
import { deriveElapsedMs, formatElapsed } from '../session-clock.js';

const at = (hms) => `2026-11-24T${hms}Z`;
const ms = (hms) => Date.parse(at(hms));

function snapshot(fields) {
  return {
    session_id: 's', started_at: null, ended_at: null, is_paused: false, total_paused_ms: 0,
    last_state_change_at: null, server_now: at('15:00:00.000'), elapsed_ms: 0, ...fields,
  };
}

test('elapsed is 0 before the session starts', () => {
  assert.equal(deriveElapsedMs(snapshot({}), ms('15:00:00.000')), 0);
});

test('running: now − started_at − total_paused_ms, following the given server time', () => {
  const running = snapshot({ started_at: at('14:00:00.000'), total_paused_ms: 30_000, last_state_change_at: at('14:10:00.000') });
  assert.equal(deriveElapsedMs(running, ms('14:20:00.000')), 20 * 60_000 - 30_000);
  assert.equal(deriveElapsedMs(running, ms('14:20:01.250')), 20 * 60_000 - 30_000 + 1250);
});

test('paused: frozen at last_state_change_at whatever the server time', () => {
  const paused = snapshot({ started_at: at('14:00:00.000'), is_paused: true, total_paused_ms: 5_000, last_state_change_at: at('14:01:35.000') });
  assert.equal(deriveElapsedMs(paused, ms('14:05:00.000')), 90_000);
  assert.equal(deriveElapsedMs(paused, ms('16:00:00.000')), 90_000);
});

test('ended: frozen at ended_at', () => {
  const ended = snapshot({ started_at: at('14:00:00.000'), ended_at: at('14:30:00.500'), total_paused_ms: 500, last_state_change_at: at('14:30:00.500') });
  assert.equal(deriveElapsedMs(ended, ms('18:00:00.000')), 30 * 60_000);
});

test('ended while paused: frozen at the pause, not at the end', () => {
  const endedPaused = snapshot({
    started_at: at('14:00:00.000'), ended_at: at('14:45:00.000'), is_paused: true,
    total_paused_ms: 0, last_state_change_at: at('14:40:00.000'),
  });
  assert.equal(deriveElapsedMs(endedPaused, ms('15:00:00.000')), 40 * 60_000);
});

test('never negative (server time before the start)', () => {
  const running = snapshot({ started_at: at('14:00:00.000') });
  assert.equal(deriveElapsedMs(running, ms('13:59:59.000')), 0);
});

test('a snapshot without server_now is rejected', () => {
  assert.throws(() => deriveElapsedMs(snapshot({ server_now: null }), 0), { name: 'ClockError', kind: 'protocol' });
});

test('formatElapsed: m:ss below an hour, h:mm:ss from an hour, whole seconds rounded down', () => {
  assert.equal(formatElapsed(0), '0:00');
  assert.equal(formatElapsed(999), '0:00');
  assert.equal(formatElapsed(1000), '0:01');
  assert.equal(formatElapsed(90_000), '1:30');
  assert.equal(formatElapsed(59 * 60_000 + 59_999), '59:59');
  assert.equal(formatElapsed(3_600_000), '1:00:00');
  assert.equal(formatElapsed(3_600_000 + 5 * 60_000 + 7_000), '1:05:07');
  assert.equal(formatElapsed(26 * 3_600_000), '26:00:00');
  assert.equal(formatElapsed(-5), '0:00');
  assert.equal(formatElapsed(NaN), '0:00');
});
