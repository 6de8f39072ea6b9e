// Starting and resetting a lesson in a real sandbox: assets in, setup run,
// $LESSON_ASSETS in the learner's shells, failures reported clearly.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LESSON_ASSETS_DIR, LessonSetupError, resetLesson, startLesson } from '../../server/checks/lifecycle.js';
import { loadLabs } from '../../server/labs/loader.js';
import type { Lesson } from '../../server/labs/model.js';
import { SandboxManager } from '../../server/sandbox/manager.js';
import { makeNamespacesDriver, type TestDriver } from '../helpers/drivers.js';

const FIXTURES = path.resolve('test/fixtures/labs');
let t: TestDriver;
let sandboxes: SandboxManager;
let lesson: Lesson;

beforeAll(async () => {
  t = await makeNamespacesDriver('lifecycle');
  sandboxes = new SandboxManager(t.driver, { maxSandboxes: 4, idleTimeoutMs: 0 });
  lesson = (await loadLabs(FIXTURES, { only: ['01-basics'] })).lessons[0]!;
});
afterAll(async () => {
  await t.close();
  expect(await t.leftovers()).toEqual([]);
});

const sh = (id: string, script: string) => sandboxes.exec(id, ['bash', '-c', script]).then((r) => r.stdout);

it('copies the assets in, runs setup.sh with $LESSON_ASSETS, and tells login shells where the assets are', async () => {
  const box = (await sandboxes.create()).id;
  const steps: string[] = [];
  const report = await startLesson(sandboxes, box, lesson, { onProgress: (s) => steps.push(s) });
  expect(steps).toEqual(['assets', 'setup', 'ready']);
  expect(report.setupMs).toBeGreaterThanOrEqual(0);
  expect(await sh(box, `cat ${LESSON_ASSETS_DIR}/data.txt`)).toBe(readFileSync(path.join(FIXTURES, '01-basics/assets/data.txt'), 'utf8'));
  expect(await sh(box, `stat -c '%u:%g' ${LESSON_ASSETS_DIR}/diagram.svg; cat /opt/lab/setup-done`)).toBe('0:0\nready\n');
  expect(await sh(box, 'bash -lc \'echo "$LESSON_ASSETS"\'')).toBe(`${LESSON_ASSETS_DIR}\n`);
  await sandboxes.destroy(box);
});

it('reports a failing setup with its exit status and last line, and one that hangs', async () => {
  const box = (await sandboxes.create()).id;
  const broken = { id: 'broken', setup: { text: 'echo "fetching things"\necho "no network in here" >&2\nexit 4\n' } };
  const err = await startLesson(sandboxes, box, broken).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LessonSetupError);
  expect(err).toMatchObject({ message: 'setup.sh of broken failed (exit status 4): no network in here', output: 'fetching things\nno network in here\n' });
  const hangs = { id: 'hangs', setup: { text: 'sleep 600\n' } };
  await expect(startLesson(sandboxes, box, hangs, { timeoutMs: 500 })).rejects.toThrow('setup.sh of hangs did not finish within 0.5 s');
  // the helper library is there for setup scripts too
  await expect(startLesson(sandboxes, box, { id: 'lib', setup: { text: 'fail "from the library"' } }, { library: 'fail() { echo "$*"; exit 1; }' })).rejects.toThrow(/failed \(exit status 1\): from the library$/);
  await sandboxes.destroy(box);
});

it('resets a lesson to its start: a clean sandbox, set up again', async () => {
  const box = (await sandboxes.create()).id;
  await startLesson(sandboxes, box, lesson);
  await sh(box, 'echo mess > /root/mess; rm /opt/lab/setup-done');
  await resetLesson(sandboxes, box, lesson);
  expect(await sh(box, 'ls /root/mess 2>&1; cat /opt/lab/setup-done')).toMatch(/No such file.*\nready\n$/);
  await sandboxes.destroy(box);
});
