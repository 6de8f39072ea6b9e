// The terminal wire protocol (docs/protocol.md): every WebSocket message is a
// binary frame whose first byte says what it is. Terminal output and input
// travel as raw bytes; the few control messages are small JSON objects.
// Shared by the server and the browser, so it uses only what both have
// (Uint8Array, DataView, TextEncoder/TextDecoder), never Buffer.

/** Frame types sent by the browser. */
export const ClientFrame = { input: 0x00, resize: 0x01, ack: 0x02, control: 0x7b } as const;
/** Frame types sent by the server. */
export const ServerFrame = { output: 0x00, snapshot: 0x01, control: 0x7b } as const;

/** Most bytes one input frame may carry; the browser splits bigger pastes. */
export const MAX_INPUT_BYTES = 64 * 1024;
/** Largest frame the server accepts (the WebSocket is closed with 1009 beyond it). */
export const MAX_CLIENT_FRAME = 1 + MAX_INPUT_BYTES;
const MAX_CONTROL_BYTES = 1024;
/** Terminal sizes the server accepts. */
export const SIZE_LIMITS = { minCols: 2, maxCols: 500, minRows: 1, maxRows: 200 } as const;

export type Role = 'writer' | 'viewer';

export type ClientMessage =
  | { type: 'input'; data: Uint8Array }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'ack'; bytes: number }
  /** First message on a connection. `resume`: the output offset the client already has. */
  | { type: 'hello'; cols: number; rows: number; resume?: number; role?: Role }
  /** Asks for the writer role. */
  | { type: 'take' };

export type ErrorCode =
  | 'bad-frame'
  | 'unknown-type'
  | 'not-attached'
  | 'bad-size'
  | 'read-only'
  | 'ended'
  | 'too-many-viewers'
  | 'forbidden'
  | 'timeout'
  | 'internal';

export type ServerControl =
  | { type: 'attached'; terminal: string; sandbox: string; role: Role; cols: number; rows: number; restore: 'snapshot' | 'resume'; offset: number }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'role'; role: Role }
  | { type: 'exit'; code: number; signal?: number }
  | { type: 'error'; code: ErrorCode; message: string };

export type ServerMessage =
  | { type: 'output'; data: Uint8Array }
  /** The whole screen and scrollback at output offset `offset`: reset the terminal, then write `data`. */
  | { type: 'snapshot'; offset: number; cols: number; rows: number; data: Uint8Array }
  | ServerControl;

/** A frame that breaks the protocol. `fatal`: the connection cannot go on. */
export class ProtocolError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly fatal = true) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function frame(type: number, payloadLength: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(1 + payloadLength);
  bytes[0] = type;
  return { bytes, view: new DataView(bytes.buffer) };
}

function withPayload(type: number, payload: Uint8Array): Uint8Array {
  const { bytes } = frame(type, payload.length);
  bytes.set(payload, 1);
  return bytes;
}

export function sizeError(cols: unknown, rows: unknown): string | undefined {
  const ok = (n: unknown, min: number, max: number) => Number.isInteger(n) && (n as number) >= min && (n as number) <= max;
  const { minCols, maxCols, minRows, maxRows } = SIZE_LIMITS;
  if (ok(cols, minCols, maxCols) && ok(rows, minRows, maxRows)) return undefined;
  return `a terminal is ${minCols} to ${maxCols} columns and ${minRows} to ${maxRows} rows, not ${String(cols)}x${String(rows)}`;
}

/** Clamps a size (e.g. what a fit addon measured) into the accepted range. */
export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const { minCols, maxCols, minRows, maxRows } = SIZE_LIMITS;
  const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, Math.floor(Number.isFinite(n) ? n : min)));
  return { cols: clamp(cols, minCols, maxCols), rows: clamp(rows, minRows, maxRows) };
}

function parseControl(payload: Uint8Array): Record<string, unknown> {
  if (payload.length > MAX_CONTROL_BYTES) throw new ProtocolError('bad-frame', `a control message is at most ${MAX_CONTROL_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch {
    throw new ProtocolError('bad-frame', 'a control message must be a JSON object in UTF-8');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    throw new ProtocolError('bad-frame', 'a control message must be a JSON object with a "type"');
  }
  return value as Record<string, unknown>;
}

// ---- browser -> server

export function encodeClient(msg: ClientMessage): Uint8Array {
  switch (msg.type) {
    case 'input':
      return withPayload(ClientFrame.input, msg.data);
    case 'resize': {
      const { bytes, view } = frame(ClientFrame.resize, 4);
      view.setUint16(1, msg.cols);
      view.setUint16(3, msg.rows);
      return bytes;
    }
    case 'ack': {
      const { bytes, view } = frame(ClientFrame.ack, 4);
      view.setUint32(1, msg.bytes);
      return bytes;
    }
    case 'hello':
    case 'take':
      // the JSON text itself starts with "{", the control frame type
      return encoder.encode(JSON.stringify(msg));
  }
}

/** Decodes a frame from the browser; throws ProtocolError for anything that is not one. */
export function decodeClient(bytes: Uint8Array): ClientMessage {
  if (bytes.length === 0) throw new ProtocolError('bad-frame', 'empty frame');
  const type = bytes[0];
  const payload = bytes.subarray(1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case ClientFrame.input:
      if (payload.length === 0) throw new ProtocolError('bad-frame', 'an input frame carries at least one byte');
      if (payload.length > MAX_INPUT_BYTES) throw new ProtocolError('bad-frame', `an input frame carries at most ${MAX_INPUT_BYTES} bytes`);
      return { type: 'input', data: payload };
    case ClientFrame.resize: {
      if (payload.length !== 4) throw new ProtocolError('bad-frame', 'a resize frame is 4 bytes: columns and rows, 16 bits each');
      return { type: 'resize', cols: view.getUint16(1), rows: view.getUint16(3) };
    }
    case ClientFrame.ack:
      if (payload.length !== 4) throw new ProtocolError('bad-frame', 'an ack frame is 4 bytes: a 32-bit byte count');
      return { type: 'ack', bytes: view.getUint32(1) };
    case ClientFrame.control: {
      const msg = parseControl(bytes);
      if (msg.type === 'take') return { type: 'take' };
      if (msg.type === 'hello') {
        const { cols, rows, resume, role } = msg;
        if (typeof cols !== 'number' || typeof rows !== 'number') throw new ProtocolError('bad-frame', 'hello needs numeric "cols" and "rows"');
        if (resume !== undefined && !(Number.isSafeInteger(resume) && (resume as number) >= 0)) {
          throw new ProtocolError('bad-frame', 'hello "resume" is a byte offset (a non-negative integer)');
        }
        if (role !== undefined && role !== 'writer' && role !== 'viewer') throw new ProtocolError('bad-frame', 'hello "role" is "writer" or "viewer"');
        return { type: 'hello', cols, rows, ...(resume !== undefined ? { resume: resume as number } : {}), ...(role ? { role } : {}) };
      }
      throw new ProtocolError('unknown-type', `unknown control message "${String(msg.type).slice(0, 40)}"`, false);
    }
    default:
      throw new ProtocolError('unknown-type', `unknown frame type 0x${type!.toString(16).padStart(2, '0')}`, false);
  }
}

// ---- server -> browser

/** An output frame whose payload the caller fills from byte 1 on (saves a copy of every batch). */
export function allocOutputFrame(payloadLength: number): Uint8Array {
  return frame(ServerFrame.output, payloadLength).bytes;
}

export function encodeServer(msg: ServerMessage): Uint8Array {
  switch (msg.type) {
    case 'output':
      return withPayload(ServerFrame.output, msg.data);
    case 'snapshot': {
      // offset as two 32-bit halves: offsets pass 4 GiB in a long session
      const { bytes, view } = frame(ServerFrame.snapshot, 12 + msg.data.length);
      view.setUint32(1, Math.floor(msg.offset / 2 ** 32));
      view.setUint32(5, msg.offset >>> 0);
      view.setUint16(9, msg.cols);
      view.setUint16(11, msg.rows);
      bytes.set(msg.data, 13);
      return bytes;
    }
    default:
      return encoder.encode(JSON.stringify(msg));
  }
}

export function decodeServer(bytes: Uint8Array): ServerMessage {
  if (bytes.length === 0) throw new ProtocolError('bad-frame', 'empty frame');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (bytes[0]) {
    case ServerFrame.output:
      return { type: 'output', data: bytes.subarray(1) };
    case ServerFrame.snapshot:
      if (bytes.length < 13) throw new ProtocolError('bad-frame', 'a snapshot frame has a 12-byte header');
      return {
        type: 'snapshot',
        offset: view.getUint32(1) * 2 ** 32 + view.getUint32(5),
        cols: view.getUint16(9),
        rows: view.getUint16(11),
        data: bytes.subarray(13),
      };
    case ServerFrame.control: {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(bytes));
      } catch {
        throw new ProtocolError('bad-frame', 'a control message must be JSON in UTF-8');
      }
      return value as ServerControl;
    }
    default:
      throw new ProtocolError('unknown-type', `unknown frame type 0x${bytes[0]!.toString(16)}`, false);
  }
}
