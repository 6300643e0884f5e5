import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adminEnvSchema, apiEnvSchema, indexerEnvSchema } from '@searchsync/config';
import { BOOTSTRAP_ENV } from '@searchsync/pipeline-bootstrap';

/**
 * The table configuration's paths (searchsync.yaml, docs/configuration.md): read by every app
 * and by the pipeline bootstrap through @searchsync/config's configPaths, not an env schema.
 */
export const TABLE_CONFIG_ENV = 'SEARCHSYNC_CONFIG';
/** Where the image (ENV), docker-compose (./config) and the chart (a ConfigMap) put it. */
export const TABLE_CONFIG_DIR = '/etc/searchsync';

/** What every deployment of an app must agree on: entry point, port, and its variables. */
export interface AppFacts {
  /** Directory under apps/ and the component label. */
  name: 'api' | 'connector-admin' | 'indexer';
  /** Compiled entry point, relative to the image's working directory. */
  entry: string;
  port: number;
  hostEnv: string;
  portEnv: string;
  /** Every variable the app reads (its zod schema). */
  knownEnv: readonly string[];
}

export const APPS: readonly AppFacts[] = [
  {
    name: 'api',
    entry: 'dist/apps/api/src/main.js',
    port: 3000,
    hostEnv: 'API_HOST',
    portEnv: 'API_PORT',
    knownEnv: [...Object.keys(apiEnvSchema.shape), TABLE_CONFIG_ENV],
  },
  {
    name: 'connector-admin',
    entry: 'dist/apps/connector-admin/src/main.js',
    port: 3001,
    hostEnv: 'ADMIN_HOST',
    portEnv: 'ADMIN_PORT',
    knownEnv: [...Object.keys(adminEnvSchema.shape), TABLE_CONFIG_ENV],
  },
  {
    name: 'indexer',
    entry: 'dist/apps/indexer/src/main.js',
    port: 3002,
    hostEnv: 'INDEXER_METRICS_HOST',
    portEnv: 'INDEXER_METRICS_PORT',
    knownEnv: [...Object.keys(indexerEnvSchema.shape), TABLE_CONFIG_ENV],
  },
];

/** Variables every deployment must give every app (no defaults that fit a deployment). */
export const REQUIRED_SHARED_ENV = [
  'DATABASE_URL',
  'KAFKA_BROKERS',
  'SEARCH_URL',
  'CONNECT_URL',
  'SEARCHSYNC_TOPIC_PREFIX',
  'SEARCHSYNC_SCHEMAS',
  'SEARCHSYNC_INDEX_PREFIX',
] as const;

/**
 * The pipeline bootstrap (libs/pipeline-bootstrap, its CLI tools/pipeline-bootstrap/main.ts):
 * docker-compose's `register` one-shot and the chart's database-setup Job run it from the image.
 */
export const BOOTSTRAP_ENTRY = 'dist/tools/pipeline-bootstrap/main.js';
export const BOOTSTRAP_SOURCE_DIR = 'tools/pipeline-bootstrap';
export const BOOTSTRAP_SOURCE = `${BOOTSTRAP_SOURCE_DIR}/main.ts`;

/**
 * Variables the bootstrap reads (its own schema) besides the connector template's, plus the
 * apps' shared ones a deployment passes to every container alike (compose's `x-app-env`).
 */
export const REGISTER_ENV = [
  ...BOOTSTRAP_ENV,
  TABLE_CONFIG_ENV,
  'SEARCHSYNC_INDEX_PREFIX',
  'KAFKA_BROKERS',
  'LOG_LEVEL',
] as const;

/** The TypeScript source of an app's entry point, which must exist for the entry to build. */
export function entrySource(root: string, app: AppFacts): string {
  return join(root, 'apps', app.name, 'src', 'main.ts');
}

export function entryExists(root: string, app: AppFacts): boolean {
  return existsSync(entrySource(root, app));
}

/** Environment names that look like they carry a secret. */
export const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|API_KEY|API_KEYS|CREDENTIAL|DATABASE_URL)/i;

/** A URL with an embedded password: scheme://user:password@host. */
export const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@:\s]+:[^/@\s]+@/i;
