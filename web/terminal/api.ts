// The boxlab JSON API, as the page calls it (same origin, the learner cookie).
import type { SandboxJson, TerminalJson } from '../../server/contracts/lessons.js';

export type { SandboxJson as SandboxInfo, TerminalJson as TerminalInfo } from '../../server/contracts/lessons.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A JSON call to the server; a refusal throws an ApiError with the server's own words. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) {
    const detail = (await res.json().catch(() => undefined)) as { error?: string } | undefined;
    throw new ApiError(res.status, detail?.error ?? `${method} ${path}: ${res.status} ${res.statusText}`);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const api = {
  sandboxes: () => request<{ sandboxes: SandboxJson[] }>('GET', '/api/sandboxes').then((r) => r.sandboxes),
  createSandbox: () => request<SandboxJson>('POST', '/api/sandboxes'),
  deleteSandbox: (id: string) => request<void>('DELETE', `/api/sandboxes/${encodeURIComponent(id)}`),
  createTerminal: (sandboxId: string, size: { cols: number; rows: number }) =>
    request<TerminalJson>('POST', `/api/sandboxes/${encodeURIComponent(sandboxId)}/terminals`, size),
  terminal: (id: string) => request<TerminalJson>('GET', `/api/terminals/${encodeURIComponent(id)}`),
  endTerminal: (id: string) => request<void>('DELETE', `/api/terminals/${encodeURIComponent(id)}`),
};

/** The WebSocket URL for a path on this page's server. */
export function socketUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}
