import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** Prometheus metrics of the admin: the pipeline figures of `GET /v1/pipeline`, and the healer. */
@Injectable()
export class AdminMetrics {
  readonly registry = new Registry();

  readonly pipelineStatus = new Gauge({
    name: 'searchsync_pipeline_status',
    help: 'Overall pipeline status: 1 for the current one of ok, degraded, failing',
    labelNames: ['status'],
    registers: [this.registry],
  });

  readonly connectorRunning = new Gauge({
    name: 'searchsync_connector_running',
    help: 'Connector (task="connector") or task is RUNNING (1) or not (0), with its state',
    labelNames: ['connector', 'task', 'state'],
    registers: [this.registry],
  });

  readonly slotActive = new Gauge({
    name: 'searchsync_replication_slot_active',
    help: 'Replication slot has a consumer attached',
    labelNames: ['slot'],
    registers: [this.registry],
  });

  readonly slotLagBytes = new Gauge({
    name: 'searchsync_replication_slot_lag_bytes',
    help: 'WAL between the current position and the slot confirmed_flush_lsn',
    labelNames: ['slot'],
    registers: [this.registry],
  });

  readonly slotRetainedBytes = new Gauge({
    name: 'searchsync_replication_slot_retained_wal_bytes',
    help: 'WAL retained for the slot (current position minus restart_lsn)',
    labelNames: ['slot'],
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'searchsync_indexer_consumer_lag',
    help: 'Kafka records not yet committed by the indexer group, per table',
    labelNames: ['table'],
    registers: [this.registry],
  });

  readonly tableRows = new Gauge({
    name: 'searchsync_table_rows',
    help: 'Rows in the PostgreSQL table',
    labelNames: ['table'],
    registers: [this.registry],
  });

  readonly tableDocuments = new Gauge({
    name: 'searchsync_table_documents',
    help: 'Documents in the table index',
    labelNames: ['table'],
    registers: [this.registry],
  });

  readonly freshnessSeconds = new Gauge({
    name: 'searchsync_freshness_seconds',
    help: 'Age of the newest change applied by the indexer, per table',
    labelNames: ['table'],
    registers: [this.registry],
  });

  readonly deadLetters = new Gauge({
    name: 'searchsync_dead_letter_records',
    help: 'Unresolved records in the dead-letter topic (neither replayed nor discarded)',
    registers: [this.registry],
  });

  readonly deadLettersUnresolved = new Gauge({
    name: 'searchsync_dead_letters_unresolved',
    help: 'Unresolved dead letters per table and reason class',
    labelNames: ['table', 'reason_class'],
    registers: [this.registry],
  });

  readonly indexerConsuming = new Gauge({
    name: 'searchsync_indexer_consuming',
    help: 'The indexer reports a running Kafka consumer: 1 yes, 0 no (or metrics unreachable), -1 unknown',
    registers: [this.registry],
  });

  readonly healRestarts = new Counter({
    name: 'searchsync_heal_restarts_total',
    help: 'Restarts requested by the healer',
    labelNames: ['connector'],
    registers: [this.registry],
  });

  readonly healEvents = new Counter({
    name: 'searchsync_heal_events_total',
    help: 'Healer events by kind',
    labelNames: ['connector', 'kind'],
    registers: [this.registry],
  });

  readonly healGaveUp = new Gauge({
    name: 'searchsync_heal_gave_up',
    help: 'The healer gave up on this connector (1) — a human is needed',
    labelNames: ['connector'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'searchsync_admin_' });
  }
}
