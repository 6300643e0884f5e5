import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackRoot } from './stack';

/** The local stack's config.d: every app reads it (SEARCHSYNC_CONFIG) and reloads on change. */
export const configDirectory = () => join(stackRoot, '.stack', 'config.d');

/** Writes one test's own searchsync.yaml part (its tables only), picked up within seconds. */
export function writeTableConfig(name: string, yaml: string): void {
  mkdirSync(configDirectory(), { recursive: true });
  writeFileSync(join(configDirectory(), `${name}.yaml`), yaml);
}

export function removeTableConfig(name: string): void {
  rmSync(join(configDirectory(), `${name}.yaml`), { force: true });
}
