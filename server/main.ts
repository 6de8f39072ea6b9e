// Starts boxlab: the sandbox engine, the terminals, then the web server; ends
// them all cleanly on SIGTERM.
import http from 'node:http';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { Identity, loadIdentityKey } from './http/identity.js';
import { Ownership } from './http/ownership.js';
import { terminalSockets } from './http/terminal-socket.js';
import { createLogger } from './log.js';
import { startSandboxEngine, type EngineHooks, type SandboxManager } from './sandbox/index.js';
import { TerminalRegistry } from './terminal/registry.js';

export interface RunningServer {
  url: string;
  /** The subsystems, for tests and for what later wires onto them. */
  sandboxes: SandboxManager;
  terminals: TerminalRegistry;
  ownership: Ownership;
  close(): Promise<void>;
}

export async function startServer(config: Config, hooks: EngineHooks = {}): Promise<RunningServer> {
  const log = createLogger(config.logLevel);
  const ownership = new Ownership();
  let terminals: TerminalRegistry | undefined;
  const sandboxes = await startSandboxEngine(config, {
    ...hooks,
    onEnded: (id, reason) => {
      log.info({ sandbox: id, reason }, 'sandbox ended');
      void terminals?.endSandbox(id);
      ownership.release(id);
      hooks.onEnded?.(id, reason);
    },
  });
  log.info({ driver: config.driver, instance: config.instance }, 'sandbox engine ready');
  terminals = new TerminalRegistry(sandboxes, { graceMs: config.terminalGraceMs, log });
  const identity = new Identity(await loadIdentityKey(config.dataDir));
  const app = createApp({ sandboxes, terminals, identity, ownership, listenHost: config.host, log });
  const sockets = terminalSockets({ terminals, identity, ownership, listenHost: config.host, log });
  const server = http.createServer(app);
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url }, 'boxlab is listening');
  const registry = terminals;
  return {
    url,
    sandboxes,
    terminals: registry,
    ownership,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await sockets.close();
      await closed;
      await registry.close();
      await sandboxes.close();
      log.info('boxlab stopped');
    },
  };
}

/** Runs until SIGTERM or SIGINT, then ends every sandbox before exiting. */
export async function runServer(config: Config, hooks: EngineHooks = {}): Promise<void> {
  const running = await startServer(config, hooks);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`boxlab: ${signal}: ending sandboxes`);
    await running.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
