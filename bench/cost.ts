// Where the CPU goes, by process class, for the workshop benchmark's cost
// model. Nothing is moved or grouped for it (a cgroup of our own would change
// how the scheduler weighs the server and its relays against the sandboxes):
// it reads what the kernel already counts.
//
// - server: the server process, every thread (the mirror worker included),
//   /proc/PID/stat utime + stime;
// - pty relays: the server's children whose standard input is a terminal
//   (`boxlab-sandbox exec --pty`, on node-pty's side), sampled every second
//   from /proc/PID/schedstat (nanoseconds: a relay's share of a window is
//   often less than one of stat's ticks);
// - shims: the server's other long-lived children (`boxlab-sandbox create`);
// - exec helpers: the server's reaped children (its cutime + cstime: every
//   `boxlab-sandbox exec --session` and what it waited for) less the checks'
//   cgroups, i.e. the helper's part outside the sandbox;
// - learners' shells: every sandbox's `<id>/sandbox` cgroup (cpuacct, v1);
// - checks: every sandbox's `<id>/checks` cgroup (each run's cgroup is charged
//   to it too, and stays charged when the run's cgroup is removed);
// - kernel workers: every kworker thread (the ptys' flush work runs there;
//   any other kernel work of the host's too), schedstat;
// - bench clients: this process (process.cpuUsage());
// - other: the machine's busy time (/proc/stat) less all of the above (other
//   work on the host, interrupts, softirqs outside a process's time).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

const HZ = 100; // USER_HZ: /proc's tick unit on Linux
export const CLASSES = ['server', 'pty relays', 'shims', 'exec helpers', 'learners\u2019 shells', 'checks', 'kernel workers', 'bench clients', 'other'] as const;
export type CostClass = (typeof CLASSES)[number];
export type Cost = Record<CostClass, number>; // CPU seconds

export interface CostSnapshot {
  at: number;
  serverSelf: number;
  serverChildren: number;
  children: Map<number, { relay: boolean; cpu: number }>;
  shells: number;
  checks: number;
  kworkers: number;
  bench: number;
  machineBusy: number;
}

function statFields(file: string): string[] | undefined {
  try {
    return readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime (and cutime + cstime) of a process, in seconds. */
export function procCpu(pid: number | string): { self: number; children: number } | undefined {
  const f = statFields(`/proc/${pid}/stat`);
  if (!f) return undefined;
  return { self: (Number(f[11]) + Number(f[12])) / HZ, children: (Number(f[13]) + Number(f[14])) / HZ };
}

/** Time on a CPU of one single-threaded process, in seconds, to the nanosecond (/proc/PID/schedstat): a relay uses less than a tick in a window. */
function schedCpu(pid: number | string): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return undefined;
  }
}

function readNumber(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return 0;
  }
}

function cpuacctRoot(): string | undefined {
  for (const candidate of ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct']) {
    try {
      readFileSync(path.join(candidate, 'cpuacct.usage'));
      return candidate;
    } catch {
      /* not this one */
    }
  }
  return undefined;
}

/** Machine busy seconds (all CPUs), from /proc/stat. */
function machineBusy(): number {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return (v.reduce((a, b) => a + b, 0) - v[3]! - v[4]!) / HZ;
}

/** Every kworker seen, with what it had used when last seen: they come and go, and one gone keeps its count. */
const kworkers = new Map<string, number>();

function kworkerCpu(): number {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${e}/comm`, 'utf8');
    } catch {
      continue;
    }
    if (!comm.startsWith('kworker')) continue;
    const cpu = schedCpu(e);
    if (cpu !== undefined) kworkers.set(e, cpu);
  }
  let sum = 0;
  for (const v of kworkers.values()) sum += v;
  return sum;
}

export class CostMeter {
  private readonly cpuacct = cpuacctRoot();
  /** Every child of the server seen, and what it had used when first and last seen. */
  private readonly seen = new Map<number, { relay: boolean; cpu: number }>();

  constructor(private readonly serverPid: number, private readonly instance: string) {}

  get supported(): boolean {
    return this.cpuacct !== undefined;
  }

  private children(): number[] {
    const out: number[] = [];
    try {
      for (const t of readdirSync(`/proc/${this.serverPid}/task`)) {
        const text = readFileSync(`/proc/${this.serverPid}/task/${t}/children`, 'utf8').trim();
        if (text) out.push(...text.split(' ').map(Number));
      }
    } catch {
      /* the server is gone */
    }
    return out;
  }

  /** Call every second or so: keeps the long-lived children's usage as they were last seen. */
  poll(): void {
    kworkerCpu();
    for (const pid of this.children()) {
      const cpu = schedCpu(pid);
      if (cpu === undefined) continue;
      let relay = this.seen.get(pid)?.relay;
      if (relay === undefined) {
        try {
          relay = readlinkSync(`/proc/${pid}/fd/0`).startsWith('/dev/pts/');
          // not a relay: only the sandboxes' shims are long-lived; the rest (exec helpers) count when reaped
          if (!relay && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('create')) continue;
        } catch {
          continue;
        }
      }
      this.seen.set(pid, { relay, cpu });
    }
  }

  snapshot(): CostSnapshot {
    this.poll();
    let shells = 0;
    let checks = 0;
    if (this.cpuacct) {
      const dir = path.join(this.cpuacct, this.instance);
      let ids: string[] = [];
      try {
        ids = readdirSync(dir).filter((e) => e.startsWith('sbx-'));
      } catch {
        /* no sandbox yet */
      }
      for (const id of ids) {
        shells += readNumber(path.join(dir, id, 'sandbox', 'cpuacct.usage')) / 1e9;
        checks += readNumber(path.join(dir, id, 'checks', 'cpuacct.usage')) / 1e9;
      }
    }
    const server = procCpu(this.serverPid) ?? { self: 0, children: 0 };
    const usage = process.cpuUsage();
    return {
      at: performance.now(),
      serverSelf: server.self,
      serverChildren: server.children,
      children: new Map([...this.seen].map(([pid, v]) => [pid, { ...v }])),
      shells,
      checks,
      kworkers: kworkerCpu(),
      bench: (usage.user + usage.system) / 1e6,
      machineBusy: machineBusy(),
    };
  }
}

/** CPU seconds per class between two snapshots, and the window's length. */
export function costBetween(a: CostSnapshot, b: CostSnapshot): { cost: Cost; seconds: number } {
  let relays = 0;
  let shims = 0;
  for (const [pid, end] of b.children) {
    const start = a.children.get(pid)?.cpu ?? 0; // born in the window: from 0
    (end.relay ? (relays += end.cpu - start) : (shims += end.cpu - start));
  }
  const checks = b.checks - a.checks;
  const cost: Cost = {
    server: b.serverSelf - a.serverSelf,
    'pty relays': relays,
    shims,
    // a sandbox destroyed in the window takes its cgroups' figures with it: never below 0
    'exec helpers': Math.max(0, b.serverChildren - a.serverChildren - checks),
    'learners\u2019 shells': Math.max(0, b.shells - a.shells),
    checks: Math.max(0, checks),
    'kernel workers': b.kworkers - a.kworkers,
    'bench clients': b.bench - a.bench,
    other: 0,
  };
  const accounted = CLASSES.reduce((s, c) => s + cost[c], 0);
  cost.other = Math.max(0, b.machineBusy - a.machineBusy - accounted);
  return { cost, seconds: (b.at - a.at) / 1000 };
}

export const totalOf = (cost: Cost, classes: readonly CostClass[] = CLASSES) => classes.reduce((s, c) => s + cost[c], 0);
/** The classes that are boxlab's own work, not the benchmark's or the host's. */
export const BOXLAB: readonly CostClass[] = ['server', 'pty relays', 'shims', 'exec helpers', 'learners\u2019 shells', 'checks', 'kernel workers'];

/** CPU seconds charged to a sandbox's checks (every run's cgroup below `<id>/checks`), cgroup v1; undefined elsewhere. */
export function sandboxChecksCpu(instance: string, id: string): number | undefined {
  const root = cpuacctRoot();
  if (!root) return undefined;
  try {
    return Number(readFileSync(path.join(root, instance, id, 'checks', 'cpuacct.usage'), 'utf8')) / 1e9;
  } catch {
    return undefined;
  }
}
