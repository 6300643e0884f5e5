import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { COMPOSE_FILE } from './compose-checks';

export interface ComposeCli {
  command: string;
  args: string[];
  version: string;
}

function run(command: string, args: string[], cwd?: string, timeout = 30_000) {
  return spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** `docker compose` (v2 plugin) or `docker-compose` (v1, Debian's package), if installed. */
export function findComposeCli(): ComposeCli | undefined {
  const plugin = run('docker', ['compose', 'version', '--short']);
  if (plugin.status === 0)
    return {
      command: 'docker',
      args: ['compose'],
      version: `docker compose ${plugin.stdout.trim()}`,
    };
  const standalone = run('docker-compose', ['version', '--short']);
  if (standalone.status === 0)
    return {
      command: 'docker-compose',
      args: [],
      version: `docker-compose ${standalone.stdout.trim()}`,
    };
  return undefined;
}

/**
 * On a CI machine (root, apt-get, no stdin): install Debian's docker-compose package, which
 * only needs the package lists already on the machine; about 10 s. Never runs
 * `apt-get update` and gives up after 2 minutes. SEARCHSYNC_DEPLOY_CHECK_INSTALL=0 disables it.
 */
export function installComposeCli(): { ok: boolean; reason: string } {
  if (process.env.SEARCHSYNC_DEPLOY_CHECK_INSTALL === '0')
    return { ok: false, reason: 'installing is disabled (SEARCHSYNC_DEPLOY_CHECK_INSTALL=0)' };
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    return { ok: false, reason: 'not root on Linux, so nothing is installed' };
  if (!existsSync('/usr/bin/apt-get')) return { ok: false, reason: 'no apt-get on this machine' };
  const result = spawnSync(
    'apt-get',
    ['install', '-y', '-q', '--no-install-recommends', 'docker-compose'],
    {
      encoding: 'utf8',
      timeout: 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    },
  );
  if (result.status === 0) return { ok: true, reason: 'installed Debian package docker-compose' };
  const why = (result.stderr || result.stdout || String(result.error ?? ''))
    .trim()
    .split('\n')
    .pop();
  return { ok: false, reason: `apt-get install docker-compose failed: ${why ?? 'unknown error'}` };
}

/** `<compose> -f docker-compose.yml config -q`: the compose tool's own validation of the file. */
export function composeConfig(root: string, cli: ComposeCli): { ok: boolean; output: string } {
  const result = run(cli.command, [...cli.args, '-f', COMPOSE_FILE, 'config', '-q'], root, 60_000);
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}
