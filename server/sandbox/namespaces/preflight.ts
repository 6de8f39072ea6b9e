// Can this host run namespaces sandboxes? Each check fails with what to do
// about it, never with a stack trace.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { SandboxError } from '../driver.js';
import { checkHelper } from '../helper.js';

const DOCKER_HINT = 'or run boxlab in its Docker image (docker run --privileged -p 8080:8080 boxlab)';
const CAP_SYS_ADMIN = 21n;

export function checkHost(): void {
  if (process.platform !== 'linux') {
    throw new SandboxError(`the namespaces driver needs Linux, and this is ${process.platform}: run boxlab on a Linux host, ${DOCKER_HINT}`, 'unsupported');
  }
  if (process.getuid?.() !== 0) {
    throw new SandboxError(`the namespaces driver needs root to create namespaces, mounts and cgroups: run boxlab as root (sudo), ${DOCKER_HINT}`, 'unsupported');
  }
  const status = readFileSync('/proc/self/status', 'utf8');
  const capEff = BigInt('0x' + (/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'));
  if (((capEff >> CAP_SYS_ADMIN) & 1n) === 0n) {
    throw new SandboxError(`boxlab runs as root but without CAP_SYS_ADMIN (an unprivileged container?): start the container with --privileged, ${DOCKER_HINT}`, 'unsupported');
  }
  const missing = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'].filter((ns) => !existsSync(`/proc/self/ns/${ns}`));
  if (missing.length) {
    throw new SandboxError(`this kernel lacks ${missing.join(', ')} namespaces, which sandboxes need: use a kernel built with them (any current distribution kernel)`, 'unsupported');
  }
  const [major = 0, minor = 0] = os.release().split('.').map((n) => parseInt(n, 10));
  if (major < 5 || (major === 5 && minor < 19)) {
    throw new SandboxError(`this kernel is ${os.release()}; sandboxes need Linux 5.19 or later (idmapped overlayfs layers): run boxlab on a current kernel`, 'unsupported');
  }
  const maxUserNs = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim());
  if (!(maxUserNs > 0)) {
    throw new SandboxError('user namespaces are disabled on this host (user.max_user_namespaces is 0): every sandbox runs in one; enable them (sysctl user.max_user_namespaces=15000)', 'unsupported');
  }
  const hasOverlay = () => /\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  if (!hasOverlay()) spawnSync('modprobe', ['overlay'], { stdio: 'ignore' });
  if (!hasOverlay()) {
    throw new SandboxError('overlayfs is not available: load it (modprobe overlay) and start again', 'unsupported');
  }
  checkHelper();
}
