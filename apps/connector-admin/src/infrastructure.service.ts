import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { kafkaConnection, searchConnection } from '@searchsync/config';
import { createLazySearchEngine, type SearchEngine } from '@searchsync/search-engine';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Pool } from 'pg';
import { ADMIN_CONFIG, type AdminConfig } from './admin-config';
import { DependencyUnavailableError } from './admin.errors';

/** Shared clients of PostgreSQL, Kafka and the search engine, created lazily, closed once. */
@Injectable()
export class Infrastructure implements OnModuleDestroy {
  private readonly logger = new Logger(Infrastructure.name);
  readonly pool: Pool;
  readonly engine: SearchEngine;
  readonly kafka: Kafka;
  private admin: Promise<Admin> | null = null;

  constructor(@Inject(ADMIN_CONFIG) config: AdminConfig) {
    this.pool = new Pool({
      connectionString: config.DATABASE_URL,
      max: 6,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    });
    // A dropped connection (e.g. PostgreSQL restarting) must not crash the admin.
    this.pool.on('error', (error) => this.logger.warn(`PostgreSQL pool: ${error.message}`));
    this.engine = createLazySearchEngine(searchConnection(config));
    this.kafka = new Kafka({
      clientId: 'searchsync-admin',
      // Brokers, TLS and SASL (Amazon MSK IAM, SCRAM, PLAIN) as every app connects.
      ...kafkaConnection(config),
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
  }

  /** A connected kafkajs admin; reconnects after a failure. */
  async kafkaAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(
        () => admin,
        (error: Error) => {
          this.admin = null;
          throw new DependencyUnavailableError('Kafka', error.message, error);
        },
      );
    }
    return this.admin;
  }

  resetKafkaAdmin(): void {
    const stale = this.admin;
    this.admin = null;
    void stale?.then((admin) => admin.disconnect()).catch(() => undefined);
  }

  async onModuleDestroy(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.engine.close().catch(() => undefined);
  }
}
