// The names this server answers to, and nothing else. A web page on another
// site can make a browser reach boxlab by DNS rebinding (its name, resolved
// to boxlab's address), but it cannot change the Host header the browser
// sends: its own name. So every request and WebSocket upgrade must name this
// server exactly: the address it listens on (with loopback names when it
// listens on loopback, every address and name of the machine when it listens
// on all of them) or the configured public URL's name, on whatever port it
// was reached by. A page's Origin must then be the very Host it calls, port
// and all (or the public URL).
import os from 'node:os';

export interface HostPolicyOptions {
  /** The address the server listens on (127.0.0.1, 0.0.0.0, ::, a name). */
  listenHost: string;
  /** The URL learners use (join and resume links), behind a proxy for instance. */
  publicUrl?: string;
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** "LocalHost.:8080" -> "localhost:8080", "[::1]" -> "[::1]:80": one spelling per name and port, or undefined if it is none. */
export function normalizeHost(header: string, defaultPort = 80): string | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:\][]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!m) return undefined;
  let name = m[1]!.toLowerCase();
  // "localhost." is "localhost" (a fully qualified name); an address has no trailing dot
  if (!name.startsWith('[') && name.endsWith('.') && !/^\d+(\.\d+){3}\.$/.test(name)) name = name.slice(0, -1);
  if (!name) return undefined;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  return `${name}:${port}`;
}

/** A URL's name and port as normalizeHost() spells them. */
const hostOf = (url: URL) => normalizeHost(url.host, url.protocol === 'https:' ? 443 : 80);
/** "name:port" -> "name". */
const nameOf = (normal: string) => normal.slice(0, normal.lastIndexOf(':'));

export class HostPolicy {
  private cached: { at: number; names: Set<string> } | undefined;

  constructor(private readonly options: HostPolicyOptions) {}

  /** The names (without port) this server answers to now. */
  names(): string[] {
    const { listenHost } = this.options;
    const names = new Set<string>();
    const add = (name: string) => names.add(name.includes(':') && !name.startsWith('[') ? `[${name}]` : name.toLowerCase());
    if (isLoopback(listenHost)) {
      LOOPBACK.forEach(add);
      add(listenHost);
    } else if (listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '[::]') {
      // every address of the machine, as the room reaches it, and its name
      LOOPBACK.forEach(add);
      for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list ?? []) if (!a.address.includes('%')) add(a.address);
      }
      add(os.hostname());
      add(`${os.hostname()}.local`);
    } else {
      add(listenHost);
    }
    return [...names];
  }

  /**
   * The names, as normalizeHost() spells them; the machine's addresses are
   * looked up again now and then. Any port goes with them: the port a client
   * names is the one it reached (Docker's -p, an SSH tunnel, a proxy), not
   * the one the server listens on, and a rebinding page cannot choose the
   * name, which is what it would have to.
   */
  private allowed(): Set<string> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 30_000) return this.cached.names;
    const names = new Set(this.names());
    const publicHost = this.publicHost();
    if (publicHost) names.add(nameOf(publicHost));
    this.cached = { at: now, names };
    return names;
  }

  /** Does a Host header name this server? */
  allows(host: string | undefined): boolean {
    const normal = host ? normalizeHost(host) : undefined;
    return normal !== undefined && this.allowed().has(nameOf(normal));
  }

  /** Does an Origin header name a page of this server (the Host the request itself names)? */
  sameOrigin(origin: string | undefined, host: string | undefined): boolean {
    if (!origin || !host) return false;
    try {
      const url = new URL(origin);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
      const from = hostOf(url);
      // a TLS proxy in front: the page is https, the request reaches us as http
      return from !== undefined && this.allowed().has(nameOf(from)) && (from === normalizeHost(host) || from === this.publicHost());
    } catch {
      return false;
    }
  }

  private publicHost(): string | undefined {
    return this.options.publicUrl ? hostOf(new URL(this.options.publicUrl)) : undefined;
  }
}
