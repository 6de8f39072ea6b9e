// How many sandboxes this host holds at the configured limits. A sandbox's
// memory limit covers its processes and its files (the writable layer, /tmp
// and /dev/shm are tmpfs, charged to it), so memory is what bounds them: the
// data dir's disk holds only the shared rootfs. The host keeps a tenth of its
// memory (at least 1 GiB) for the server, the kernel and everything else.
import os from 'node:os';
import { CHECKS_HEADROOM } from './cgroups.js';
import type { SandboxLimits } from './driver.js';

export interface Capacity {
  sandboxes: number;
  /** Why that many, in words for the operator. */
  reason: string;
}

const GiB = 1024 ** 3;

export function hostCapacity(limits: SandboxLimits, totalBytes = os.totalmem()): Capacity {
  const kept = Math.max(GiB, totalBytes / 10);
  const each = limits.memoryBytes + CHECKS_HEADROOM.memoryBytes;
  const sandboxes = Math.max(1, Math.floor((totalBytes - kept) / each));
  const gib = (b: number) => `${Math.round((b / GiB) * 10) / 10} GiB`;
  return { sandboxes, reason: `${sandboxes} sandboxes: ${gib(totalBytes)} of memory, ${gib(kept)} kept for the host, ${Math.round(each / 1024 ** 2)} MiB each (the memory limit and its checks' room)` };
}
