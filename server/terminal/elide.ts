// Flood elision for terminal mirrors. A mirror that has fallen behind a flood
// (`yes`, `cat` of a big file) need not parse every line of it: lines followed
// by enough further lines can only have scrolled out of the screen and the
// scrollback, so skipping them leaves exactly the same buffer. This keeps a
// mirror's cost per flood bounded, where parsing it all would cost a core.
//
// The rule is exact only for plain text. The part skipped holds printable
// characters, tabs and CR LF line ends, nothing that changes the terminal's
// state (no escape sequences, no other C0 or C1 controls); it starts and ends
// right after a CR LF; and at least `keepLines` line feeds of plain text
// follow it (an escape sequence among them could narrow the scroll region,
// and the lines it scrolls would no longer push the screen out). The
// terminal must also be, where the skipped part starts, in the parser's ground
// state at column 0 with a full-screen scroll region: only it can tell that,
// so it is asked (atPlainGround) once it has parsed what comes before.
//
// Why 2 × rows + scrollback line feeds are enough: from wherever the cursor
// is, at most rows − 1 of them bring it to the bottom; every later one scrolls
// a fresh line in. At least rows + scrollback + 1 scrolls push every line that
// was there before out of the buffer, so the buffer holds only lines written
// after the skipped part, the same ones whether it was skipped or not.

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

export interface Elision {
  /** The first byte skipped (right after a CR LF). */
  start: number;
  /** The first byte kept after the skipped part (right after a CR LF). */
  end: number;
}

/** Line feeds that must follow a skipped part for a terminal of `rows` rows and `scrollback` lines. */
export const linesToKeep = (rows: number, scrollback: number): number => 2 * rows + scrollback;

/** The part of `data` a terminal may skip, or undefined when there is none. */
export function findElision(data: Uint8Array, keepLines: number): Elision | undefined {
  // the end: the last CR LF with at least keepLines line feeds of plain text after it
  let end = -1;
  let after = 0;
  for (let i = data.length - 1; i >= 1; i--) {
    if (!plainAt(data, i)) after = 0;
    if (data[i] !== LF) continue;
    if (after >= keepLines && data[i - 1] === CR) {
      end = i + 1;
      break;
    }
    after++;
  }
  if (end < 0) return undefined;
  // the start: after the first CR LF that follows the last byte that is not plain text
  let lastOdd = -1;
  for (let i = 0; i < end; i++) if (!plainAt(data, i)) lastOdd = i;
  let start = -1;
  for (let i = Math.max(lastOdd + 1, 1); i < end; i++) {
    if (data[i] === LF && data[i - 1] === CR) {
      start = i + 1;
      break;
    }
  }
  return start > 0 && start < end ? { start, end } : undefined;
}

/** Printable ASCII, tab, CR, LF, or a byte of a UTF-8 sequence that is not a C1 control (U+0080–U+009F, encoded C2 80–C2 9F). */
function plainAt(data: Uint8Array, i: number): boolean {
  const b = data[i]!;
  if (b >= 0x20 && b <= 0x7e) return true;
  if (b === TAB || b === LF || b === CR) return true;
  if (b < 0x80) return false;
  if (b === 0xc2) return i + 1 >= data.length || data[i + 1]! < 0x80 || data[i + 1]! > 0x9f;
  if (b <= 0x9f) return i === 0 || data[i - 1] !== 0xc2;
  return true;
}

/** The parts of xterm.js's core that tell whether skipping is safe here (not public API: missing parts mean "no"). */
interface CoreShape {
  _core?: {
    _bufferService?: { buffer?: { x?: unknown; scrollTop?: unknown; scrollBottom?: unknown } };
    _inputHandler?: { _parser?: { currentState?: unknown } };
  };
}

/** Whether `term` is in the ground state at column 0 with a full-screen scroll region. */
export function atPlainGround(term: { rows: number }): boolean {
  const core = (term as CoreShape)._core;
  const buffer = core?._bufferService?.buffer;
  const parser = core?._inputHandler?._parser;
  if (!buffer || !parser) return false;
  return parser.currentState === 0 && buffer.x === 0 && buffer.scrollTop === 0 && buffer.scrollBottom === term.rows - 1;
}
