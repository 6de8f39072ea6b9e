// `npm run bench`: runs every benchmark once, prints the figures and writes
// them to bench-results.json as [{name, value, unit, target}].
import { writeFileSync } from 'node:fs';
import { meets, type BenchResult } from './result.js';
import { benchAttacks } from './attacks.js';
import { benchChecks } from './checks.js';
import { benchEdge } from './edge.js';
import { benchEngine } from './engine.js';
import { benchPlayer } from './player.js';
import { benchSandboxes } from './sandbox.js';
import { benchTerminal } from './terminal.js';
import { benchWorkshop } from './workshop.js';
import { benchRecording } from './recording.js';

const suites: Array<[string, () => Promise<BenchResult[]>]> = [
  ['sandboxes', benchSandboxes],
  ['terminal', benchTerminal],
  ['attacks', benchAttacks],
  ['edge', benchEdge],
  ['engine', benchEngine],
  ['checks', benchChecks],
  ['player', benchPlayer],
  ['workshop', benchWorkshop],
  ['recording', benchRecording],
];

const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const [name, run] of suites) {
  if (only.length && !only.includes(name)) continue;
  console.error(`bench: ${name}...`);
  results.push(...(await run()));
}
writeFileSync('bench-results.json', JSON.stringify(results, null, 2) + '\n');
const width = Math.max(...results.map((r) => r.name.length));
for (const r of results) {
  const verdict = meets(r);
  const mark = verdict === undefined ? '' : verdict ? '  ok' : '  MISSED';
  console.log(`${r.name.padEnd(width)}  ${String(r.value).padStart(10)} ${r.unit.padEnd(5)} ${r.target ? `(target ${r.target})` : ''}${mark}`);
}
