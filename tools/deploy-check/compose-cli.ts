import { spawnSync } from 'node:child_process';
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
 * How to get a compose CLI. Checks never install anything on the machine they run on: CI
 * installs Debian's package beforehand (.ci/run), everyone else as they see fit.
 */
export const COMPOSE_INSTALL =
  'apt-get install -y --no-install-recommends docker-compose (Debian; or the Docker Compose plugin)';

/** A skip nobody can miss in a long log: what did not run, why, and what to install. */
export function skipBanner(what: string, why: string, install: string): string {
  const bar = '!'.repeat(78);
  return [bar, `!! SKIPPED: ${what}`, `!! ${why}`, `!! To run it, install: ${install}`, bar].join(
    '\n',
  );
}

/** `<compose> -f docker-compose.yml config -q`: the compose tool's own validation of the file. */
export function composeConfig(root: string, cli: ComposeCli): { ok: boolean; output: string } {
  const result = run(cli.command, [...cli.args, '-f', COMPOSE_FILE, 'config', '-q'], root, 60_000);
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}
