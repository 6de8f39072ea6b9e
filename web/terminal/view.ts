// One terminal on the page: xterm.js in an element (fit and web-links addons,
// the WebGL renderer where the browser has it, the DOM renderer otherwise or
// after the GPU gives up), connected to its server-side session by a
// TerminalLink. The writer's window size becomes the terminal's size; a
// watcher's terminal takes the size the writer chose.
import { FitAddon } from '@xterm/addon-fit';
import { WebglAddon } from '@xterm/addon-webgl';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import type { Role } from '../../server/terminal/protocol.js';
import { socketUrl } from './api.js';
import { TerminalLink, type LinkStatus, type SocketLike } from './link.js';
import { systemTheme } from './theme.js';

export interface TerminalViewOptions {
  /** The terminal's WebSocket path (/ws/terminals/ID). */
  socket: string;
  /** Asked before reconnecting: does the terminal still exist? */
  stillThere?: () => Promise<boolean>;
  role?: Role;
  fontSize?: number;
}

export type Renderer = 'webgl' | 'dom';

export class TerminalView {
  readonly term: Terminal;
  readonly link: TerminalLink;
  renderer: Renderer = 'dom';
  private readonly fit = new FitAddon();
  private readonly observer: ResizeObserver;
  private readonly theme: { dispose(): void };
  private frame = 0;

  constructor(readonly element: HTMLElement, options: TerminalViewOptions) {
    const theme = systemTheme((t) => (this.term.options.theme = t));
    this.theme = theme;
    this.term = new Terminal({
      fontFamily: 'ui-monospace, "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: options.fontSize ?? 14,
      cursorBlink: true,
      scrollback: 1000,
      theme: theme.theme,
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new WebLinksAddon((_event, uri) => window.open(uri, '_blank', 'noopener,noreferrer')));
    this.term.open(element);
    this.useWebgl();
    this.fitNow();

    this.link = new TerminalLink({
      url: socketUrl(options.socket),
      screen: this.term,
      connect: (url) => new WebSocket(url) as unknown as SocketLike,
      ...(options.role ? { role: options.role } : {}),
      ...(options.stillThere ? { stillThere: options.stillThere } : {}),
    });
    this.term.onData((data) => this.link.input(data));
    // mouse reports in the old X10 encoding arrive as "binary" strings: one char per byte
    this.term.onBinary((data) => this.link.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    this.link.onRole((role) => {
      if (role === 'writer') this.fitNow();
    });
    this.link.onStatus((status) => {
      if (status === 'live' && this.link.role === 'writer') this.fitNow();
    });
    this.observer = new ResizeObserver(() => {
      cancelAnimationFrame(this.frame);
      this.frame = requestAnimationFrame(() => this.fitNow());
    });
    this.observer.observe(element);
  }

  get status(): LinkStatus {
    return this.link.status;
  }

  focus(): void {
    this.term.focus();
  }

  /** Fits the terminal to its element, if this view decides the size (it is the writer). */
  fitNow(): void {
    if (!this.element.isConnected || this.element.offsetParent === null) return; // hidden tab: nothing to measure
    if (this.link && this.link.role !== 'writer' && this.link.status === 'live') return;
    const size = this.fit.proposeDimensions();
    if (!size || !Number.isFinite(size.cols) || !Number.isFinite(size.rows)) return;
    const cols = Math.max(2, Math.min(500, size.cols));
    const rows = Math.max(1, Math.min(200, size.rows));
    if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
    this.link?.resize(cols, rows);
  }

  /** The visible text, one line per row (for tests and for copying). */
  screenText(): string {
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < this.term.rows; i++) lines.push(buffer.getLine(buffer.viewportY + i)?.translateToString(true) ?? '');
    return lines.join('\n');
  }

  dispose(): void {
    this.observer.disconnect();
    cancelAnimationFrame(this.frame);
    this.theme.dispose();
    this.link.close();
    this.term.dispose();
  }

  private useWebgl(): void {
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        // the GPU process went away: the DOM renderer takes over
        webgl.dispose();
        this.renderer = 'dom';
      });
      this.term.loadAddon(webgl);
      this.renderer = 'webgl';
    } catch {
      this.renderer = 'dom';
    }
  }
}
