import { connectEngine, type SearchEngineOptions } from './create-search-engine';
import { SearchEngineAdapter } from './engine-adapter';
import { resolveConnection, type SearchEngineConnection } from './engine-transport';

/**
 * The adapter on OpenSearch without asking the server what it is (as `SEARCH_ENGINE=opensearch`);
 * its version and plugins are read on the first call.
 */
export class OpenSearchEngine extends SearchEngineAdapter {
  constructor(target: string | SearchEngineConnection, options: SearchEngineOptions = {}) {
    const connection = {
      ...resolveConnection(target),
      engine: 'opensearch' as const,
    };
    super(() => connectEngine(connection, options));
  }
}
