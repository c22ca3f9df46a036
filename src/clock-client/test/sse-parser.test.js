import test from 'node:test';
import assert from 'node:assert/strict';
import { createSseParser } from '../session-clock.js';

function collect() {
  const events = [];
  const comments = [];
  const parser = createSseParser((event) => events.push(event), { onComment: (text) => comments.push(text) });
  return { parser, events, comments };
}

test('event and data fields dispatch on a blank line', () => {
  const { parser, events } = collect();
  parser.push('event: clock\ndata: {"a":1}\n\n');
  assert.deepEqual(events, [{ type: 'clock', data: '{"a":1}', id: '' }]);
});

test('several data lines join with newlines; the event type resets after dispatch', () => {
  const { parser, events } = collect();
  parser.push('event: clock\ndata: line one\ndata:line two\ndata\n\ndata: next\n\n');
  assert.deepEqual(events.map((e) => [e.type, e.data]), [['clock', 'line one\nline two\n'], ['message', 'next']]);
});

test('comments (heartbeats) are not events', () => {
  const { parser, events, comments } = collect();
  parser.push(': heartbeat\n\n:keepalive\nevent: clock\ndata: x\n\n');
  assert.deepEqual(comments, [' heartbeat', 'keepalive']);
  assert.deepEqual(events.map((e) => e.data), ['x']);
});

test('CRLF and lone CR end lines', () => {
  const { parser, events } = collect();
  parser.push('event: clock\r\ndata: crlf\r\n\r\nevent: clock\rdata: cr\r\r');
  assert.deepEqual(events.map((e) => e.data), ['crlf', 'cr']);
});

test('a chunk boundary in the middle of a line, a field name and a value', () => {
  const { parser, events } = collect();
  const text = 'event: clock\ndata: {"is_paused":true}\n\n';
  for (const ch of text) parser.push(ch); // one character per chunk
  parser.push('eve');
  parser.push('nt: clo');
  parser.push('ck\nda');
  parser.push('ta: {"is_paused":false}\n');
  assert.equal(events.length, 1, 'no dispatch before the blank line');
  parser.push('\n');
  assert.deepEqual(events.map((e) => [e.type, e.data]), [['clock', '{"is_paused":true}'], ['clock', '{"is_paused":false}']]);
});

test('CRLF split across chunks is one line break, not two', () => {
  const { parser, events } = collect();
  parser.push('event: clock\r');
  parser.push('\ndata: a\r');
  parser.push('\n\r');
  parser.push('\n');
  assert.deepEqual(events.map((e) => [e.type, e.data]), [['clock', 'a']]);
});

test('an event without data is dropped; an unterminated event is not dispatched', () => {
  const { parser, events } = collect();
  parser.push('event: clock\n\nid: 7\n\ndata: partial');
  assert.deepEqual(events, []);
});

test('id is remembered; unknown fields and retry are ignored', () => {
  const { parser, events } = collect();
  parser.push('id: 42\nretry: 5000\nfoo: bar\ndata: d\n\n');
  assert.deepEqual(events, [{ type: 'message', data: 'd', id: '42' }]);
});
