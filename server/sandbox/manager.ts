// Sandboxes as the rest of the server sees them: any driver, plus the rules
// that do not depend on the driver: how many may exist at once, and that one
// nobody has used for a while is destroyed.
import type { CreateOptions, ExecOptions, ExecResult, PtyOptions, ResourceUsage, SandboxDriver, SandboxInfo, SandboxPty } from './driver.js';
import { SandboxError } from './driver.js';

export interface SandboxManagerOptions {
  maxSandboxes: number;
  /** Destroy a sandbox unused for this long; 0 never does. */
  idleTimeoutMs: number;
  /** How often to look for idle sandboxes. */
  reapIntervalMs?: number;
  /** Told when a sandbox is reaped for idleness or ends by itself. */
  onEnded?: (id: string, reason: 'idle' | 'gone') => void;
}

export class SandboxManager {
  private readonly lastUsed = new Map<string, number>();
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly driver: SandboxDriver, private readonly options: SandboxManagerOptions) {}

  get count(): number {
    return this.lastUsed.size;
  }

  /** Starts the driver (which removes a crashed predecessor's leftovers) and the idle reaper. */
  async start(): Promise<void> {
    await this.driver.init();
    if (this.options.idleTimeoutMs > 0) {
      const every = this.options.reapIntervalMs ?? Math.min(60_000, Math.max(1000, this.options.idleTimeoutMs / 4));
      this.timer = setInterval(() => void this.reapIdle(), every);
      this.timer.unref();
    }
  }

  async create(options?: CreateOptions): Promise<SandboxInfo> {
    if (this.lastUsed.size + this.pending >= this.options.maxSandboxes) {
      throw new SandboxError(`all ${this.options.maxSandboxes} sandboxes are in use; try again in a few minutes`, 'limit');
    }
    this.pending++;
    try {
      const info = await this.driver.create(options);
      this.lastUsed.set(info.id, Date.now());
      return info;
    } finally {
      this.pending--;
    }
  }

  /** Marks a sandbox as used now (terminal input, a check...), keeping it from the reaper. */
  touch(id: string): void {
    if (this.lastUsed.has(id)) this.lastUsed.set(id, Date.now());
  }

  has(id: string): boolean {
    return this.lastUsed.has(id);
  }

  exec(id: string, argv: string[], options?: ExecOptions): Promise<ExecResult> {
    this.touch(id);
    return this.driver.exec(id, argv, options);
  }

  spawnPty(id: string, argv: string[], options: PtyOptions): SandboxPty {
    this.touch(id);
    return this.driver.spawnPty(id, argv, options);
  }

  async reset(id: string): Promise<void> {
    this.touch(id);
    await this.driver.reset(id);
  }

  async destroy(id: string): Promise<void> {
    this.lastUsed.delete(id);
    await this.driver.destroy(id);
  }

  usage(id: string): Promise<ResourceUsage> {
    return this.driver.usage(id);
  }

  list(): SandboxInfo[] {
    return this.driver.list();
  }

  /** The driver noticed a sandbox ended by itself. */
  gone(id: string): void {
    if (this.lastUsed.delete(id)) this.options.onEnded?.(id, 'gone');
  }

  async reapIdle(now = Date.now()): Promise<string[]> {
    const idle = [...this.lastUsed].filter(([, used]) => now - used >= this.options.idleTimeoutMs).map(([id]) => id);
    for (const id of idle) {
      await this.destroy(id).catch(() => {});
      this.options.onEnded?.(id, 'idle');
    }
    return idle;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.lastUsed.clear();
    await this.driver.close();
  }
}
