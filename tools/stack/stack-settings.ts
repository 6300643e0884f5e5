import { join } from 'node:path';
import { StackPaths } from './stack-paths';

/** The search engines the local stack can run (contract: "Engines"). */
export const STACK_ENGINES = ['opensearch', 'elasticsearch'] as const;
export type StackEngine = (typeof STACK_ENGINES)[number];

/** Every address of the local stack, overridable by environment variables (see README). */
export interface StackSettings {
  /** SEARCHSYNC_ENGINE: which engine runs on the search port. */
  engine: StackEngine;
  /**
   * SEARCHSYNC_ELASTICSEARCH_VERSION: the Elasticsearch release the local node is built from
   * (Maven Central's server jars); null: the one deploy/local/elasticsearch/pom.xml names (9.x).
   */
  elasticsearchVersion: string | null;
  databaseUrl: string;
  /** True when DATABASE_URL names an existing server: we start no PostgreSQL of our own. */
  externalDatabase: boolean;
  pgPort: number;
  kafkaPort: number;
  kafkaControllerPort: number;
  connectPort: number;
  searchPort: number;
  searchTransportPort: number;
  apiPort: number;
  adminPort: number;
  indexerMetricsPort: number;
  topicPrefix: string;
  connectorName: string;
  javaHome: string | undefined;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}=${raw} is not a port number (1-65535)`);
  }
  return value;
}

function engine(env: NodeJS.ProcessEnv): StackEngine {
  const raw = env.SEARCHSYNC_ENGINE || 'opensearch';
  const known = STACK_ENGINES.find((name) => name === raw);
  if (!known) {
    throw new Error(`SEARCHSYNC_ENGINE=${raw} is not an engine: use ${STACK_ENGINES.join(' or ')}`);
  }
  return known;
}

function elasticsearchVersion(env: NodeJS.ProcessEnv): string | null {
  const raw = env.SEARCHSYNC_ELASTICSEARCH_VERSION;
  if (raw === undefined || raw === '') return null;
  if (!/^\d+\.\d+\.\d+$/.test(raw)) {
    throw new Error(
      `SEARCHSYNC_ELASTICSEARCH_VERSION=${raw} is not a release number: use e.g. 8.19.21 or 9.5.3`,
    );
  }
  return raw;
}

/**
 * The engine as a name for what differs per engine and release: its data directory and the
 * indexer's consumer group (a node of another release starts empty, so its group starts over).
 */
export function engineLabel(
  settings: Pick<StackSettings, 'engine' | 'elasticsearchVersion'>,
): string {
  return settings.engine === 'elasticsearch' && settings.elasticsearchVersion
    ? `elasticsearch-${settings.elasticsearchVersion}`
    : settings.engine;
}

export function readStackSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const pgPort = port(env, 'SEARCHSYNC_PG_PORT', 55432);
  const chosen = engine(env);
  return {
    engine: chosen,
    elasticsearchVersion: chosen === 'elasticsearch' ? elasticsearchVersion(env) : null,
    databaseUrl: env.DATABASE_URL || `postgres://postgres@127.0.0.1:${pgPort}/app`,
    externalDatabase: Boolean(env.DATABASE_URL),
    pgPort,
    kafkaPort: port(env, 'SEARCHSYNC_KAFKA_PORT', 9092),
    kafkaControllerPort: port(env, 'SEARCHSYNC_KAFKA_CONTROLLER_PORT', 9093),
    connectPort: port(env, 'SEARCHSYNC_CONNECT_PORT', 8083),
    searchPort: port(env, 'SEARCHSYNC_SEARCH_PORT', 9200),
    searchTransportPort: port(env, 'SEARCHSYNC_SEARCH_TRANSPORT_PORT', 9300),
    apiPort: port(env, 'API_PORT', 3000),
    adminPort: port(env, 'ADMIN_PORT', 3001),
    indexerMetricsPort: port(env, 'INDEXER_METRICS_PORT', 3002),
    topicPrefix: env.SEARCHSYNC_TOPIC_PREFIX || 'searchsync',
    connectorName: env.ADMIN_CONNECTOR_NAME || 'searchsync-postgres',
    javaHome: env.JAVA_HOME || undefined,
  };
}

/** The directory the e2e tests drop their own table configuration files into. */
export function configDirectory(paths: StackPaths): string {
  return join(paths.stack, 'config.d');
}

/**
 * SEARCHSYNC_CONFIG of the apps: the checkout's searchsync.yaml (when there is one) and the
 * stack's config.d, as absolute paths, since the apps and the tests run from other directories.
 */
export function stackConfigPaths(paths: StackPaths): string {
  return (
    process.env.SEARCHSYNC_CONFIG ??
    [join(paths.root, 'searchsync.yaml'), configDirectory(paths)].join(',')
  );
}

/** The environment our own apps get: the same names a user sets in production. */
export function appEnvironment(
  settings: StackSettings,
  paths: StackPaths = new StackPaths(),
): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: settings.databaseUrl,
    KAFKA_BROKERS: `127.0.0.1:${settings.kafkaPort}`,
    SEARCH_URL: `http://127.0.0.1:${settings.searchPort}`,
    SEARCHSYNC_ENGINE: settings.engine,
    // Kafka's topics outlive a switch of engine: the other engine's indexer group reads them all.
    INDEXER_GROUP_ID:
      settings.engine === 'opensearch'
        ? 'searchsync-indexer'
        : `searchsync-indexer-${engineLabel(settings)}`,
    CONNECT_URL: `http://127.0.0.1:${settings.connectPort}`,
    SEARCHSYNC_TOPIC_PREFIX: settings.topicPrefix,
    API_PORT: String(settings.apiPort),
    ADMIN_PORT: String(settings.adminPort),
    INDEXER_METRICS_PORT: String(settings.indexerMetricsPort),
    // One local indexer: the admin scrapes it too, so that a frozen indexer shows in seconds.
    ADMIN_INDEXER_METRICS_URL: `http://127.0.0.1:${settings.indexerMetricsPort}/metrics`,
    ADMIN_CONNECTOR_NAME: settings.connectorName,
    SEARCHSYNC_CONFIG: stackConfigPaths(paths),
    // The local stack is where our e2e tests run: they crash the consumer for real through it.
    // Loopback only (the metrics port); never set by docker-compose or the Helm chart.
    INDEXER_FAULT_INJECTION: process.env.INDEXER_FAULT_INJECTION ?? 'true',
  };
}
