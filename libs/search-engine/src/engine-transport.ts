import { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws';
import type { EngineDialect } from './engine-dialect';
import type { JsonObject } from './search-engine';
import {
  engineResponseError,
  redactUrl,
  SearchEngineClientError,
  SearchEngineError,
  SearchEngineRequestError,
  SearchEngineTimeoutError,
  SearchEngineUnavailableError,
} from './search-engine.errors';

/** AWS credentials as the SDK's providers give them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** How requests to the engine authenticate. */
export type SearchEngineAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  /** Elasticsearch API key: the base64 `id:api_key` it issues as `encoded` (or `id:api_key`). */
  | { type: 'api-key'; apiKey: string }
  /**
   * Amazon OpenSearch Service (`es`) or Serverless (`aoss`): every request SigV4-signed with
   * credentials from `credentials`, by default the AWS SDK's Node.js provider chain (env, web
   * identity/IRSA, ECS task role, SSO/ini profiles, EC2 instance metadata).
   */
  | {
      type: 'aws-sigv4';
      region: string;
      service: 'es' | 'aoss';
      credentials?: () => Promise<AwsCredentials>;
    };

/** Where the engine is and how to reach it; built from the environment by @searchsync/config. */
export interface SearchEngineConnection {
  /** Base URL. A `user:password@` in it is basic auth (when `auth` says nothing else). */
  url?: string;
  /** Elastic Cloud deployment id (Elasticsearch only), instead of `url`. */
  cloudId?: string;
  /** `auto`: told apart by the server's answer to `GET /` (see detectDistribution). */
  engine?: 'auto' | 'opensearch' | 'elasticsearch';
  auth?: SearchEngineAuth;
  /** PEM certificate(s) of the CA that signed the engine's TLS certificate. */
  ca?: string | Buffer;
}

/** A connection with the URL's credentials moved to `auth`, and every default applied. */
export interface ResolvedConnection {
  url?: string;
  cloudId?: string;
  engine: 'auto' | 'opensearch' | 'elasticsearch';
  auth: SearchEngineAuth;
  ca?: string | Buffer;
  /** The URL (or cloud id) as it may be shown in logs and errors. */
  display: string;
}

export function resolveConnection(target: string | SearchEngineConnection): ResolvedConnection {
  const connection = typeof target === 'string' ? { url: target } : target;
  let auth: SearchEngineAuth = connection.auth ?? { type: 'none' };
  let url = connection.url;
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SearchEngineClientError(`search engine URL is not a URL: ${redactUrl(url)}`);
    }
    if (parsed.username || parsed.password) {
      // The clients would send them too, but in one place only: `auth`.
      if (auth.type === 'none') {
        auth = {
          type: 'basic',
          username: decodeURIComponent(parsed.username),
          password: decodeURIComponent(parsed.password),
        };
      }
      parsed.username = '';
      parsed.password = '';
      url = parsed.toString().replace(/\/$/, '');
    }
  }
  if (!url && !connection.cloudId)
    throw new SearchEngineClientError('search engine connection needs a url or a cloud id');
  return {
    ...(url ? { url } : {}),
    ...(connection.cloudId ? { cloudId: connection.cloudId } : {}),
    engine: connection.engine ?? 'auto',
    auth,
    ...(connection.ca !== undefined ? { ca: connection.ca } : {}),
    display: url ? redactUrl(url) : `Elastic Cloud deployment ${connection.cloudId?.split(':')[0]}`,
  };
}

/** The `Authorization` header value of basic or API-key auth, for requests made by hand. */
export function authorizationHeader(auth: SearchEngineAuth): string | undefined {
  switch (auth.type) {
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    case 'api-key':
      return `ApiKey ${encodedApiKey(auth.apiKey)}`;
    case 'none':
    case 'aws-sigv4':
      return undefined;
  }
}

/** Elasticsearch wants the base64 of `id:api_key`; both forms are accepted here. */
export function encodedApiKey(apiKey: string): string {
  return apiKey.includes(':') ? Buffer.from(apiKey).toString('base64') : apiKey;
}

export interface EngineRequestParams {
  body?: JsonObject;
  /** NDJSON, sent as is. */
  bulkBody?: string;
  querystring?: Record<string, unknown>;
}

/**
 * One HTTP call to the engine, with errors already SearchEngineErrors. Both clients' transports
 * do this; everything above it is written once.
 */
export interface EngineHttp {
  request<T>(method: string, path: string, params?: EngineRequestParams): Promise<T>;
  close(): Promise<void>;
}

export interface EngineHttpOptions {
  /** Per-request timeout of engine calls; a call that exceeds it fails as a timeout. */
  requestTimeoutMs?: number;
}

/**
 * A client failure as a SearchEngineError. Both clients name their error classes alike (the
 * OpenSearch client is a fork of the Elasticsearch one), so one classification serves both.
 */
export function toEngineError(error: unknown): SearchEngineError {
  if (error instanceof SearchEngineError) return error;
  const failure = error as {
    name?: string;
    message?: string;
    statusCode?: number;
    body?: unknown;
    meta?: { statusCode?: number };
  };
  const message = failure?.message ?? String(error);
  // The client's error stays the cause: the logs show its stack (redacted), answers never do.
  const cause = { cause: error };
  switch (failure?.name ?? '') {
    case 'ResponseError':
      return engineResponseError(
        failure.statusCode ?? failure.meta?.statusCode ?? 500,
        failure.body,
        message,
        cause,
      );
    case 'TimeoutError':
      return new SearchEngineTimeoutError(
        `search engine did not answer in time: ${message}`,
        cause,
      );
    case 'ConnectionError':
    case 'NoLivingConnectionsError':
      return new SearchEngineUnavailableError(
        `search engine unreachable: ${message}`,
        undefined,
        undefined,
        cause,
      );
    case 'ProductNotSupportedError':
      return new SearchEngineRequestError(
        `the server is not Elasticsearch (${message}); set SEARCH_ENGINE=opensearch or auto`,
        undefined,
        'product_not_supported',
        cause,
      );
    case 'CredentialsProviderError':
    case 'AwsSigv4SignerError':
      // No credentials from the chain (yet): an IRSA token or the instance metadata may come.
      return new SearchEngineUnavailableError(
        `no AWS credentials to sign search engine requests: ${message}`,
        undefined,
        'credentials_unavailable',
        cause,
      );
    default:
      return new SearchEngineClientError(`search engine call failed: ${message}`, cause);
  }
}

/** The AWS SDK's default credential chain, loaded on first use (memoized by the SDK). */
export function defaultAwsCredentials(): () => Promise<AwsCredentials> {
  let provider: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-providers').then((sdk) => sdk.fromNodeProviderChain());
    return (await provider)();
  };
}

interface RawTransport {
  request(
    params: {
      method: string;
      path: string;
      body?: unknown;
      bulkBody?: unknown;
      querystring?: unknown;
    },
    options: { headers?: Record<string, string>; meta?: true },
  ): Promise<{ body?: unknown }>;
}

function transportHttp(
  transport: RawTransport,
  close: () => Promise<void>,
  headers: EngineDialect['headers'],
): EngineHttp {
  return {
    async request<T>(method: string, path: string, params: EngineRequestParams = {}) {
      const kind = params.bulkBody !== undefined ? headers.ndjson : headers.json;
      // Only `accept` matters without a body.
      const sent =
        params.body === undefined && params.bulkBody === undefined
          ? Object.fromEntries(Object.entries(kind).filter(([name]) => name !== 'content-type'))
          : kind;
      try {
        const response = await transport.request(
          {
            method,
            path,
            ...(params.body !== undefined ? { body: params.body } : {}),
            ...(params.bulkBody !== undefined ? { bulkBody: params.bulkBody } : {}),
            querystring: params.querystring ?? {},
          },
          // `meta`: the Elasticsearch transport then answers { body, statusCode, headers } like
          // the OpenSearch one always does.
          { headers: sent, meta: true },
        );
        return response.body as T;
      } catch (error) {
        throw toEngineError(error);
      }
    },
    close,
  };
}

/** The OpenSearch client's transport: basic auth, TLS CA, or SigV4 for Amazon OpenSearch. */
export function openSearchHttp(
  connection: ResolvedConnection,
  options: EngineHttpOptions,
  headers: EngineDialect['headers'],
): EngineHttp {
  if (!connection.url)
    throw new SearchEngineClientError('an Elastic Cloud id cannot reach OpenSearch');
  const { auth } = connection;
  if (auth.type === 'api-key')
    throw new SearchEngineClientError('OpenSearch has no API keys: use basic auth or SigV4');
  const signer =
    auth.type === 'aws-sigv4'
      ? AwsSigv4Signer({
          region: auth.region,
          service: auth.service,
          getCredentials: auth.credentials ?? defaultAwsCredentials(),
        })
      : undefined;
  const client = new OpenSearchClient({
    node: connection.url,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    maxRetries: 0,
    ...(signer ? { Connection: signer.Connection, Transport: signer.Transport } : {}),
    ...(auth.type === 'basic'
      ? { auth: { username: auth.username, password: auth.password } }
      : {}),
    ...(connection.ca !== undefined ? { ssl: { ca: connection.ca } } : {}),
  });
  return transportHttp(client.transport, () => client.close(), headers);
}

/** The Elasticsearch client's transport: API key, basic auth, Elastic Cloud id, TLS CA. */
export function elasticsearchHttp(
  connection: ResolvedConnection,
  options: EngineHttpOptions,
  headers: EngineDialect['headers'],
): EngineHttp {
  const { auth } = connection;
  if (auth.type === 'aws-sigv4')
    throw new SearchEngineClientError('SigV4 signing is for Amazon OpenSearch only');
  const client = new ElasticsearchClient({
    ...(connection.cloudId ? { cloud: { id: connection.cloudId } } : { node: connection.url }),
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    maxRetries: 0,
    ...(auth.type === 'basic'
      ? { auth: { username: auth.username, password: auth.password } }
      : {}),
    ...(auth.type === 'api-key' ? { auth: { apiKey: encodedApiKey(auth.apiKey) } } : {}),
    ...(connection.ca !== undefined ? { tls: { ca: connection.ca } } : {}),
  });
  return transportHttp(client.transport, () => client.close(), headers);
}
