// What one client may hold of the server's connections. Every socket costs a
// descriptor, and the process has a fixed number: a client holding thousands
// of idle sockets would leave none for /healthz, the terminals already open,
// the sandboxes' own pipes. So each address holds at most a share of them, all
// clients together leave a reserve, and a connection that says nothing is
// dropped soon (slowloris); WebSockets, which live long, are counted per
// address and per learner as well.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';

export interface ConnectionLimits {
  /** Sockets one address may hold at once. */
  perAddress: number;
  /** Sockets all clients together may hold: the descriptor limit less a reserve for everything else. */
  total: number;
  /** WebSockets one address, and one learner, may hold at once. */
  webSocketsPerAddress: number;
  webSocketsPerLearner: number;
}

/** The process's limit of open descriptors (Node raised it to the hard limit at start). */
export function descriptorLimit(limits = readFileSync('/proc/self/limits', 'utf8')): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return !m || m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
}

/** Limits that follow the descriptors this process has. */
export function connectionLimits(descriptors = descriptorLimit(), perAddress = 0): ConnectionLimits {
  // a quarter (at least 256) stays for sandboxes, ptys, the database, /healthz
  const total = Math.max(64, descriptors - Math.max(256, Math.floor(descriptors / 4)));
  const share = perAddress || Math.max(32, Math.min(1024, Math.floor(total / 4)));
  return { perAddress: share, total, webSocketsPerAddress: Math.max(16, Math.floor(share / 2)), webSocketsPerLearner: 32 };
}

/** "::ffff:127.0.0.2" -> "127.0.0.2": one key per client address. */
export function addressOf(socket: net.Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Counts by key, for what is held at once. */
export class Tally {
  private readonly counts = new Map<string, number>();

  /** Takes one for `key` unless it already holds `max`; returns whether it did. */
  take(key: string, max: number): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  give(key: string): void {
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

export type Refusal = 'connections-per-address' | 'connections-total';

export class ConnectionGuard {
  private readonly byAddress = new Tally();
  private open = 0;
  readonly webSocketsByAddress = new Tally();
  readonly webSocketsByLearner = new Tally();

  constructor(readonly limits: ConnectionLimits, private readonly onRefused: (reason: Refusal, address: string) => void = () => {}) {}

  get connections(): number {
    return this.open;
  }

  /** Counts the server's sockets, drops those past the limits, and times out what says nothing. */
  attach(server: http.Server): void {
    // a request's headers within 10 s, the whole request within 30 s, an idle keep-alive 5 s
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: net.Socket) => {
      const address = addressOf(socket);
      const reason: Refusal | undefined = this.open >= this.limits.total ? 'connections-total' : this.byAddress.get(address) >= this.limits.perAddress ? 'connections-per-address' : undefined;
      if (reason) {
        this.onRefused(reason, address);
        socket.destroy();
        return;
      }
      this.byAddress.take(address, Infinity);
      this.open++;
      socket.once('close', () => {
        this.open--;
        this.byAddress.give(address);
      });
    });
  }
}
