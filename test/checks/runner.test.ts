// The check runner against real sandboxes: outcome and reason, timeout, the
// shared bound on concurrent checks, and coalescing of repeated requests.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CheckRunner } from '../../server/checks/runner.js';
import { SandboxError } from '../../server/sandbox/driver.js';
import { SandboxManager } from '../../server/sandbox/manager.js';
import { makeNamespacesDriver, type TestDriver } from '../helpers/drivers.js';

const LIBRARY = readFileSync('test/fixtures/labs/_lib/check.sh', 'utf8');
let t: TestDriver;
let sandboxes: SandboxManager;
let box: string;

beforeAll(async () => {
  t = await makeNamespacesDriver('checks');
  sandboxes = new SandboxManager(t.driver, { maxSandboxes: 4, idleTimeoutMs: 0 });
  box = (await sandboxes.create()).id;
});
afterAll(async () => {
  await t.close();
  expect(await t.leftovers()).toEqual([]);
});

/** Start and end of each run of a script that records them, as seconds since the epoch. */
const timed = (body: string) => `s=$(date +%s.%N); ${body}; echo "span $s $(date +%s.%N)"`;
const span = (output: string) => {
  const m = /span (\S+) (\S+)/.exec(output)!;
  return [Number(m[1]), Number(m[2])] as const;
};
/** The most spans that overlap at one time. */
function maxOverlap(spans: Array<readonly [number, number]>): number {
  const events = spans.flatMap(([a, b]) => [[a, 1], [b, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

it('passes on exit 0 and gives the last line printed, stdout or stderr, as the reason otherwise', async () => {
  const runner = new CheckRunner({ executor: sandboxes, library: LIBRARY });
  expect(await runner.check(box, 'test -d /proc/1')).toMatchObject({ passed: true, reason: '', timedOut: false });
  const failed = await runner.check(box, 'echo "looking..."\nls /nope\necho\n[ -e /root/answer ] || fail "There is no /root/answer yet: $LESSON_ASSETS"', { env: { LESSON_ASSETS: '/opt/x' } });
  expect(failed).toMatchObject({ passed: false, reason: 'There is no /root/answer yet: /opt/x' });
  expect(failed.output).toMatch(/^looking\.\.\.\nls: cannot access '\/nope': No such file or directory\n\nThere is no/);
  expect(await runner.check(box, 'echo "only on stderr" >&2; printf "\\033[31mred\\033[0m\\n" >&2; exit 1')).toMatchObject({ passed: false, reason: 'red' });
  expect(await runner.check(box, 'exit 7')).toMatchObject({ passed: false, reason: 'The check failed (exit status 7) without saying why.' });
  // bash reports errors at the check's own line numbers, not the library's
  expect((await runner.check(box, 'true\nif then')).reason).toBe("boxlab-script: eval: line 2: `if then'");
});

it('stops a check at its timeout, with everything it started, and says so', async () => {
  const runner = new CheckRunner({ executor: sandboxes });
  const r = await runner.check(box, 'sleep 4321 & sleep 4322', { timeoutMs: 500 });
  expect(r).toMatchObject({ passed: false, timedOut: true, reason: 'The check did not finish within 0.5 s and was stopped.' });
  const ps = await sandboxes.exec(box, ['sh', '-c', 'ps -eo args | grep -c "^sleep 432[12]" || true']);
  expect(ps.stdout.trim()).toBe('0');
});

it('runs at most `concurrency` checks at once, for all sandboxes together', async () => {
  const other = (await sandboxes.create()).id;
  const runner = new CheckRunner({ executor: sandboxes, concurrency: 2 });
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => runner.check(i % 2 ? box : other, timed('sleep 0.3'))));
  const spans = results.map((r) => span(r.output));
  expect(maxOverlap(spans)).toBe(2);
  // six runs of 0.3 s, two at a time: the last waited for two rounds before it
  expect(Math.max(...results.map((r) => r.queuedMs))).toBeGreaterThanOrEqual(550);
  await sandboxes.destroy(other);
});

it('answers repeated requests for a check still waiting its turn with one run, and never overlaps runs of one key', async () => {
  const runner = new CheckRunner({ executor: sandboxes, concurrency: 1 });
  await sandboxes.exec(box, ['sh', '-c', 'rm -f /tmp/runs']);
  const blocker = runner.check(box, 'sleep 0.4');
  const key = 'learner-1/lesson/exercise';
  const asked = [1, 2, 3].map(() => runner.check(box, timed('echo run >> /tmp/runs'), { key }));
  const results = await Promise.all(asked);
  await blocker;
  expect(new Set(results).size).toBe(1);
  expect((await sandboxes.exec(box, ['cat', '/tmp/runs'])).stdout).toBe('run\n');

  // once it runs, a new request is a new run, after the running one
  const wide = new CheckRunner({ executor: sandboxes, concurrency: 4 });
  const first = wide.check(box, timed('sleep 0.3'), { key });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const second = wide.check(box, timed('true'), { key });
  const [a, b] = await Promise.all([first, second]);
  expect(span(b.output)[0]).toBeGreaterThanOrEqual(span(a.output)[1]);
});

it('runs hint scripts and returns what they print', async () => {
  const runner = new CheckRunner({ executor: sandboxes, library: LIBRARY });
  expect(await runner.hint(box, 'echo "  Your sleep runs in the sandbox\'s own UTS namespace.  "')).toMatchObject({ text: "Your sleep runs in the sandbox's own UTS namespace.", timedOut: false });
  expect(await runner.hint(box, 'echo half; sleep 10', { timeoutMs: 300 })).toMatchObject({ text: 'half\n(the hint script was stopped after 0.3 s)', timedOut: true });
});

it('throws when the sandbox is gone, rather than blaming the learner', async () => {
  const runner = new CheckRunner({ executor: sandboxes });
  await expect(runner.check('sbx-0000000000', 'true')).rejects.toBeInstanceOf(SandboxError);
});
