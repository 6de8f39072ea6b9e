// A server killed with SIGKILL cleans nothing up; the next one with the same
// instance name must find and remove all it left.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { expect, it } from 'vitest';
import { DRIVERS, makeDockerDriver, makeNamespacesDriver } from '../helpers/drivers.js';
import { testInstance } from '../helpers/env.js';

it.each(DRIVERS)('removes what a server killed with SIGKILL left behind, at the next start (%s)', async (driverName) => {
  const instance = testInstance('crash');
  const holder = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/hold-sandboxes.ts', instance, driverName], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: holder.stdout! }).once('line', resolve);
    holder.once('exit', (code, signal) => reject(new Error(`the holder exited (${signal ?? `status ${code}`}) before listing its sandboxes`)));
  });
  const ids = JSON.parse(line) as string[];
  expect(ids).toHaveLength(2);
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await exited;

  // a fresh driver with the same instance; its init sweeps what the holder left
  const next = await (driverName === 'docker' ? makeDockerDriver : makeNamespacesDriver)('crash', {}, instance);
  // prove there had been something to sweep
  expect(next.sweptAtStart.sort()).toEqual([...ids].sort());
  for (const id of ids) expect(await next.leftovers(id)).toEqual([]);
  await next.close();
  expect(await next.leftovers()).toEqual([]);
});
