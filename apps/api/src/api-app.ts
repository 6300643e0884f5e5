import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { createLogRoot, isLoopbackHost, requestLogging, sendHttpError } from '@searchsync/app-kit';
import { searchConnection, SearchsyncConfigWatcher, type ApiConfig } from '@searchsync/config';
import { createSearchEngine, type SearchEngine } from '@searchsync/search-engine';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { ApiModule } from './api.module';
import { errorResponse } from './error.filter';
import { HttpMetrics } from './http-metrics';
import { JsonLogger } from './json-logger';

export function openApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('searchsync API')
      .setDescription(
        'Search the documents kept in step with your PostgreSQL tables. Errors are always `{ statusCode, error, message }`.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key' }, 'bearer')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'apiKey')
      .build(),
  );
}

export interface ApiAppOptions {
  /** Defaults to the JSON logger at LOG_LEVEL; tests may pass `false`: quiet, no access log. */
  logger?: JsonLogger | false;
  /** An engine to use instead of detecting one at SEARCH_URL. */
  engine?: SearchEngine;
  /**
   * The searchsync.yaml watcher to use instead of one over SEARCHSYNC_CONFIG of this process;
   * the app starts it when it starts and stops it when it closes.
   */
  tableConfig?: SearchsyncConfigWatcher;
}

/** Rejected changes as warnings (the files need fixing), everything else as information. */
function tableConfigWatcher(): SearchsyncConfigWatcher {
  const logger = new Logger('TableConfig');
  const watcher: SearchsyncConfigWatcher = new SearchsyncConfigWatcher({
    log: (line) => (watcher.lastError() === null ? logger.log(line) : logger.warn(line)),
  });
  return watcher;
}

/**
 * The API application, configured but not listening. An invalid searchsync.yaml fails here, before
 * the engine is contacted, with every problem's file:line:column (TableConfigInvalidError).
 */
export async function createApiApp(
  config: ApiConfig,
  options: ApiAppOptions = {},
): Promise<NestExpressApplication> {
  const logger = options.logger === undefined ? new JsonLogger(config.LOG_LEVEL) : options.logger;
  const tableConfig = options.tableConfig ?? tableConfigWatcher();
  const engine =
    options.engine ??
    (await createSearchEngine(searchConnection(config), {
      requestTimeoutMs: config.API_REQUEST_TIMEOUT_MS,
    }));
  const metrics = new HttpMetrics();
  const app = await NestFactory.create<NestExpressApplication>(
    ApiModule.forRoot(config, engine, metrics, tableConfig),
    { bodyParser: false, logger: logger === false ? false : logger },
  );
  app.set('trust proxy', false);
  app.disable('x-powered-by');
  // First: every request, also one the body parser refuses, has its id and its access line.
  app.use(
    requestLogging(logger === false ? createLogRoot({ app: 'api', level: 'silent' }) : logger.root),
  );
  app.use(metrics.httpMiddleware());
  app.use(
    helmet({
      // Swagger UI needs its inline styles and images; everything else keeps helmet's defaults.
      contentSecurityPolicy: {
        directives: {
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          'script-src': ["'self'"],
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );
  app.useBodyParser('json', { limit: config.API_BODY_LIMIT_BYTES, strict: true });
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, openApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'searchsync API',
  });
  return app;
}

/** Body-parser and other middleware errors, in the same shape as everything else. */
export function middlewareErrorHandler(
  error: unknown,
  _req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (res.headersSent) return next(error);
  sendHttpError(res, errorResponse(error), new Logger('Http'));
}

/**
 * Listens with the request timeouts; without API keys only on loopback, whatever API_HOST says.
 */
export async function listenApi(
  app: NestExpressApplication,
  config: ApiConfig,
  port = config.API_PORT,
): Promise<{ host: string; port: number }> {
  const logger = new Logger('Bootstrap');
  let host = config.API_HOST;
  if (config.API_KEYS.length === 0) {
    if (!isLoopbackHost(host)) {
      logger.warn(
        `API_KEYS is empty: serving on 127.0.0.1 only instead of ${host}; set API_KEYS to serve other hosts`,
      );
      host = '127.0.0.1';
    } else {
      logger.warn(`API_KEYS is empty: no authentication, serving on loopback (${host}) only`);
    }
  } else {
    logger.log(`API keys required (${config.API_KEYS.map((k) => k.name).join(', ')})`);
  }
  app.use(middlewareErrorHandler);
  await app.listen(port, host);
  const server = app.getHttpServer();
  server.requestTimeout = config.API_REQUEST_TIMEOUT_MS + 5_000;
  server.headersTimeout = Math.min(60_000, server.requestTimeout);
  server.keepAliveTimeout = 65_000;
  const address = server.address();
  const bound =
    address && typeof address === 'object'
      ? { host: address.address, port: address.port }
      : { host, port };
  logger.log(
    `API on http://${bound.host}:${bound.port} — Swagger UI at /docs, OpenAPI at /docs-json`,
  );
  return bound;
}
