// The docker driver: one container per sandbox, created through the Docker
// Engine API, for operators who prefer the engine to manage sandboxes. The
// container's PID 1 is the native helper, which builds the same sandbox as
// the namespaces driver inside it (spec.ts); commands and terminals are
// Docker execs of the helper, which enters the sandbox as on the host.
//
// Containers are labelled with this server's instance name. A server that
// starts removes every container of its instance it does not know: after a
// restart nothing (sessions, terminals, the manager's cap and idle clock)
// remembers them, so adopting them would keep sandboxes no one can reach,
// with a history no check can trust. Both drivers start clean.
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import {
  DriverBase,
  SandboxError,
  type ExecOptions,
  type ExecResult,
  type PtyOptions,
  type ResourceUsage,
  type SandboxDriver,
  type SandboxInfo,
  type SandboxLimits,
  type SandboxPty,
} from '../driver.js';
import { connectEngine } from './engine.js';
import { Demuxer, runExec, type ExecContext } from './exec.js';
import { hasImage, missingImageError } from './image.js';
import { DockerPty } from './pty.js';
import { detectCgroups, readCgroupLinks } from '../cgroups.js';
import { checkHelper, HELPER_PATH } from '../helper.js';
import { containerCgroups, containerSpec, endSessionCommand, GRANTED_CAPS, LABEL, sandboxSpec } from './spec.js';
import { ensureHelperVolume, ensureRootfsVolume } from './volumes.js';

export interface DockerDriverOptions {
  /** Labels this server's containers, so a restart finds its predecessor's leftovers. */
  instance: string;
  limits: SandboxLimits;
  /** The sandbox image (see image.ts). */
  image: string;
  /** The default image name, to say how to build a missing one. */
  defaultImage?: string;
  socketPath: string;
  /** Told when a sandbox ends by itself (not through destroy or reset), and what cleaning up after it could not do. */
  onGone?: (id: string, leftover?: Error) => void;
}

interface Running {
  info: SandboxInfo;
  container: Docker.Container;
  ctx: ExecContext;
  /** Set while destroy or reset ends it on purpose. */
  ending: boolean;
}

const STARTUP_TIMEOUT_MS = 20_000;

/** Capabilities each engine could grant, found once per process (see grantableCaps). */
const capsByEngine = new Map<string, Promise<string[]>>();

export class DockerDriver extends DriverBase<Running> implements SandboxDriver {
  readonly name = 'docker';
  private docker!: Docker;
  private caps: string[] = [];
  private rootfsVolume = '';
  private helperVolume = '';
  /** The host's cgroup hierarchies (the engine runs on this host), and /sys/fs/cgroup's symlinks. */
  private cgroupHost = detectCgroups();
  private cgroupLinks: Record<string, string> = {};
  private events: Readable | undefined;
  /** Sandboxes of a crashed predecessor that init() removed. */
  swept: string[] = [];
  /** Capabilities of GRANTED_CAPS the engine cannot grant (see spec.ts). */
  withheld: string[] = [];

  constructor(private readonly options: DockerDriverOptions) {
    super();
  }

  async init(): Promise<void> {
    this.docker = await connectEngine(this.options.socketPath);
    if (!(await hasImage(this.docker, this.options.image))) {
      throw missingImageError(this.options.image, this.options.defaultImage ?? '');
    }
    this.swept = await this.sweep();
    const key = `${this.options.socketPath}\n${this.options.image}`;
    if (!capsByEngine.has(key)) {
      const found = grantableCaps(this.docker, this.options.image, this.options.instance);
      capsByEngine.set(key, found);
      found.catch(() => capsByEngine.delete(key));
    }
    this.caps = await capsByEngine.get(key)!;
    this.withheld = GRANTED_CAPS.filter((c) => !this.caps.includes(c));
    this.rootfsVolume = await ensureRootfsVolume(this.docker, this.options.image, this.options.instance);
    checkHelper(); // every sandbox runs it: say so before the first one fails
    this.helperVolume = await ensureHelperVolume(this.docker, this.options.image, this.options.instance, HELPER_PATH);
    if (this.cgroupHost.version === 1) this.cgroupLinks = readCgroupLinks(this.cgroupHost.root);
    await this.watch();
  }

  /** Removes the containers of this instance that this driver does not know. */
  async sweep(): Promise<string[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${this.options.instance}`] } });
    const known = new Set([...this.sandboxes.values()].map((r) => r.container.id));
    const stale = containers.filter((c) => !known.has(c.Id));
    await Promise.all(stale.map((c) => removeContainer(this.docker.getContainer(c.Id))));
    return stale.map((c) => c.Labels[LABEL.sandbox]).filter((id): id is string => Boolean(id));
  }

  /** Notices sandboxes whose container dies by itself (out of memory, removed by hand). */
  private async watch(): Promise<void> {
    const filters = { type: ['container' as const], event: ['die'], label: [`${LABEL.instance}=${this.options.instance}`] };
    this.events = (await this.docker.getEvents({ filters })) as unknown as Readable;
    let pending = '';
    this.events.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const event = JSON.parse(line) as { Actor?: { ID?: string; Attributes?: Record<string, string> } };
          const id = event.Actor?.Attributes?.[LABEL.sandbox];
          if (id && event.Actor?.ID) this.died(id, event.Actor.ID);
        } catch {
          // not an event
        }
      }
    });
    this.events.on('error', () => {});
  }

  private died(id: string, containerId: string): void {
    const running = this.sandboxes.get(id);
    if (!running || running.ending || running.container.id !== containerId) return;
    this.sandboxes.delete(id);
    void removeContainer(running.container).then(() => this.options.onGone?.(id), (err: Error) => this.options.onGone?.(id, err));
  }

  protected async start(info: SandboxInfo): Promise<void> {
    const spec = containerSpec({
      info,
      instance: this.options.instance,
      image: this.options.image,
      limits: this.options.limits,
      caps: this.caps,
      spec: sandboxSpec(info, this.options.limits, this.cgroupHost, this.cgroupLinks),
      rootfsVolume: this.rootfsVolume,
      helperVolume: this.helperVolume,
    });
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(spec);
    } catch (err) {
      throw new SandboxError(`the engine refused the sandbox container: ${(err as Error).message}`);
    }
    let initPid: number;
    try {
      initPid = await startAndWaitReady(container);
    } catch (err) {
      await removeContainer(container);
      throw err;
    }
    const ctx: ExecContext = {
      id: info.id,
      container,
      target: { initPid, cgroups: containerCgroups(this.cgroupHost, this.cgroupLinks).cgroups },
      stop: (pid) => outputOf(container, ['kill', '-TERM', String(pid)]).then(() => {}),
      endSessions: (sids, graceMs) => outputOf(container, endSessionCommand(sids, graceMs)).then(() => {}),
    };
    this.sandboxes.set(info.id, { info, container, ctx, ending: false });
  }

  async exec(id: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const running = this.get(id);
    if (argv.length === 0) throw new SandboxError('exec needs a command');
    try {
      return await runExec(running.ctx, argv, options);
    } catch (err) {
      if (err instanceof SandboxError && err.code === 'gone' && this.sandboxes.get(id) === running && !running.ending) this.died(id, running.container.id);
      throw err;
    }
  }

  spawnPty(id: string, argv: string[], options: PtyOptions): SandboxPty {
    return new DockerPty(this.get(id).ctx, argv, options);
  }

  /** Removing the container kills all its processes, terminals and execs included (the helper thaws what a learner froze). */
  protected async stop(running: Running): Promise<void> {
    running.ending = true;
    // a container that already stopped refuses both; removing it below is what must work
    await running.container.kill({ signal: 'SIGTERM' }).catch(() => {});
    await running.container.wait({ condition: 'not-running' }).catch(() => {});
    await removeContainer(running.container);
    if (this.sandboxes.get(running.info.id) === running) this.sandboxes.delete(running.info.id);
  }

  /** The learner's usage against the learner's limits: their tree's cgroup files, which the helper made one level below the container's. */
  async usage(id: string): Promise<ResourceUsage> {
    const running = this.get(id);
    const dir = (controller: string) => running.ctx.target.cgroups.trees.find((t) => this.cgroupHost.version === 2 || t.hierarchy.controllers.includes(controller))!.dirs.nsRoot;
    const files = this.cgroupHost.version === 2
      ? ['memory.current', 'pids.current', 'cpu.stat'].map((f) => path.join(dir('memory'), f))
      : [path.join(dir('memory'), 'memory.usage_in_bytes'), path.join(dir('pids'), 'pids.current'), path.join(dir('cpuacct'), 'cpuacct.usage')];
    // read in the container, outside the sandbox, where the helper mounted them
    const out = await outputOf(running.container, ['cat', ...files]).catch(() => '');
    const [memory = '0', pids = '0', ...cpu] = out.trim().split('\n');
    const cpuSeconds = this.cgroupHost.version === 2 ? Number(/usage_usec (\d+)/.exec(cpu.join('\n'))?.[1] ?? 0) / 1e6 : Number(cpu[0] ?? 0) / 1e9;
    return { memoryBytes: Number(memory), memoryLimitBytes: this.options.limits.memoryBytes, pids: Number(pids), pidsLimit: this.options.limits.pids, cpuSeconds };
  }

  async close(): Promise<void> {
    this.events?.destroy();
    await Promise.all([...this.sandboxes.values()].map((r) => this.stop(r)));
  }
}

/** Starts a sandbox container and waits for the helper's "ready <init pid> <host root id>" (or its error); returns the init's pid. */
async function startAndWaitReady(container: Docker.Container): Promise<number> {
  const output = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
  let stdout = '';
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<number>((resolve, reject) => {
    timer = setTimeout(() => reject(new SandboxError(`the sandbox did not start within ${STARTUP_TIMEOUT_MS / 1000} s`)), STARTUP_TIMEOUT_MS);
    const demux = new Demuxer((stream, data) => {
      if (stream === 'stderr') stderr += data.toString('utf8');
      else stdout += data.toString('utf8');
      const m = /^ready (\d+) \d+\n/m.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    output.on('data', (chunk: Buffer) => demux.push(chunk));
    output.on('error', () => {});
    output.on('end', () => reject(new SandboxError(`the sandbox failed to start: ${stderr.replace(/^boxlab-sandbox: /gm, '').trim().split('\n').slice(-3).join('; ') || 'no reason given'}`)));
  });
  ready.catch(() => {}); // awaited below, unless start itself fails
  try {
    try {
      await container.start();
    } catch (err) {
      throw new SandboxError(`the engine could not start the sandbox container: ${(err as Error).message}`);
    }
    return await ready;
  } finally {
    clearTimeout(timer);
    output.destroy();
  }
}

/** Runs a command of the driver's own (not the learner's) in the container, to its end; what it printed. */
async function outputOf(container: Docker.Container, cmd: string[]): Promise<string> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({})) as unknown as Readable;
  let stdout = '';
  const demux = new Demuxer((which, data) => {
    if (which === 'stdout') stdout += data.toString('utf8');
  });
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => demux.push(chunk));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  return stdout;
}

async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    // gone already, or already being removed by another call
    if (status !== 404 && status !== 409) throw err;
  }
}

/**
 * The subset of GRANTED_CAPS the engine can grant. runc refuses to start a
 * container with a capability its engine lacks, so a probe container tries
 * them: all at once first, then without CAP_SYS_RESOURCE (what nested and
 * sandboxed hosts lack), then by halves.
 */
async function grantableCaps(docker: Docker, image: string, instance: string): Promise<string[]> {
  const tryCaps = async (caps: string[]): Promise<boolean> => {
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: ['true'],
      Cmd: [],
      Labels: { [LABEL.instance]: instance },
      HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], CapAdd: caps, LogConfig: { Type: 'none', Config: {} } },
    });
    try {
      await container.start();
      return true;
    } catch (err) {
      if (/caps|capabilit/i.test((err as Error).message)) return false;
      throw new SandboxError(`the engine cannot start a sandbox container: ${(err as Error).message}`);
    } finally {
      await removeContainer(container);
    }
  };
  const search = async (caps: string[]): Promise<string[]> => {
    if (caps.length === 0 || (await tryCaps(caps))) return caps;
    if (caps.length === 1) return [];
    const half = Math.ceil(caps.length / 2);
    return [...(await search(caps.slice(0, half))), ...(await search(caps.slice(half)))];
  };
  if (await tryCaps(GRANTED_CAPS)) return GRANTED_CAPS;
  const withoutResource = GRANTED_CAPS.filter((c) => c !== 'SYS_RESOURCE');
  if (await tryCaps(withoutResource)) return withoutResource;
  return search(GRANTED_CAPS);
}
