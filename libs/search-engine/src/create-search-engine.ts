import { ElasticsearchEngine } from './elasticsearch-engine';
import type { SearchEngineOptions } from './engine-common';
import { OpenSearchEngine } from './opensearch-engine';
import type { SearchEngine } from './search-engine';
import { SearchEngineTimeoutError, SearchEngineUnavailableError } from './search-engine.errors';

export type EngineDistribution = 'opensearch' | 'elasticsearch';

/** Which server answers `GET /`: OpenSearch names itself in `version.distribution`. */
export function detectDistribution(rootBody: unknown): EngineDistribution {
  const version = (rootBody as { version?: { distribution?: unknown } } | null)?.version;
  return version?.distribution === 'opensearch' ? 'opensearch' : 'elasticsearch';
}

/** Asks the server at `url` what it is (GET /) and returns the matching adapter. */
export async function createSearchEngine(
  url: string,
  options: SearchEngineOptions & { detectTimeoutMs?: number } = {},
): Promise<SearchEngine> {
  let body: unknown;
  try {
    const root = new URL('/', url);
    const headers: Record<string, string> = {};
    if (root.username) {
      // fetch refuses credentials in the URL; the clients accept them, so move them to a header.
      const user = decodeURIComponent(root.username);
      const password = decodeURIComponent(root.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      root.username = '';
      root.password = '';
    }
    const response = await fetch(root, {
      headers,
      signal: AbortSignal.timeout(options.detectTimeoutMs ?? 10_000),
    });
    body = await response.json();
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') {
      throw new SearchEngineTimeoutError(`search engine at ${url} did not answer GET /`);
    }
    throw new SearchEngineUnavailableError(
      `search engine at ${url} unreachable: ${(error as Error).message}`,
    );
  }
  return detectDistribution(body) === 'opensearch'
    ? new OpenSearchEngine(url, options)
    : new ElasticsearchEngine(url, options);
}
