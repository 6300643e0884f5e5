import { execFileSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  type Stats,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { StackPaths } from './stack-paths';

export class PostgresLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresLayoutError';
  }
}

/** The account PostgreSQL runs as when we are root (it refuses to run as root itself). */
export interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** Where our cluster lives: every path the server itself opens is under `home`. */
export interface PostgresLayout {
  home: string;
  dataDir: string;
  /** True when `home` is outside the checkout (then `.stack/data/postgres` links to it). */
  outside: boolean;
}

export interface LayoutHost {
  runAs: RunAs | undefined;
  /** True when `runAs` can enter and write `dir`, checked with the credentials the server gets. */
  canWrite(dir: string): boolean;
  /** True when `runAs` can enter `dir`. */
  canEnter(dir: string): boolean;
  /** Parent folders for a home outside the checkout, best first. */
  outsideParents: string[];
  /** True when a process with this pid runs. */
  isAlive(pid: number): boolean;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function own(path: string, runAs: RunAs | undefined): void {
  if (runAs) chownSync(path, runAs.uid, runAs.gid);
}

/** The pid in a data directory's postmaster.pid when that server still runs. */
function livePostmaster(dataDir: string, host: LayoutHost): number | null {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && host.isAlive(pid) ? pid : null;
}

/** The first folder from `/` down to `dir` that `runAs` cannot enter (for the message). */
function firstBlocked(dir: string, host: LayoutHost): string {
  const parts = resolve(dir).split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const prefix = `/${parts.slice(0, i).join('/')}`;
    if (!host.canEnter(prefix)) return prefix;
  }
  return dir;
}

/**
 * A home outside the checkout, `<parent>/searchsync-<marker>/postgres`. The parent folder is
 * only taken when the `searchsync-<marker>` folder in it is ours (a real folder owned by root or
 * the server's user): the name is predictable, and /var/tmp is writable by everyone.
 */
function outsideHome(paths: StackPaths, host: LayoutHost, runAs: RunAs): string {
  const refused: string[] = [];
  for (const parent of host.outsideParents) {
    const parentStat = lstatOrNull(parent);
    if (!parentStat?.isDirectory()) continue;
    const mine = join(parent, `searchsync-${paths.marker}`);
    const existing = lstatOrNull(mine);
    if (existing && (!existing.isDirectory() || ![0, runAs.uid].includes(existing.uid))) {
      refused.push(`${mine} exists and is not ours`);
      continue;
    }
    const home = join(mine, 'postgres');
    try {
      mkdirSync(home, { recursive: true, mode: 0o755 });
      own(home, runAs);
    } catch (error) {
      refused.push(`${home}: ${(error as Error).message}`);
      continue;
    }
    if (host.canWrite(home)) return home;
    refused.push(`${home} is not writable by ${runAs.user}`);
    if (!existing) rmSync(mine, { recursive: true, force: true });
  }
  throw new PostgresLayoutError(
    `no folder outside the checkout where the ${runAs.user} user can keep PostgreSQL's data (${refused.join('; ') || `tried ${host.outsideParents.join(', ')}`}); move the checkout somewhere ${runAs.user} can enter, or set DATABASE_URL to an existing server`,
  );
}

/**
 * A fresh `.stack/` while an outside home of this checkout exists means `.stack/` was removed
 * to reset the stack: its cluster goes too (in every parent, as an earlier version may have
 * picked another), unless its server still runs.
 */
function removeLeftovers(
  paths: StackPaths,
  host: LayoutHost,
  inside: string,
  say: (line: string) => void,
): void {
  for (const parent of host.outsideParents) {
    const mine = join(parent, `searchsync-${paths.marker}`);
    const stat = lstatOrNull(mine);
    if (!stat?.isDirectory() || ![0, host.runAs?.uid].includes(stat.uid)) continue;
    const dataDir = join(mine, 'postgres', 'pgdata');
    if (!existsSync(dataDir)) continue;
    const pid = livePostmaster(dataDir, host);
    if (pid !== null) {
      throw new PostgresLayoutError(
        `a PostgreSQL of this checkout still runs from ${dataDir} (pid ${pid}) although ${inside} is gone; stop it (./searchsync down) and start again`,
      );
    }
    say(`  removing ${mine}: left over from an earlier .stack/ of this checkout`);
    rmSync(mine, { recursive: true, force: true });
  }
}

/**
 * Decides (once, then remembered) where the cluster lives. Normally `.stack/data/postgres`; when
 * we run as root and the server's user cannot reach that folder (a checkout under /root or in a
 * `mktemp -d` folder), a folder outside the checkout, linked from `.stack/data/postgres` so the
 * next start finds it again and removing `.stack/` still resets the stack. Every path handed to
 * initdb and postgres is the real one: the server resolves paths with its own permissions, so
 * a link inside the checkout would not get it past the folders it cannot enter.
 */
export function preparePostgresLayout(
  paths: StackPaths,
  host: LayoutHost,
  say: (line: string) => void,
): PostgresLayout {
  const inside = paths.data('postgres');
  const { runAs } = host;
  mkdirSync(dirname(inside), { recursive: true });
  const found = lstatOrNull(inside);
  if (found?.isSymbolicLink()) {
    const home = resolve(dirname(inside), readlinkSync(inside));
    // Recreated when something removed it (a tmp cleaner); initdb then starts afresh.
    mkdirSync(home, { recursive: true, mode: 0o755 });
    own(home, runAs);
    if (runAs && !host.canWrite(home)) {
      throw new PostgresLayoutError(
        `${inside} links to ${home}, which the ${runAs.user} user cannot write; remove the link to let the next start choose again`,
      );
    }
    say(`  PostgreSQL data lives in ${home} (outside the checkout, linked from ${inside})`);
    return { home, dataDir: join(home, 'pgdata'), outside: true };
  }
  if (found && !found.isDirectory()) {
    throw new PostgresLayoutError(`${inside} is neither a folder nor a link: remove it`);
  }
  mkdirSync(inside, { recursive: true });
  own(inside, runAs);
  if (!runAs || host.canWrite(inside)) {
    return { home: inside, dataDir: join(inside, 'pgdata'), outside: false };
  }
  if (existsSync(join(inside, 'pgdata', 'PG_VERSION'))) {
    throw new PostgresLayoutError(
      `${inside} holds a PostgreSQL cluster the ${runAs.user} user cannot reach (${firstBlocked(inside, host)} is closed to it); move the checkout somewhere ${runAs.user} can enter, or remove ${inside} to start with an empty database`,
    );
  }
  const blocked = firstBlocked(inside, host);
  rmSync(inside, { recursive: true, force: true });
  removeLeftovers(paths, host, inside, say);
  const home = outsideHome(paths, host, runAs);
  const dataDir = join(home, 'pgdata');
  symlinkSync(home, inside);
  say(
    `  PostgreSQL data lives in ${home} (the ${runAs.user} user cannot enter ${blocked}; linked from ${inside})`,
  );
  return { home, dataDir, outside: true };
}

/** Runs `test` as `runAs` with the credentials Node gives the server (no supplementary groups). */
function testAs(runAs: RunAs, expression: string, dir: string): boolean {
  try {
    execFileSync('/bin/sh', ['-c', expression, 'probe', dir], {
      stdio: 'ignore',
      uid: runAs.uid,
      gid: runAs.gid,
      cwd: '/',
    });
    return true;
  } catch {
    return false;
  }
}

/** The home folder of a system user, from the passwd database. */
function homeOf(user: string): string | null {
  try {
    const entry = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim();
    const home = entry.split(':')[5];
    return home && home !== '/' ? home : null;
  } catch {
    return null;
  }
}

/**
 * The real host. Outside homes: the server user's own home first (/var/lib/postgresql on
 * Debian, /var/lib/pgsql on Fedora: persistent, and meant for its data), then /var/tmp, which
 * survives reboots but may be aged out by a tmp cleaner on some systems.
 */
export function systemLayoutHost(
  runAs: RunAs | undefined,
  isAlive: (pid: number) => boolean,
): LayoutHost {
  const userHome = runAs ? homeOf(runAs.user) : null;
  return {
    runAs,
    canWrite: (dir) => !runAs || testAs(runAs, 'test -x "$1" && test -w "$1"', dir),
    canEnter: (dir) => !runAs || testAs(runAs, 'test -x "$1"', dir),
    outsideParents: [...(userHome ? [userHome] : []), '/var/tmp'],
    isAlive,
  };
}
