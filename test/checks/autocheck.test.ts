// Automatic checking after commands typed into a real terminal: a real
// server, a real sandbox, a login shell on a pty reached over the terminal's
// WebSocket, the terminal's own command-settled detector (activity.ts) and
// the fixture lesson's checks.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { AutoChecker, type CommandSettledSource, type ExerciseResult } from '../../server/checks/autocheck.js';
import { lessonEnv, startLesson } from '../../server/checks/lifecycle.js';
import { MemoryProgressStore } from '../../server/checks/progress.js';
import { CheckRunner } from '../../server/checks/runner.js';
import { loadLabs } from '../../server/labs/loader.js';
import type { Lesson } from '../../server/labs/model.js';
import { startTestServer, type Learner, type TestServer } from '../helpers/server.js';
import { HeadlessClient } from '../helpers/terminal-client.js';

let server: TestServer;
let learner: Learner;
let lesson: Lesson;
let library: string;

beforeAll(async () => {
  server = await startTestServer('autocheck');
  learner = await server.learner();
  const catalog = await loadLabs(path.resolve('test/fixtures/labs'), { only: ['01-basics'] });
  lesson = catalog.lessons[0]!;
  library = catalog.library!.text;
});
afterAll(async () => {
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

let box: string;
let term: HeadlessClient;
let settled: CommandSettledSource;
let progress: MemoryProgressStore;
let results: ExerciseResult[];
let checker: AutoChecker;

const runner = () => new CheckRunner({ executor: server.sandboxes, library });

beforeEach(async () => {
  box = (await learner.createSandbox()).id;
  await startLesson(server.sandboxes, box, lesson, { library });
  const terminalId = (await learner.createTerminal(box, { cols: 100, rows: 30 })).id;
  const session = server.terminals.get(terminalId)!;
  settled = (listener) => session.onCommandSettled(listener);
  term = new HeadlessClient(learner, terminalId, { cols: 100, rows: 30 });
  await term.waitPrompt();
  progress = new MemoryProgressStore();
  results = [];
  checker = new AutoChecker({
    runner: runner(),
    sandboxId: box,
    learnerId: 'learner-1',
    lessonId: lesson.id,
    exercises: lesson.exercises.map((e) => ({ id: e.id, check: e.check.text, timeoutMs: e.timeoutMs })),
    progress,
    settled,
    onResult: (r) => results.push(r),
    env: lessonEnv(),
  });
  await checker.start();
});
afterEach(async () => {
  checker.dispose();
  term.close();
  await learner.json(`/api/sandboxes/${box}`, { method: 'DELETE' });
});

/** Results that arrive from now on, until one for `exerciseId` does. */
async function nextResult(exerciseId: string, timeoutMs = 5000): Promise<ExerciseResult> {
  const from = results.length;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = results.slice(from).find((r) => r.exerciseId === exerciseId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no result for ${exerciseId}; got ${JSON.stringify(results.slice(from))}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('checks the current exercise after each command, with the reason for a near miss, then done for good', async () => {
  let result = nextResult('greet');
  term.type('echo nope > /root/hello.txt\r');
  expect(await result).toMatchObject({ passed: false, reason: '/root/hello.txt holds "nope", not hello.', trigger: 'auto', newlyDone: false });

  result = nextResult('greet');
  const roundEnd = nextResult('uts');
  term.type('echo hello > /root/hello.txt\r');
  expect(await result).toMatchObject({ passed: true, reason: '', newlyDone: true });
  expect((await progress.get('learner-1', lesson.id)).done).toEqual({ greet: expect.any(Number) });
  await roundEnd;

  // undoing the work later does not undo the exercise, and its check no longer runs
  const copy = nextResult('copy');
  term.type('rm /root/hello.txt\r');
  await copy;
  expect(results.filter((r) => r.exerciseId === 'greet')).toHaveLength(2);
  expect(checker.doneExercises).toEqual(['greet']);
});

it('checks the current exercise and the two after it, in order; one further ahead counts when asked for', async () => {
  const uts = nextResult('uts');
  term.type("printf 'alpha\\nbeta\\n' > /root/list\r");
  await uts;
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(results.map((r) => `${r.exerciseId}:${r.passed}`)).toEqual(['greet:false', 'copy:false', 'uts:false']);
  expect(await checker.checkNow('list')).toMatchObject({ passed: true, newlyDone: true, trigger: 'demand' });
  expect(checker.doneExercises).toEqual(['list']);
});

it('tells the checks of exercises ahead of the current one to try once (they fail in the common case)', async () => {
  checker.dispose();
  const seen: ExerciseResult[] = [];
  const ahead = new AutoChecker({
    runner: runner(),
    sandboxId: box,
    learnerId: 'learner-2',
    lessonId: 'probe',
    exercises: ['a', 'b', 'c'].map((id) => ({ id, check: `fail "${id}: lookahead=\${BOXLAB_CHECK_LOOKAHEAD:-0}"` })),
    progress,
    settled,
    recheckDelayMs: 0,
    onResult: (r) => seen.push(r),
  });
  await ahead.start();
  term.type('true\r');
  await expect.poll(() => seen.length).toBe(3);
  expect(seen.map((r) => r.reason)).toEqual(['a: lookahead=0', 'b: lookahead=1', 'c: lookahead=1']);
  // only the current exercise's look is the learner's try; the look-aheads are the checker's
  expect(seen.map((r) => r.attempt)).toEqual([true, false, false]);
  expect((await ahead.checkNow('c'))?.reason).toBe('c: lookahead=0');
  ahead.dispose();
});

it('looks ahead at most once per interval: a command sooner gets its look-ahead when the interval is up; a recheck looks at the current exercise only', async () => {
  checker.dispose();
  const seen: Array<{ id: string; at: number }> = [];
  const started = performance.now();
  const paced = new AutoChecker({
    runner: runner(),
    sandboxId: box,
    learnerId: 'learner-5',
    lessonId: 'probe',
    exercises: ['a', 'b', 'c'].map((id) => ({ id, check: `fail "${id}"` })),
    progress,
    settled,
    recheckDelayMs: 300,
    lookaheadIntervalMs: 2500,
    onResult: (r) => seen.push({ id: r.exerciseId, at: performance.now() - started }),
  });
  await paced.start();
  term.type('true\r');
  await expect.poll(() => seen.length, { timeout: 5000 }).toBe(4); // a, b, c, then a's recheck
  expect(seen.map((r) => r.id)).toEqual(['a', 'b', 'c', 'a']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  term.type('true\r');
  term.type('true\r');
  await expect.poll(() => seen.length, { timeout: 5000 }).toBe(6); // a, and its recheck: no look-ahead yet
  expect(seen.slice(4).map((r) => r.id)).toEqual(['a', 'a']);
  // the look-ahead those commands were owed, once, when the interval is up
  await expect.poll(() => seen.length, { timeout: 5000 }).toBe(8);
  expect(seen.slice(6).map((r) => r.id)).toEqual(['b', 'c']);
  expect(seen[6]!.at - seen[1]!.at).toBeGreaterThan(2000);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect(seen).toHaveLength(8);
  paced.dispose();
});

it('counts a command as a try only when it changed what the check sees', async () => {
  checker.dispose();
  const seen: ExerciseResult[] = [];
  const probe = new AutoChecker({
    runner: runner(),
    sandboxId: box,
    learnerId: 'learner-4',
    lessonId: 'probe',
    exercises: [{ id: 'a', check: 'fail "state: $(cat /tmp/try-state 2>/dev/null || echo none)"' }],
    progress,
    settled,
    recheckDelayMs: 0,
    onResult: (r) => seen.push(r),
  });
  await probe.start();
  for (const [i, command] of ['true', 'ls /', 'echo one > /tmp/try-state', 'true'].entries()) {
    term.type(`${command}\r`);
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(i + 1);
  }
  expect(seen.map((r) => r.reason)).toEqual(['state: none', 'state: none', 'state: one', 'state: one']);
  expect(seen.map((r) => r.attempt)).toEqual([true, false, true, false]);
  expect((await progress.get('learner-4', 'probe')).attempts).toEqual({ a: 2 });
  probe.dispose();
});

it('looks quickly right after a command (one try), then a second time with retries if that failed', async () => {
  checker.dispose();
  const seen: ExerciseResult[] = [];
  const twice = new AutoChecker({
    runner: runner(),
    sandboxId: box,
    learnerId: 'learner-3',
    lessonId: 'probe',
    exercises: [{ id: 'a', check: 'fail "quick=${BOXLAB_CHECK_QUICK:-0}"' }],
    progress,
    settled,
    recheckDelayMs: 200,
    onResult: (r) => seen.push(r),
  });
  await twice.start();
  term.type('true\r');
  await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
  expect(seen.map((r) => r.reason)).toEqual(['quick=1', 'quick=0']);
  // one command, one attempt, however many looks it got; a Check press is one more
  expect(seen.map((r) => r.attempt)).toEqual([true, false]);
  expect((await twice.checkNow('a'))?.reason).toBe('quick=0');
  expect((await progress.get('learner-3', 'probe')).attempts).toEqual({ a: 2 });
  twice.dispose();
});

it('gives a command whose effect comes a moment later a second chance, without another command', async () => {
  const first = nextResult('greet');
  term.type('(sleep 0.5; echo hello > /root/hello.txt) &\r');
  expect(await first).toMatchObject({ passed: false });
  expect(await nextResult('greet', 3000)).toMatchObject({ passed: true, trigger: 'auto', newlyDone: true });
});

it('checks on demand, and keeps what is done across a new checker (a reconnect)', async () => {
  // done outside the terminal: no command settles, so nothing is checked until asked
  expect((await server.sandboxes.exec(box, ['sh', '-c', 'echo hello > /root/hello.txt'])).exitCode).toBe(0);
  const onDemand = await checker.checkNow();
  expect(onDemand).toMatchObject({ exerciseId: 'greet', passed: true, trigger: 'demand', newlyDone: true });
  expect(await checker.checkNow('copy')).toMatchObject({ passed: false, reason: '/root/data.txt is missing or differs from $LESSON_ASSETS/data.txt.' });

  checker.dispose();
  const again = new AutoChecker({
    runner: runner(),
    sandboxId: box,
    learnerId: 'learner-1',
    lessonId: lesson.id,
    exercises: lesson.exercises.map((e) => ({ id: e.id, check: e.check.text })),
    progress,
    settled,
    onResult: (r) => results.push(r),
  });
  await again.start();
  expect(again.doneExercises).toEqual(['greet']);
  expect((await progress.get('learner-1', lesson.id)).attempts).toEqual({ greet: 1, copy: 1 });
  again.dispose();
});

it('stops checking once disposed', async () => {
  checker.dispose();
  term.type('echo hello > /root/hello.txt\r');
  await term.waitFor(/hello\.txt\n[^\n]*# ?$/);
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(results).toEqual([]);
});

it('records nothing from a check still under way when it is disposed (a lesson reset)', async () => {
  // done outside the terminal: no command settles, so nothing is checked until asked
  expect((await server.sandboxes.exec(box, ['sh', '-c', 'echo hello > /root/hello.txt'])).exitCode).toBe(0);
  const pending = checker.checkNow('greet');
  checker.dispose();
  expect(await pending).toMatchObject({ exerciseId: 'greet', passed: true, newlyDone: false });
  expect(await progress.get('learner-1', lesson.id)).toEqual({ done: {}, attempts: {} });
  expect(results).toEqual([]);
});
