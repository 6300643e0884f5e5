import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { Logger, PinoLogger } from 'nestjs-pino';
import pino, { type DestinationStream, type LevelWithSilent } from 'pino';
import { pinoHttp } from 'pino-http';
import { principalOf } from './request-principal';
import { routeOf } from './http-route';
import { redactedErrorSerializer, redactSecrets, redactValue } from './log-redaction';

/** `LOG_LEVEL` values (Nest's names), plus `fatal` and `silent`. */
export type AppLogLevel = 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' | 'silent';

const PINO_LEVELS: Record<AppLogLevel, LevelWithSilent> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
  silent: 'silent',
};

export interface LogRootOptions {
  /** Named in every line (`"app":"api"`), so lines of several apps can be told apart. */
  app: string;
  level: AppLogLevel;
  /** Where lines go; stdout by default (synchronous for files and pipes, so none is lost at exit). */
  stream?: DestinationStream;
}

/** A message argument redacted; an error or an object with an `err` gives the message pino would. */
function redactArguments(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (first instanceof Error) {
    return [
      { err: first },
      ...(rest.length > 0 ? rest.map(redactValue) : [redactSecrets(first.message)]),
    ];
  }
  if (typeof first === 'object' && first !== null) {
    const { err, ...fields } = first as { err?: unknown; msg?: unknown };
    const copy = { ...(redactValue(fields) as object), ...(err === undefined ? {} : { err }) };
    const message =
      rest.length === 0 && fields.msg === undefined && err instanceof Error
        ? [redactSecrets(err.message)]
        : rest.map(redactValue);
    return [copy, ...message];
  }
  return args.map(redactValue);
}

/**
 * The pino logger of one app: JSON lines with an ISO time, the level by name and the app, every
 * string and error redacted before it is written (`redactSecrets`, secret keys).
 */
export function createLogRoot(options: LogRootOptions): pino.Logger {
  return pino(
    {
      level: PINO_LEVELS[options.level],
      base: { app: options.app },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: redactedErrorSerializer },
      hooks: {
        logMethod(args, method) {
          method.apply(this, redactArguments(args) as Parameters<typeof method>);
        },
      },
    },
    options.stream ?? process.stdout,
  );
}

/** The request logger (`req.log`, bound to its request id) of the request being served. */
const requestLogs = new AsyncLocalStorage<pino.Logger>();

/** nestjs-pino's logger, writing through the request's logger in a request and the app's root outside. */
class RequestScopedPinoLogger extends PinoLogger {
  constructor(private readonly fallback: pino.Logger) {
    super({ pinoHttp: { logger: fallback } });
  }

  override get logger(): pino.Logger {
    // nestjs-pino keeps one out-of-request logger per process; several apps in one process
    // (the e2e tests) each keep their own here.
    return requestLogs.getStore() ?? this.fallback;
  }
}

/**
 * The Nest logger of an app (`NestFactory.create(module, { logger })`): nestjs-pino's Logger over
 * the app's pino root. Lines written while a request is served carry its `requestId`.
 */
export class AppLogger extends Logger {
  readonly root: pino.Logger;

  constructor(options: LogRootOptions) {
    const root = createLogRoot(options);
    super(new RequestScopedPinoLogger(root), {});
    this.root = root;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Probes and scrapes: logged at debug, not at every scrape. */
const PROBES = new Set(['/health', '/metrics']);

function accessFields(req: Request, res: ServerResponse, durationMs: number): object {
  const principal = principalOf(req);
  return {
    method: req.method,
    route: routeOf(req),
    status: res.statusCode,
    durationMs,
    ...(principal ? { key: principal.name } : {}),
    ...(res.writableEnded ? {} : { aborted: true }),
  };
}

/**
 * The first middleware of every app (`app.use` before anything else): gives each request an id
 * (the caller's `X-Request-Id` when well-formed, else a UUID; echoed back), binds a logger with it
 * for every line written while the request is served, and writes one access line when it ends —
 * also for requests the body parser refuses (why it is not nestjs-pino's LoggerModule, whose
 * middleware Nest runs after body parsing). Only the matched route is logged, never the URL: its
 * query holds what users search for.
 */
export function requestLogging(root: pino.Logger): RequestHandler {
  const http = pinoHttp<IncomingMessage, ServerResponse>({
    logger: root,
    wrapSerializers: false,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customAttributeKeys: { reqId: 'requestId' },
    quietReqLogger: true,
    quietResLogger: true,
    customLogLevel: (req, res) =>
      PROBES.has((req as Request).path) ? 'debug' : res.statusCode >= 500 ? 'warn' : 'info',
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request',
    customSuccessObject: (req, res, value: { responseTime: number }) =>
      accessFields(req as Request, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) =>
      accessFields(req as Request, res, value.responseTime),
  });
  return (req, res, next) => {
    http(req, res, () => requestLogs.run(req.log, next));
  };
}
