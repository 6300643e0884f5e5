import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  preparePostgresLayout,
  systemLayoutHost,
  type PostgresLayout,
  type RunAs,
} from './postgres-layout';
import type { StackPaths } from './stack-paths';
import type { StackSettings } from './stack-settings';
import { isAlive } from './stack-state';
import type { ServiceSpec } from './supervisor';

export class PostgresSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresSetupError';
  }
}

/** The directory holding initdb/postgres: PATH first, then Debian's versioned layout. */
export function postgresBinDir(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(debian, version, 'bin');
      if (existsSync(join(dir, 'initdb'))) return dir;
    }
  }
  throw new PostgresSetupError(
    'PostgreSQL server binaries (initdb, postgres) not found: install them (e.g. apt install postgresql) or set DATABASE_URL to an existing server with wal_level=logical',
  );
}

/** PostgreSQL refuses to run as root; then it runs as the system's `postgres` user. */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid, user: 'postgres' };
  } catch {
    throw new PostgresSetupError(
      'running as root needs a "postgres" system user to run PostgreSQL as',
    );
  }
}

/** The settings initdb's cluster gets; the server reads them from its own data directory. */
const CLUSTER_SETTINGS = [
  'wal_level = logical',
  'max_wal_senders = 10',
  'max_replication_slots = 10',
  "listen_addresses = '127.0.0.1'",
  'shared_buffers = 128MB',
  // Our own dev/test cluster: durability on power loss is not worth the fsyncs.
  'fsync = off',
  'synchronous_commit = off',
  'full_page_writes = off',
  '',
].join('\n');

/**
 * Our own cluster under .stack/ (or outside the checkout when the server's user cannot reach
 * it, see postgres-layout.ts), initialised on first start, reused afterwards.
 */
export class LocalPostgres {
  readonly bin = postgresBinDir();
  private readonly user = runAs();
  private layout: PostgresLayout | null = null;

  constructor(
    private readonly paths: StackPaths,
    private readonly settings: StackSettings,
  ) {}

  /** The data directory `prepare()` settled on. */
  get dataDir(): string {
    if (!this.layout) throw new PostgresSetupError('LocalPostgres.prepare() must run first');
    return this.layout.dataDir;
  }

  /** Finds or creates the cluster's home, then creates the cluster when missing. */
  prepare(say: (line: string) => void): void {
    this.layout = preparePostgresLayout(this.paths, systemLayoutHost(this.user, isAlive), say);
    const { dataDir } = this.layout;
    if (existsSync(join(dataDir, 'PG_VERSION'))) return;
    // A data directory without PG_VERSION is an initdb that did not finish: nothing to keep,
    // and initdb refuses a folder that is not empty.
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      say(`  removing ${dataDir}: an unfinished initdb`);
      rmSync(dataDir, { recursive: true, force: true });
    }
    say('… initdb (first start)');
    try {
      execFileSync(
        join(this.bin, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8'],
        { stdio: ['ignore', 'ignore', 'pipe'], uid: this.user?.uid, gid: this.user?.gid, cwd: '/' },
      );
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new PostgresSetupError(
        `initdb -D ${dataDir} failed${this.user ? ` (as ${this.user.user})` : ''}: ${stderr || (error as Error).message}`,
      );
    }
    const conf = join(dataDir, 'postgresql.auto.conf');
    writeFileSync(conf, CLUSTER_SETTINGS);
    if (this.user) chownSync(conf, this.user.uid, this.user.gid);
  }

  spec(): ServiceSpec {
    return {
      name: 'postgres',
      command: join(this.bin, 'postgres'),
      // TCP only (-k ''): everything connects to 127.0.0.1, and a Unix socket would need a folder
      // the server's user can write with a path under the 107-byte limit of a socket address.
      args: ['-D', this.dataDir, '-p', String(this.settings.pgPort), '-k', ''],
      cwd: '/',
      uid: this.user?.uid,
      gid: this.user?.gid,
      healthy: async () => {
        const client = new Client({
          connectionString: `postgres://postgres@127.0.0.1:${this.settings.pgPort}/postgres`,
        });
        try {
          await client.connect();
          await client.query('select 1');
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      startTimeoutMs: 60_000,
      // SIGINT = fast shutdown: disconnects clients, checkpoints, exits.
      stopSignal: 'SIGINT',
      stopTimeoutMs: 30_000,
      url: `postgres://postgres@127.0.0.1:${this.settings.pgPort}/app`,
    };
  }

  /** Creates database `app` when missing. */
  async ensureDatabase(): Promise<void> {
    const client = new Client({
      connectionString: `postgres://postgres@127.0.0.1:${this.settings.pgPort}/postgres`,
    });
    await client.connect();
    try {
      const exists = await client.query("select 1 from pg_database where datname = 'app'");
      if (exists.rowCount === 0) await client.query('create database app');
    } finally {
      await client.end();
    }
  }
}

/** Checks that a server can feed Debezium; says how to fix it when not. */
export async function checkLogicalReplication(databaseUrl: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ wal_level: string }>('show wal_level');
    if (rows[0]?.wal_level !== 'logical') {
      throw new PostgresSetupError(
        `wal_level is "${rows[0]?.wal_level}" on ${databaseUrl.replace(/:[^:@/]+@/, ':********@')}; Debezium needs "logical": run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL`,
      );
    }
  } finally {
    await client.end();
  }
}
