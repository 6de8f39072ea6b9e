// The driver-independent rules: a cap on sandboxes, and idle ones reaped.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SandboxError } from '../../server/sandbox/driver.js';
import { SandboxManager } from '../../server/sandbox/manager.js';
import { makeNamespacesDriver, type TestDriver } from '../helpers/drivers.js';

let t: TestDriver;
beforeAll(async () => {
  t = await makeNamespacesDriver('manager');
});
afterAll(async () => {
  await t.close();
  expect(await t.leftovers()).toEqual([]);
});

it('refuses a sandbox beyond the cap with a clear error, and accepts one again after a destroy', async () => {
  const manager = new SandboxManager(t.driver, { maxSandboxes: 2, idleTimeoutMs: 0 });
  const a = await manager.create();
  const b = await manager.create();
  const refused = await manager.create().catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(SandboxError);
  expect(refused).toMatchObject({ code: 'limit', message: expect.stringMatching(/all 2 sandboxes are in use/) });
  await manager.destroy(a.id);
  const c = await manager.create();
  expect(manager.count).toBe(2);
  await manager.destroy(b.id);
  await manager.destroy(c.id);
});

it('counts sandboxes still starting against the cap', async () => {
  const manager = new SandboxManager(t.driver, { maxSandboxes: 1, idleTimeoutMs: 0 });
  const results = await Promise.allSettled([manager.create(), manager.create()]);
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  for (const r of results) if (r.status === 'fulfilled') await manager.destroy(r.value.id);
});

it('reaps sandboxes nobody used for the idle timeout, and keeps those in use', async () => {
  const ended: string[] = [];
  const manager = new SandboxManager(t.driver, { maxSandboxes: 5, idleTimeoutMs: 1000 });
  manager.onEnded(({ id, reason }) => ended.push(`${id}:${reason}`));
  const idle = await manager.create();
  const busy = await manager.create();
  await new Promise((resolve) => setTimeout(resolve, 700));
  await manager.exec(busy.id, ['true']); // used: its idle time starts again
  await new Promise((resolve) => setTimeout(resolve, 500));
  const reaped = await manager.reapIdle();
  expect(reaped).toEqual([idle.id]);
  expect(ended).toEqual([`${idle.id}:idle`]);
  expect(t.driver.list().map((s) => s.id)).toEqual([busy.id]);
  expect(await t.leftovers(idle.id)).toEqual([]);
  await manager.destroy(busy.id);
});

it('reports as reaped only the sandboxes it destroyed, and says which it could not', async () => {
  // the real driver, refusing to destroy one sandbox the first time (a removal that fails is hard to cause for real)
  let refuse: string | undefined;
  const driver = Object.create(t.driver) as typeof t.driver;
  driver.destroy = async (id: string) => {
    if (id === refuse) {
      refuse = undefined;
      throw new Error('cgroup busy');
    }
    return t.driver.destroy(id);
  };
  const errors: string[] = [];
  const manager = new SandboxManager(driver, { maxSandboxes: 5, idleTimeoutMs: 200, onError: (err) => errors.push((err as Error).message) });
  const stuck = await manager.create();
  const fine = await manager.create();
  refuse = stuck.id;
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await manager.reapIdle()).toEqual([fine.id]);
  expect(errors).toEqual([`reaping idle sandbox ${stuck.id} failed: cgroup busy`]);
  await t.driver.destroy(stuck.id);
  expect(await t.leftovers(stuck.id)).toEqual([]);
});
