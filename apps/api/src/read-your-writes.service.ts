import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { kafkaConnection, type ApiConfig } from '@searchsync/config';
import type { SearchEngine } from '@searchsync/search-engine';
import {
  ConsistencyGate,
  SourcePositionFollower,
  type ConsistencyReport,
} from '@searchsync/stream-position';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Pool } from 'pg';
import { API_CONFIG, SEARCH_ENGINE } from './api.tokens';
import type { ConsistencyRequest } from './consistency-query';
import type { CatalogTable } from './table-catalog.service';

/**
 * A transactional logical decoding message: Debezium streams it (topic `<prefix>.message`) after
 * every transaction that committed before it, and its offset carries its LSN. Any role may emit
 * one; it writes no table and takes no lock, so it never gets in the application's way.
 */
const BARRIER_SQL = "select pg_logical_emit_message(true, 'searchsync-barrier', '')";

/** `consistentWith=<LSN>`: answers only once every change of the table up to the LSN is searchable. */
@Injectable()
export class ReadYourWritesService implements OnApplicationShutdown {
  private readonly logger = new Logger(ReadYourWritesService.name);
  private readonly kafka: Kafka;
  private readonly follower: SourcePositionFollower;
  private readonly gate: ConsistencyGate;
  private admin: Promise<Admin> | null = null;
  private pool: Pool | null = null;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(SEARCH_ENGINE) engine: SearchEngine,
  ) {
    this.kafka = new Kafka({
      clientId: 'searchsync-api',
      ...kafkaConnection(config),
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    const log = (level: 'warn' | 'log', message: string) =>
      level === 'warn' ? this.logger.warn(message) : this.logger.log(message);
    this.follower = new SourcePositionFollower(this.kafka, {
      offsetTopic: config.CONNECT_OFFSET_TOPIC,
      server: config.SEARCHSYNC_TOPIC_PREFIX,
      groupIdPrefix: 'searchsync-api-positions',
      log,
    });
    this.gate = new ConsistencyGate({
      follower: this.follower,
      admin: () => this.kafkaAdmin(),
      groupId: config.INDEXER_GROUP_ID,
      barrier: config.API_CONSISTENCY_BARRIER ? () => this.writeBarrier() : null,
      refresh: (target) => engine.generations.refresh(target),
      log,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.follower.stop();
    const admin = this.admin;
    this.admin = null;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }

  /** Waits for the tables to be searchable up to the LSN; throws ConsistencyTimeoutError. */
  waitFor(tables: CatalogTable[], request: ConsistencyRequest): Promise<ConsistencyReport> {
    // Started by the first consistentWith read: an API that never gets one needs no Kafka.
    this.follower.start();
    const timeoutMs = Math.min(
      request.timeoutMs ?? this.config.API_CONSISTENCY_TIMEOUT_MS,
      this.config.API_CONSISTENCY_TIMEOUT_MS,
    );
    return this.gate.waitUntilSearchable(
      // A view's documents are written in the batch of its tables' changes, before the commit.
      tables.flatMap((t) =>
        t.sources.map((source) => ({
          topic: `${this.config.SEARCHSYNC_TOPIC_PREFIX}.${source.schema}.${source.table}`,
          refreshTarget: t.alias,
        })),
      ),
      request.lsn,
      timeoutMs,
    );
  }

  private kafkaAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(
        () => admin,
        (error: unknown) => {
          this.admin = null;
          throw error;
        },
      );
    }
    return this.admin;
  }

  private async writeBarrier(): Promise<void> {
    if (!this.pool) {
      this.pool = new Pool({
        connectionString: this.config.DATABASE_URL,
        max: 1,
        connectionTimeoutMillis: 3000,
        idleTimeoutMillis: 60_000,
        application_name: 'searchsync-api read-your-writes',
      });
      this.pool.on('error', (error) => this.logger.warn(`PostgreSQL pool: ${error.message}`));
    }
    await this.pool.query(BARRIER_SQL);
  }
}
