// Control groups for sandboxes, on cgroup v1 (one hierarchy per controller)
// and v2 (one unified hierarchy).
//
// Each sandbox gets, in every hierarchy:
//   <instance>/<id>            the sandbox's limits (memory, pids, cpu, devices), with room
//                              above the learner's for its checks; never visible inside
//   <instance>/<id>/sandbox    the root of the sandbox's cgroup namespace: the learner's
//                              /sys/fs/cgroup, with the learner's own limits, delegated to
//                              the learner's root (who owns the directory and the files that
//                              move processes, never the limits), bounded in descendants
//   .../sandbox/init           v2 only: the leaf holding the sandbox's processes, because
//                              v2 lets only leaves hold processes once the learner's
//                              children have controllers enabled
//   <instance>/<id>/checks     the checks' cgroups, one per run, out of the learner's reach:
//                              they cannot freeze, move or kill what runs there
import { lstatSync, promises as fs, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { ResourceUsage, SandboxLimits } from './driver.js';
import { SandboxError } from './driver.js';
import { ALLOWED_DEVICES, KERNEL_OBJECT_LIMITS } from './policy.js';
import type { SpecCgroups } from './spec.js';

export interface Hierarchy {
  /** Where the hierarchy is mounted on the host, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  version: 1 | 2;
  /** v1 controllers bound to it (empty for a named or the unified hierarchy). */
  controllers: string[];
  /** The mount options a sandbox needs to mount the same hierarchy (v1), e.g. "memory" or "none,name=systemd". */
  mountOptions: string;
}

export interface CgroupHost {
  /** 2 when /sys/fs/cgroup is the unified hierarchy, 1 for v1 and hybrid hosts. */
  version: 1 | 2;
  root: string;
  hierarchies: Hierarchy[];
}

/** The policy's devices in v1 devices.allow syntax; everything else, block devices first of all, is denied. */
export const DEVICE_ALLOW = ALLOWED_DEVICES.map(([major, minor]) => `c ${major}:${minor} rwm`);

/** What the checks of a sandbox may use above the learner's own limits (a fork bomb at its limit leaves them room). */
export const CHECKS_HEADROOM = { memoryBytes: 64 * 1024 * 1024, pids: 64 };

const V2_CONTROLLERS = ['cpu', 'io', 'memory', 'pids'];

/** CPU weight of all sandboxes together (`<instance>`), in multiples of the default (v1 cpu.shares
 *  1024, v2 cpu.weight 100). The scheduler weighs `<instance>` as one entity against each other
 *  top-level cgroup (and, with autogroup, each other session): at the default, all learners together
 *  weighed as much as one busy process elsewhere on the host, and a shell woken by a keystroke waited
 *  behind it while a few sandboxes flooded. Each sandbox keeps its own quota; the server still gets
 *  one core-share in WEIGHT + 1 when sandboxes saturate every core, and it wakes far more than it runs. */
export const SANDBOXES_CPU_WEIGHT = 4;

/** Reads the cgroup hierarchies mounted under `root` from a mountinfo text. */
export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'), root = '/sys/fs/cgroup'): CgroupHost {
  const hierarchies: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4]!;
    const [fstype, , superOptions = ''] = right.split(' ');
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || !(mountPoint === root || mountPoint.startsWith(root + '/'))) continue;
    const version = fstype === 'cgroup2' ? 2 : 1;
    const options = superOptions.split(',');
    const controllers = version === 1 ? options.filter((o) => /^[a-z_]+$/.test(o) && !['rw', 'ro', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode', 'favordynmods'].includes(o)) : [];
    const name = options.find((o) => o.startsWith('name='));
    const key = version === 2 ? 'cgroup2' : [...controllers].sort().join(',') + (name ?? '');
    if (seen.has(key)) continue;
    seen.add(key);
    const mountOptions = version === 2 ? '' : [...(controllers.length ? controllers : ['none']), ...(name ? [name] : [])].join(',');
    hierarchies.push({ mountPoint, version, controllers, mountOptions });
  }
  const unifiedAtRoot = hierarchies.find((h) => h.version === 2 && h.mountPoint === root);
  if (unifiedAtRoot) return { version: 2, root, hierarchies: [unifiedAtRoot] };
  if (!hierarchies.some((h) => h.version === 1)) {
    throw new SandboxError(`no cgroup hierarchy is mounted at ${root}: mount cgroup2 there (mount -t cgroup2 none ${root})`, 'unsupported');
  }
  return { version: 1, root, hierarchies };
}

async function writeFile(file: string, value: string): Promise<void> {
  await fs.writeFile(file, value);
}

async function tryWrite(file: string, value: string): Promise<boolean> {
  try {
    await fs.writeFile(file, value);
    return true;
  } catch {
    return false;
  }
}

async function readText(file: string): Promise<string> {
  return (await fs.readFile(file, 'utf8')).trim();
}

async function readNumber(file: string): Promise<number> {
  const text = await readText(file).catch(() => '');
  if (text === 'max') return Number.POSITIVE_INFINITY;
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SandboxCgroupDirs {
  hierarchy: Hierarchy;
  /** <instance>/<id>: the limits. */
  limits: string;
  /** <instance>/<id>/sandbox: the root of the sandbox's cgroup namespace. */
  nsRoot: string;
  /** Where the sandbox's processes live. */
  leaf: string;
  /** <instance>/<id>/checks: where checks run, each in a cgroup of its own below. */
  checks: string;
}

/** One server's cgroups: `<hierarchy>/<instance>/<sandbox id>/...` in every hierarchy. */
export class CgroupManager {
  readonly host: CgroupHost;
  private v2Controllers: string[] = [];

  constructor(readonly instance: string, host: CgroupHost = detectCgroups()) {
    this.host = host;
  }

  get version(): 1 | 2 {
    return this.host.version;
  }

  private instanceDir(h: Hierarchy): string {
    return path.join(h.mountPoint, this.instance);
  }

  dirs(id: string): SandboxCgroupDirs[] {
    return this.host.hierarchies.map((hierarchy) => {
      const limits = path.join(this.instanceDir(hierarchy), id);
      const nsRoot = path.join(limits, 'sandbox');
      const leaf = this.host.version === 2 ? path.join(nsRoot, 'init') : nsRoot;
      return { hierarchy, limits, nsRoot, leaf, checks: path.join(limits, 'checks') };
    });
  }

  private hierarchyWith(controller: string): Hierarchy | undefined {
    return this.host.hierarchies.find((h) => this.host.version === 2 || h.controllers.includes(controller));
  }

  /** The substring of /proc/PID/cgroup that marks a process of sandbox `id`. */
  marker(id: string): string {
    return `/${this.instance}/${id}/`;
  }

  /** Creates the instance's top cgroups; on v2, enables the controllers sandboxes need. */
  async prepare(): Promise<void> {
    for (const h of this.host.hierarchies) {
      const dir = this.instanceDir(h);
      await fs.mkdir(dir, { recursive: true });
      if (h.controllers.includes('cpuset')) await copyCpuset(h.mountPoint, dir);
    }
    if (this.host.version === 2) {
      const root = this.host.hierarchies[0]!.mountPoint;
      const available = (await readText(path.join(root, 'cgroup.controllers'))).split(/\s+/);
      this.v2Controllers = V2_CONTROLLERS.filter((c) => available.includes(c));
      const wanted = this.v2Controllers.map((c) => `+${c}`).join(' ');
      try {
        await writeFile(path.join(root, 'cgroup.subtree_control'), wanted);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
        // The root of a container's cgroup namespace holds our own processes, and
        // v2 forbids controllers below a cgroup with processes: move them to a leaf.
        const leaf = path.join(root, `${this.instance}.server`);
        await fs.mkdir(leaf, { recursive: true });
        for (const pid of (await readText(path.join(root, 'cgroup.procs'))).split('\n').filter(Boolean)) {
          await tryWrite(path.join(leaf, 'cgroup.procs'), pid);
        }
        await writeFile(path.join(root, 'cgroup.subtree_control'), wanted);
      }
      await writeFile(path.join(this.instanceDir(this.host.hierarchies[0]!), 'cgroup.subtree_control'), wanted);
      if (this.v2Controllers.includes('cpu')) await tryWrite(path.join(this.instanceDir(this.host.hierarchies[0]!), 'cpu.weight'), String(100 * SANDBOXES_CPU_WEIGHT));
      if (!this.v2Controllers.includes('memory') || !this.v2Controllers.includes('pids')) {
        throw new SandboxError('the memory and pids cgroup controllers are not available: boxlab cannot limit sandboxes on this host', 'unsupported');
      }
    } else {
      const cpu = this.hierarchyWith('cpu');
      if (cpu) await tryWrite(path.join(this.instanceDir(cpu), 'cpu.shares'), String(1024 * SANDBOXES_CPU_WEIGHT));
      for (const controller of ['memory', 'pids', 'devices']) {
        if (!this.hierarchyWith(controller)) {
          throw new SandboxError(`the ${controller} cgroup controller is not mounted: boxlab cannot confine sandboxes on this host`, 'unsupported');
        }
      }
    }
  }

  /** Creates a sandbox's cgroups with their limits. */
  async create(id: string, limits: SandboxLimits): Promise<void> {
    const period = 100_000;
    const quota = Math.max(1000, Math.round(limits.cpus * period));
    const outer = { memory: limits.memoryBytes + CHECKS_HEADROOM.memoryBytes, pids: limits.pids + CHECKS_HEADROOM.pids };
    for (const d of this.dirs(id)) {
      const h = d.hierarchy;
      // limits before children: v1 refuses a deny-all device list once a cgroup has children
      await fs.mkdir(d.limits, { recursive: true });
      if (h.version === 2 && this.host.version === 1) {
        // the unified hierarchy of a hybrid host: no controllers, only confinement
        for (const dir of [d.nsRoot, d.leaf, d.checks]) await fs.mkdir(dir, { recursive: true });
        continue;
      }
      if (h.version === 2) {
        await writeFile(path.join(d.limits, 'memory.max'), String(outer.memory));
        await tryWrite(path.join(d.limits, 'memory.swap.max'), '0');
        await writeFile(path.join(d.limits, 'pids.max'), String(outer.pids));
        if (this.v2Controllers.includes('cpu')) await writeFile(path.join(d.limits, 'cpu.max'), `${quota} ${period}`);
        await writeFile(path.join(d.limits, 'cgroup.subtree_control'), this.v2Controllers.map((c) => `+${c}`).join(' '));
        await fs.mkdir(d.nsRoot);
        await writeFile(path.join(d.nsRoot, 'memory.max'), String(limits.memoryBytes));
        await tryWrite(path.join(d.nsRoot, 'memory.swap.max'), '0');
        await writeFile(path.join(d.nsRoot, 'pids.max'), String(limits.pids));
        // the kernel objects a learner's cgroups cost are the host's: bounded in number and depth (init is one of them)
        await writeFile(path.join(d.nsRoot, 'cgroup.max.descendants'), String(KERNEL_OBJECT_LIMITS.cgroups + 1));
        await writeFile(path.join(d.nsRoot, 'cgroup.max.depth'), String(KERNEL_OBJECT_LIMITS.cgroupDepth));
        await fs.mkdir(d.leaf);
        await fs.mkdir(d.checks);
        continue;
      }
      if (h.controllers.includes('cpuset')) await copyCpuset(this.instanceDir(h), d.limits);
      if (h.controllers.includes('memory')) await setMemoryV1(d.limits, outer.memory);
      if (h.controllers.includes('pids')) await writeFile(path.join(d.limits, 'pids.max'), String(outer.pids));
      if (h.controllers.includes('cpu')) {
        await writeFile(path.join(d.limits, 'cpu.cfs_period_us'), String(period));
        await writeFile(path.join(d.limits, 'cpu.cfs_quota_us'), String(quota));
      }
      if (h.controllers.includes('devices')) {
        await writeFile(path.join(d.limits, 'devices.deny'), 'a');
        for (const rule of DEVICE_ALLOW) await writeFile(path.join(d.limits, 'devices.allow'), rule);
      }
      await fs.mkdir(d.nsRoot);
      await fs.mkdir(d.checks);
      if (h.controllers.includes('memory')) await setMemoryV1(d.nsRoot, limits.memoryBytes);
      if (h.controllers.includes('pids')) await writeFile(path.join(d.nsRoot, 'pids.max'), String(limits.pids));
      if (h.controllers.includes('cpuset')) {
        for (const dir of [d.nsRoot, d.checks]) {
          await copyCpuset(d.limits, dir);
          // so that cgroups below (the learner's, the checks') work without setting cpus and mems
          await tryWrite(path.join(dir, 'cgroup.clone_children'), '1');
        }
      }
    }
  }

  /** The sandbox's cgroups as its spec names them (spec.ts). */
  layout(id: string, links: Record<string, string>): SpecCgroups {
    return {
      version: this.version,
      trees: this.dirs(id).map((dirs) => ({ name: path.relative(this.host.root, dirs.hierarchy.mountPoint), hierarchy: dirs.hierarchy, dirs })),
      links,
      subtreeControl: this.nsSubtreeControl(),
      ...(this.deviceFilterDir(id) ? { deviceFilterDir: this.deviceFilterDir(id)! } : {}),
    };
  }

  /** The cgroup.procs files a process joins to belong to the sandbox. */
  procsFiles(id: string, which: 'nsRoot' | 'leaf' = 'leaf'): string[] {
    return this.dirs(id).map((d) => path.join(d[which], 'cgroup.procs'));
  }

  /** The v2 directory that gets the device filter, when there is no v1 devices controller. */
  deviceFilterDir(id: string): string | undefined {
    if (this.host.hierarchies.some((h) => h.controllers.includes('devices'))) return undefined;
    return this.dirs(id).find((d) => d.hierarchy.version === 2)?.limits;
  }

  /** v2: the controllers the learner's own cgroups get (written to the namespace root once it is empty). */
  nsSubtreeControl(): string {
    return this.v2Controllers.map((c) => `+${c}`).join(' ');
  }

  /** Every process in the sandbox's cgroups (host pids). */
  async pids(id: string): Promise<number[]> {
    const d = this.dirs(id)[0];
    if (!d) return [];
    const out: number[] = [];
    const walk = async (dir: string): Promise<void> => {
      const procs = await readText(path.join(dir, 'cgroup.procs')).catch(() => '');
      for (const p of procs.split('\n')) if (p) out.push(Number(p));
      for (const sub of await subdirs(dir)) await walk(sub);
    };
    await walk(d.limits);
    return out;
  }

  /** Kills every process of the sandbox, however many it forks meanwhile, frozen or not. */
  async kill(id: string): Promise<void> {
    const dirs = this.dirs(id);
    const v2 = dirs.find((d) => d.hierarchy.version === 2 && this.host.version === 2);
    if (v2 && (await tryWrite(path.join(v2.limits, 'cgroup.kill'), '1'))) {
      // v2 delivers SIGKILL to frozen processes too
      await this.waitEmpty(id, 5000);
      return;
    }
    const freezer = dirs.find((d) => d.hierarchy.controllers.includes('freezer'));
    for (let round = 0; round < 100; round++) {
      const pids = await this.pids(id);
      if (pids.length === 0) return;
      // freezing first stops a fork bomb from outrunning the kills
      if (freezer) await tryWrite(path.join(freezer.limits, 'freezer.state'), 'FROZEN');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // a v1 process frozen (by the learner, in a cgroup of theirs) dies only once thawed: thaw them all
      if (freezer) for (const dir of await tree(freezer.limits)) await tryWrite(path.join(dir, 'freezer.state'), 'THAWED');
      await sleep(round < 10 ? 5 : 20);
    }
    throw new SandboxError(`could not kill the processes of sandbox ${id}`);
  }

  private async waitEmpty(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.pids(id)).length > 0) {
      if (Date.now() > deadline) throw new SandboxError(`processes of sandbox ${id} did not exit`);
      await sleep(5);
    }
  }

  /** Removes the sandbox's cgroups, including any the learner created inside. */
  async remove(id: string): Promise<void> {
    const removeTree = async (dir: string): Promise<void> => {
      for (const sub of await subdirs(dir)) await removeTree(sub);
      for (let attempt = 0; ; attempt++) {
        try {
          await fs.rmdir(dir);
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return;
          // a process still exiting keeps its cgroup busy for a moment
          if (code !== 'EBUSY' || attempt > 200) throw new SandboxError(`cannot remove cgroup ${dir}: ${code}`);
          await sleep(10);
        }
      }
    };
    for (const d of this.dirs(id)) await removeTree(d.limits);
  }

  /** Sandbox ids that have cgroups of this instance. */
  async existing(): Promise<string[]> {
    const ids = new Set<string>();
    for (const h of this.host.hierarchies) {
      for (const dir of await subdirs(this.instanceDir(h))) ids.add(path.basename(dir));
    }
    return [...ids];
  }

  /** Removes the instance's top cgroups once no sandbox is left in them. */
  async removeInstance(): Promise<void> {
    for (const h of this.host.hierarchies) {
      await fs.rmdir(this.instanceDir(h)).catch(() => {}); // refused while another sandbox is in it, which is the point
    }
  }

  /** The learner's usage against the learner's limits (the sandbox's cgroup namespace root). */
  async usage(id: string): Promise<ResourceUsage> {
    const dirs = this.dirs(id);
    const find = (controller: string) => dirs.find((d) => this.host.version === 2 || d.hierarchy.controllers.includes(controller))?.nsRoot ?? '';
    const mem = find('memory');
    const pids = find('pids');
    if (this.host.version === 2) {
      const stat = await readText(path.join(find('cpu'), 'cpu.stat')).catch(() => '');
      const usec = Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0);
      return {
        memoryBytes: await readNumber(path.join(mem, 'memory.current')),
        memoryLimitBytes: await readNumber(path.join(mem, 'memory.max')),
        pids: await readNumber(path.join(pids, 'pids.current')),
        pidsLimit: await readNumber(path.join(pids, 'pids.max')),
        cpuSeconds: usec / 1e6,
      };
    }
    return {
      memoryBytes: await readNumber(path.join(mem, 'memory.usage_in_bytes')),
      memoryLimitBytes: await readNumber(path.join(mem, 'memory.limit_in_bytes')),
      pids: await readNumber(path.join(pids, 'pids.current')),
      pidsLimit: await readNumber(path.join(pids, 'pids.max')),
      cpuSeconds: (await readNumber(path.join(find('cpuacct'), 'cpuacct.usage'))) / 1e9,
    };
  }
}

async function setMemoryV1(dir: string, bytes: number): Promise<void> {
  await writeFile(path.join(dir, 'memory.limit_in_bytes'), String(bytes));
  // no swap: a memory hog meets the OOM killer instead of the host's disk
  await tryWrite(path.join(dir, 'memory.memsw.limit_in_bytes'), String(bytes));
  await tryWrite(path.join(dir, 'memory.swappiness'), '0');
}

/** A directory and every directory below it, deepest first. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await subdirs(dir)) out.push(...(await tree(sub)));
  out.push(dir);
  return out;
}

async function copyCpuset(from: string, to: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const current = await readText(path.join(to, file)).catch(() => '');
    if (current) continue;
    await writeFile(path.join(to, file), await readText(path.join(from, file)));
  }
}

/** Entries of a v1 host's /sys/fs/cgroup that are symlinks (cpu -> cpu,cpuacct), for a sandbox to mirror. */
export function readCgroupLinks(root: string): Record<string, string> {
  const links: Record<string, string> = {};
  for (const name of readdirSync(root)) {
    const full = path.join(root, name);
    if (lstatSync(full).isSymbolicLink()) links[name] = readlinkSync(full);
  }
  return links;
}
