import { mkdirSync } from 'node:fs';
import { loadSearchsyncConfig, type SearchsyncConfig } from '@searchsync/config';
import {
  configureSingleNodeSearch,
  prepareDatabase as preparePipelineDatabase,
  readBootstrapSettings,
  registerConnector as registerPipelineConnector,
  type BootstrapSettings,
} from '@searchsync/pipeline-bootstrap';
import { ADMIN_PUBLICATION_STEPS } from '../pipeline-bootstrap/admin-publication-steps';
import { StackPaths } from './stack-paths';
import { appEnvironment, configDirectory, type StackSettings } from './stack-settings';

/**
 * The bootstrap settings of the local stack: read, by the same code as docker-compose's and the
 * Helm chart's one-shot, from the very environment the apps get — so the schemas, publication and
 * connector are the ones the admin then reconciles.
 */
function bootstrapSettings(settings: StackSettings, paths: StackPaths): BootstrapSettings {
  return readBootstrapSettings(
    {
      ...process.env,
      ...appEnvironment(settings, paths),
      // The stack decides these itself: demo data on its own cluster only, the single-node
      // setting per engine, and it always runs its connector.
      SEARCHSYNC_DEMO: 'false',
      SEARCHSYNC_SEARCH_SINGLE_NODE: 'false',
      SEARCHSYNC_REGISTER_CONNECTOR: 'true',
    },
    paths.root,
  );
}

/**
 * searchsync.yaml as the apps read it (SEARCHSYNC_CONFIG of appEnvironment, the checkout's file
 * and .stack/config.d, where the e2e tests drop theirs while the apps run). An invalid
 * configuration fails the start before anything is changed, with its line and fix.
 */
function tableConfiguration(settings: StackSettings, paths: StackPaths): SearchsyncConfig {
  mkdirSync(configDirectory(paths), { recursive: true });
  return loadSearchsyncConfig(appEnvironment(settings, paths), paths.root);
}

/**
 * PostgreSQL for Debezium (libs/pipeline-bootstrap): the synced schemas, the demo table on our
 * own database, the signal and heartbeat tables, and the publication — an explicit list of the
 * synced tables PostgreSQL can replicate without refusing the application's UPDATE/DELETE
 * (keyless tables are kept out and reported by the admin), kept current by an event trigger
 * and by the admin's reconciler.
 */
export async function prepareDatabase(
  settings: StackSettings,
  options: { demo: boolean },
  say: (line: string) => void,
): Promise<void> {
  const paths = new StackPaths();
  const bootstrap = bootstrapSettings(settings, paths);
  const tableConfig = tableConfiguration(settings, paths);
  if (tableConfig.files.length > 0)
    say(`… table configuration from ${tableConfig.files.join(', ')}`);
  await preparePipelineDatabase(
    {
      databaseUrl: bootstrap.databaseUrl,
      schemas: bootstrap.schemas,
      publication: bootstrap.publication,
      ddlTrigger: bootstrap.ddlTrigger,
      demo: options.demo,
      tableConfig,
    },
    ADMIN_PUBLICATION_STEPS,
    (line) => say(`… ${line}`),
  );
}

/** A single node can hold no replicas: new indices default to none, so health stays green. */
export async function configureSearchEngine(
  settings: StackSettings,
  say: (line: string) => void,
): Promise<void> {
  // Its retries are said: a refusing engine must not look like a hang.
  await configureSingleNodeSearch(
    { url: `http://127.0.0.1:${settings.searchPort}`, engine: settings.engine },
    (line) => say(`… ${line}`),
  );
}

/**
 * Applies connectors/debezium-postgres.json (create or update) and waits for it to run, with
 * the generated columns PostgreSQL does not replicate and the columns searchsync.yaml excludes
 * in column.exclude.list from the start, so that the initial snapshot leaves them out as the
 * stream does (the admin keeps the list current).
 */
export async function registerConnector(
  paths: StackPaths,
  settings: StackSettings,
  say: (line: string) => void,
): Promise<void> {
  const bootstrap = bootstrapSettings(settings, paths);
  // Never null: SEARCHSYNC_REGISTER_CONNECTOR is true and CONNECT_URL set (appEnvironment).
  if (!bootstrap.connector) throw new Error('no connector settings for the local stack');
  await registerPipelineConnector(
    {
      databaseUrl: bootstrap.databaseUrl,
      connector: bootstrap.connector,
      schemas: bootstrap.schemas,
      publication: bootstrap.publication,
      tableConfig: tableConfiguration(settings, paths),
    },
    ADMIN_PUBLICATION_STEPS,
    (line) => say(`… ${line}`),
  );
}
