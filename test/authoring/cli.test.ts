// `boxlab validate` and `boxlab verify` as an author runs them: the built CLI,
// real sandboxes, solutions typed into a real shell.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LessonReport } from '../../server/authoring/verify.js';
import { castProblems } from '../../server/recording/cast.js';
import { detectCgroups } from '../../server/sandbox/cgroups.js';
import { TEST_DATA_DIR, testInstance } from '../helpers/env.js';
import { boxlab } from '../helpers/cli.js';

const FIXTURES = 'test/fixtures/labs';


/** Runs verify under an instance of its own, and checks it left no cgroup behind. */
async function verify(...args: string[]) {
  const instance = testInstance('verify');
  const r = await boxlab('verify', '--data-dir', TEST_DATA_DIR, '--instance', instance, ...args);
  for (const h of detectCgroups().hierarchies) expect(existsSync(path.join(h.mountPoint, instance))).toBe(false);
  return r;
}

type Report = { ok: boolean; lessons: LessonReport[] };
const statuses = (report: Report) => Object.fromEntries(report.lessons.flatMap((l) => l.exercises.map((e) => [`${l.id}/${e.id}`, e.status])));

describe('boxlab validate', () => {
  it('prints file:line for every problem and fails when a lesson is broken', async () => {
    const r = await boxlab('validate', '--labs', FIXTURES);
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(`${FIXTURES}/91-broken-exercises/lesson.md:18: exercise "oom" has two check blocks (the first at line 14)`);
    expect(lines).toContain(`${FIXTURES}/90-broken-front-matter/lesson.md:2: title: a title is required`);
    expect(lines.at(-1)).toBe('validate: 3 lessons ok, 5 broken (90-broken-front-matter, 91-broken-exercises, 92-missing-asset, 93-no-lesson-file, Bad_Name); 14 errors, 7 warnings');
  });

  it('passes good lessons, named by folder', async () => {
    const r = await boxlab('validate', `${FIXTURES}/01-basics`, `${FIXTURES}/80-wrong-checks/lesson.md`, `${FIXTURES}/81-broken-setup/`);
    expect(r).toMatchObject({ status: 0, stdout: 'validate: 3 lessons ok; 0 errors, 0 warnings\n' });
  });

  it('reports a script syntax error at its line', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'boxlab-validate-'));
    const dir = path.join(tmp, '01-syntax');
    mkdirSync(dir);
    try {
      writeFileSync(path.join(dir, 'lesson.md'), '---\ntitle: T\nsummary: S\norder: 1\ntime: 5 min\n---\n\n## Exercise: E {#e}\n\nDo.\n\n```bash check\nfor x in 1 2; do\n  echo $x\n```\n\n```bash solution\ntrue\n```\n');
      const r = await boxlab('validate', '--json', dir);
      expect(r.status).toBe(1);
      const report = JSON.parse(r.stdout) as { ok: boolean; issues: Array<{ line: number; message: string }> };
      expect(report.ok).toBe(false);
      expect(report.issues).toContainEqual(expect.objectContaining({ line: 14, message: 'exercise "e": check: syntax error: unexpected end of file' }));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('boxlab verify', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'boxlab-verify-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('verifies a good lesson: every check fails before its solution and passes after it', async () => {
    const r = await verify('--labs', FIXTURES, '--json', '01-basics');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.ok).toBe(true);
    expect(statuses(report)).toEqual({ '01-basics/greet': 'passed', '01-basics/copy': 'passed', '01-basics/uts': 'passed', '01-basics/list': 'passed' });
    for (const ex of report.lessons[0]!.exercises) {
      expect(ex.before).toMatchObject({ passed: false, reason: expect.any(String) });
      expect(ex.after).toMatchObject({ passed: true });
      expect(ex.typed?.source).toBe('reference');
    }
    expect(report.lessons[0]!.exercises[3]!.typed?.lines).toBe(7);
  });

  it('fails on a check that passes too early, never passes, or hangs, and says which', async () => {
    const r = await verify('--labs', FIXTURES, '--json', '80-wrong-checks');
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(statuses(report)).toEqual({ '80-wrong-checks/always': 'failed', '80-wrong-checks/never': 'failed', '80-wrong-checks/slow': 'failed', '80-wrong-checks/fine': 'passed' });
    const problems = Object.fromEntries(report.lessons[0]!.exercises.map((e) => [e.id, e.problems]));
    expect(problems.always).toEqual(['the check passes before the solution: it must fail until the exercise is done']);
    expect(problems.never).toEqual(['the check fails after the solution: This check never passes.']);
    expect(problems.slow).toEqual(['the check fails after the solution: The check did not finish within 1 s and was stopped.']);
    expect(report.lessons[0]!.exercises[1]!.after).toMatchObject({ passed: false, attempts: 2 });
  });

  it('tries a reviewer\'s answer instead of the reference solution, and reports whether the check took it', async () => {
    const wrong = path.join(tmp, 'wrong.sh');
    writeFileSync(wrong, 'unshare --uts sh -c "hostname other; exec sleep infinity" &\n');
    const alternative = path.join(tmp, 'alternative.sh');
    writeFileSync(alternative, 'unshare -u bash -c "hostname demo && exec sleep infinity" &\n');

    const refused = await verify('--labs', FIXTURES, '01-basics/uts', '--solution', wrong);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/^ {2}prep {2}greet /m);
    expect(refused.stdout).toContain(`  FAIL  uts  fails before`);
    expect(refused.stdout).toContain(`- the check fails after the solution from ${wrong}: Its hostname is other, not demo.`);
    expect(refused.stdout).toContain('unshare --uts sh -c "hostname other; exec sleep infinity" &');

    const accepted = await verify('--labs', FIXTURES, '01-basics/uts', '--solution', alternative, '--json');
    expect(accepted.status).toBe(0);
    expect(statuses(JSON.parse(accepted.stdout) as Report)).toEqual({ '01-basics/greet': 'prepared', '01-basics/copy': 'prepared', '01-basics/uts': 'passed' });
  });

  it('writes the session it typed as a .cast with each check a marker (--record)', async () => {
    const dir = path.join(tmp, 'casts');
    const r = await verify('--labs', FIXTURES, '--json', '--record', dir, '01-basics/greet');
    expect(r.status).toBe(0);
    const text = readFileSync(path.join(dir, '01-basics.cast'), 'utf8');
    expect(castProblems(text)).toEqual([]);
    const events = text.trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    expect(events.filter((e) => e[1] === 'i').map((e) => e[2])).toContain('echo hello > /root/hello.txt\r');
    const marks = events.filter((e) => e[1] === 'm').map((e) => e[2]);
    expect(marks[0]).toMatch(/^✗ greet: There is no \/root\/hello.txt yet\.$/);
    expect(marks.at(-1)).toBe('✓ greet');
    // the failed check's marker comes before the solution was typed, the passing one after
    const typedAt = events.find((e) => e[1] === 'i')![0];
    expect(events.find((e) => e[1] === 'm')![0]).toBeLessThanOrEqual(typedAt);
    expect(events.filter((e) => e[1] === 'm').at(-1)![0]).toBeGreaterThanOrEqual(typedAt);
    expect(existsSync(path.join(dir, '01-basics.castev'))).toBe(false);
  });

  it('types each answer of answers.md into a sandbox of its own: alternates must pass, near misses fail with their reason', async () => {
    const r = await verify('--labs', FIXTURES, '--json', '--answers', '01-basics/greet');
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.lessons[0]!.exercises.map((e) => [e.id, e.status])).toEqual([['greet', 'passed']]);
    const answers = report.lessons[0]!.answers!.map((a) => [a.kind, a.title, a.status, a.problems]);
    expect(answers).toEqual([
      ['alternate', 'printf', 'passed', []],
      ['alternate', 'in capitals, which the check refuses', 'failed', ['the check fails after the solution from alternate "in capitals, which the check refuses": /root/hello.txt holds "HELLO", not hello.']],
      ['near-miss', 'a capital letter', 'passed', []],
      ['near-miss', 'no file, but a reason that expects one', 'failed', ['the check fails after the near-miss "no file, but a reason that expects one", but its reason does not match /holds/: There is no /root/hello.txt yet.']],
      ['near-miss', 'right after all', 'failed', ['the check passes after the near-miss "right after all": it must fail']],
    ]);
    expect(report.lessons[0]!.answers![2]!.after).toMatchObject({ passed: false, attempts: 2, reason: '/root/hello.txt holds "Hello", not hello.' });
    const text = await verify('--labs', FIXTURES, '--answers', '--jobs', '3', '01-basics/greet');
    expect(text.stdout).toContain('  ok    greet  near miss "a capital letter"  fails, try 2: "/root/hello.txt holds "Hello", not hello."')
    expect(text.stdout).toContain('01-basics: FAILED, 1 verified, 0 failed, answers: 2 judged right, 3 wrong');
    expect(text.stdout).toContain('verify: FAILED: 1 lesson, 1 exercises verified, 0 failed, 0 skipped; answers: 2 judged right, 3 wrong, 0 skipped');
    expect(await verify('--labs', FIXTURES, '--answers', '--solution', '/dev/null', '01-basics/greet')).toMatchObject({ status: 2, stderr: 'boxlab: --solution and --answers do not go together: --answers types the answers of answers.md\n' });
  }, 60_000);

  it('refuses what it cannot do: usage errors with status 2, broken lessons and setups reported with status 1', async () => {
    expect(await verify('--labs', FIXTURES, '01-basics', '--solution', '/dev/null')).toMatchObject({ status: 2, stderr: "boxlab: --solution replaces one exercise's solution: name it as <lesson>/<exercise>\n" });
    const broken = await verify('--labs', FIXTURES, '--json', '91-broken-exercises', '01-basics/nope', '81-broken-setup');
    expect(broken.status).toBe(1);
    const report = JSON.parse(broken.stdout) as Report;
    expect(report.lessons.map((l) => l.error)).toEqual([
      expect.stringMatching(/^the lesson does not load:\n.*91-broken-exercises\/lesson\.md:8: a check block belongs inside an exercise/),
      'no exercise "nope" in 01-basics (it has greet, copy, uts, list)',
      'setup.sh of 81-broken-setup failed (exit status 3): cannot find the lab\'s image\npreparing the lab\ncannot find the lab\'s image',
    ]);
  });
});
