// The default driver: sandboxes made directly from Linux namespaces, cgroups
// and overlayfs. Needs Linux and root, nothing else.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as pty from 'node-pty';
import { CgroupManager, readCgroupLinks } from '../cgroups.js';
import {
  DriverBase,
  SANDBOX_ENV,
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
import { HELPER_PATH } from '../helper.js';
import { checkHost } from './preflight.js';
import { endTerminal } from './processes.js';
import { buildSpec, LEASES_DIR } from '../spec.js';

export interface NamespacesDriverOptions {
  dataDir: string;
  /** Names this server's cgroups, so a restart finds its predecessor's leftovers. */
  instance: string;
  limits: SandboxLimits;
  /** The sandbox rootfs (see rootfs.ts). */
  rootfs: string;
  /** Told when a sandbox ends by itself (not through destroy or reset), and what cleaning up after it could not do. */
  onGone?: (id: string, leftover?: Error) => void;
  /** Where blocks of host ids are leased, for every boxlab on this host (default /run/boxlab/ids). */
  leasesDir?: string;
}

interface Running {
  info: SandboxInfo;
  shim: ChildProcess;
  initPid: number;
  exited: Promise<void>;
  /** Set while destroy or reset ends it on purpose. */
  ending: boolean;
}

const STARTUP_TIMEOUT_MS = 10_000;

export class NamespacesDriver extends DriverBase<Running> implements SandboxDriver {
  readonly name = 'namespaces';
  private readonly stage: string;
  private cgroups!: CgroupManager;
  private cgroupLinks: Record<string, string> = {};
  /** Sandboxes of a crashed predecessor that init() removed. */
  swept: string[] = [];

  constructor(private readonly options: NamespacesDriverOptions) {
    super();
    this.stage = path.join(options.dataDir, 'run', 'stage');
  }

  async init(): Promise<void> {
    checkHost();
    if (/[,:]/.test(this.options.rootfs) || /[,:]/.test(this.stage)) {
      throw new SandboxError(`the data dir path may not contain "," or ":" (overlayfs options): ${this.options.dataDir}`, 'unsupported');
    }
    if (!existsSync(path.join(this.options.rootfs, 'bin', 'sh'))) {
      throw new SandboxError(`the sandbox rootfs is missing at ${this.options.rootfs}: run "boxlab rootfs" to build it`, 'unsupported');
    }
    this.cgroups = new CgroupManager(this.options.instance);
    await this.cgroups.prepare();
    if (this.cgroups.version === 1) this.cgroupLinks = readCgroupLinks(this.cgroups.host.root);
    await fs.mkdir(this.stage, { recursive: true });
    this.swept = await this.sweep();
  }

  /** Removes the cgroups (and kills the processes) of sandboxes this instance no longer knows. */
  async sweep(): Promise<string[]> {
    const stale = (await this.cgroups.existing()).filter((id) => !this.sandboxes.has(id));
    for (const id of stale) {
      await this.cgroups.kill(id);
      await this.cgroups.remove(id);
    }
    return stale;
  }

  protected async start(info: SandboxInfo): Promise<void> {
    const { id } = info;
    await this.cgroups.create(id, this.options.limits);
    const spec = buildSpec({
      hostname: info.hostname,
      rootfs: this.options.rootfs,
      stage: this.stage,
      leases: this.options.leasesDir ?? LEASES_DIR,
      limits: this.options.limits,
      cgroups: this.cgroups.layout(id, this.cgroupLinks),
    });
    // nothing of the server's environment goes near a sandbox
    const shim = spawn(HELPER_PATH, ['create'], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    let initPid: number;
    try {
      [initPid] = await waitReady(shim, spec);
    } catch (err) {
      shim.kill('SIGKILL');
      // the start's own failure is what the caller hears; a cgroup left behind is removed by the next init()
      await this.cgroups.kill(id).then(() => this.cgroups.remove(id)).catch(() => {});
      throw err;
    }
    const exited = new Promise<void>((resolve) => shim.once('exit', () => resolve()));
    const running: Running = { info, shim, initPid, exited, ending: false };
    this.sandboxes.set(id, running);
    // the init should be the last process the OOM killer picks (needs CAP_SYS_RESOURCE: refused here, and harmless)
    await fs.writeFile(`/proc/${initPid}/oom_score_adj`, '-1000').catch(() => {});
    void exited.then(async () => {
      if (running.ending || this.sandboxes.get(id) !== running) return;
      this.sandboxes.delete(id);
      const leftover = await this.cgroups.kill(id).then(() => this.cgroups.remove(id)).then(() => undefined, (err: Error) => err);
      this.options.onGone?.(id, leftover);
    });
  }

  private execArgs(running: Running, argv: string[], cwd: string, mode: '--session' | '--pty', inspector = false): string[] {
    const id = running.info.id;
    const args = ['exec', '--pid', String(running.initPid), '--expect', this.cgroups.marker(id), '--cwd', cwd];
    if (inspector) {
      args.push('--inspector');
      for (const d of this.cgroups.dirs(id)) args.push('--scope', d.checks);
    } else {
      for (const file of this.cgroups.procsFiles(id, 'leaf')) args.push('--cgroup', file);
    }
    return [...args, mode, '--', ...argv];
  }

  async exec(id: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const running = this.get(id);
    if (argv.length === 0) throw new SandboxError('exec needs a command');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const max = options.maxOutputBytes ?? 1024 * 1024;
    const started = performance.now();
    const child = spawn(HELPER_PATH, this.execArgs(running, argv, options.cwd ?? '/root', '--session', options.inspector), {
      env: { ...SANDBOX_ENV, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (size >= max) {
        truncated = true;
        return;
      }
      const part = chunk.subarray(0, max - size);
      if (part.length < chunk.length) truncated = true;
      into.push(part);
      size += part.length;
    };
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    child.stdin!.on('error', () => {}); // the command may not read its input
    child.stdin!.end(options.input ?? '');
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
      // the answer is due now, whatever the command's processes do; the helper ends them all meanwhile
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 2000).unref();
        resolve(137);
      }, timeoutMs);
    }).finally(() => clearTimeout(timer));
    const stderr = Buffer.concat(err).toString('utf8');
    if (exitCode === 125 && stderr.startsWith('boxlab-sandbox:')) {
      const gone = !this.sandboxes.has(id) || running.ending;
      throw new SandboxError(gone ? `sandbox ${id} is gone` : stderr.replace(/^boxlab-sandbox: /, '').trim(), gone ? 'gone' : 'failed');
    }
    return {
      exitCode,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr,
      timedOut,
      truncated,
      durationMs: performance.now() - started,
    };
  }

  spawnPty(id: string, argv: string[], options: PtyOptions): SandboxPty {
    const running = this.get(id);
    const proc = pty.spawn(HELPER_PATH, this.execArgs(running, argv, options.cwd ?? '/root', '--pty'), {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: '/',
      env: { ...SANDBOX_ENV, ...options.env },
      encoding: null,
    } as pty.IPtyForkOptions);
    let exited = false;
    proc.onExit(() => {
      exited = true;
    });
    return {
      pid: proc.pid,
      onData: (listener) => proc.onData(listener as unknown as (data: string) => void),
      onExit: (listener) => proc.onExit((e) => listener({ exitCode: e.exitCode, ...(e.signal ? { signal: e.signal } : {}) })),
      write: (data) => {
        if (!exited) proc.write(data as string);
      },
      resize: (cols, rows) => {
        if (!exited) proc.resize(cols, rows);
      },
      pause: () => proc.pause(),
      resume: () => proc.resume(),
      terminate: (graceMs = 2000) => endTerminal(proc.pid, graceMs),
    };
  }

  /** Kills every process of the sandbox (frozen or not), then the init and its shim, and removes the cgroups. */
  protected async stop(running: Running): Promise<void> {
    const { id } = running.info;
    running.ending = true;
    // first: a PID namespace whose init dies waits for all its processes, and a frozen one never goes
    await this.cgroups.kill(id);
    running.shim.kill('SIGTERM');
    const timeout = setTimeout(() => running.shim.kill('SIGKILL'), 2000);
    await running.exited;
    clearTimeout(timeout);
    await this.cgroups.kill(id);
    await this.cgroups.remove(id);
    if (this.sandboxes.get(id) === running) this.sandboxes.delete(id);
  }

  async usage(id: string): Promise<ResourceUsage> {
    this.get(id);
    return this.cgroups.usage(id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((r) => this.stop(r)));
    await this.cgroups?.removeInstance();
  }
}

/** Sends the spec and waits for the shim's "ready <init pid> <host root id>" (or its error). */
function waitReady(shim: ChildProcess, spec: string): Promise<[number, number]> {
  return new Promise<[number, number]>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new SandboxError('the sandbox did not start within 10 s')), STARTUP_TIMEOUT_MS);
    shim.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const m = /^ready (\d+) (\d+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve([Number(m[1]), Number(m[2])]);
      }
    });
    shim.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    shim.on('error', (err) => {
      clearTimeout(timer);
      reject(new SandboxError(`cannot run ${HELPER_PATH}: ${err.message}`, 'unsupported'));
    });
    shim.on('exit', () => {
      clearTimeout(timer);
      reject(new SandboxError(`the sandbox failed to start: ${stderr.replace(/^boxlab-sandbox: /, '').trim() || 'no reason given'}`));
    });
    shim.stdin!.on('error', () => {});
    shim.stdin!.end(spec);
  });
}
