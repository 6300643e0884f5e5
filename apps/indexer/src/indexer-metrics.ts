import { AppMetrics } from '@searchsync/app-kit';

/** Prometheus metrics of the indexer, on their own registry (app-kit: with the process metrics). */
export class IndexerMetrics extends AppMetrics {
  readonly eventsConsumed = this.counter({
    name: 'searchsync_indexer_events_consumed_total',
    help: 'Change events read from Kafka, by table and operation',
    labelNames: ['table', 'op'],
  });

  readonly eventsApplied = this.counter({
    name: 'searchsync_indexer_events_applied_total',
    help: 'Change events written to the search engine, by table and operation',
    labelNames: ['table', 'op'],
  });

  readonly versionConflicts = this.counter({
    name: 'searchsync_indexer_version_conflicts_total',
    help: 'Writes skipped because the engine already held a newer version of the row',
    labelNames: ['table'],
  });

  readonly deadLettered = this.counter({
    name: 'searchsync_indexer_dead_lettered_total',
    help: 'Records sent to the dead-letter topic, by reason class (searchsync.reason.class) and table',
    labelNames: ['reason', 'table'],
  });

  readonly retries = this.counter({
    name: 'searchsync_indexer_bulk_retries_total',
    help: 'Bulk writes retried after a retryable engine failure',
  });

  readonly bulkLatency = this.histogram({
    name: 'searchsync_indexer_bulk_duration_seconds',
    help: 'Duration of bulk requests',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  readonly lastSourceTimestamp = this.gauge({
    name: 'searchsync_indexer_last_applied_source_timestamp_seconds',
    help: 'Source (PostgreSQL) time of the newest applied change, per table',
    labelNames: ['table'],
  });

  readonly vectorsNotIndexed = this.counter({
    name: 'searchsync_indexer_vectors_not_indexed_total',
    help: 'Values of vector columns that are no vector (wrong length, NULL or non-finite elements, zero length for cosine): the row is indexed, the value kept in _source, knn does not find it',
    labelNames: ['table', 'column', 'reason'],
  });

  readonly toastUnresolved = this.counter({
    name: 'searchsync_indexer_toast_unresolved_total',
    help: 'Unchanged TOAST columns that had no stored value to keep (the column was left out)',
    labelNames: ['table'],
  });

  readonly tablesWithoutKey = this.gauge({
    name: 'searchsync_indexer_table_without_primary_key',
    help: 'Tables whose changes cannot be indexed for want of a primary key (1 = affected); fix: add a key or set message.key.columns',
    labelNames: ['table'],
  });

  readonly consumerLag = this.gauge({
    name: 'searchsync_indexer_consumer_lag',
    help: 'Records in Kafka not yet applied by the indexer group, per table topic',
    labelNames: ['topic'],
  });

  readonly offsetResets = this.counter({
    name: 'searchsync_indexer_offset_resets_total',
    help: 'Partitions whose committed offset had been deleted by Kafka retention (changes lost: resync)',
    labelNames: ['topic'],
  });

  readonly subscribedTopics = this.gauge({
    name: 'searchsync_indexer_subscribed_topics',
    help: 'Table topics the consumer group is subscribed to',
  });

  readonly consumerRunning = this.gauge({
    name: 'searchsync_indexer_consumer_running',
    help: '1 while a Kafka consumer runs and has joined its group, 0 otherwise (nothing is indexed)',
  });

  readonly consumerRestarts = this.counter({
    name: 'searchsync_indexer_consumer_restarts_total',
    help: 'Kafka consumers re-created after a crash, a failed start or a lost group, by cause',
    labelNames: ['cause'],
  });

  readonly writesBlocked = this.gauge({
    name: 'searchsync_indexer_writes_blocked',
    help: '1 while writes to the search engine wait on an outage (credentials refused, an index or the cluster blocked, a closed index, the engine unreachable), 0 otherwise',
  });

  readonly viewRefreshSeconds = this.histogram({
    name: 'searchsync_indexer_view_refresh_duration_seconds',
    help: 'Re-indexing the view documents one batch of changes affected, per view',
    labelNames: ['view'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });

  readonly viewRefreshRoots = this.counter({
    name: 'searchsync_indexer_view_refresh_roots_total',
    help: 'View documents re-read from PostgreSQL because a change reached them (fan-out), per view',
    labelNames: ['view'],
  });

  readonly viewDocumentsWritten = this.counter({
    name: 'searchsync_indexer_view_documents_written_total',
    help: 'View documents written (initial build and refreshes), per view',
    labelNames: ['view'],
  });

  readonly viewDocumentsDeleted = this.counter({
    name: 'searchsync_indexer_view_documents_deleted_total',
    help: 'View documents deleted because their root row is gone, per view',
    labelNames: ['view'],
  });

  readonly viewDocumentsFailed = this.counter({
    name: 'searchsync_indexer_view_documents_failed_total',
    help: 'View documents that could not be built or written (dead-lettered), per view',
    labelNames: ['view'],
  });

  readonly viewBulkWrites = this.counter({
    name: 'searchsync_indexer_view_bulk_writes_total',
    help: 'Bulk requests written to view indices, per view',
    labelNames: ['view'],
  });

  readonly viewBuilding = this.gauge({
    name: 'searchsync_indexer_view_building',
    help: '1 while a view is being filled from every root row, 0 otherwise',
    labelNames: ['view'],
  });

  readonly viewBuildRows = this.gauge({
    name: 'searchsync_indexer_view_build_rows',
    help: 'Root rows read by the running (or last) build of a view',
    labelNames: ['view'],
  });

  readonly viewFailed = this.gauge({
    name: 'searchsync_indexer_view_failed',
    help: '1 while a view is set aside (it could not be planned, built or refreshed; see the log and /health), 0 otherwise',
    labelNames: ['view'],
  });

  constructor() {
    super({ prefix: 'searchsync_indexer_' });
  }
}
