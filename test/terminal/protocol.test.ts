// The wire codec, both directions, and what it refuses.
import { describe, expect, it } from 'vitest';
import {
  clampSize,
  decodeClient,
  decodeServer,
  encodeClient,
  encodeServer,
  MAX_INPUT_BYTES,
  ProtocolError,
  sizeError,
  type ClientMessage,
  type ServerMessage,
} from '../../server/terminal/protocol.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (s: string) => new TextEncoder().encode(s);

function refusal(frame: Uint8Array): ProtocolError {
  try {
    decodeClient(frame);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('the frame was accepted');
}

describe('client frames', () => {
  it('round-trips every message', () => {
    const messages: ClientMessage[] = [
      { type: 'input', data: text('ls -l\r') },
      { type: 'input', data: bytes(0xe2, 0x94) }, // half a UTF-8 character: bytes are bytes
      { type: 'resize', cols: 500, rows: 200 },
      { type: 'ack', bytes: 4_000_000_000 },
      { type: 'hello', cols: 80, rows: 24 },
      { type: 'hello', cols: 120, rows: 40, resume: 2 ** 40, role: 'viewer' },
      { type: 'take' },
    ];
    for (const msg of messages) expect(decodeClient(encodeClient(msg))).toEqual(msg);
  });

  it('carries input as raw bytes after a one-byte type', () => {
    expect(encodeClient({ type: 'input', data: text('hi') })).toEqual(bytes(0x00, 0x68, 0x69));
    expect(encodeClient({ type: 'resize', cols: 0x0102, rows: 0x0304 })).toEqual(bytes(0x01, 1, 2, 3, 4));
    expect(encodeClient({ type: 'ack', bytes: 65536 })).toEqual(bytes(0x02, 0, 1, 0, 0));
    expect(new TextDecoder().decode(encodeClient({ type: 'take' }))).toBe('{"type":"take"}');
  });

  it('refuses malformed frames as fatal', () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [bytes(), /empty frame/],
      [bytes(0x00), /at least one byte/],
      [new Uint8Array(MAX_INPUT_BYTES + 2), /at most 65536 bytes/],
      [bytes(0x01, 0, 80), /resize frame is 4 bytes/],
      [bytes(0x01, 0, 80, 0, 24, 0), /resize frame is 4 bytes/],
      [bytes(0x02, 1, 2), /ack frame is 4 bytes/],
      [text('{"type":'), /JSON object/],
      [text('{"type":"hello","cols":"80","rows":24}'), /numeric "cols" and "rows"/],
      [text('{"type":"hello","cols":80,"rows":24,"resume":-1}'), /non-negative integer/],
      [text('{"type":"hello","cols":80,"rows":24,"resume":1.5}'), /non-negative integer/],
      [text('{"type":"hello","cols":80,"rows":24,"role":"admin"}'), /"writer" or "viewer"/],
      [text('{"kind":"hello"}'), /with a "type"/],
      [text(`{"type":"hello","pad":"${'x'.repeat(2000)}"}`), /at most 1024 bytes/],
      [bytes(0x7b, 0xff, 0xfe), /JSON object in UTF-8/],
    ];
    for (const [frame, message] of cases) {
      const err = refusal(frame);
      expect(err.message).toMatch(message);
      expect(err.fatal).toBe(true);
      expect(err.code).toBe('bad-frame');
    }
  });

  it('reports unknown types without ending the connection', () => {
    for (const frame of [bytes(0x09, 1, 2), bytes(0xff), text('{"type":"dance"}')]) {
      const err = refusal(frame);
      expect(err).toMatchObject({ code: 'unknown-type', fatal: false });
    }
    expect(refusal(bytes(0x42)).message).toBe('unknown frame type 0x42');
  });
});

describe('server frames', () => {
  it('round-trips every message', () => {
    const messages: ServerMessage[] = [
      { type: 'output', data: bytes(0x1b, 0x5b, 0x48, 0xe2, 0x94, 0x80) },
      { type: 'snapshot', offset: 2 ** 45 + 7, cols: 132, rows: 50, data: text('\x1b[1mbold\x1b[0m ─') },
      { type: 'attached', terminal: 'term-1', sandbox: 'sbx-1', role: 'writer', cols: 80, rows: 24, restore: 'snapshot', offset: 0 },
      { type: 'resize', cols: 100, rows: 30 },
      { type: 'role', role: 'viewer' },
      { type: 'exit', code: 130, signal: 2 },
      { type: 'error', code: 'bad-size', message: 'no' },
    ];
    for (const msg of messages) expect(decodeServer(encodeServer(msg))).toEqual(msg);
  });

  it('puts output bytes on the wire untouched', () => {
    const raw = bytes(0xe2, 0x94); // an incomplete character stays incomplete
    expect(encodeServer({ type: 'output', data: raw })).toEqual(bytes(0x00, 0xe2, 0x94));
  });
});

describe('sizes', () => {
  it('accepts 2..500 columns and 1..200 rows', () => {
    expect(sizeError(80, 24)).toBeUndefined();
    expect(sizeError(2, 1)).toBeUndefined();
    expect(sizeError(500, 200)).toBeUndefined();
    for (const [cols, rows] of [[0, 24], [100_000, 24], [80, 0], [80, 201], [80.5, 24], [Number.NaN, 24]] as const) {
      expect(sizeError(cols, rows)).toMatch(/2 to 500 columns and 1 to 200 rows/);
    }
  });

  it('clamps what a fit addon measures', () => {
    expect(clampSize(1000, 0)).toEqual({ cols: 500, rows: 1 });
    expect(clampSize(Number.NaN, 30.7)).toEqual({ cols: 2, rows: 30 });
  });
});
