/**
 * The pipeline bootstrap, one shot: docker-compose's `register` service, the Helm chart's
 * database-setup Job, and by hand (docs/deploy.md) all run
 *   node dist/tools/pipeline-bootstrap/main.js
 * from the app image. PostgreSQL is prepared for Debezium (schemas, demo table with
 * SEARCHSYNC_DEMO=true, signal and heartbeat tables, publication, DDL trigger), new indices
 * are made replica-free with SEARCHSYNC_SEARCH_SINGLE_NODE=true, and the connector is created or
 * updated and awaited RUNNING unless SEARCHSYNC_REGISTER_CONNECTOR=false. The variables are
 * those of bootstrapEnvShape (libs/pipeline-bootstrap) plus SEARCHSYNC_CONFIG and the connector
 * template's. Exits 0 on success, 1 with the reason otherwise — an invalid environment or
 * searchsync.yaml before anything is changed. Idempotent: a second run changes nothing that is
 * already in place.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadSearchsyncConfig } from '@searchsync/config';
import {
  CONNECTOR_TEMPLATE,
  bootstrapPipeline,
  readBootstrapSettings,
} from '@searchsync/pipeline-bootstrap';
import { ADMIN_PUBLICATION_STEPS } from './admin-publication-steps';

const say = (line: string) => console.log(`[bootstrap] ${line}`);

/** The checkout or image root: the nearest directory above us with the connector template. */
function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, CONNECTOR_TEMPLATE))) return dir;
    if (dirname(dir) === dir)
      throw new Error(`no ${CONNECTOR_TEMPLATE} in ${start} or any directory above it`);
  }
}

async function main(): Promise<void> {
  const settings = readBootstrapSettings(process.env, findRoot(__dirname));
  // Read first: an invalid file stops us before anything is changed.
  const tableConfig = loadSearchsyncConfig(process.env);
  say(
    tableConfig.files.length > 0
      ? `table configuration from ${tableConfig.files.join(', ')}`
      : 'no table configuration file (SEARCHSYNC_CONFIG): every table synced as it is',
  );
  await bootstrapPipeline(settings, tableConfig, ADMIN_PUBLICATION_STEPS, say);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`[bootstrap] failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
