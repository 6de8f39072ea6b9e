// Raw terminal output as plain text lines: escape sequences dropped, carriage
// returns and backspaces applied, good enough to show what a shell printed.

export function terminalText(raw: string): string {
  const text = raw
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '') // CSI: colours, cursor, modes
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '') // OSC: window titles
    .replace(/\x1b[()][0-9A-Za-z]|\x1b[=>78M]/g, '')
    .replace(/\r\n/g, '\n');
  return text
    .split('\n')
    .map((line) => {
      // a bare \r returns to the start of the line: what follows overwrites it
      const parts = line.split('\r');
      let out = '';
      for (const part of parts) out = part + out.slice(part.length);
      while (/[^\x08]\x08/.test(out)) out = out.replace(/[^\x08]\x08/, '');
      return out.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
    })
    .join('\n');
}
