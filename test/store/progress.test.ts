import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { checkProgress } from '../../server/store/check-progress.js';
import { openDb } from '../../server/store/db.js';
import { ProgressStore } from '../../server/store/progress.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('keeps a completed exercise completed, and counts attempts, hints and solutions', () => {
  const store = new ProgressStore(openDb(':memory:'));
  store.touchLearner('l1');
  store.lessonOpened('l1', 'ns');
  expect(store.recordAttempt('l1', 'ns', 'uts', { passed: false, reason: 'no process' })).toMatchObject({ newlyCompleted: false, progress: { attempts: 1, lastReason: 'no process', completedAt: null } });
  const done = store.recordAttempt('l1', 'ns', 'uts', { passed: true });
  expect(done.newlyCompleted).toBe(true);
  const later = store.recordAttempt('l1', 'ns', 'uts', { passed: false, reason: 'process gone' });
  expect(later.newlyCompleted).toBe(false);
  expect(later.progress.completedAt).toBe(done.progress.completedAt);
  store.hintRevealed('l1', 'ns', 'pid', 2);
  store.hintRevealed('l1', 'ns', 'pid', 1);
  store.solutionRevealed('l1', 'ns', 'pid');
  expect(store.exercise('l1', 'ns', 'pid')).toMatchObject({ hintsUsed: 2, solutionRevealed: true, completedAt: null });
  expect(store.doneByLesson('l1')).toEqual(new Map([['ns', 1]]));
});

it('puts a lesson back to "to do" on reset and keeps the record of attempts', () => {
  const store = new ProgressStore(openDb(':memory:'));
  store.touchLearner('l1');
  store.recordAttempt('l1', 'ns', 'uts', { passed: true });
  store.resetLesson('l1', 'ns');
  expect(store.exercise('l1', 'ns', 'uts')).toMatchObject({ completedAt: null, attempts: 1 });
  expect(store.doneByLesson('l1').size).toBe(0);
});

it('loses nothing acknowledged when the process is killed with SIGKILL', async () => {
  const file = path.join(dir, 'crash.db');
  const script = `
    import { openDb } from './server/store/db.ts';
    import { ProgressStore } from './server/store/progress.ts';
    const store = new ProgressStore(openDb(${JSON.stringify(file)}));
    store.touchLearner('l1');
    for (let i = 0; i < 50; i++) store.recordAttempt('l1', 'ns', 'ex' + i, { passed: i % 2 === 0 });
    console.log('written');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => readline.createInterface({ input: child.stdout! }).once('line', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const store = new ProgressStore(openDb(file));
  expect(store.doneByLesson('l1').get('ns')).toBe(25);
  expect(store.lesson('l1', 'ns').size).toBe(50);
});

it('refuses a database from a newer boxlab instead of damaging it', () => {
  const file = path.join(dir, 'newer.db');
  const db = openDb(file);
  db.pragma('user_version = 999');
  db.close();
  expect(() => openDb(file)).toThrow(/newer boxlab/);
});

it('marks an exercise done at a given time, keeping the first, and reads back through the checks\' contract', async () => {
  const store = new ProgressStore(openDb(':memory:'));
  store.touchLearner('l1');
  store.markDone('l1', 'ns', 'uts', 1000);
  store.markDone('l1', 'ns', 'uts', 2000);
  expect(store.exercise('l1', 'ns', 'uts')).toMatchObject({ completedAt: 1000, attempts: 0 });
  const checks = checkProgress(store);
  await checks.recordAttempt({ learnerId: 'l1', lessonId: 'ns', exerciseId: 'pid', passed: false, reason: 'not yet', durationMs: 5, trigger: 'auto', counted: true, at: 3000 });
  // the same command's recheck records its result, not another attempt
  await checks.recordAttempt({ learnerId: 'l1', lessonId: 'ns', exerciseId: 'pid', passed: false, reason: 'still not', durationMs: 5, trigger: 'auto', counted: false, at: 3500 });
  // a look-ahead check that failed is not the learner's attempt
  await checks.recordAttempt({ learnerId: 'l1', lessonId: 'ns', exerciseId: 'proc', passed: false, reason: 'ahead', durationMs: 5, trigger: 'auto', lookahead: true, counted: false, at: 3000 });
  expect(await checks.get('l1', 'ns')).toEqual({ done: { uts: 1000 }, attempts: { uts: 0, pid: 1 } });
});
