// Kernel feature probing, compared with what the host itself can do.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseProbe, probeHostFacts } from '../../server/checks/probe.js';
import { FEATURE_NAMES } from '../../server/labs/requirements.js';
import { detectCgroups } from '../../server/sandbox/cgroups.js';
import { SandboxManager } from '../../server/sandbox/manager.js';
import { makeNamespacesDriver, type TestDriver } from '../helpers/drivers.js';

let t: TestDriver;
beforeAll(async () => {
  t = await makeNamespacesDriver('probe');
});
afterAll(async () => {
  await t.close();
  expect(await t.leftovers()).toEqual([]);
});

/** Tries a link type in a throwaway network namespace on the host (gone when the command ends). */
const hostCan = (script: string) => spawnSync('unshare', ['-n', 'sh', '-c', script], { stdio: 'ignore' }).status === 0;

it('finds the features this kernel has, and only those', async () => {
  const sandboxes = new SandboxManager(t.driver, { maxSandboxes: 2, idleTimeoutMs: 0 });
  const facts = await probeHostFacts(sandboxes);
  expect(facts.cgroupVersion).toBe(detectCgroups().version);
  for (const f of facts.features) expect(FEATURE_NAMES).toContain(f);
  for (const f of ['veth', 'bridge', 'overlay'] as const) expect(facts.features.has(f)).toBe(true);
  // a container engine runs in the hardened sandbox on this kernel (lessons 7 and 8 need it)
  expect(facts.features.has('docker')).toBe(true);
  expect(facts.features.has('dummy')).toBe(hostCan('ip link add du0 type dummy'));
  expect(facts.features.has('macvlan')).toBe(hostCan('ip link add va type veth peer name vb && ip link add mv link va type macvlan'));
  expect(facts.features.has('ipvlan')).toBe(hostCan('ip link add va type veth peer name vb && ip link add iv link va type ipvlan mode l2'));
  // an opaque directory needs a user xattr on the sandbox's tmpfs (Linux 6.6 or later): asked directly
  const box = await sandboxes.create();
  const xattr = await sandboxes.exec(box.id, ['sh', '-c', 'touch /tmp/x && setfattr -n user.t -v 1 /tmp/x'], { timeoutMs: 20_000 });
  await sandboxes.destroy(box.id);
  expect(facts.features.has('overlay-opaque')).toBe(xattr.exitCode === 0);
  expect(sandboxes.count).toBe(0);
});

it('reads the probe output', () => {
  expect(parseProbe('cgroup 2\nok macvlan\nok nonsense\nnoise\nok seccomp\n')).toEqual({ cgroupVersion: 2, features: new Set(['macvlan', 'seccomp']) });
});
