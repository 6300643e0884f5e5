import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  kafkaConnection,
  type IndexerConfig,
  type SearchsyncConfigWatcher,
} from '@searchsync/config';
import { ChangeApplier, type WriteStatus } from '@searchsync/indexing';
import type { SearchEngine } from '@searchsync/search-engine';
import { Pool } from 'pg';
import { ChangeConsumer, type ConsumerStatus } from './change-consumer';
import { DeadLetterPublisher } from './dead-letter-publisher';
import { FaultInjection } from './fault-injection';
import { IndexerMetrics } from './indexer-metrics';
import { ViewSync, type ViewStatus } from './view-sync';

export const INDEXER_CONFIG = Symbol('INDEXER_CONFIG');
export const SEARCH_ENGINE = Symbol('SEARCH_ENGINE');
export const TABLE_CONFIG = Symbol('TABLE_CONFIG');

/** Wires Kafka, the applier and the engine together for the life of the process. */
@Injectable()
export class IndexerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IndexerService.name);
  private readonly consumer: ChangeConsumer;
  /** Created with the first batch (it needs the consumer's producer). */
  private applier: ChangeApplier | null = null;
  /** Document views: created with the consumer's producer too (their dead letters). */
  private views: ViewSync | null = null;
  private readonly viewSync: () => ViewSync;
  readonly faults: FaultInjection;

  constructor(
    @Inject(INDEXER_CONFIG) config: IndexerConfig,
    readonly metrics: IndexerMetrics,
    @Inject(SEARCH_ENGINE) private readonly engine: SearchEngine,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
  ) {
    this.faults = new FaultInjection(config.INDEXER_FAULT_INJECTION);
    if (this.faults.enabled) {
      this.logger.warn(
        'INDEXER_FAULT_INJECTION=true: POST /faults/consumer-crash is open (tests only)',
      );
    }
    const deadLetters = () =>
      new DeadLetterPublisher(this.consumer.producer, config.INDEXER_DEAD_LETTER_TOPIC, metrics);
    const views = (this.viewSync = () =>
      (this.views ??= new ViewSync(
        this.engine,
        // Only views use PostgreSQL, and connect when one is configured.
        new Pool({ connectionString: config.DATABASE_URL, max: 4 }),
        deadLetters(),
        metrics,
        { indexPrefix: config.SEARCHSYNC_INDEX_PREFIX, config: () => this.tableConfig.current() },
      )));
    this.consumer = new ChangeConsumer(
      {
        connection: kafkaConnection(config),
        groupId: config.INDEXER_GROUP_ID,
        topicPrefix: config.SEARCHSYNC_TOPIC_PREFIX,
        schemas: config.SEARCHSYNC_SCHEMAS,
        includeTables: config.INDEXER_INCLUDE_TABLES,
        topicRefreshMs: config.INDEXER_TOPIC_REFRESH_MS,
        batchesInFlight: config.INDEXER_BATCHES_IN_FLIGHT,
        fetchMaxBytesPerPartition: config.INDEXER_FETCH_MAX_BYTES,
      },
      () =>
        (this.applier ??= new ChangeApplier(this.engine, deadLetters(), metrics, {
          indexPrefix: config.SEARCHSYNC_INDEX_PREFIX,
          maxActions: config.INDEXER_BULK_MAX_ACTIONS,
          maxBytes: config.INDEXER_BULK_MAX_BYTES,
          bulkConcurrency: config.INDEXER_BULK_CONCURRENCY,
          config: () => this.tableConfig.current(),
          keepEvents: () => views().configured(),
        })),
      metrics,
      this.faults,
      (applied) => views().afterBatch(applied.events),
    );
  }

  consumerStatus(): ConsumerStatus {
    return this.consumer.status();
  }

  viewStatus(): ViewStatus[] {
    return this.views?.status() ?? [];
  }

  /** Whether writes to the engine wait on an outage; not blocked before the first batch. */
  writeStatus(): WriteStatus {
    return this.applier?.writeStatus() ?? { blocked: false };
  }

  async onApplicationBootstrap(): Promise<void> {
    const info = await this.engine.info();
    this.logger.log(`search engine: ${info.distribution} ${info.version}`);
    this.tableConfig.start();
    await this.consumer.start();
    // Views are planned and built beside the consumer, never holding its start up.
    void this.viewSync().start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.tableConfig.stop();
    await this.consumer.stop();
    await this.views?.stop();
    await this.engine.close();
  }
}
