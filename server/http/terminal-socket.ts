// WebSocket upgrades to /ws/terminals/:id. Checked before the upgrade, with
// an HTTP status a client can read: the Host, the Origin (same origin only:
// cross-site WebSocket hijacking), the learner cookie, and that the learner
// may access the terminal. Then server/terminal takes the connection over.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import { serveTerminal, type ConnectionOptions } from '../terminal/connection.js';
import { MAX_CLIENT_FRAME } from '../terminal/protocol.js';
import type { TerminalRegistry } from '../terminal/registry.js';
import type { Identity } from './identity.js';
import type { Ownership } from './ownership.js';
import { admitUpgrade, type Edge } from './edge.js';
import { closeSockets, refuseUpgrade } from './upgrade.js';

export interface TerminalSocketDeps {
  terminals: TerminalRegistry;
  identity: Identity;
  ownership: Ownership;
  edge: Edge;
  log?: Logger;
  connection?: Partial<ConnectionOptions>;
}

const PATH = /^\/ws\/terminals\/([A-Za-z0-9-]{1,64})$/;

export function terminalSockets(deps: TerminalSocketDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false });

  return {
    /** For the HTTP server's 'upgrade' event. */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      socket.on('error', () => {});
      const path = (req.url ?? '').split('?')[0]!;
      const match = PATH.exec(path);
      if (!match) return refuseUpgrade(socket, 404, `no WebSocket at ${path.slice(0, 100)}`);
      const learner = deps.identity.fromRequest(req);
      if (!admitUpgrade(req, socket, deps.edge, learner)) return;
      if (!learner) return refuseUpgrade(socket, 401, 'no learner cookie: load a boxlab page first');
      const session = deps.terminals.get(match[1]!);
      const access = session ? deps.ownership.access(learner, session.sandboxId) : 'none';
      if (!session || session.isEnded || access === 'none') return refuseUpgrade(socket, 404, `no terminal ${match[1]}`);
      wss.handleUpgrade(req, socket, head, (ws) => {
        serveTerminal(ws, session, { ...deps.connection, mayWrite: access === 'owner', ...(deps.log ? { log: deps.log } : {}) });
      });
    },

    /** Closes every terminal connection (the terminals themselves live on), politely for a second, then not. */
    async close(): Promise<void> {
      await closeSockets(wss);
    },
  };
}
