// Starts boxlab: the sandbox engine, then the web server; ends both cleanly on SIGTERM.
import http from 'node:http';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { createLogger } from './log.js';
import { startSandboxEngine, type EngineHooks } from './sandbox/index.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, hooks: EngineHooks = {}): Promise<RunningServer> {
  const log = createLogger(config.logLevel);
  const sandboxes = await startSandboxEngine(config, {
    ...hooks,
    onEnded: (id, reason) => {
      log.info({ sandbox: id, reason }, 'sandbox ended');
      hooks.onEnded?.(id, reason);
    },
  });
  log.info({ driver: config.driver, instance: config.instance }, 'sandbox engine ready');
  const app = createApp({ sandboxes });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url }, 'boxlab is listening');
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
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
