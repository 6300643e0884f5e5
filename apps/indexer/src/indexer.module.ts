import { Module } from '@nestjs/common';
import { indexerEnvSchema, loadConfig } from '@searchsync/config';
import { IndexerMetrics } from './indexer-metrics';
import { INDEXER_CONFIG, IndexerService } from './indexer.service';
import { MetricsController } from './metrics.controller';

@Module({
  controllers: [MetricsController],
  providers: [
    { provide: INDEXER_CONFIG, useFactory: () => loadConfig(indexerEnvSchema) },
    { provide: IndexerMetrics, useValue: new IndexerMetrics() },
    IndexerService,
  ],
})
export class IndexerModule {}
