import { randomBytes } from 'node:crypto';
import type { Disposable } from '../lifecycle.js';

// The contract between the sandbox engine and the rest of the server. A driver
// knows Linux (or Docker) and nothing about lessons, terminals or browsers.

export interface SandboxLimits {
  memoryBytes: number;
  pids: number;
  /** CPU time as a number of CPUs (1 = one full core). */
  cpus: number;
  /** Size of the writable layer of the root filesystem. */
  diskBytes: number;
  /** Size of /tmp. */
  tmpBytes: number;
}

export interface SandboxInfo {
  id: string;
  hostname: string;
  driver: string;
  createdAt: number;
}

export interface CreateOptions {
  hostname?: string;
}

export interface ExecOptions {
  /** Kill the command (and its process group) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Written to the command's standard input, which is then closed. */
  input?: string | Buffer;
  /** Added to the sandbox's default environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Output beyond this is dropped (and `truncated` set). Default 1 MiB. */
  maxOutputBytes?: number;
  /**
   * Runs the command as the sandbox's inspector, not as the learner's root: it
   * sees and may enter everything of the learner's (namespaces, files,
   * processes), but runs where the learner cannot reach it: no learner process
   * can signal, trace, freeze or move it, and it ends with everything it
   * started. For checks and hints.
   */
  inspector?: boolean;
}

export interface ExecResult {
  /** Exit status; 128+N when killed by signal N, as a shell reports it (137 after a timeout). */
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

export interface PtyOptions {
  cols: number;
  rows: number;
  env?: Record<string, string>;
  cwd?: string;
}

export type { Disposable } from '../lifecycle.js';

/** An interactive process on a pseudo-terminal inside a sandbox. */
export interface SandboxPty {
  readonly pid: number;
  /** Raw output bytes, never decoded. */
  onData(listener: (data: Buffer) => void): Disposable;
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): Disposable;
  write(data: string | Buffer): void;
  resize(cols: number, rows: number): void;
  /** Stop reading output (flow control); the process blocks once the pty buffer fills. */
  pause(): void;
  resume(): void;
  /**
   * Ends the process and everything it started: SIGHUP to all of them, SIGKILL
   * to what is left after `graceMs`. Resolves once none is left.
   */
  terminate(graceMs?: number): Promise<void>;
}

export interface ResourceUsage {
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  pidsLimit: number;
  cpuSeconds: number;
}

export interface SandboxDriver {
  readonly name: string;
  /** Checks the host can run sandboxes, then removes what a crashed predecessor left behind. */
  init(): Promise<void>;
  create(options?: CreateOptions): Promise<SandboxInfo>;
  /**
   * Runs a command to completion inside the sandbox, as the learner's root (or
   * the inspector). A timeout answers at once, whatever the command's processes
   * do; they are ended meanwhile.
   */
  exec(id: string, argv: string[], options?: ExecOptions): Promise<ExecResult>;
  spawnPty(id: string, argv: string[], options: PtyOptions): SandboxPty;
  /** Back to a clean state: fresh filesystem, every process killed; same id and hostname. */
  reset(id: string): Promise<void>;
  /** Releases every mount, cgroup, namespace and process of the sandbox. Idempotent. */
  destroy(id: string): Promise<void>;
  list(): SandboxInfo[];
  usage(id: string): Promise<ResourceUsage>;
  /** Destroys every sandbox. */
  close(): Promise<void>;
}

/** An expected failure, shown to users as is (no stack trace). */
export class SandboxError extends Error {
  constructor(message: string, readonly code: 'unsupported' | 'limit' | 'not-found' | 'gone' | 'failed' = 'failed') {
    super(message);
    this.name = 'SandboxError';
  }
}

/** What both drivers do alike with the sandboxes they run: name them, find them, reset as stop then start. */
export abstract class DriverBase<R extends { info: SandboxInfo }> {
  abstract readonly name: string;
  protected readonly sandboxes = new Map<string, R>();

  protected abstract start(info: SandboxInfo): Promise<void>;
  protected abstract stop(running: R): Promise<void>;

  async create(options: CreateOptions = {}): Promise<SandboxInfo> {
    const id = `sbx-${randomBytes(5).toString('hex')}`;
    const hostname = options.hostname ?? `box-${id.slice(4, 8)}`;
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(hostname)) throw new SandboxError(`not a valid hostname: ${hostname}`);
    const info: SandboxInfo = { id, hostname, driver: this.name, createdAt: Date.now() };
    await this.start(info);
    return info;
  }

  async reset(id: string): Promise<void> {
    const running = this.get(id);
    await this.stop(running);
    await this.start(running.info);
  }

  async destroy(id: string): Promise<void> {
    const running = this.sandboxes.get(id);
    if (running) await this.stop(running);
  }

  list(): SandboxInfo[] {
    return [...this.sandboxes.values()].map((r) => ({ ...r.info }));
  }

  protected get(id: string): R {
    const running = this.sandboxes.get(id);
    if (!running) throw new SandboxError(`no sandbox ${id}`, 'not-found');
    return running;
  }
}

/** The environment every sandbox process starts with. */
export const SANDBOX_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/bash',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TERM: 'xterm-256color',
};
