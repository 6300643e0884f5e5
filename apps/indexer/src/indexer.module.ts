import { Module } from '@nestjs/common';
import { appConfigProvider } from '@searchsync/app-kit';
import {
  indexerEnvSchema,
  searchConnection,
  SearchsyncConfigWatcher,
  type IndexerConfig,
} from '@searchsync/config';
import { createSearchEngine } from '@searchsync/search-engine';
import { IndexerMetrics } from './indexer-metrics';
import { INDEXER_CONFIG, IndexerService, SEARCH_ENGINE, TABLE_CONFIG } from './indexer.service';
import { MetricsController } from './metrics.controller';

@Module({
  controllers: [MetricsController],
  providers: [
    // The object main.ts validated: the environment is read once.
    appConfigProvider(INDEXER_CONFIG, indexerEnvSchema),
    { provide: IndexerMetrics, useValue: new IndexerMetrics() },
    {
      // searchsync.yaml: a bad file stops the start-up with its line-precise errors.
      provide: TABLE_CONFIG,
      useFactory: () => new SearchsyncConfigWatcher(),
    },
    {
      // OpenSearch or Elasticsearch: SEARCH_ENGINE, else told apart by the server's answers.
      provide: SEARCH_ENGINE,
      inject: [INDEXER_CONFIG],
      useFactory: (config: IndexerConfig) => createSearchEngine(searchConnection(config)),
    },
    IndexerService,
  ],
})
export class IndexerModule {}
