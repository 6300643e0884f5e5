import { Injectable } from '@nestjs/common';
import { AppMetrics } from '@searchsync/app-kit';

/**
 * Prometheus metrics of the admin: the pipeline figures of `GET /v1/pipeline`, the healer, and
 * request latency (`searchsync_admin_request_duration_seconds`).
 */
@Injectable()
export class AdminMetrics extends AppMetrics {
  readonly pipelineStatus = this.gauge({
    name: 'searchsync_pipeline_status',
    help: 'Overall pipeline status: 1 for the current one of ok, degraded, failing',
    labelNames: ['status'],
  });

  readonly connectorRunning = this.gauge({
    name: 'searchsync_connector_running',
    help: 'Connector (task="connector") or task is RUNNING (1) or not (0), with its state',
    labelNames: ['connector', 'task', 'state'],
  });

  readonly slotActive = this.gauge({
    name: 'searchsync_replication_slot_active',
    help: 'Replication slot has a consumer attached',
    labelNames: ['slot'],
  });

  readonly slotLagBytes = this.gauge({
    name: 'searchsync_replication_slot_lag_bytes',
    help: 'WAL between the current position and the slot confirmed_flush_lsn',
    labelNames: ['slot'],
  });

  readonly slotRetainedBytes = this.gauge({
    name: 'searchsync_replication_slot_retained_wal_bytes',
    help: 'WAL retained for the slot (current position minus restart_lsn)',
    labelNames: ['slot'],
  });

  readonly consumerLag = this.gauge({
    name: 'searchsync_indexer_consumer_lag',
    help: 'Kafka records not yet committed by the indexer group, per table',
    labelNames: ['table'],
  });

  readonly tableRows = this.gauge({
    name: 'searchsync_table_rows',
    help: 'Rows in the PostgreSQL table',
    labelNames: ['table'],
  });

  readonly tableDocuments = this.gauge({
    name: 'searchsync_table_documents',
    help: 'Documents in the table index',
    labelNames: ['table'],
  });

  readonly freshnessSeconds = this.gauge({
    name: 'searchsync_freshness_seconds',
    help: 'Age of the newest change applied by the indexer, per table',
    labelNames: ['table'],
  });

  readonly deadLetters = this.gauge({
    name: 'searchsync_dead_letter_records',
    help: 'Unresolved records in the dead-letter topic (neither replayed nor discarded)',
  });

  readonly deadLettersUnresolved = this.gauge({
    name: 'searchsync_dead_letters_unresolved',
    help: 'Unresolved dead letters per table and reason class',
    labelNames: ['table', 'reason_class'],
  });

  readonly indexerConsuming = this.gauge({
    name: 'searchsync_indexer_consuming',
    help: 'The indexer reports a running Kafka consumer: 1 yes, 0 no (or metrics unreachable), -1 unknown',
  });

  readonly healRestarts = this.counter({
    name: 'searchsync_heal_restarts_total',
    help: 'Restarts requested by the healer',
    labelNames: ['connector'],
  });

  readonly healEvents = this.counter({
    name: 'searchsync_heal_events_total',
    help: 'Healer events by kind',
    labelNames: ['connector', 'kind'],
  });

  readonly healGaveUp = this.gauge({
    name: 'searchsync_heal_gave_up',
    help: 'The healer gave up on this connector (1) — a human is needed',
    labelNames: ['connector'],
  });

  constructor() {
    super({
      prefix: 'searchsync_admin_',
      httpRequestDuration: 'searchsync_admin_request_duration_seconds',
    });
  }
}
