// `npm run test:vm` (scripts/vm/run.sh) as CI uses it, its output read through
// a pipe: the guest's status comes back as the script's, a guest that outlives
// the timeout is ended, and once the script exits nothing of it is left, not
// even a holder of its output (CI waits for the pipe to close). Boots the
// cached test VM with a shell command instead of the suite: skipped where the
// VM was never built (`npm run test:vm` builds it; CI does before this suite).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { TEST_DATA_DIR } from '../helpers/env.js';

const vmDir = path.join(TEST_DATA_DIR, 'vm');
const built = existsSync(vmDir) && readdirSync(vmDir).some((d) => existsSync(path.join(vmDir, d, 'complete')));
const qemu = (process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, 'qemu-system-x86_64')));
const runs = () => (existsSync(vmDir) ? readdirSync(vmDir).filter((d) => d.startsWith('run.')) : []);

interface Run {
  output: string;
  status: number | null;
  /** From the script's exit to its output's end. */
  outputOutlivedMs: number;
}

/** run.sh with `command` as the guest's, its stdout and stderr one pipe, as `npm run test:vm | tee` reads it. */
function runVm(command: string, timeoutSeconds: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'exec bash scripts/vm/run.sh 2>&1'], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, BOXLAB_VM_SHELL: command, BOXLAB_VM_TIMEOUT: String(timeoutSeconds) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    let exited: { status: number | null; at: number } | undefined;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (status) => (exited = { status, at: Date.now() }));
    child.stdout.once('close', () => {
      // 'exit' may come just after the pipe's end
      const done = () => resolve({ output, status: exited!.status, outputOutlivedMs: Math.max(0, Date.now() - exited!.at) });
      if (exited) done();
      else child.once('exit', () => setImmediate(done));
    });
  });
}

it.skipIf(!built || !qemu)('returns the guest\'s status, and leaves nothing behind when it ends', async () => {
  const before = runs();
  const r = await runVm('echo inside-the-vm; exit 3', 300);
  expect(r.output).toContain('inside-the-vm');
  expect(r.status).toBe(3);
  // no test summary came back: a failure, said so
  expect(r.output.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed');
  // the 300 s timeout's watchdog did not hold the output open
  expect(r.outputOutlivedMs).toBeLessThan(2000);
  expect(runs()).toEqual(before);
}, 240_000);

it.skipIf(!built || !qemu)('ends a guest that outlives the timeout, and fails', async () => {
  const before = runs();
  const r = await runVm('echo waiting-forever; sleep 3600', 45);
  expect(r.output).toContain('waiting-forever');
  const qemuPid = Number(/vm: timed out after 45 s, killing qemu (\d+)/.exec(r.output)?.[1]);
  expect(qemuPid).toBeGreaterThan(0);
  expect(existsSync(`/proc/${qemuPid}`)).toBe(false);
  expect(r.status).not.toBe(0);
  expect(r.output.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed');
  expect(r.outputOutlivedMs).toBeLessThan(2000);
  expect(runs()).toEqual(before);
}, 240_000);
