// One-shot of docker-compose.yml (service `register`), run by the app image:
//   node deploy/compose/register-connector.mjs
// 1. prepares PostgreSQL for Debezium with the connector admin's own code (the same the local
//    stack runs in tools/stack/pipeline-setup.ts): schema searchsync_cdc with the signal and
//    heartbeat tables, and the publication SEARCHSYNC_PUBLICATION (searchsync_pub) as an explicit
//    list of the synced tables PostgreSQL can replicate without refusing the application's
//    UPDATE/DELETE — keyless tables are kept out and reported — WITH
//    (publish_via_partition_root = true), plus the event trigger that keeps it current (when the
//    user may create one); the admin's reconciler keeps it right from then on. An older
//    publication FOR TABLES IN SCHEMA / FOR ALL TABLES is migrated. The tables searchsync.yaml
//    excludes columns of are recorded first (searchsync_cdc.held_table): the trigger never
//    publishes them, the admin does once the connector excludes their columns;
// 2. optionally (SEARCHSYNC_DEMO=true) creates the demo table public.products;
// 3. optionally (SEARCHSYNC_SEARCH_SINGLE_NODE=true) makes new indices replica-free so a
//    single-node OpenSearch stays green;
// 4. renders connectors/debezium-postgres.json with the library's own template renderer and
//    creates or updates the connector (PUT /connectors/<name>/config) — with the generated
//    columns PostgreSQL does not replicate and the columns searchsync.yaml excludes
//    (SEARCHSYNC_CONFIG, as the apps read it; default ./searchsync.yaml) in column.exclude.list
//    (the admin's own function, compiled), so the initial snapshot leaves them out as the stream
//    does and excluded columns never reach Kafka — then waits until the
//    connector and its task are RUNNING — unless SEARCHSYNC_REGISTER_CONNECTOR=false (the Helm
//    chart's database-setup Job when Strimzi's KafkaConnector owns the connector).
// Exits 0 on success, 1 with the reason otherwise (an invalid searchsync.yaml: before anything
// is changed, with its file:line and the fix).
// Plain ESM run by node: it imports the compiled TypeScript under dist/ (CommonJS, path aliases
// rewritten by tsc-alias), never the .ts sources.
// Idempotent: running it again changes nothing that is already in place.
import { join } from 'node:path';
import pg from 'pg';
import connectClient from '../../dist/libs/connect-client/src/connector-template.js';
import publicationManager from '../../dist/apps/connector-admin/src/publication-manager.js';
import columnExclusions from '../../dist/apps/connector-admin/src/column-exclusions.js';
import searchsyncConfig from '../../dist/libs/config/src/index.js';

const { loadConnectorTemplate } = connectClient;
const { holdConfiguredTables, reconcilePublication } = publicationManager;
const { withColumnExclusions } = columnExclusions;
const { loadSearchsyncConfig } = searchsyncConfig;
const env = process.env;
const root = new URL('../..', import.meta.url).pathname;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line) => console.log(`[register] ${line}`);

function required(name) {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** The connection parts of DATABASE_URL as the template's variables (as pipeline-setup.ts). */
function databaseTemplateEnv(databaseUrl) {
  const url = new URL(databaseUrl);
  return {
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.replace(/^\//, '') || 'postgres',
  };
}

const ident = (name) => `"${name.replace(/"/g, '""')}"`;

async function retry(what, attempts, action) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= attempts || error.retryable === false) throw error;
      say(`${what}: ${error.message} — retrying (${attempt}/${attempts})`);
      await sleep(Math.min(1000 * attempt, 5000));
    }
  }
}

async function prepareDatabase(databaseUrl, schemas, demo, tableConfig) {
  // A pg.Client connects once: each attempt gets its own.
  const client = await retry('PostgreSQL', 30, async () => {
    const attempt = new pg.Client({ connectionString: databaseUrl });
    try {
      await attempt.connect();
      return attempt;
    } catch (error) {
      await attempt.end().catch(() => undefined);
      throw error;
    }
  });
  try {
    const walLevel = (await client.query('show wal_level')).rows[0].wal_level;
    if (walLevel !== 'logical') {
      throw Object.assign(new Error(`wal_level is ${walLevel}; Debezium needs wal_level=logical`), {
        retryable: false,
      });
    }
    for (const schema of schemas)
      await client.query(`create schema if not exists ${ident(schema)}`);
    if (demo) {
      await client.query(`create table if not exists public.products (
        id bigserial primary key, name text not null, description text,
        price numeric(10, 2) not null, tags text[] not null default '{}',
        in_stock boolean not null default true, updated_at timestamptz not null default now())`);
      const count = await client.query('select count(*)::int as n from public.products');
      if (count.rows[0].n === 0) {
        await client.query(`insert into public.products (name, description, price, tags, in_stock) values
          ('Espresso machine', 'Dual boiler espresso machine with PID temperature control', 1249.00, '{coffee,kitchen}', true),
          ('Burr grinder', 'Conical burr grinder for espresso and filter coffee', 329.50, '{coffee,kitchen}', true),
          ('Milk jug', 'Stainless steel milk jug, 600 ml', 24.90, '{coffee,barista}', true),
          ('Pour-over kettle', 'Gooseneck kettle with temperature hold', 89.00, '{coffee,kitchen}', false),
          ('Coffee beans', 'Single origin Ethiopia, 1 kg, light roast for filter and espresso', 32.00, '{coffee}', true)`);
        say('demo table public.products with 5 rows');
      }
    }
  } finally {
    await client.end();
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const publication = env.SEARCHSYNC_PUBLICATION || 'searchsync_pub';
    // Before the trigger may run: it never publishes a table searchsync.yaml excludes columns
    // of (the admin's reconciler does, once the connector excludes them).
    const hold = await holdConfiguredTables(pool, publication, tableConfig);
    for (const table of hold.held)
      say(`${table}: held back from the DDL trigger (searchsync.yaml excludes columns of it)`);
    // No connector exclusions are known here: a table with configured exclusions that is not
    // published yet waits for the admin.
    const report = await reconcilePublication(
      pool,
      { publication, schemas, ddlTrigger: env.ADMIN_PUBLICATION_DDL_TRIGGER !== 'false' },
      () => undefined,
      { excludedColumns: new Set(), tableConfig },
    );
    if (report) {
      say(
        `publication ${publication}: ${report.published.length} tables (${report.action}), DDL trigger ${report.trigger.state}${report.trigger.detail ? `: ${report.trigger.detail}` : ''}`,
      );
      for (const table of report.excluded) say(`${table.table} kept out: ${table.fix}`);
      for (const table of report.deferred)
        say(`${table} enters once the connector excludes its columns (the admin adds it)`);
    } else {
      say(`publication ${publication} is being reconciled by the connector admin`);
    }
  } finally {
    await pool.end();
  }
}

async function request(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    // 409: Connect is rebalancing; 5xx: not ready yet. Both are worth another try.
    const retryable = response.status === 409 || response.status >= 500;
    throw Object.assign(new Error(`${method} ${url} -> ${response.status} ${text.slice(0, 300)}`), {
      retryable,
    });
  }
  return text ? JSON.parse(text) : undefined;
}

async function singleNodeSearch(searchUrl) {
  await retry('OpenSearch', 30, () =>
    request('PUT', `${searchUrl.replace(/\/$/, '')}/_cluster/settings`, {
      persistent: { 'cluster.default_number_of_replicas': 0 },
    }),
  );
  say('search engine: new indices get 0 replicas (single node)');
}

async function registerConnector(connectUrl, databaseUrl, schemas, tableConfig) {
  const { name, config: template } = loadConnectorTemplate(
    join(root, 'connectors', 'debezium-postgres.json'),
    {
      ...env,
      ...databaseTemplateEnv(databaseUrl),
      SEARCHSYNC_CONNECTOR_NAME: env.ADMIN_CONNECTOR_NAME || env.SEARCHSYNC_CONNECTOR_NAME,
    },
  );
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  let config;
  try {
    config = await withColumnExclusions(
      pool,
      { publication: env.SEARCHSYNC_PUBLICATION || 'searchsync_pub', schemas },
      template,
      tableConfig,
      say,
    );
  } finally {
    await pool.end();
  }
  const base = `${connectUrl.replace(/\/$/, '')}/connectors/${encodeURIComponent(name)}`;
  await retry('Kafka Connect', 30, () => request('PUT', `${base}/config`, config));
  say(`connector ${name} applied`);
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const status = await request('GET', `${base}/status`);
      const task = status.tasks[0];
      last = `connector ${status.connector.state}, task ${task?.state ?? 'not assigned'}`;
      if (status.connector.state === 'RUNNING' && task?.state === 'RUNNING') {
        say(`connector ${name} running`);
        return;
      }
      if (task?.state === 'FAILED') {
        throw Object.assign(
          new Error(`connector ${name} task failed: ${(task.trace ?? '').split('\n')[0]}`),
          { fatal: true },
        );
      }
    } catch (error) {
      if (error.fatal) throw error;
      last = error.message;
    }
    await sleep(1000);
  }
  throw new Error(`connector ${name} did not reach RUNNING within 120s (${last})`);
}

async function main() {
  const databaseUrl = required('DATABASE_URL');
  const connectUrl = env.SEARCHSYNC_REGISTER_CONNECTOR === 'false' ? '' : required('CONNECT_URL');
  const schemas = (env.SEARCHSYNC_SCHEMAS || 'public')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // Read first: an invalid file stops us before anything is changed.
  const tableConfig = loadSearchsyncConfig(env);
  say(
    tableConfig.files.length > 0
      ? `table configuration from ${tableConfig.files.join(', ')}`
      : 'no table configuration file (SEARCHSYNC_CONFIG): every table synced as it is',
  );
  await prepareDatabase(databaseUrl, schemas, env.SEARCHSYNC_DEMO === 'true', tableConfig);
  if (env.SEARCHSYNC_SEARCH_SINGLE_NODE === 'true') await singleNodeSearch(required('SEARCH_URL'));
  if (env.SEARCHSYNC_REGISTER_CONNECTOR === 'false') {
    say('connector registration skipped (SEARCHSYNC_REGISTER_CONNECTOR=false)');
    return;
  }
  await registerConnector(connectUrl, databaseUrl, schemas, tableConfig);
}

main().catch((error) => {
  console.error(`[register] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
