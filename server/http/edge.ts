// The server's edge: what every request and WebSocket upgrade passes before
// anything else sees it, as one object the routes and socket handlers share:
// the names it answers to (hosts.ts), the sockets a client may hold
// (connections.ts), the shares of new learners and sandboxes of a client
// address (admission.ts), and the client's address itself (the socket's, or
// a trusted proxy's X-Forwarded-For).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { Admission } from './admission.js';
import { addressOf, type ConnectionGuard } from './connections.js';
import type { HostPolicy } from './hosts.js';
import { refuseUpgrade } from './upgrade.js';

export interface Edge {
  hosts: HostPolicy;
  connections: ConnectionGuard;
  admission: Admission;
  /** The client's address: behind a trusted proxy, the last X-Forwarded-For. */
  addressOf(req: IncomingMessage): string;
  /** A refusal, counted (metrics) and logged now and then. */
  refused(reason: string, address: string): void;
}

export function makeEdge(parts: { hosts: HostPolicy; connections: ConnectionGuard; admission: Admission; trustProxy: boolean; log?: Logger; count?: (reason: string) => void }): Edge {
  // one log line per reason and address a minute: a flood must not flood the log too
  const logged = new Map<string, number>();
  return {
    hosts: parts.hosts,
    connections: parts.connections,
    admission: parts.admission,
    addressOf(req) {
      if (parts.trustProxy) {
        const forwarded = req.headers['x-forwarded-for'];
        const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').pop()?.trim();
        if (last) return last.startsWith('::ffff:') ? last.slice(7) : last;
      }
      return addressOf(req.socket as import('node:net').Socket);
    },
    refused(reason, address) {
      parts.count?.(reason);
      const key = `${reason} ${address}`;
      const now = Date.now();
      if ((logged.get(key) ?? 0) > now - 60_000) return;
      if (logged.size > 10_000) logged.clear();
      logged.set(key, now);
      parts.log?.warn({ reason, address }, 'refused');
    },
  };
}

/**
 * What every WebSocket upgrade must pass: the server's own name (421), a page
 * of its own (403), and the WebSockets its address and learner may hold
 * (429). Returns false (the upgrade refused) or true; what it took is given
 * back when the socket closes.
 */
export function admitUpgrade(req: IncomingMessage, socket: Duplex, edge: Edge, learner?: string): boolean {
  const address = edge.addressOf(req);
  const refuse = (reason: string, status: number, message: string): false => {
    edge.refused(reason, address);
    refuseUpgrade(socket, status, message);
    return false;
  };
  if (!edge.hosts.allows(req.headers.host)) return refuse('host', 421, 'this boxlab server only answers to its own address');
  if (!edge.hosts.sameOrigin(req.headers.origin, req.headers.host)) return refuse('origin', 403, 'cross-origin WebSocket refused: open it from a boxlab page');
  const { limits, webSocketsByAddress, webSocketsByLearner } = edge.connections;
  if (!webSocketsByAddress.take(address, limits.webSocketsPerAddress)) return refuse('websockets-per-address', 429, 'too many connections from your network; close some tabs');
  if (learner !== undefined && !webSocketsByLearner.take(learner, limits.webSocketsPerLearner)) {
    webSocketsByAddress.give(address);
    return refuse('websockets-per-learner', 429, 'too many connections of yours; close some tabs');
  }
  socket.once('close', () => {
    webSocketsByAddress.give(address);
    if (learner !== undefined) webSocketsByLearner.give(learner);
  });
  return true;
}
