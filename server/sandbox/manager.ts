// Sandboxes as the rest of the server sees them: any driver, plus the rules
// that do not depend on the driver: how many may exist at once, a line to
// wait in when there is no room (a freed sandbox goes to whoever waited
// longest), and that one nobody has used for a while is destroyed, after a
// warning its owner can answer.
import type { CreateOptions, ExecOptions, ExecResult, PtyOptions, ResourceUsage, SandboxDriver, SandboxInfo, SandboxPty } from './driver.js';
import { Emitter, type Event } from '../lifecycle.js';
import { SandboxError } from './driver.js';

export interface SandboxManagerOptions {
  maxSandboxes: number;
  /** Destroy a sandbox unused for this long; 0 never does. */
  idleTimeoutMs: number;
  /** How often to look for idle sandboxes. */
  reapIntervalMs?: number;
  /** How long before reaping an idle sandbox its owner is warned (default: 2 minutes, at most a quarter of the idle timeout). */
  warnBeforeMs?: number;
  /** Hears what a listener of the manager's events threw. */
  onError?: (err: unknown) => void;
}

/** Why a sandbox ended: destroyed on request, evicted for another (the learner's fourth), reaped for idleness, or gone by itself. */
export type EndReason = 'destroyed' | 'evicted' | 'idle' | 'gone';

/** A place in line for a sandbox. */
export interface Ticket {
  /** 1 for the next to get one; 0 once there is room for this one. */
  readonly position: number;
  /** Resolves once room is kept for this ticket: create() with it then. */
  readonly ready: Promise<void>;
  /** Leaves the line (or gives back the room kept for it). */
  cancel(): void;
}

/** A ticket's place and the wait to expect, for whoever waits. */
export interface Place {
  position: number;
  /** Expected wait, from how often sandboxes freed lately; undefined before any did. */
  estimateMs?: number;
}

interface Waiting {
  position: number;
  admitted: boolean;
  done: boolean;
  admit: () => void;
  onPlace: (place: Place) => void;
  expire?: NodeJS.Timeout;
}

/** Room kept for an admitted ticket that never creates its sandbox is given to the next after this. */
const ADMITTED_FOR_MS = 30_000;

export class SandboxManager {
  private readonly lastUsed = new Map<string, number>();
  private readonly warned = new Set<string>();
  private pending = 0;
  /** Room kept for admitted tickets. */
  private kept = 0;
  private readonly line: Waiting[] = [];
  private readonly tickets = new WeakMap<Ticket, Waiting>();
  /** Milliseconds between sandboxes freeing, smoothed; and when the last freed. */
  private freeInterval: number | undefined;
  private lastFreed: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly ended: Emitter<{ id: string; reason: EndReason }>;
  private readonly idle: Emitter<{ id: string; inMs: number }>;
  /** Every end of every sandbox, once, whatever ended it: what holds a sandbox lets go here. */
  readonly onEnded: Event<{ id: string; reason: EndReason }>;
  /** A sandbox will be reaped in `inMs` unless it is used (or kept): told once. */
  readonly onIdleWarning: Event<{ id: string; inMs: number }>;

  constructor(readonly driver: SandboxDriver, private readonly options: SandboxManagerOptions) {
    this.ended = new Emitter(options.onError);
    this.idle = new Emitter(options.onError);
    this.onEnded = this.ended.event;
    this.onIdleWarning = this.idle.event;
  }

  get count(): number {
    return this.lastUsed.size;
  }

  get capacity(): number {
    return this.options.maxSandboxes;
  }

  /** Tickets waiting for room. */
  get waiting(): number {
    return this.line.filter((w) => !w.admitted).length;
  }

  /** Is there room for one more sandbox, nobody waiting before? */
  hasRoom(): boolean {
    return this.waiting === 0 && this.lastUsed.size + this.pending + this.kept < this.options.maxSandboxes;
  }

  /** A place in line: `onPlace` hears where it stands, as the line moves. */
  wait(onPlace: (place: Place) => void): Ticket {
    let admit!: () => void;
    const ready = new Promise<void>((resolve) => (admit = resolve));
    const w: Waiting = { position: 0, admitted: false, done: false, admit, onPlace };
    this.line.push(w);
    const ticket: Ticket = {
      get position() {
        return w.admitted ? 0 : w.position;
      },
      ready,
      cancel: () => this.leave(w, true),
    };
    this.tickets.set(ticket, w);
    this.admitNext();
    return ticket;
  }

  private leave(w: Waiting, giveBack: boolean): void {
    if (w.done) return;
    w.done = true;
    clearTimeout(w.expire);
    const at = this.line.indexOf(w);
    if (at >= 0) this.line.splice(at, 1);
    if (w.admitted && giveBack) this.kept--;
    this.admitNext();
  }

  /** Keeps room for those first in line while there is some, and tells the rest their place. */
  private admitNext(): void {
    for (const w of this.line) {
      if (w.admitted) continue;
      if (this.lastUsed.size + this.pending + this.kept >= this.options.maxSandboxes) break;
      w.admitted = true;
      this.kept++;
      w.expire = setTimeout(() => this.leave(w, true), ADMITTED_FOR_MS);
      w.expire.unref();
      w.admit();
    }
    let position = 0;
    for (const w of this.line) {
      if (w.admitted) continue;
      position++;
      if (w.position === position) continue;
      w.position = position;
      w.onPlace({ position, ...(this.freeInterval !== undefined ? { estimateMs: Math.round(position * this.freeInterval) } : {}) });
    }
  }

  /** A sandbox went: its room is the next in line's. */
  private freed(): void {
    const now = Date.now();
    if (this.lastFreed !== undefined) {
      const gap = now - this.lastFreed;
      this.freeInterval = this.freeInterval === undefined ? gap : 0.7 * this.freeInterval + 0.3 * gap;
    }
    this.lastFreed = now;
    this.admitNext();
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

  /** Creates a sandbox if there is room (or room was kept for `ticket`), else refuses with 'limit'. */
  async create(options?: CreateOptions, ticket?: Ticket): Promise<SandboxInfo> {
    const w = ticket && this.tickets.get(ticket);
    if (w?.admitted && !w.done) {
      this.leave(w, false);
      this.kept--;
    } else if (!this.hasRoom()) {
      throw new SandboxError(`all ${this.options.maxSandboxes} sandboxes are in use; try again in a few minutes`, 'limit');
    }
    this.pending++;
    try {
      const info = await this.driver.create(options);
      this.lastUsed.set(info.id, Date.now());
      return info;
    } finally {
      this.pending--;
      // a failed create gives its room to the next in line
      this.admitNext();
    }
  }

  /** Marks a sandbox as used now (terminal input or output, a check, its owner keeping it), keeping it from the reaper. */
  touch(id: string): void {
    if (!this.lastUsed.has(id)) return;
    this.lastUsed.set(id, Date.now());
    this.warned.delete(id);
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

  /** Ends a sandbox: its end is told first (terminals, runs and owners let go), then the driver destroys it. */
  async destroy(id: string, reason: Exclude<EndReason, 'gone'> = 'destroyed'): Promise<void> {
    const had = this.lastUsed.delete(id);
    this.warned.delete(id);
    if (had) this.ended.fire({ id, reason });
    try {
      await this.driver.destroy(id);
    } finally {
      if (had) this.freed();
    }
  }

  usage(id: string): Promise<ResourceUsage> {
    return this.driver.usage(id);
  }

  list(): SandboxInfo[] {
    return this.driver.list();
  }

  /** The driver noticed a sandbox ended by itself. */
  gone(id: string, leftover?: Error): void {
    if (leftover) this.options.onError?.(new Error(`sandbox ${id} ended by itself; cleaning up after it failed: ${leftover.message}`));
    if (!this.lastUsed.delete(id)) return;
    this.warned.delete(id);
    this.ended.fire({ id, reason: 'gone' });
    this.freed();
  }

  private get warnBeforeMs(): number {
    return this.options.warnBeforeMs ?? Math.min(120_000, this.options.idleTimeoutMs / 4);
  }

  /** Destroys sandboxes unused for the idle timeout; warns those that will be, once, a little before. */
  async reapIdle(now = Date.now()): Promise<string[]> {
    const timeout = this.options.idleTimeoutMs;
    for (const [id, used] of this.lastUsed) {
      const left = used + timeout - now;
      if (left > 0 && left <= this.warnBeforeMs && !this.warned.has(id)) {
        this.warned.add(id);
        this.idle.fire({ id, inMs: left });
      }
    }
    const reaped: string[] = [];
    for (const [id, used] of [...this.lastUsed]) {
      if (now - used < timeout) continue;
      try {
        await this.destroy(id, 'idle');
        reaped.push(id);
      } catch (err) {
        // its learner already heard it ended; what the driver could not remove, init() removes at the next start
        this.options.onError?.(new Error(`reaping idle sandbox ${id} failed: ${(err as Error).message}`));
      }
    }
    return reaped;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const w of [...this.line]) this.leave(w, true);
    this.lastUsed.clear();
    await this.driver.close();
  }
}
