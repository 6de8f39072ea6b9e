// A terminal's connection to its server-side session, for any xterm.js
// (the browser's, or @xterm/headless in tests and benchmarks): says hello,
// writes output into the screen and acknowledges it once xterm.js has
// processed it (flow control), sends keystrokes and sizes, and reconnects
// after a dropped connection, resuming from the last byte it has so nothing
// is lost or written twice. It touches no DOM: the caller gives it a way to
// open a WebSocket.
import { clampSize, decodeServer, encodeClient, MAX_INPUT_BYTES, type ClientMessage, type ErrorCode, type Role } from '../../server/terminal/protocol.js';

/** What the link needs of a WebSocket (the browser's, or the ws package's). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** What the link needs of an xterm.js Terminal. */
export interface LinkScreen {
  readonly cols: number;
  readonly rows: number;
  write(data: Uint8Array | string, callback?: () => void): void;
  resize(cols: number, rows: number): void;
}

/** connecting: first connection; live: attached; reconnecting: lost it, trying again; ended: the shell exited or is gone; closed: by us. */
export type LinkStatus = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'closed';

export interface TerminalLinkOptions {
  url: string;
  screen: LinkScreen;
  connect: (url: string) => SocketLike;
  /** The role to ask for on every (re)connection; the server gives "writer" only to the owner. */
  role?: Role;
  /** Acknowledge after this many processed bytes (and whenever xterm.js has caught up). */
  ackEvery?: number;
  /** Waits between reconnection attempts; the last one repeats. */
  retryDelaysMs?: number[];
  /** Asked before each reconnection: false means the terminal is gone, and the link ends. */
  stillThere?: () => Promise<boolean>;
}

const OPEN = 1;
const encoder = new TextEncoder();
// ESC c: a full reset, written in-band so it lands after output already queued in xterm.js
const RESET = '\x1bc';

type Listener<T> = (value: T) => void;

export class TerminalLink {
  status: LinkStatus = 'connecting';
  role: Role = 'viewer';
  /** Output bytes received, counted as the server counts them. */
  offset = 0;
  exit: { code: number; signal?: number } | undefined;
  /** The terminal no longer exists on the server. */
  gone = false;
  lastError: { code: ErrorCode; message: string } | undefined;
  /** Times the link reattached after losing its connection. */
  reconnects = 0;
  /** How the last attach restored the screen: a full snapshot, or the bytes missed since `offset`. */
  restore: 'snapshot' | 'resume' | undefined;

  private socket: SocketLike | undefined;
  private generation = 0;
  private hasScreen = false;
  private pendingWrites = 0;
  private processed = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly ackEvery: number;
  private readonly listeners = { status: new Set<Listener<LinkStatus>>(), role: new Set<Listener<Role>>(), error: new Set<Listener<{ code: ErrorCode; message: string }>>() };

  constructor(private readonly options: TerminalLinkOptions) {
    this.ackEvery = options.ackEvery ?? 32 * 1024;
    this.open();
  }

  onStatus(listener: Listener<LinkStatus>): () => void {
    this.listeners.status.add(listener);
    return () => this.listeners.status.delete(listener);
  }

  onRole(listener: Listener<Role>): () => void {
    this.listeners.role.add(listener);
    return () => this.listeners.role.delete(listener);
  }

  onError(listener: Listener<{ code: ErrorCode; message: string }>): () => void {
    this.listeners.error.add(listener);
    return () => this.listeners.error.delete(listener);
  }

  /** Keystrokes or a paste; false when they went nowhere (not attached, or not the writer). */
  input(data: string | Uint8Array): boolean {
    if (this.status !== 'live' || this.role !== 'writer') return false;
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    for (let i = 0; i < bytes.length; i += MAX_INPUT_BYTES) this.send({ type: 'input', data: bytes.subarray(i, i + MAX_INPUT_BYTES) });
    return true;
  }

  /** The writer's terminal size changed. */
  resize(cols: number, rows: number): void {
    if (this.status === 'live' && this.role === 'writer') this.send({ type: 'resize', ...clampSize(cols, rows) });
  }

  /** Asks for the writer role (granted to the terminal's owner). */
  take(): void {
    if (this.status === 'live') this.send({ type: 'take' });
  }

  /** Drops the connection as a network failure would (the link reconnects). */
  drop(): void {
    this.socket?.close(4000, 'dropped');
  }

  close(): void {
    clearTimeout(this.retryTimer);
    this.setStatus('closed');
    this.socket?.close(1000, 'closed');
    this.socket = undefined;
  }

  private open(): void {
    const generation = ++this.generation;
    // acknowledgements of the old connection mean nothing to the new one
    this.pendingWrites = 0;
    this.processed = 0;
    const { cols, rows } = clampSize(this.options.screen.cols, this.options.screen.rows);
    const socket = this.options.connect(this.options.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      if (generation !== this.generation) return;
      this.send({ type: 'hello', cols, rows, ...(this.hasScreen ? { resume: this.offset } : {}), ...(this.options.role ? { role: this.options.role } : {}) });
    };
    socket.onmessage = (event) => {
      if (generation !== this.generation) return;
      const data = event.data;
      if (data instanceof ArrayBuffer) this.receive(new Uint8Array(data));
    };
    socket.onclose = (event) => {
      if (generation !== this.generation) return;
      this.socket = undefined;
      this.lost(event.code);
    };
    socket.onerror = () => {
      // a close event follows
    };
  }

  private receive(bytes: Uint8Array): void {
    let msg;
    try {
      msg = decodeServer(bytes);
    } catch {
      return; // a newer server's message this client does not know
    }
    const screen = this.options.screen;
    switch (msg.type) {
      case 'output':
        this.offset += msg.data.length;
        this.write(msg.data);
        return;
      case 'snapshot':
        this.offset = msg.offset;
        this.hasScreen = true;
        this.resizeInBand(msg.cols, msg.rows);
        screen.write(RESET);
        screen.write(msg.data);
        return;
      case 'attached':
        this.attempt = 0;
        this.restore = msg.restore;
        if (this.status === 'reconnecting') this.reconnects++;
        this.setRole(msg.role);
        if (msg.restore === 'resume') this.resizeInBand(msg.cols, msg.rows);
        this.hasScreen = true;
        this.setStatus('live');
        return;
      case 'resize':
        this.resizeInBand(msg.cols, msg.rows);
        return;
      case 'role':
        this.setRole(msg.role);
        return;
      case 'exit':
        this.exit = { code: msg.code, ...(msg.signal ? { signal: msg.signal } : {}) };
        this.setStatus('ended');
        return;
      case 'error':
        this.lastError = { code: msg.code, message: msg.message };
        for (const l of this.listeners.error) l(this.lastError);
        return;
    }
  }

  private write(data: Uint8Array): void {
    const generation = this.generation;
    this.pendingWrites++;
    this.options.screen.write(data, () => {
      if (generation !== this.generation) return;
      this.pendingWrites--;
      this.processed += data.length;
      if (this.processed >= this.ackEvery || this.pendingWrites === 0) {
        this.send({ type: 'ack', bytes: this.processed });
        this.processed = 0;
      }
    });
  }

  /** Resizes once xterm.js has processed what came before, as the server's mirror did. */
  private resizeInBand(cols: number, rows: number): void {
    const screen = this.options.screen;
    screen.write('', () => {
      if (screen.cols !== cols || screen.rows !== rows) screen.resize(cols, rows);
    });
  }

  private send(msg: ClientMessage): void {
    if (this.socket?.readyState === OPEN) this.socket.send(encodeClient(msg));
  }

  private lost(code: number): void {
    if (this.status === 'ended' || this.status === 'closed') return;
    // a protocol violation (1002, 1003) would only happen again
    if (code === 1002 || code === 1003) {
      this.setStatus('closed');
      return;
    }
    this.setStatus('reconnecting');
    const delays = this.options.retryDelaysMs ?? [100, 250, 500, 1000, 2000, 5000];
    const delay = delays[Math.min(this.attempt, delays.length - 1)]!;
    this.attempt++;
    this.retryTimer = setTimeout(() => void this.retry(), delay);
  }

  private async retry(): Promise<void> {
    if (this.status !== 'reconnecting') return;
    const there = this.options.stillThere ? await this.options.stillThere().catch(() => true) : true;
    if (this.status !== 'reconnecting') return;
    if (!there) {
      this.gone = true;
      this.setStatus('ended');
      return;
    }
    this.open();
  }

  private setRole(role: Role): void {
    if (role === this.role) return;
    this.role = role;
    for (const l of this.listeners.role) l(role);
  }

  private setStatus(status: LinkStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const l of this.listeners.status) l(status);
  }
}
