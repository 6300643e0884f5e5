import { connectEngine, type SearchEngineOptions } from './create-search-engine';
import { SearchEngineAdapter } from './engine-adapter';
import { resolveConnection, type SearchEngineConnection } from './engine-transport';

/**
 * The adapter on Elasticsearch 8.x/9.x without asking the server what it is (as
 * `SEARCH_ENGINE=elasticsearch`); its version is read on the first call.
 */
export class ElasticsearchEngine extends SearchEngineAdapter {
  constructor(target: string | SearchEngineConnection, options: SearchEngineOptions = {}) {
    const connection = {
      ...resolveConnection(target),
      engine: 'elasticsearch' as const,
    };
    super(() => connectEngine(connection, options));
  }
}
