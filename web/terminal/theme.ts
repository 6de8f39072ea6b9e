// Terminal colours for light and dark pages; the page follows the system's choice.
import type { ITheme } from '@xterm/xterm';

export const DARK: ITheme = {
  background: '#16181d',
  foreground: '#d7dae0',
  cursor: '#f0c674',
  cursorAccent: '#16181d',
  selectionBackground: '#3e4451',
  black: '#1e2127',
  red: '#e06c75',
  green: '#98c379',
  yellow: '#d19a66',
  blue: '#61afef',
  magenta: '#c678dd',
  cyan: '#56b6c2',
  white: '#abb2bf',
  brightBlack: '#5c6370',
  brightRed: '#e88388',
  brightGreen: '#a7cc8c',
  brightYellow: '#ebca8d',
  brightBlue: '#72bef2',
  brightMagenta: '#d291e4',
  brightCyan: '#65c2cd',
  brightWhite: '#e6e6e6',
};

export const LIGHT: ITheme = {
  background: '#fafafa',
  foreground: '#383a42',
  cursor: '#526fff',
  cursorAccent: '#fafafa',
  selectionBackground: '#d5dbe8',
  black: '#383a42',
  red: '#c8272d',
  green: '#3b8a28',
  yellow: '#986801',
  blue: '#2f5bd3',
  magenta: '#a626a4',
  cyan: '#0e7c86',
  white: '#a0a1a7',
  brightBlack: '#696c77',
  brightRed: '#e45649',
  brightGreen: '#50a14f',
  brightYellow: '#c18401',
  brightBlue: '#4078f2',
  brightMagenta: '#b751b6',
  brightCyan: '#0997b3',
  brightWhite: '#ffffff',
};

const dark = () => typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;

/** The theme for the system's current choice, and a subscription to its changes. */
export function systemTheme(onChange?: (theme: ITheme) => void): { theme: ITheme; dispose(): void } {
  const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;
  const listener = () => onChange?.(dark() ? DARK : LIGHT);
  query?.addEventListener('change', listener);
  return { theme: dark() ? DARK : LIGHT, dispose: () => query?.removeEventListener('change', listener) };
}
