import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v.length > 0),
    );

/**
 * Variables every app reads. Each one is documented here once; the README's table is kept by
 * hand, and tools/deploy-check/env-docs.spec.ts fails when one of these has no row there.
 */
export const sharedEnvSchema = z.object({
  /** PostgreSQL that is being synced. */
  DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:55432/app'),
  /** Kafka bootstrap servers, comma-separated. */
  KAFKA_BROKERS: list('127.0.0.1:9092'),
  /**
   * How clients authenticate to Kafka: `none` (plaintext, local stack), `aws-msk-iam` (Amazon
   * MSK with IAM, over TLS), `scram-sha-512` or `plain` (with KAFKA_SASL_USERNAME/PASSWORD).
   */
  KAFKA_SASL_MECHANISM: z.enum(['none', 'aws-msk-iam', 'scram-sha-512', 'plain']).default('none'),
  /** TLS to the brokers; implied by aws-msk-iam. */
  KAFKA_SSL: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** AWS region for MSK IAM tokens (falls back to the SDK's own resolution). */
  AWS_REGION: z.string().optional(),
  /** Elasticsearch or OpenSearch base URL. */
  SEARCH_URL: z.url().default('http://127.0.0.1:9200'),
  /**
   * Which engine SEARCH_URL is: `auto` tells them apart by the server's answer (the
   * `X-elastic-product` header, `version.distribution`); `opensearch` or `elasticsearch` skips
   * the question (a node without `GET /`, a proxy in front).
   */
  SEARCH_ENGINE: z.enum(['auto', 'opensearch', 'elasticsearch']).default('auto'),
  /**
   * How requests to the engine authenticate: `none`, `basic` (SEARCH_USERNAME/PASSWORD, or
   * `user:password@` in SEARCH_URL), `api-key` (SEARCH_API_KEY, Elasticsearch), `aws-sigv4`
   * (Amazon OpenSearch Service/Serverless, AWS SDK credential chain). Default: `basic` when
   * SEARCH_URL carries credentials, else `none`. Checked by `searchConnection`.
   */
  SEARCH_AUTH: z.enum(['none', 'basic', 'api-key', 'aws-sigv4']).optional(),
  SEARCH_USERNAME: z.string().optional(),
  SEARCH_PASSWORD: z.string().optional(),
  /** Elasticsearch API key: the `encoded` value Elasticsearch returns (or `id:api_key`). */
  SEARCH_API_KEY: z.string().optional(),
  /** Elastic Cloud deployment id; replaces SEARCH_URL (Elasticsearch only). */
  SEARCH_CLOUD_ID: z.string().optional(),
  /** PEM file of the CA that signed the engine's certificate (https SEARCH_URL only). */
  SEARCH_CA_FILE: z.string().optional(),
  /** SigV4 service: `es` (OpenSearch Service domain, default) or `aoss` (Serverless). */
  SEARCH_AWS_SERVICE: z.enum(['es', 'aoss']).optional(),
  /** SigV4 region; default AWS_REGION, then AWS_DEFAULT_REGION. */
  SEARCH_AWS_REGION: z.string().optional(),
  /** Kafka Connect REST base URL. */
  CONNECT_URL: z.url().default('http://127.0.0.1:8083'),
  /** Kafka Connect's `offset.storage.topic`: where Debezium's committed stream position is read. */
  CONNECT_OFFSET_TOPIC: z.string().min(1).default('searchsync-connect-offsets'),
  /** The indexer's consumer group; its committed offsets are what has been applied. */
  INDEXER_GROUP_ID: z.string().min(1).default('searchsync-indexer'),
  /** Debezium `topic.prefix`: topics are `<prefix>.<schema>.<table>`. */
  SEARCHSYNC_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, 'letters, digits, "_" and "-" only')
    .default('searchsync'),
  /** PostgreSQL schemas whose tables are synced, comma-separated. */
  SEARCHSYNC_SCHEMAS: list('public'),
  /** Prefix of every index and alias we own. */
  SEARCHSYNC_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, "_" and "-" only')
    .default('searchsync'),
  /** Log level for all apps. */
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
});

export const indexerEnvSchema = sharedEnvSchema.extend({
  /** Only these tables (`schema.table`, comma-separated); empty: every table of the schemas. */
  INDEXER_INCLUDE_TABLES: list(''),
  INDEXER_METRICS_HOST: z.string().default('127.0.0.1'),
  INDEXER_METRICS_PORT: port(3002),
  /** How often new topics (new tables) are looked for. */
  INDEXER_TOPIC_REFRESH_MS: z.coerce.number().int().min(500).default(5000),
  /** Upper bounds of one bulk request. */
  INDEXER_BULK_MAX_ACTIONS: z.coerce.number().int().min(1).default(2000),
  INDEXER_BULK_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  /** Bulk requests in flight at once per batch (their versions make the order of landing irrelevant). */
  INDEXER_BULK_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** Batches of one partition applied at once while the next is fetched; commits stay in order. */
  INDEXER_BATCHES_IN_FLIGHT: z.coerce.number().int().min(1).max(8).default(2),
  /** Bytes fetched per partition at once, as stored in Kafka (compressed). */
  INDEXER_FETCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(512 * 1024),
  INDEXER_DEAD_LETTER_TOPIC: z.string().min(1).default('searchsync.dead-letter'),
  /**
   * Tests only: `POST /faults/consumer-crash` on the metrics port makes the running Kafka
   * consumer crash, to prove it is re-created. Never enable in production.
   */
  INDEXER_FAULT_INJECTION: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

/** One API key: who it is, the SHA-256 of the secret (never the secret), the tables it reads. */
export interface ApiKeyEntry {
  name: string;
  sha256: string;
  /** `'*'` for every table, else table references (`table` or `schema.table`). */
  tables: '*' | string[];
}

const apiKeys = z
  .string()
  .default('')
  .transform((raw, ctx): ApiKeyEntry[] => {
    const entries: ApiKeyEntry[] = [];
    for (const part of raw.split(/[;\n]/).map((p) => p.trim())) {
      if (!part) continue;
      const match = /^([A-Za-z0-9_.-]{1,64}):([0-9a-fA-F]{64}):(.+)$/.exec(part);
      if (!match) {
        ctx.addIssue({
          code: 'custom',
          message: `entry "${part.split(':')[0]}" is not name:sha256-hex:tables (tables "*" or a comma-separated list)`,
        });
        continue;
      }
      const tables = match[3].trim();
      entries.push({
        name: match[1],
        sha256: match[2].toLowerCase(),
        tables:
          tables === '*'
            ? '*'
            : tables
                .split(',')
                .map((t) => t.trim())
                .filter((t) => t.length > 0),
      });
    }
    const names = entries.map((e) => e.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate)
      ctx.addIssue({ code: 'custom', message: `key name "${duplicate}" appears twice` });
    return entries;
  });

export const apiEnvSchema = sharedEnvSchema.extend({
  /** Listen address; forced to 127.0.0.1 when API_KEYS is empty. */
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port(3000),
  /**
   * API keys, `;`-separated entries `name:sha256-hex-of-key:tables` (tables `*` or
   * `products,sales.orders`). Empty: no auth, loopback only.
   */
  API_KEYS: apiKeys,
  /** HMAC secret of pagination cursors (≥ 32 chars); random per process when unset. */
  API_CURSOR_SECRET: z.string().min(32).optional(),
  /** Requests per client (key, or IP without keys) per window; 0 disables rate limiting. */
  API_RATE_LIMIT: z.coerce.number().int().min(0).default(100),
  API_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).default(1000),
  /** Budget of one request, search engine call included (504 beyond it). */
  API_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Largest accepted request body. */
  API_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(65_536),
  /** Totals are exact up to this many hits, then reported with totalRelation "gte". */
  API_TRACK_TOTAL_HITS: z.coerce.number().int().min(0).default(10_000),
  /** How long the table/mapping catalogue is cached (new tables, new columns). */
  API_CATALOG_TTL_MS: z.coerce.number().int().min(0).default(5_000),
  /** Longest wait of a `consistentWith` read (504 with the lag beyond it). */
  API_CONSISTENCY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /**
   * A `consistentWith` read emits a logical decoding message (`pg_logical_emit_message`, through
   * DATABASE_URL) so an idle database still moves Debezium's stream past the LSN at once;
   * `false`: wait for other writes or Debezium's heartbeats (`heartbeat.interval.ms`).
   */
  API_CONSISTENCY_BARRIER: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

const secretList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0),
  );

export const adminEnvSchema = sharedEnvSchema.extend({
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: port(3001),
  /** The connector the pipeline figures (slot, resync) are about. */
  ADMIN_CONNECTOR_NAME: z.string().min(1).default('searchsync-postgres'),
  /** Admin keys (`Authorization: Bearer <key>` or `X-Admin-Key`), comma-separated; API keys are not accepted. Without keys the admin serves loopback only. */
  ADMIN_API_KEYS: secretList,
  /** `kafka-connect` (REST at CONNECT_URL) or `msk-connect` (AWS API). */
  ADMIN_CONNECT_BACKEND: z.enum(['kafka-connect', 'msk-connect']).default('kafka-connect'),
  /** AWS region of MSK Connect (else the SDK's default chain). */
  ADMIN_MSK_REGION: z.string().optional(),
  /** JSON file with CreateConnector's infrastructure fields; without it MSK connectors are created by Terraform. */
  ADMIN_MSK_CREATE_SPEC: z.string().optional(),
  /** Folder of connector templates (`PUT /v1/connectors/{name}` with `{ template }`). */
  ADMIN_TEMPLATES_DIR: z.string().default('connectors'),
  /** Connector classes that may be applied, comma-separated. */
  ADMIN_CONNECTOR_CLASSES: list('io.debezium.connector.postgresql.PostgresConnector'),
  /** Healer: check interval, first backoff, backoff cap, attempts before giving up. */
  ADMIN_HEAL_INTERVAL_MS: z.coerce.number().int().min(100).default(3000),
  ADMIN_HEAL_BACKOFF_MS: z.coerce.number().int().min(100).default(2000),
  ADMIN_HEAL_BACKOFF_MAX_MS: z.coerce.number().int().min(100).default(30_000),
  ADMIN_HEAL_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(20),
  /** Only these tables (`schema.table`, comma-separated); empty: every table of the schemas. */
  INDEXER_INCLUDE_TABLES: list(''),
  INDEXER_DEAD_LETTER_TOPIC: z.string().min(1).default('searchsync.dead-letter'),
  /**
   * Compacted topic where replayed/discarded dead letters are recorded (shared by admin
   * replicas, kept across restarts); default `<INDEXER_DEAD_LETTER_TOPIC>.resolutions`.
   */
  ADMIN_DEAD_LETTER_RESOLUTIONS_TOPIC: z.string().min(1).optional(),
  /**
   * One indexer's metrics, scraped per pipeline snapshot where set: a single replica whose stall
   * must show within seconds. Unset (compose, Helm, several replicas): replicas and freshness come
   * from the indexer's consumer group and its offset commits alone.
   */
  ADMIN_INDEXER_METRICS_URL: z.url().optional(),
  /** Debezium notification topic (incremental snapshot progress). */
  ADMIN_NOTIFICATION_TOPIC: z.string().min(1).default('__debezium-notification.searchsync'),
  /** Pipeline sampling for the status page history (kept one hour). */
  ADMIN_SAMPLE_INTERVAL_MS: z.coerce.number().int().min(1000).default(15_000),
  /** Freshness above which a table with Kafka lag is degraded. */
  ADMIN_FRESHNESS_WARN_SECONDS: z.coerce.number().min(1).default(120),
  /** Slot lag above which the pipeline is degraded. */
  ADMIN_SLOT_LAG_WARN_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(1024 * 1024 * 1024),
  /** The publication Debezium reads (the connector template's `publication.name`). */
  SEARCHSYNC_PUBLICATION: z.string().min(1).default('searchsync_pub'),
  /**
   * The admin keeps the publication an explicit list of the synced tables PostgreSQL can
   * replicate without refusing the application's UPDATE/DELETE; `false`: you manage it.
   */
  ADMIN_PUBLICATION_MANAGED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Also keep it current inside each DDL's own transaction with an event trigger (superuser). */
  ADMIN_PUBLICATION_DDL_TRIGGER: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** How often publication membership and the indexed tables are compared with PostgreSQL. */
  ADMIN_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(1000).default(10_000),
  /** Remove the indices of dropped tables. */
  ADMIN_DROPPED_TABLE_CLEANUP: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** After how long a dropped table whose removal still waits for evidence is logged as an error (never removed on time alone). */
  ADMIN_DROPPED_TABLE_GRACE_MS: z.coerce.number().int().min(0).default(120_000),
});

export type SharedConfig = z.infer<typeof sharedEnvSchema>;
export type IndexerConfig = z.infer<typeof indexerEnvSchema>;
export type ApiConfig = z.infer<typeof apiEnvSchema>;
export type AdminConfig = z.infer<typeof adminEnvSchema>;
