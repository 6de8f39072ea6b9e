// The live channel from the server (/ws/learner): exercise status changes,
// lesson start progress and notices for this learner. Reconnects with backoff;
// on reconnect the page reloads its state, since updates may have been missed.
import { LEARNER_SOCKET_PATH, type LearnerMessage } from '../../server/contracts/learner-channel.js';
import { socketUrl } from '../terminal/api.js';

export type { LearnerMessage };

export class LearnerChannel {
  private ws: WebSocket | undefined;
  private delay = 500;
  private closed = false;
  private opened = false;
  private markOpen!: () => void;
  /** Open for the first time: what the server sends from now on reaches the page. */
  readonly ready = new Promise<void>((resolve) => (this.markOpen = resolve));

  constructor(private readonly onMessage: (m: LearnerMessage) => void, private readonly onReconnect: () => void) {
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
  }

  private connect(): void {
    const ws = new WebSocket(socketUrl(LEARNER_SOCKET_PATH));
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.delay = 500;
      if (this.opened) this.onReconnect();
      this.opened = true;
      this.markOpen();
    });
    ws.addEventListener('message', (e) => {
      try {
        this.onMessage(JSON.parse(String(e.data)) as LearnerMessage);
      } catch {
        // a frame we do not understand is not worth breaking the page for
      }
    });
    ws.addEventListener('close', () => {
      if (this.closed) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10_000);
    });
  }
}
