// The TypeScript declarations (session-clock.d.ts) name exactly what the module exports: a new export without a
// declaration, or a declaration of something removed, fails here. Their types are compiled by test.sh (tsc --strict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

test('session-clock.d.ts declares exactly the exports of session-clock.js', async () => {
  const module = await import('../session-clock.js');
  const declarations = readFileSync(new URL('../session-clock.d.ts', import.meta.url), 'utf8');
  const declared = [...declarations.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(module).sort());
});
