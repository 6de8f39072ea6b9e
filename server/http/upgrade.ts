// What every WebSocket endpoint does alike: refuse an upgrade with an HTTP
// status and a JSON error a client can read, and close its sockets on shutdown.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';

export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Closes every connection politely, gives them `graceMs` to go, then ends the rest. */
export async function closeSockets(wss: WebSocketServer, graceMs = 1000): Promise<void> {
  for (const ws of wss.clients) ws.close(1001, 'the server is stopping');
  const deadline = Date.now() + graceMs;
  while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  for (const ws of wss.clients) ws.terminate();
  wss.close();
}
