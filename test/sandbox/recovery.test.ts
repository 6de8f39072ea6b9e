// A server killed with SIGKILL cleans nothing up; the next one with the same
// instance name must find and remove all it left.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { expect, it } from 'vitest';
import { makeNamespacesDriver } from '../helpers/drivers.js';
import { testInstance } from '../helpers/env.js';

it('removes what a server killed with SIGKILL left behind, at the next start', async () => {
  const instance = testInstance('crash');
  const holder = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/hold-sandboxes.ts', instance], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: holder.stdout! }).once('line', resolve);
    holder.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  const ids = JSON.parse(line) as string[];
  expect(ids).toHaveLength(2);
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await exited;

  // a fresh driver object with the same instance, without init yet, to see the leftovers
  const next = await makeNamespacesDriver('crash', {}, instance);
  // init (inside makeNamespacesDriver) has swept; prove there had been something to sweep
  expect(next.sweptAtStart.sort()).toEqual([...ids].sort());
  for (const id of ids) expect(await next.leftovers(id)).toEqual([]);
  await next.close();
  expect(await next.leftovers()).toEqual([]);
});
