// Where tests keep their files. The rootfs is shared with a local boxlab (it is
// only read), everything else is named per test run so nothing collides.
import { randomBytes } from 'node:crypto';

export const TEST_DATA_DIR = process.env.BOXLAB_DATA_DIR ?? '/var/lib/boxlab';
export const TEST_SUITE = process.env.BOXLAB_SUITE ?? 'bookworm';
export const DOCKER_SOCKET = process.env.BOXLAB_DOCKER_SOCKET ?? '/var/run/docker.sock';

/** A cgroup/container namespace of its own for each test file, so sweeps never touch another's sandboxes. */
export function testInstance(label: string): string {
  return `t-${label}-${randomBytes(3).toString('hex')}`.slice(0, 31);
}

/** How much slower this machine is than the hosts the tests' timeouts were set on: 1 on a
 *  host; the software-emulated test VM (scripts/vm/suite.sh) sets BOXLAB_TEST_TIME_SCALE. */
export const TIME_SCALE = Number(process.env.BOXLAB_TEST_TIME_SCALE) || 1;

/** A test's own timeout or deadline, scaled for the machine it runs on (never looser on a host). */
export function scaled(ms: number): number {
  return ms * TIME_SCALE;
}
