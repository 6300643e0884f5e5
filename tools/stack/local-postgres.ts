import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import type { StackPaths } from './stack-paths';
import type { StackSettings } from './stack-settings';
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

interface RunAs {
  uid: number;
  gid: number;
  user: string;
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

function canTraverse(user: string, dir: string): boolean {
  try {
    execFileSync('runuser', ['-u', user, '--', 'test', '-x', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Our own cluster under .stack/, initialised on first start, reused afterwards. */
export class LocalPostgres {
  readonly bin = postgresBinDir();
  private readonly user = runAs();
  readonly dataDir: string;
  readonly socketDir: string;

  constructor(
    private readonly paths: StackPaths,
    private readonly settings: StackSettings,
  ) {
    const base = paths.data('postgres');
    this.dataDir = join(base, 'pgdata');
    this.socketDir = join(base, 'socket');
  }

  /** Creates the cluster when missing. */
  prepare(say: (line: string) => void): void {
    const base = dirname(this.dataDir);
    if (this.user && !existsSync(base)) {
      // The postgres user must reach the data directory; a repo under /root is out of its reach.
      mkdirSync(dirname(base), { recursive: true });
      const probe = dirname(base);
      if (!canTraverse(this.user.user, probe)) {
        const outside = resolve('/var/tmp', `searchsync-${this.paths.marker}`, 'postgres');
        mkdirSync(outside, { recursive: true });
        chownSync(outside, this.user.uid, this.user.gid);
        chownSync(dirname(outside), this.user.uid, this.user.gid);
        symlinkSync(outside, base);
        say(`  PostgreSQL data lives in ${outside} (the postgres user cannot reach ${probe})`);
      }
    }
    mkdirSync(this.socketDir, { recursive: true });
    if (this.user) {
      chownSync(base, this.user.uid, this.user.gid);
      chownSync(this.socketDir, this.user.uid, this.user.gid);
    }
    if (existsSync(join(this.dataDir, 'PG_VERSION'))) return;
    say('… initdb (first start)');
    mkdirSync(this.dataDir, { recursive: true });
    if (this.user) chownSync(this.dataDir, this.user.uid, this.user.gid);
    execFileSync(
      join(this.bin, 'initdb'),
      ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8'],
      { stdio: ['ignore', 'ignore', 'pipe'], uid: this.user?.uid, gid: this.user?.gid, cwd: '/' },
    );
    writeFileSync(
      join(this.dataDir, 'postgresql.auto.conf'),
      [
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
      ].join('\n'),
    );
    if (this.user)
      chownSync(join(this.dataDir, 'postgresql.auto.conf'), this.user.uid, this.user.gid);
  }

  spec(): ServiceSpec {
    return {
      name: 'postgres',
      command: join(this.bin, 'postgres'),
      args: ['-D', this.dataDir, '-p', String(this.settings.pgPort), '-k', this.socketDir],
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
