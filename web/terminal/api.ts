// The boxlab JSON API, as the page calls it (same origin, the learner cookie).

export interface TerminalInfo {
  id: string;
  sandboxId: string;
  cols: number;
  rows: number;
  viewers: number;
  /** Path of the terminal's WebSocket. */
  socket: string;
}

export interface SandboxInfo {
  id: string;
  hostname: string;
  createdAt: number;
  terminals: TerminalInfo[];
}

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
  sandboxes: () => request<{ sandboxes: SandboxInfo[] }>('GET', '/api/sandboxes').then((r) => r.sandboxes),
  createSandbox: () => request<SandboxInfo>('POST', '/api/sandboxes'),
  deleteSandbox: (id: string) => request<void>('DELETE', `/api/sandboxes/${encodeURIComponent(id)}`),
  createTerminal: (sandboxId: string, size: { cols: number; rows: number }) =>
    request<TerminalInfo>('POST', `/api/sandboxes/${encodeURIComponent(sandboxId)}/terminals`, size),
  terminal: (id: string) => request<TerminalInfo>('GET', `/api/terminals/${encodeURIComponent(id)}`),
  endTerminal: (id: string) => request<void>('DELETE', `/api/terminals/${encodeURIComponent(id)}`),
};

/** The WebSocket URL for a path on this page's server. */
export function socketUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}
