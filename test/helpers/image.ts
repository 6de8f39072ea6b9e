// Runs the boxlab Docker image as an operator would, for tests: with what
// --privileged grants, or, where the engine cannot grant all of it (a host
// without CAP_SYS_RESOURCE), the same granted explicitly (README: "Docker").
import { spawnSync } from 'node:child_process';

/** The image under test: CI builds it (.ci/run); unset, the image tests are skipped. */
export const TEST_IMAGE = process.env.BOXLAB_TEST_IMAGE ?? '';

/** Every capability Docker 20.10 knows (newer engines add PERFMON, BPF, CHECKPOINT_RESTORE). */
const ALL_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
];

/** What the sandbox needs besides capabilities: its own seccomp filter and cgroups, writable. */
export const EXPLICIT_GRANTS = [
  '--security-opt', 'seccomp=unconfined',
  '--security-opt', 'apparmor=unconfined',
  '--cgroupns', 'private',
  '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
];

/** The ways to grant what --privileged does, in the order to try them. */
export const GRANT_CHOICES: string[][] = [
  ['--privileged'],
  ['--cap-add', 'ALL', ...EXPLICIT_GRANTS],
  // an engine without CAP_SYS_RESOURCE cannot grant ALL
  [...ALL_CAPS.filter((c) => c !== 'SYS_RESOURCE').flatMap((c) => ['--cap-add', c]), ...EXPLICIT_GRANTS],
];

function docker(args: string[], timeout = 60_000) {
  return spawnSync('docker', args, { encoding: 'utf8', timeout });
}

export interface BoxlabContainer {
  id: string;
  /** http://127.0.0.1:<published port> */
  url: string;
  /** The grant flags that worked. */
  grants: string[];
  exec(argv: string[], timeoutMs?: number): { status: number | null; stdout: string; stderr: string };
  logs(): string;
  /** docker stop (SIGTERM, then SIGKILL after `graceSeconds`); returns the exit code. */
  stop(graceSeconds?: number): number;
  /** Removes the container and its anonymous data volume. */
  remove(): void;
}

/** Starts `image` with its port published on loopback and waits until /healthz answers. */
export async function startBoxlab(image = TEST_IMAGE, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<BoxlabContainer> {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  let id = '';
  let grants: string[] = [];
  const failures: string[] = [];
  for (const choice of GRANT_CHOICES) {
    const r = docker(['run', '-d', '-p', '127.0.0.1::8080', '--label', 'boxlab.test=image', ...choice, ...envArgs, image]);
    if (r.status === 0) {
      id = r.stdout.trim();
      grants = choice;
      break;
    }
    failures.push(r.stderr.trim().split('\n')[0] ?? '');
    const created = /^([0-9a-f]{64})/m.exec(r.stdout)?.[1];
    if (created) docker(['rm', '-f', '-v', created]);
  }
  if (!id) throw new Error(`the image would not start with any grant:\n${failures.join('\n')}`);
  const port = /:(\d+)\s*$/m.exec(docker(['port', id, '8080/tcp']).stdout)?.[1];
  const container: BoxlabContainer = {
    id,
    url: `http://127.0.0.1:${port}`,
    grants,
    exec: (argv, timeout = 60_000) => {
      const r = docker(['exec', id, ...argv], timeout);
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    logs: () => {
      const r = docker(['logs', id]);
      return r.stdout + r.stderr;
    },
    stop: (graceSeconds = 20) => {
      docker(['stop', '-t', String(graceSeconds), id], (graceSeconds + 30) * 1000);
      return Number(docker(['inspect', '-f', '{{.State.ExitCode}}', id]).stdout.trim());
    },
    remove: () => void docker(['rm', '-f', '-v', id]),
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // docker-proxy accepts before the server listens: a first request may never be answered
    const ok = await fetch(`${container.url}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) return container;
    const state = docker(['inspect', '-f', '{{.State.Running}}', id]).stdout.trim();
    if (state !== 'true' || Date.now() > deadline) {
      const logs = container.logs();
      container.remove();
      throw new Error(`boxlab did not answer on /healthz (${state === 'true' ? 'timed out' : 'the container stopped'}):\n${logs.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
