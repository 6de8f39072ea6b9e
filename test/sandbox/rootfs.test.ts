import { expect, it } from 'vitest';
import { readPackageList, rootfsKey } from '../../server/sandbox/rootfs.js';

it('reads the package list without comments, with every tool the lessons use', () => {
  const packages = readPackageList();
  for (const name of ['util-linux', 'iproute2', 'iptables', 'python3-seccomp', 'libcap2-bin', 'busybox-static', 'stress-ng', 'attr']) {
    expect(packages).toContain(name);
  }
  expect(packages.some((p) => p.includes('#') || p.includes(' '))).toBe(false);
});

it('keys the cached rootfs on everything that shapes it', () => {
  const packages = readPackageList();
  const base = rootfsKey('bookworm', packages, 'setup');
  expect(rootfsKey('bookworm', [...packages].reverse(), 'setup')).toBe(base);
  expect(rootfsKey('bookworm', [...packages, 'strace'], 'setup')).not.toBe(base);
  expect(rootfsKey('bookworm', packages, 'setup v2')).not.toBe(base);
  expect(rootfsKey('trixie', packages, 'setup')).not.toBe(base);
  expect(base).toMatch(/^bookworm-[0-9a-f]{12}$/);
});
