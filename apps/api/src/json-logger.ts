import type { LoggerService, LogLevel } from '@nestjs/common';
import { currentRequest } from './request-context';

const ORDER: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

/** One JSON object per line on stdout, with the request id when there is one. */
export class JsonLogger implements LoggerService {
  private readonly min: number;

  constructor(level: LogLevel = 'log') {
    this.min = ORDER.indexOf(level);
  }

  private write(level: LogLevel, message: unknown, context?: unknown, extra?: object): void {
    if (ORDER.indexOf(level) < this.min) return;
    const request = currentRequest();
    const line = {
      time: new Date().toISOString(),
      level,
      ...(typeof context === 'string' ? { context } : {}),
      ...(request ? { requestId: request.requestId } : {}),
      msg: typeof message === 'string' ? message : undefined,
      ...(typeof message === 'object' && message !== null ? message : {}),
      ...extra,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }

  log(message: unknown, context?: unknown): void {
    this.write('log', message, context);
  }
  error(message: unknown, stackOrContext?: unknown, context?: unknown): void {
    const hasStack = typeof context === 'string';
    this.write(
      'error',
      message,
      hasStack ? context : stackOrContext,
      hasStack && typeof stackOrContext === 'string' ? { stack: stackOrContext } : undefined,
    );
  }
  warn(message: unknown, context?: unknown): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: unknown): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: unknown): void {
    this.write('verbose', message, context);
  }
  fatal(message: unknown, context?: unknown): void {
    this.write('fatal', message, context);
  }
}
