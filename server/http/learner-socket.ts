// The live channel to a learner's pages (WebSocket /ws/learner): exercise
// status changes and lesson start progress from the player, and the notices
// (instructor messages, takeovers, resets) sent to that learner on the
// LearnerBus. Server to page only; JSON text frames. Checked before the
// upgrade like the terminal sockets: Host, Origin, learner cookie.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { LEARNER_SOCKET_PATH, type LearnerMessage } from '../contracts/learner-channel.js';
import type { LearnerBus } from '../events.js';
import type { Logger } from '../log.js';
import type { LessonPlayer } from '../player/player.js';
import { DisposableStore } from '../lifecycle.js';
import type { Identity } from './identity.js';
import { admitUpgrade, type Edge } from './edge.js';
import { closeSockets, refuseUpgrade } from './upgrade.js';

export interface LearnerSocketDeps {
  player: LessonPlayer;
  bus: LearnerBus;
  identity: Identity;
  edge: Edge;
  log?: Logger;
}

// a slow or stalled page gets no more than this queued; past it, it is dropped and reconnects
const MAX_BUFFERED = 256 * 1024;
const PING_EVERY_MS = 30_000;

export function learnerSockets(deps: LearnerSocketDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });

  return {
    handles(req: IncomingMessage): boolean {
      return (req.url ?? '').split('?')[0] === LEARNER_SOCKET_PATH;
    },

    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      socket.on('error', () => {});
      const learner = deps.identity.fromRequest(req);
      if (!admitUpgrade(req, socket, deps.edge, learner)) return;
      if (!learner) return refuseUpgrade(socket, 401, 'no learner cookie: load a boxlab page first');
      wss.handleUpgrade(req, socket, head, (ws) => {
        const send = (message: LearnerMessage) => {
          if (ws.readyState !== ws.OPEN) return;
          if (ws.bufferedAmount > MAX_BUFFERED) return ws.terminate();
          ws.send(JSON.stringify(message));
        };
        const subs = new DisposableStore();
        subs.add(deps.player.onUpdate(learner, (update) => send({ kind: 'update', update })));
        subs.add(deps.bus.onNotice(learner, (notice) => send({ kind: 'notice', notice })));
        // a ping now and then keeps proxies from closing a quiet channel
        const ping = setInterval(() => ws.ping(), PING_EVERY_MS);
        ws.on('close', () => {
          clearInterval(ping);
          subs.dispose();
        });
        ws.on('error', () => ws.terminate());
        // the page sends nothing; anything it does send is ignored
      });
    },

    async close(): Promise<void> {
      await closeSockets(wss, 0);
    },
  };
}
