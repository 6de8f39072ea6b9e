// Structured logs (JSON lines on stdout), one logger per subsystem.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.BOXLAB_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'boxlab' }, timestamp: pino.stdTimeFunctions.isoTime });
}
