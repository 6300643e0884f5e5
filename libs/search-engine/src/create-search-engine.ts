import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SearchEngineAdapter, type ResolvedEngine } from './engine-adapter';
import {
  elasticsearchDialect,
  openSearchDialect,
  type EngineDialect,
  type EngineDistribution,
} from './engine-dialect';
import {
  authorizationHeader,
  elasticsearchHttp,
  openSearchHttp,
  resolveConnection,
  type EngineHttp,
  type EngineHttpOptions,
  type ResolvedConnection,
  type SearchEngineConnection,
} from './engine-transport';
import type { SearchEngine } from './search-engine';
import {
  SearchEngineError,
  SearchEngineRequestError,
  SearchEngineTimeoutError,
  SearchEngineUnavailableError,
} from './search-engine.errors';

export type { EngineDistribution } from './engine-dialect';

export interface SearchEngineOptions extends EngineHttpOptions {
  /** How long telling the engine apart (`GET /`) may take. */
  detectTimeoutMs?: number;
}

/** What the server answered to `GET /`: its status, product header and body. */
export interface RootAnswer {
  status: number;
  /** The `X-elastic-product` header: Elasticsearch 7.14+ sends it on every answer. */
  product?: string;
  body: unknown;
}

/**
 * Which server answered `GET /`. Elasticsearch names itself in the `X-elastic-product` header of
 * every answer, errors included — a node without the `rest-root` module answers `GET /` with
 * 405, still with the header; OpenSearch names itself in `version.distribution`. Undefined when
 * the answer says neither (a proxy, an authentication failure without the header).
 */
export function detectDistribution(answer: RootAnswer): EngineDistribution | undefined {
  if (answer.product?.toLowerCase() === 'elasticsearch') return 'elasticsearch';
  const version = (answer.body as { version?: { distribution?: unknown; number?: unknown } } | null)
    ?.version;
  if (answer.status >= 200 && answer.status < 300 && version) {
    if (version.distribution === 'opensearch') return 'opensearch';
    // Elasticsearch before 7.14 (no header): the closest dialect.
    if (typeof version.number === 'string') return 'elasticsearch';
  }
  return undefined;
}

function rootVersion(body: unknown): string | undefined {
  const version = (body as { version?: { number?: unknown } } | null)?.version?.number;
  return typeof version === 'string' ? version : undefined;
}

/** `GET /` by hand (before a client is chosen), with the connection's TLS CA and credentials. */
export function probeRoot(connection: ResolvedConnection, timeoutMs: number): Promise<RootAnswer> {
  // The root of the engine, below any path prefix of a proxy (as the clients resolve paths).
  const url = new URL(connection.url ?? '');
  url.pathname = url.pathname.replace(/\/?$/, '/');
  const authorization = authorizationHeader(connection.auth);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<RootAnswer>((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) },
        timeout: timeoutMs,
        ...(connection.ca !== undefined ? { ca: connection.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          const product = header(res.headers, 'x-elastic-product');
          resolve({ status: res.statusCode ?? 0, ...(product ? { product } : {}), body });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new SearchEngineTimeoutError(`search engine at ${connection.display} did not answer GET /`),
      ),
    );
    req.on('error', (error) =>
      reject(
        error instanceof SearchEngineError
          ? error
          : new SearchEngineUnavailableError(
              `search engine at ${connection.display} unreachable: ${error.message}`,
            ),
      ),
    );
    req.end();
  });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The server's version through the chosen client: `GET /`, else `GET /_nodes/_local` (a node
 * without `rest-root` answers `GET /` with 405). Undefined when neither answers it; an engine
 * that cannot be reached fails, so the connection is tried again later.
 */
async function serverVersion(http: EngineHttp): Promise<string | undefined> {
  try {
    return rootVersion(await http.request('GET', '/'));
  } catch (error) {
    if (!(error instanceof SearchEngineError) || error.retryable) throw error;
  }
  try {
    const nodes = await http.request<{ nodes?: Record<string, { version?: string }> }>(
      'GET',
      '/_nodes/_local',
      { querystring: { filter_path: 'nodes.*.version' } },
    );
    return Object.values(nodes.nodes ?? {})[0]?.version;
  } catch (error) {
    if (!(error instanceof SearchEngineError) || error.retryable) throw error;
    return undefined;
  }
}

/** Whether the OpenSearch k-NN plugin is installed (vector fields need `index.knn`). */
async function hasKnnPlugin(http: EngineHttp): Promise<boolean> {
  try {
    const plugins = await http.request<{ component?: string }[]>('GET', '/_cat/plugins', {
      querystring: { format: 'json', h: 'component' },
    });
    return Array.isArray(plugins) && plugins.some((p) => p.component === 'opensearch-knn');
  } catch (error) {
    if (!(error instanceof SearchEngineError) || error.retryable) throw error;
    return false;
  }
}

/**
 * The distribution without asking the server, when the connection decides it: an explicit
 * SEARCH_ENGINE, an Elastic Cloud id (Elasticsearch), SigV4 (Amazon OpenSearch; Serverless has
 * no `GET /` at all).
 */
function impliedDistribution(connection: ResolvedConnection): EngineDistribution | undefined {
  if (connection.engine !== 'auto') return connection.engine;
  if (connection.cloudId) return 'elasticsearch';
  if (connection.auth.type === 'aws-sigv4') return 'opensearch';
  return undefined;
}

/** Tells the engine apart and builds the client and dialect for it. */
export async function connectEngine(
  connection: ResolvedConnection,
  options: SearchEngineOptions = {},
): Promise<ResolvedEngine> {
  let distribution = impliedDistribution(connection);
  let version: string | undefined;
  if (!distribution) {
    const answer = await probeRoot(connection, options.detectTimeoutMs ?? 10_000);
    distribution = detectDistribution(answer);
    if (!distribution) {
      const hint =
        answer.status === 401 || answer.status === 403
          ? ' (credentials refused: check SEARCH_AUTH and its variables)'
          : '';
      throw new SearchEngineRequestError(
        `cannot tell whether ${connection.display} is OpenSearch or Elasticsearch: GET / answered ${answer.status} without an X-elastic-product header${hint}; set SEARCH_ENGINE=opensearch or SEARCH_ENGINE=elasticsearch`,
        answer.status,
        'engine_undetected',
      );
    }
    version = rootVersion(answer.body);
  }
  return distribution === 'opensearch'
    ? connectOpenSearch(connection, options, version)
    : connectElasticsearch(connection, options, version);
}

async function connectOpenSearch(
  connection: ResolvedConnection,
  options: SearchEngineOptions,
  version: string | undefined,
): Promise<ResolvedEngine> {
  const serverless = connection.auth.type === 'aws-sigv4' && connection.auth.service === 'aoss';
  const http = openSearchHttp(connection, options, openSearchDialect().headers);
  try {
    const dialect: EngineDialect = serverless
      ? openSearchDialect({ version: 'serverless', serverless, knn: false })
      : await (async () => {
          const knn = await hasKnnPlugin(http);
          return openSearchDialect({
            version: version ?? (await serverVersion(http)),
            knn,
            vectors: knn,
          });
        })();
    return { http, dialect };
  } catch (error) {
    await http.close().catch(() => undefined);
    throw error;
  }
}

async function connectElasticsearch(
  connection: ResolvedConnection,
  options: SearchEngineOptions,
  version: string | undefined,
): Promise<ResolvedEngine> {
  const http = elasticsearchHttp(connection, options, elasticsearchDialect().headers);
  try {
    return {
      http,
      dialect: elasticsearchDialect({ version: version ?? (await serverVersion(http)) }),
    };
  } catch (error) {
    await http.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The engine at `target`, told apart now (fails fast when it cannot be reached or told apart):
 * for apps that need the engine to start.
 */
export async function createSearchEngine(
  target: string | SearchEngineConnection,
  options: SearchEngineOptions = {},
): Promise<SearchEngine> {
  const engine = createLazySearchEngine(target, options);
  await engine.connect();
  return engine;
}

/**
 * The engine at `target`, told apart on its first call (and again after a failed attempt): for
 * apps that start while the engine is down. Same detection as createSearchEngine.
 */
export function createLazySearchEngine(
  target: string | SearchEngineConnection,
  options: SearchEngineOptions = {},
): SearchEngineAdapter {
  const connection = resolveConnection(target);
  return new SearchEngineAdapter(() => connectEngine(connection, options));
}
