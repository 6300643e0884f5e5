import { join } from 'node:path';
import { Client } from 'pg';
import {
  ConnectClient,
  databaseTemplateEnv,
  loadConnectorTemplate,
} from '@searchsync/connect-client';
import type { StackPaths } from './stack-paths';
import type { StackSettings } from './stack-settings';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const PUBLICATION = 'searchsync_pub';

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

const CDC_SETUP = [
  // Debezium's bookkeeping tables live outside the synced schemas, so they never become indices.
  'create schema if not exists searchsync_cdc',
  'create table if not exists searchsync_cdc.signal (id varchar(64) primary key, type varchar(32) not null, data varchar(2048))',
  'create table if not exists searchsync_cdc.heartbeat (id int primary key, ts timestamptz not null)',
];

/**
 * A publication over every table of schema public — present and future, partitions published
 * under their parent — plus Debezium's signal and heartbeat tables; and the demo table on our
 * own database.
 */
export async function prepareDatabase(
  settings: StackSettings,
  options: { demo: boolean },
  say: (line: string) => void,
): Promise<void> {
  const client = new Client({ connectionString: settings.databaseUrl });
  await client.connect();
  try {
    for (const statement of CDC_SETUP) await client.query(statement);
    const version = Number(
      (await client.query<{ v: string }>("select current_setting('server_version_num') as v"))
        .rows[0].v,
    );
    const exists = await client.query('select 1 from pg_publication where pubname = $1', [
      PUBLICATION,
    ]);
    if (exists.rowCount === 0) {
      const scope =
        version >= 150000 ? 'for tables in schema public, searchsync_cdc' : 'for all tables';
      await client.query(
        `create publication ${PUBLICATION} ${scope} with (publish_via_partition_root = true)`,
      );
      say(`✓ publication ${PUBLICATION} (${scope})`);
    }
    if (options.demo) {
      await client.query(DEMO_TABLE);
      const count = await client.query<{ n: string }>('select count(*) as n from public.products');
      if (Number(count.rows[0].n) === 0) {
        await client.query(DEMO_ROWS);
        say('✓ demo table public.products with 8 rows');
      }
    }
  } finally {
    await client.end();
  }
}

/** A single node can hold no replicas: new indices default to none, so health stays green. */
export async function configureSearchEngine(settings: StackSettings): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${settings.searchPort}/_cluster/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ persistent: { 'cluster.default_number_of_replicas': 0 } }),
  });
  if (!response.ok)
    throw new Error(`OpenSearch refused the cluster settings: ${await response.text()}`);
}

/** Applies connectors/debezium-postgres.json (create or update) and waits for it to run. */
export async function registerConnector(
  paths: StackPaths,
  settings: StackSettings,
  say: (line: string) => void,
): Promise<void> {
  const { name, config } = loadConnectorTemplate(
    join(paths.root, 'connectors', 'debezium-postgres.json'),
    {
      ...process.env,
      ...databaseTemplateEnv(settings.databaseUrl),
      SEARCHSYNC_TOPIC_PREFIX: settings.topicPrefix,
      SEARCHSYNC_CONNECTOR_NAME: settings.connectorName,
    },
  );
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
