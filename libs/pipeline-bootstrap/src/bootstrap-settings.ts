import { join } from 'node:path';
import { adminEnvSchema, loadConfig, sharedEnvSchema } from '@searchsync/config';
import { z } from 'zod';

/** The search engines whose single-node index defaults the bootstrap knows how to set. */
export type SearchEngineKind = 'auto' | 'opensearch' | 'elasticsearch';

/** Everything one bootstrap run does, validated once from the environment. */
export interface BootstrapSettings {
  databaseUrl: string;
  /** Synced schemas (SEARCHSYNC_SCHEMAS): created when missing, published, captured. */
  schemas: string[];
  /** The publication Debezium reads (SEARCHSYNC_PUBLICATION). */
  publication: string;
  /** Install the event trigger that keeps the publication current (ADMIN_PUBLICATION_DDL_TRIGGER). */
  ddlTrigger: boolean;
  /** Create the demo table `<first schema>.products` with a few rows (SEARCHSYNC_DEMO). */
  demo: boolean;
  /** Make new indices replica-free, for a single-node engine (SEARCHSYNC_SEARCH_SINGLE_NODE). */
  singleNodeSearch: { url: string; engine: SearchEngineKind } | null;
  /**
   * Where and how the connector is registered; null with SEARCHSYNC_REGISTER_CONNECTOR=false
   * (the Helm chart's Job when Strimzi's KafkaConnector, or Terraform's MSK connector, owns it).
   */
  connector: ConnectorSettings | null;
}

export interface ConnectorSettings {
  connectUrl: string;
  /** ADMIN_CONNECTOR_NAME (as the admin calls it), else SEARCHSYNC_CONNECTOR_NAME. */
  name: string;
  topicPrefix: string;
  /** The connector template (connectors/debezium-postgres.json of the checkout or image). */
  templatePath: string;
}

/** The connector template's own defaults, which an unset variable leaves in force. */
export const BOOTSTRAP_DEFAULTS = {
  connectorName: 'searchsync-postgres',
  topicPrefix: 'searchsync',
  schemas: ['public'],
  publication: 'searchsync_pub',
} as const;

/** The one connector template the pipeline runs, relative to the checkout or image root. */
export const CONNECTOR_TEMPLATE = join('connectors', 'debezium-postgres.json');

/** An unset and an empty variable mean the same (compose's `${VAR:-}`, an empty Helm value). */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema);
const flag = (fallback: 'true' | 'false') =>
  unsetWhenEmpty(
    z
      .enum(['true', 'false'])
      .default(fallback)
      .transform((v) => v === 'true'),
  );

const shared = sharedEnvSchema.shape;
const admin = adminEnvSchema.shape;

/**
 * Every variable the bootstrap reads (besides SEARCHSYNC_CONFIG, read by @searchsync/config, and
 * the connector template's own `${VARS}`). The names and meanings are the apps' where they share
 * one; DATABASE_URL has no default here: a Job must not fall back to a laptop's address.
 */
export const bootstrapEnvShape = {
  DATABASE_URL: z.string().min(1),
  /** Kafka Connect REST base URL; needed unless SEARCHSYNC_REGISTER_CONNECTOR=false. */
  CONNECT_URL: unsetWhenEmpty(z.url().optional()),
  /** The engine; needed with SEARCHSYNC_SEARCH_SINGLE_NODE=true. */
  SEARCH_URL: unsetWhenEmpty(z.url().optional()),
  SEARCH_ENGINE: shared.SEARCH_ENGINE,
  SEARCHSYNC_SCHEMAS: shared.SEARCHSYNC_SCHEMAS,
  SEARCHSYNC_TOPIC_PREFIX: shared.SEARCHSYNC_TOPIC_PREFIX,
  SEARCHSYNC_PUBLICATION: admin.SEARCHSYNC_PUBLICATION,
  ADMIN_PUBLICATION_DDL_TRIGGER: admin.ADMIN_PUBLICATION_DDL_TRIGGER,
  /** The connector's name as the admin knows it; wins over SEARCHSYNC_CONNECTOR_NAME. */
  ADMIN_CONNECTOR_NAME: unsetWhenEmpty(z.string().min(1).optional()),
  /** The connector template's own name variable. */
  SEARCHSYNC_CONNECTOR_NAME: unsetWhenEmpty(z.string().min(1).optional()),
  /** Create the demo table `<first schema>.products`. */
  SEARCHSYNC_DEMO: flag('false'),
  /** Set `cluster.default_number_of_replicas: 0` (OpenSearch) so a single node stays green. */
  SEARCHSYNC_SEARCH_SINGLE_NODE: flag('false'),
  /** `false`: prepare PostgreSQL only; someone else owns the connector. */
  SEARCHSYNC_REGISTER_CONNECTOR: flag('true'),
};

/** The names of bootstrapEnvShape, for the deployment checks (tools/deploy-check). */
export const BOOTSTRAP_ENV: readonly string[] = Object.keys(bootstrapEnvShape);

export const bootstrapEnvSchema = z.object(bootstrapEnvShape).superRefine((env, ctx) => {
  if (env.SEARCHSYNC_REGISTER_CONNECTOR && !env.CONNECT_URL)
    ctx.addIssue({
      code: 'custom',
      path: ['CONNECT_URL'],
      message: 'needed to register the connector (or set SEARCHSYNC_REGISTER_CONNECTOR=false)',
    });
  if (env.SEARCHSYNC_SEARCH_SINGLE_NODE && !env.SEARCH_URL)
    ctx.addIssue({
      code: 'custom',
      path: ['SEARCH_URL'],
      message: 'needed with SEARCHSYNC_SEARCH_SINGLE_NODE=true',
    });
  if (env.SEARCHSYNC_SCHEMAS.length === 0)
    ctx.addIssue({ code: 'custom', path: ['SEARCHSYNC_SCHEMAS'], message: 'names no schema' });
});

/**
 * The bootstrap's settings from the environment; throws ConfigInvalidError naming every
 * invalid variable. `root` holds `connectors/` (the checkout, or /app in the image).
 */
export function readBootstrapSettings(env: NodeJS.ProcessEnv, root: string): BootstrapSettings {
  const parsed = loadConfig(bootstrapEnvSchema, env);
  return {
    databaseUrl: parsed.DATABASE_URL,
    schemas: parsed.SEARCHSYNC_SCHEMAS,
    publication: parsed.SEARCHSYNC_PUBLICATION,
    ddlTrigger: parsed.ADMIN_PUBLICATION_DDL_TRIGGER,
    demo: parsed.SEARCHSYNC_DEMO,
    singleNodeSearch:
      parsed.SEARCHSYNC_SEARCH_SINGLE_NODE && parsed.SEARCH_URL
        ? { url: parsed.SEARCH_URL, engine: parsed.SEARCH_ENGINE }
        : null,
    connector:
      parsed.SEARCHSYNC_REGISTER_CONNECTOR && parsed.CONNECT_URL
        ? {
            connectUrl: parsed.CONNECT_URL,
            name:
              parsed.ADMIN_CONNECTOR_NAME ??
              parsed.SEARCHSYNC_CONNECTOR_NAME ??
              BOOTSTRAP_DEFAULTS.connectorName,
            topicPrefix: parsed.SEARCHSYNC_TOPIC_PREFIX,
            templatePath: join(root, CONNECTOR_TEMPLATE),
          }
        : null,
  };
}
