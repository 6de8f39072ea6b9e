// The instructor's WebSockets: a workshop's live dashboard
// (/ws/workshops/:id/dashboard) and any of its learners' terminals
// (/ws/workshops/:id/terminals/:terminal), read-only unless ?takeover=1, in
// which case the learner is told. Each upgrade passes the Host and Origin
// checks and the instructor session; the learner's ownership rules are never
// consulted here, nor is the instructor session there.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import { serveTerminal } from '../terminal/connection.js';
import { MAX_CLIENT_FRAME } from '../terminal/protocol.js';
import type { TerminalRegistry } from '../terminal/registry.js';
import type { Workshops } from '../workshops/index.js';
import type { InstructorGate } from './instructor.js';
import type { Ownership } from './ownership.js';
import { admitUpgrade, type Edge } from './edge.js';
import { closeSockets, refuseUpgrade } from './upgrade.js';

export interface WorkshopSocketDeps {
  workshops: Workshops;
  instructor: InstructorGate;
  terminals: TerminalRegistry;
  ownership: Ownership;
  edge: Edge;
  log?: Logger;
}

export const WORKSHOP_SOCKET_PATH = /^\/ws\/workshops\/(ws-[0-9a-f]{12})\/(?:(dashboard)|terminals\/([A-Za-z0-9-]{1,64}))$/;

/** A dashboard that leaves this much unsent is not reading: it is dropped (it resyncs with a snapshot on reconnect). */
const MAX_BUFFERED = 8 * 1024 * 1024;

export function workshopSockets(deps: WorkshopSocketDeps) {
  const { workshops, terminals, ownership } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false });

  return {
    handles(req: IncomingMessage): boolean {
      return (req.url ?? '').startsWith('/ws/workshops/');
    },

    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      socket.on('error', () => {});
      const [pathname, query = ''] = (req.url ?? '').split('?');
      const match = WORKSHOP_SOCKET_PATH.exec(pathname!);
      if (!match) return refuseUpgrade(socket, 404, `no WebSocket at ${pathname!.slice(0, 100)}`);
      if (!admitUpgrade(req, socket, deps.edge)) return;
      if (!deps.instructor.isInstructor(req)) return refuseUpgrade(socket, 401, 'instructors only: sign in at /instructor');
      const workshop = workshops.store.get(match[1]!);
      if (!workshop) return refuseUpgrade(socket, 404, `no workshop ${match[1]}`);

      if (match[2]) {
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('error', () => {});
          ws.on('message', () => {}); // the dashboard only listens
          const subscription = workshops.hub.subscribe(workshop.id, (message) => {
            if (ws.readyState !== ws.OPEN) return;
            if (ws.bufferedAmount > MAX_BUFFERED) return ws.terminate();
            ws.send(message);
          });
          ws.on('close', () => subscription.dispose());
        });
        return;
      }

      // a terminal of a learner of this workshop, and only that
      const session = terminals.get(match[3]!);
      const learner = session && ownership.ownerOf(session.sandboxId);
      if (!session || session.isEnded || !learner || !workshops.store.member(workshop.id, learner)) return refuseUpgrade(socket, 404, `no terminal ${match[3]} in this workshop`);
      const takeover = new URLSearchParams(query).get('takeover') === '1';
      wss.handleUpgrade(req, socket, head, (ws) => {
        serveTerminal(ws, session, { mayWrite: takeover, ...(deps.log ? { log: deps.log } : {}) });
        deps.log?.info({ workshop: workshop.id, learner, terminal: session.id, takeover }, 'instructor opened a learner terminal');
        if (takeover) {
          workshops.takeover(learner, true);
          ws.on('close', () => workshops.takeover(learner, false));
        }
      });
    },

    async close(): Promise<void> {
      await closeSockets(wss);
    },
  };
}
