// The terminal, for pages that show one: the boxlab page, and the lesson player
// that puts it beside the lesson text.
export { api, ApiError, socketUrl, type SandboxInfo, type TerminalInfo } from './api.js';
export { TerminalLink, type LinkScreen, type LinkStatus, type SocketLike, type TerminalLinkOptions } from './link.js';
export { TerminalPanel, type TerminalPanelOptions } from './panel.js';
export { DARK, LIGHT, systemTheme } from './theme.js';
export { TerminalView, type Renderer, type TerminalViewOptions } from './view.js';
