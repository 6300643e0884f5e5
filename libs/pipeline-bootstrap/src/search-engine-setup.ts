import { SearchSettingsError } from './bootstrap.errors';
import { DEPENDENCY_RETRY, retrying, type RetrySchedule } from './bootstrap-retry';
import type { SearchEngineKind } from './bootstrap-settings';

/**
 * fetch() refuses a URL with credentials in it: `user:password@` becomes a basic
 * Authorization header instead (the form SEARCH_URL may take, as for the apps). Pure.
 */
export function searchRequestTarget(
  searchUrl: string,
  path: string,
): { url: string; headers: Record<string, string> } {
  const url = new URL(searchUrl);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
  };
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url: `${url.toString().replace(/\/$/, '')}${path}`, headers };
}

/** OpenSearch says so in `GET /` (`version.distribution`); Elasticsearch has no such field. */
export function isOpenSearch(info: unknown): boolean {
  const version = (info as { version?: { distribution?: unknown } } | null)?.version;
  return version?.distribution === 'opensearch';
}

/** The cluster setting that makes new indices replica-free (OpenSearch only). */
export const SINGLE_NODE_SETTINGS = {
  persistent: { 'cluster.default_number_of_replicas': 0 },
} as const;

async function call(searchUrl: string, method: string, path: string, body?: unknown) {
  const target = searchRequestTarget(searchUrl, path);
  const response = await fetch(target.url, {
    method,
    headers: target.headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  }).catch((error: unknown) => {
    throw new SearchSettingsError(
      `${method} ${path}: ${error instanceof Error ? error.message : String(error)}`,
      true,
      { cause: error },
    );
  });
  const text = await response.text();
  if (!response.ok) {
    // 5xx and 429: the node is still starting or busy; the rest will not change by waiting.
    const retryable = response.status >= 500 || response.status === 429;
    throw new SearchSettingsError(
      `${method} ${path} -> ${response.status} ${text.slice(0, 300)}`,
      retryable,
    );
  }
  return text ? (JSON.parse(text) as unknown) : undefined;
}

const retryable = (error: Error) =>
  error instanceof SearchSettingsError ? error.retryable : false;

/**
 * A single node can hold no replicas: on OpenSearch, new indices default to none so that the
 * cluster stays green. Elasticsearch has no such setting (our table indices ask for 0 replicas
 * themselves); `auto` asks the engine which it is.
 */
export async function configureSingleNodeSearch(
  search: { url: string; engine: SearchEngineKind },
  say: (line: string) => void,
  schedule: RetrySchedule = DEPENDENCY_RETRY,
): Promise<void> {
  let engine = search.engine;
  if (engine === 'auto') {
    const info = await retrying('search engine', schedule, retryable, say, () =>
      call(search.url, 'GET', '/'),
    );
    engine = isOpenSearch(info) ? 'opensearch' : 'elasticsearch';
  }
  if (engine === 'elasticsearch') {
    say('search engine: Elasticsearch has no default replica count to set; skipped');
    return;
  }
  await retrying('search engine', schedule, retryable, say, () =>
    call(search.url, 'PUT', '/_cluster/settings', SINGLE_NODE_SETTINGS),
  );
  say('search engine: new indices get 0 replicas (single node)');
}
