import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { loadSearchsyncConfig } from '@searchsync/config';
import {
  ConnectClient,
  databaseTemplateEnv,
  loadConnectorTemplate,
} from '@searchsync/connect-client';
// The admin owns the publication; the stack prepares it with the admin's own code, so the first
// start and every later reconciliation agree.
import { reconcilePublication } from '../../apps/connector-admin/src/publication-manager';
import { withColumnExclusions } from '../../apps/connector-admin/src/column-exclusions';
import type { StackPaths } from './stack-paths';
import { appEnvironment, configDirectory, type StackSettings } from './stack-settings';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const PUBLICATION = process.env.SEARCHSYNC_PUBLICATION || 'searchsync_pub';

const DEMO_TABLE = `
create table if not exists public.products (
  id          bigserial primary key,
  name        text not null,
  description text,
  price       numeric(10, 2) not null,
  tags        text[] not null default '{}',
  in_stock    boolean not null default true,
  updated_at  timestamptz not null default now()
)`;

const DEMO_ROWS = `
insert into public.products (name, description, price, tags, in_stock) values
  ('Espresso machine', 'Dual boiler espresso machine with PID temperature control', 1249.00, '{coffee,kitchen}', true),
  ('Burr grinder', 'Conical burr grinder for espresso and filter coffee', 329.50, '{coffee,kitchen}', true),
  ('Milk jug', 'Stainless steel milk jug, 600 ml', 24.90, '{coffee,barista}', true),
  ('Pour-over kettle', 'Gooseneck kettle with temperature hold', 89.00, '{coffee,kitchen}', false),
  ('Tamper', 'Calibrated 58 mm espresso tamper', 39.95, '{coffee,barista}', true),
  ('Cast iron pan', '28 cm pre-seasoned cast iron skillet', 54.00, '{kitchen}', true),
  ('Chef knife', '21 cm chef knife, stainless steel', 119.00, '{kitchen}', true),
  ('Coffee beans', 'Single origin Ethiopia, 1 kg, light roast for filter and espresso', 32.00, '{coffee}', true)`;

/**
 * Debezium's signal and heartbeat tables, the demo table on our own database, and the
 * publication: an explicit list of the synced tables PostgreSQL can replicate without refusing
 * the application's UPDATE/DELETE (keyless tables are kept out and reported by the admin), kept
 * current by an event trigger and by the admin's reconciler. A publication of the older
 * FOR TABLES IN SCHEMA form is migrated in one statement.
 */
export async function prepareDatabase(
  settings: StackSettings,
  options: { demo: boolean },
  say: (line: string) => void,
): Promise<void> {
  const pool = new Pool({ connectionString: settings.databaseUrl, max: 1 });
  try {
    if (options.demo) {
      await pool.query(DEMO_TABLE);
      const count = await pool.query<{ n: string }>('select count(*) as n from public.products');
      if (Number(count.rows[0].n) === 0) {
        await pool.query(DEMO_ROWS);
        say('✓ demo table public.products with 8 rows');
      }
    }
    const schemas = syncedSchemas();
    const report = await reconcilePublication(pool, {
      publication: PUBLICATION,
      schemas,
      ddlTrigger: process.env.ADMIN_PUBLICATION_DDL_TRIGGER !== 'false',
    });
    if (report) {
      say(
        `✓ publication ${PUBLICATION}: ${report.published.length} tables${report.action === 'none' ? '' : ` (${report.action})`}, DDL trigger ${report.trigger.state}`,
      );
      for (const table of report.excluded) say(`… ${table.table} kept out: ${table.fix}`);
    }
  } finally {
    await pool.end();
  }
}

function syncedSchemas(): string[] {
  return (process.env.SEARCHSYNC_SCHEMAS || 'public')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A single node can hold no replicas: new indices default to none, so health stays green. */
export async function configureSearchEngine(settings: StackSettings): Promise<void> {
  // Elasticsearch has no such setting; our table indices ask for 0 replicas themselves.
  if (settings.engine !== 'opensearch') return;
  const response = await fetch(`http://127.0.0.1:${settings.searchPort}/_cluster/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ persistent: { 'cluster.default_number_of_replicas': 0 } }),
  });
  if (!response.ok)
    throw new Error(`OpenSearch refused the cluster settings: ${await response.text()}`);
}

/**
 * Applies connectors/debezium-postgres.json (create or update) and waits for it to run. The
 * generated columns PostgreSQL does not replicate and the columns the apps' searchsync.yaml
 * (SEARCHSYNC_CONFIG) excludes are in column.exclude.list from the start, so that the initial
 * snapshot leaves them out as the stream does (the admin keeps the list current). An invalid
 * configuration fails the start here, with its line and fix, as the apps would.
 */
export async function registerConnector(
  paths: StackPaths,
  settings: StackSettings,
  say: (line: string) => void,
): Promise<void> {
  const { name, config: template } = loadConnectorTemplate(
    join(paths.root, 'connectors', 'debezium-postgres.json'),
    {
      ...process.env,
      ...databaseTemplateEnv(settings.databaseUrl),
      SEARCHSYNC_TOPIC_PREFIX: settings.topicPrefix,
      SEARCHSYNC_CONNECTOR_NAME: settings.connectorName,
    },
  );
  // The e2e tests drop their configuration files here while the apps run.
  mkdirSync(configDirectory(paths), { recursive: true });
  const tableConfig = loadSearchsyncConfig(appEnvironment(settings, paths), paths.root);
  if (tableConfig.files.length > 0)
    say(`… table configuration from ${tableConfig.files.join(', ')}`);
  const pool = new Pool({ connectionString: settings.databaseUrl, max: 1 });
  const config = await withColumnExclusions(
    pool,
    { publication: PUBLICATION, schemas: syncedSchemas() },
    template,
    tableConfig,
    (line) => say(`… ${line}`),
  ).finally(() => pool.end());
  const connect = new ConnectClient(`http://127.0.0.1:${settings.connectPort}`, { attempts: 10 });
  await connect.putConfig(name, config);
  const deadline = Date.now() + 120_000;
  let last = '';
  let restartedAt = 0;
  while (Date.now() < deadline) {
    const status = await connect.getStatus(name).catch((error: Error) => {
      last = error.message;
      return null;
    });
    const task = status?.tasks[0];
    if (status) last = `connector ${status.connector.state}, task ${task?.state ?? 'not assigned'}`;
    if (status?.connector.state === 'RUNNING' && task?.state === 'RUNNING') {
      say(`✓ connector ${name} running`);
      return;
    }
    if (task?.state === 'FAILED') {
      // A task that failed before this start (database down, or a config from an earlier run
      // that the worker resumed before ours replaced it) gets one restart with the current config.
      if (restartedAt > 0 && Date.now() - restartedAt > 15_000) {
        throw new Error(`connector ${name} task failed: ${(task.trace ?? '').split('\n')[0]}`);
      }
      if (restartedAt === 0) {
        say(`… connector ${name} had a failed task; restarting it`);
        await connect.restart(name, { includeTasks: true, onlyFailed: true });
        restartedAt = Date.now();
      }
    }
    await sleep(1000);
  }
  throw new Error(`connector ${name} did not reach RUNNING within 120s (${last})`);
}
