// A terminal client without a browser: the page's own TerminalLink (protocol,
// acknowledgements, reconnection) driving a headless xterm.js, over a real
// WebSocket. What it shows is what a learner would see.
import headless from '@xterm/headless';
import WebSocket from 'ws';
import { decodeServer, encodeClient, type ClientMessage, type Role, type ServerMessage } from '../../server/terminal/protocol.js';
import { TerminalLink, type LinkStatus, type SocketLike } from '../../web/terminal/link.js';
import type { Learner } from './server.js';
import { scaled } from './env.js';

const { Terminal } = headless;
type HeadlessTerminal = InstanceType<typeof Terminal>;

export interface ClientOptions {
  cols?: number;
  rows?: number;
  role?: Role;
  scrollback?: number;
  ackEvery?: number;
  retryDelaysMs?: number[];
}

export class HeadlessClient {
  readonly term: HeadlessTerminal;
  readonly link: TerminalLink;

  constructor(learner: Learner, readonly terminalId: string, options: ClientOptions = {}) {
    this.term = new Terminal({ cols: options.cols ?? 80, rows: options.rows ?? 24, scrollback: options.scrollback ?? 1000, allowProposedApi: true });
    this.link = new TerminalLink({
      url: learner.wsUrl(terminalId),
      screen: this.term,
      connect: (url) => new WebSocket(url, { headers: { cookie: learner.cookie, origin: learner.origin } }) as unknown as SocketLike,
      ...(options.role ? { role: options.role } : {}),
      ...(options.ackEvery ? { ackEvery: options.ackEvery } : {}),
      retryDelaysMs: options.retryDelaysMs ?? [50, 100, 250],
      stillThere: async () => (await learner.fetch(`/api/terminals/${terminalId}`)).status !== 404,
    });
  }

  /** Waits for the link to reach a status. */
  waitStatus(status: LinkStatus, timeoutMs = 10_000): Promise<void> {
    return until(() => this.link.status === status, timeoutMs, () => `link status ${this.link.status}, wanted ${status}`);
  }

  type(text: string): void {
    if (!this.link.input(text)) throw new Error(`cannot type: link ${this.link.status}, role ${this.link.role}`);
  }

  /** Everything in the buffer (scrollback and screen), one string per line, trailing blanks trimmed. */
  lines(): string[] {
    const buffer = this.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < buffer.length; i++) out.push(buffer.getLine(i)?.translateToString(true) ?? '');
    while (out.length > 0 && out.at(-1) === '') out.pop();
    return out;
  }

  /** The visible screen only. */
  screen(): string[] {
    const buffer = this.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < this.term.rows; i++) out.push(buffer.getLine(buffer.viewportY + i)?.translateToString(true) ?? '');
    return out;
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** Resolves once xterm.js has processed everything received so far. */
  settle(): Promise<void> {
    return new Promise((resolve) => this.term.write('', resolve));
  }

  /** Waits until the buffer text matches. */
  async waitFor(pattern: RegExp | ((text: string) => boolean), timeoutMs = 10_000): Promise<string> {
    const test = typeof pattern === 'function' ? pattern : (t: string) => pattern.test(t);
    let last = '';
    await until(
      async () => {
        await this.settle();
        last = this.text();
        return test(last);
      },
      timeoutMs,
      () => `terminal never matched ${String(pattern)}; it shows:\n${last.split('\n').slice(-15).join('\n')}`,
    );
    return last;
  }

  /** Waits for a shell prompt on the last line of the screen. */
  waitPrompt(timeoutMs = 10_000): Promise<string> {
    return this.waitFor((t) => /root@box-[0-9a-f]+:[^\n]*# ?$/.test(t.split('\n').at(-1) ?? ''), timeoutMs);
  }

  close(): void {
    this.link.close();
    this.term.dispose();
  }
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  // scaled: the test VM is slower than a host (1 on a host)
  const deadline = Date.now() + scaled(timeoutMs);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A client that speaks the protocol frame by frame, for what a well-behaved client never does. */
export class RawClient {
  readonly messages: ServerMessage[] = [];
  /** Output bytes received. */
  received = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket, private readonly autoAck = true) {
    ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer) => {
      const msg = decodeServer(new Uint8Array(data));
      this.messages.push(msg);
      if (msg.type === 'output') {
        this.received += msg.data.length;
        if (this.autoAck) this.send({ type: 'ack', bytes: msg.data.length });
      }
    });
  }

  /** Connects and says hello. */
  static async attach(learner: Learner, terminalId: string, hello: Partial<Extract<ClientMessage, { type: 'hello' }>> = {}, autoAck = true): Promise<RawClient> {
    const client = new RawClient(learner.socket(terminalId), autoAck);
    await client.opened;
    client.send({ type: 'hello', cols: 80, rows: 24, ...hello });
    await client.next('attached');
    return client;
  }

  send(msg: ClientMessage): void {
    this.ws.send(encodeClient(msg));
  }

  sendRaw(frame: Uint8Array | string, binary = true): void {
    this.ws.send(frame, { binary });
  }

  /** Waits for a message of a type (already received ones count). */
  async next<T extends ServerMessage['type']>(type: T, timeoutMs = 10_000, from = 0): Promise<Extract<ServerMessage, { type: T }>> {
    let found: ServerMessage | undefined;
    await until(() => (found = this.messages.slice(from).find((m) => m.type === type)) !== undefined, timeoutMs, () => `no "${type}" message; got ${this.messages.map((m) => m.type).join(', ')}`);
    return found as Extract<ServerMessage, { type: T }>;
  }

  errors(): string[] {
    return this.messages.flatMap((m) => (m.type === 'error' ? [`${m.code}: ${m.message}`] : []));
  }

  /** The screen as a terminal fed these frames holds it: the last snapshot's text, then the output after it. */
  screen(): string {
    const last = this.messages.findLastIndex((m) => m.type === 'snapshot');
    return Buffer.concat(this.messages.slice(last + 1 > 0 ? last : 0).flatMap((m) => (m.type === 'output' || m.type === 'snapshot' ? [m.data] : []))).toString('utf8');
  }

  /** All output bytes received, as text. */
  output(): string {
    return Buffer.concat(this.messages.flatMap((m) => (m.type === 'output' ? [m.data] : []))).toString('utf8');
  }

  close(): void {
    this.ws.terminate();
  }
}
