// Every terminal of the server: several per sandbox, each outliving its
// clients for a grace period (a reload or a dropped connection reattaches to
// the same shell), then ended with its whole process session.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { SandboxManager } from '../sandbox/manager.js';
import { Emitter, type Disposable } from '../lifecycle.js';
import { MirrorPool } from './mirror.js';
import { sizeError } from './protocol.js';
import { TerminalError, TerminalSession, type FlowLimits, type TerminalTap } from './session.js';

export interface TerminalRegistryOptions {
  /** A terminal with no client for this long ends. */
  graceMs: number;
  maxPerSandbox?: number;
  /** Lines of scrollback a reattaching client gets back. */
  scrollback?: number;
  /** The command a terminal runs. */
  shell?: string[];
  flow?: Partial<FlowLimits>;
  settleMs?: number;
  /** SIGHUP-to-SIGKILL grace when a terminal is ended. */
  killGraceMs?: number;
  log?: Logger;
  /** A tap for a new terminal's traffic (a recording), or undefined. */
  tap?: (terminal: { id: string; sandboxId: string; cols: number; rows: number }) => TerminalTap | undefined;
}

const TOUCH_EVERY_MS = 1000;

export class TerminalRegistry {
  readonly mirrors: MirrorPool;
  private readonly terminals = new Map<string, TerminalSession>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  private closing = false;
  private readonly created: Emitter<TerminalSession>;
  private readonly sandboxEnded: Disposable;

  constructor(private readonly sandboxes: SandboxManager, private readonly options: TerminalRegistryOptions) {
    this.created = new Emitter((err) => options.log?.error({ err }, 'terminal-created listener failed'));
    this.mirrors = new MirrorPool({
      scrollback: options.scrollback ?? 1000,
      onError: (err) => options.log?.error({ err }, 'terminal mirror'),
    });
    // however a sandbox ends, its terminals end with it
    this.sandboxEnded = sandboxes.onEnded(({ id }) => void this.endSandbox(id));
  }

  /** Terminals open now. */
  get count(): number {
    return this.terminals.size;
  }

  get maxPerSandbox(): number {
    return this.options.maxPerSandbox ?? 8;
  }

  /** Starts a login shell in the sandbox, on a terminal of the given size. */
  create(sandboxId: string, size: { cols: number; rows: number }): TerminalSession {
    if (this.closing) throw new TerminalError('ended', 'the server is stopping');
    const bad = sizeError(size.cols, size.rows);
    if (bad) throw new TerminalError('bad-size', bad);
    if (this.list(sandboxId).length >= this.maxPerSandbox) {
      throw new TerminalError('too-many-terminals', `a sandbox has at most ${this.maxPerSandbox} terminals; close one first`);
    }
    const pty = this.sandboxes.spawnPty(sandboxId, this.options.shell ?? ['bash', '-l'], size);
    const id = `term-${randomBytes(6).toString('hex')}`;
    let lastTouch = 0;
    const touch = () => {
      const now = Date.now();
      if (now - lastTouch < TOUCH_EVERY_MS) return;
      lastTouch = now;
      this.sandboxes.touch(sandboxId);
    };
    const log = this.options.log?.child({ terminal: id, sandbox: sandboxId });
    let tap: TerminalTap | undefined;
    try {
      tap = this.options.tap?.({ id, sandboxId, cols: size.cols, rows: size.rows });
    } catch (err) {
      log?.error({ err }, 'terminal tap failed; not recorded');
    }
    const session = new TerminalSession({
      id,
      sandboxId,
      pty,
      cols: size.cols,
      rows: size.rows,
      mirror: this.mirrors.open(size.cols, size.rows),
      ...(this.options.flow ? { flow: this.options.flow } : {}),
      ...(this.options.settleMs !== undefined ? { settleMs: this.options.settleMs } : {}),
      // input and output alike are the learner's use of the sandbox, which keeps it from the idle reaper
      onInput: () => touch(),
      onOutput: () => touch(),
      onError: (err) => log?.error({ err }, 'terminal listener failed'),
      ...(tap ? { tap } : {}),
    });
    this.terminals.set(id, session);
    session.onViewers((count) => (count === 0 ? this.startGrace(session) : this.stopGrace(id)));
    session.onEnded((exit) => {
      this.stopGrace(id);
      this.terminals.delete(id);
      log?.info({ exit }, 'terminal ended');
    });
    this.startGrace(session);
    log?.info({ cols: size.cols, rows: size.rows }, 'terminal started');
    this.created.fire(session);
    return session;
  }

  /** Every terminal started from now on (the lesson player follows the commands typed in a lesson's sandbox). */
  onCreated(listener: (session: TerminalSession) => void): Disposable {
    return this.created.event(listener);
  }

  get(id: string): TerminalSession | undefined {
    return this.terminals.get(id);
  }

  /** Live terminals, of one sandbox or of all. */
  list(sandboxId?: string): TerminalSession[] {
    return [...this.terminals.values()].filter((t) => !t.isEnded && (sandboxId === undefined || t.sandboxId === sandboxId));
  }

  /** Ends a terminal and every process it started. */
  async end(id: string): Promise<void> {
    await this.terminals.get(id)?.end(this.options.killGraceMs);
  }

  /** Ends the terminals of a sandbox (its lesson is reset; or it is ending). */
  async endSandbox(sandboxId: string): Promise<void> {
    await Promise.all(this.list(sandboxId).map((t) => t.end(this.options.killGraceMs)));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.sandboxEnded.dispose();
    await Promise.all([...this.terminals.values()].map((t) => t.end(this.options.killGraceMs)));
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
    await this.mirrors.close();
  }

  private startGrace(session: TerminalSession): void {
    if (session.isEnded || this.graceTimers.has(session.id)) return;
    const timer = setTimeout(() => {
      this.graceTimers.delete(session.id);
      this.options.log?.info({ terminal: session.id }, 'terminal ended: no client for the grace period');
      void session.end(this.options.killGraceMs);
    }, this.options.graceMs);
    timer.unref();
    this.graceTimers.set(session.id, timer);
  }

  private stopGrace(id: string): void {
    clearTimeout(this.graceTimers.get(id));
    this.graceTimers.delete(id);
  }
}
