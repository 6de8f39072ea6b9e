// A terminal in a sandbox container: Docker exec with a TTY of the native
// helper, which gives the shell a terminal of the sandbox's own and relays to
// the engine's, over the engine's hijacked connection, as a SandboxPty. Raw
// bytes both ways; pausing the connection stops reading, so the engine stops
// reading the pty and the shell blocks once the pty's buffer is full (flow
// control).
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { Emitter, type Disposable } from '../../lifecycle.js';
import type { PtyOptions, SandboxPty } from '../driver.js';
import { exitCodeOf, PidLine, type ExecContext } from './exec.js';
import { execCommand, execEnv } from './spec.js';

type ExitEvent = { exitCode: number; signal?: number };

export class DockerPty implements SandboxPty {
  private exec: Docker.Exec | undefined;
  private socket: Duplex | undefined;
  private readonly pidLine = new PidLine();
  private readonly data = new Emitter<Buffer>();
  private readonly exitEvents = new Emitter<ExitEvent>();
  /** Input typed before the shell started: the TTY would echo it above the pid line. */
  private queued: Buffer[] = [];
  private paused = false;
  private size: { cols: number; rows: number };
  /** The engine's TTY starts with no size: the first is set once the helper runs, before any input. */
  private resizedEarly = true;
  /** Resizes on their way to the engine: input waits for them, so a command sees the new size. */
  private resizing = 0;
  private exit: ExitEvent | undefined;
  private readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(private readonly ctx: ExecContext, argv: string[], options: PtyOptions) {
    this.size = { cols: options.cols, rows: options.rows };
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.ready = this.start(argv, options);
  }

  /** The helper's pid in the container (it leads the terminal's session); 0 until it runs. */
  get pid(): number {
    return this.pidLine.pid;
  }

  private async start(argv: string[], options: PtyOptions): Promise<void> {
    let readyResolve!: () => void;
    const running = new Promise<void>((resolve) => (readyResolve = resolve));
    try {
      this.exec = await this.ctx.container.exec({
        Cmd: execCommand(this.ctx.target, argv, '--pty', options.cwd ?? '/root'),
        Env: execEnv(options.env),
        WorkingDir: '/',
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
      });
      const socket = (await this.exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
      this.socket = socket;
      socket.on('data', (chunk: Buffer) => {
        if (!this.pidLine.done) {
          chunk = this.pidLine.take(chunk);
          if (!this.pidLine.done) return;
          readyResolve();
          this.flush();
        }
        if (chunk.length) this.data.fire(chunk);
      });
      socket.on('error', () => {});
      socket.once('close', () => {
        readyResolve();
        void this.finish();
      });
      if (this.paused) socket.pause();
    } catch (err) {
      const message = `boxlab: cannot start the terminal: ${(err as Error).message}\r\n`;
      this.data.fire(Buffer.from(message));
      this.emitExit({ exitCode: 125 });
      return;
    }
    await running;
  }

  private flush(): void {
    if (this.resizedEarly) {
      this.resizedEarly = false;
      this.applySize(); // flushes once the engine has the size
      return;
    }
    const queued = this.queued;
    this.queued = [];
    for (const data of queued) this.socket?.write(data);
  }

  private applySize(): void {
    this.resizing++;
    void (this.exec?.resize({ h: this.size.rows, w: this.size.cols }) ?? Promise.resolve())
      .catch(() => {}) // an exec that ended refuses a resize; the next size goes out on the next one
      .finally(() => {
        if (--this.resizing === 0) this.flush();
      });
  }

  private async finish(): Promise<void> {
    let exitCode = 0;
    try {
      if (this.exec) exitCode = await exitCodeOf(this.exec);
    } catch {
      exitCode = 137; // the sandbox went away with the terminal
    }
    this.emitExit(exitCode > 128 ? { exitCode, signal: exitCode - 128 } : { exitCode });
  }

  private emitExit(e: ExitEvent): void {
    if (this.exit) return;
    this.exit = e;
    this.exitEvents.fire(e);
    this.markExited();
  }

  onData(listener: (data: Buffer) => void): Disposable {
    return this.data.event(listener);
  }

  onExit(listener: (e: ExitEvent) => void): Disposable {
    return this.exitEvents.event(listener);
  }

  write(data: string | Buffer): void {
    if (this.exit) return;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.socket && this.pidLine.done && this.resizing === 0) this.socket.write(bytes);
    else this.queued.push(bytes);
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (this.exit) return;
    if (this.pidLine.done) this.applySize();
    else this.resizedEarly = true;
  }

  pause(): void {
    this.paused = true;
    this.socket?.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket?.resume();
  }

  async terminate(graceMs = 2000): Promise<void> {
    await this.ready;
    if (this.exit) return;
    // the helper's session and the shell's, as the namespaces driver ends a terminal
    // (refused only when the container is already gone, which ends the sessions anyway)
    if (this.pidLine.pid > 1) await this.ctx.endSessions([this.pidLine.pid, this.pidLine.command], graceMs).catch(() => {});
    // the engine ends the stream once the shell is gone; never wait forever
    const giveUp = setTimeout(() => this.socket?.destroy(), 5000);
    this.socket?.resume(); // a paused stream would never see its end
    await this.exited;
    clearTimeout(giveUp);
  }
}
