import { Module } from '@nestjs/common';
import { indexerEnvSchema, loadConfig, type IndexerConfig } from '@searchsync/config';
import { createSearchEngine } from '@searchsync/search-engine';
import { IndexerMetrics } from './indexer-metrics';
import { INDEXER_CONFIG, IndexerService, SEARCH_ENGINE } from './indexer.service';
import { MetricsController } from './metrics.controller';

@Module({
  controllers: [MetricsController],
  providers: [
    { provide: INDEXER_CONFIG, useFactory: () => loadConfig(indexerEnvSchema) },
    { provide: IndexerMetrics, useValue: new IndexerMetrics() },
    {
      // OpenSearch or Elasticsearch, told apart by the server's own answer to GET /.
      provide: SEARCH_ENGINE,
      inject: [INDEXER_CONFIG],
      useFactory: (config: IndexerConfig) => createSearchEngine(config.SEARCH_URL),
    },
    IndexerService,
  ],
})
export class IndexerModule {}
