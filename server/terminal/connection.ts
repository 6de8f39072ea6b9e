// One client's WebSocket to one terminal: decodes its frames (protocol.ts),
// turns them into session calls, and turns every refusal into a clear error
// frame, closing the connection when it cannot go on. Nothing a client sends
// can throw past this file: the worst it can do is lose its own connection.
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../log.js';
import { decodeClient, encodeServer, ProtocolError, type ErrorCode } from './protocol.js';
import { TerminalError, type TerminalSession, type Viewer, type ViewerSink } from './session.js';

export interface ConnectionOptions {
  /** May this client hold the writer role (the terminal's owner)? */
  mayWrite: boolean;
  log?: Logger;
  /** The client must say hello within this long. */
  helloTimeoutMs?: number;
  /** Ping this often; a client that missed the previous pong is dropped (a half-open connection). */
  heartbeatMs?: number;
  /** Input beyond this rate (bytes/s, after a burst) makes the server stop reading the socket for a while. */
  inputRate?: { bytesPerSecond: number; burst: number };
}

/** A client that leaves this much unsent on its socket is not reading: drop it rather than buffer more. */
const MAX_BUFFERED = 16 * 1024 * 1024;

// WebSocket close codes (RFC 6455)
const CLOSE = { normal: 1000, protocol: 1002, unsupported: 1003, policy: 1008, internal: 1011 } as const;

export function serveTerminal(ws: WebSocket, session: TerminalSession, options: ConnectionOptions): void {
  const log = options.log;
  const rate = options.inputRate ?? { bytesPerSecond: 1024 * 1024, burst: 4 * 1024 * 1024 };
  let viewer: Viewer | undefined;
  let tokens = rate.burst;
  let refilled = performance.now();
  let resumeTimer: NodeJS.Timeout | undefined;

  const sink: ViewerSink = {
    send(frame) {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        log?.warn({ terminal: session.id }, 'dropping a client that does not read its socket');
        ws.terminate();
        return;
      }
      ws.send(frame);
    },
    close(code, reason) {
      ws.close(code, reason);
    },
  };

  const refuse = (code: ErrorCode, message: string, fatal: boolean, closeCode: number) => {
    sink.send(encodeServer({ type: 'error', code, message }));
    if (fatal) ws.close(closeCode, message.slice(0, 120));
  };

  const helloTimer = setTimeout(() => refuse('timeout', 'no hello within the time allowed', true, CLOSE.policy), options.helloTimeoutMs ?? 10_000);

  let alive = true;
  const heartbeat = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, options.heartbeatMs ?? 20_000);
  ws.on('pong', () => {
    alive = true;
  });

  // input beyond the rate: stop reading the socket until the budget refills (backpressure, nothing lost)
  const spend = (bytes: number) => {
    const now = performance.now();
    tokens = Math.min(rate.burst, tokens + ((now - refilled) / 1000) * rate.bytesPerSecond);
    refilled = now;
    tokens -= bytes;
    if (tokens < 0 && !resumeTimer) {
      ws.pause();
      resumeTimer = setTimeout(() => {
        resumeTimer = undefined;
        ws.resume();
      }, Math.ceil((-tokens / rate.bytesPerSecond) * 1000));
    }
  };

  const handle = (data: RawData, isBinary: boolean) => {
    if (!isBinary) return refuse('bad-frame', 'text frames are not part of the terminal protocol; send binary frames', true, CLOSE.unsupported);
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const msg = decodeClient(bytes);
    if (!viewer) {
      if (msg.type !== 'hello') return refuse('not-attached', 'the first message must be hello', true, CLOSE.protocol);
      clearTimeout(helloTimer);
      viewer = session.attach(sink, {
        cols: msg.cols,
        rows: msg.rows,
        ...(msg.resume !== undefined ? { resume: msg.resume } : {}),
        mayWrite: options.mayWrite,
        takeWriter: options.mayWrite && msg.role !== 'viewer',
      });
      return;
    }
    switch (msg.type) {
      case 'hello':
        return refuse('bad-frame', 'hello was already sent on this connection', true, CLOSE.protocol);
      case 'input':
        spend(msg.data.length);
        return session.input(viewer, msg.data);
      case 'resize':
        return session.resize(viewer, msg.cols, msg.rows);
      case 'ack':
        return session.ack(viewer, msg.bytes);
      case 'take':
        return session.take(viewer);
    }
  };

  ws.on('message', (data, isBinary) => {
    try {
      handle(data, isBinary);
    } catch (err) {
      if (err instanceof ProtocolError) return refuse(err.code, err.message, err.fatal, CLOSE.protocol);
      if (err instanceof TerminalError) return refuse(err.code as ErrorCode, err.message, err.fatal, err.code === 'ended' ? CLOSE.normal : CLOSE.policy);
      log?.error({ err, terminal: session.id }, 'terminal connection failed');
      refuse('internal', 'the server could not handle this message', true, CLOSE.internal);
    }
  });

  ws.on('close', () => {
    clearTimeout(helloTimer);
    clearTimeout(resumeTimer);
    clearInterval(heartbeat);
    if (viewer) session.detach(viewer);
    viewer = undefined;
  });
  ws.on('error', (err) => log?.debug({ err, terminal: session.id }, 'terminal connection error'));
}
