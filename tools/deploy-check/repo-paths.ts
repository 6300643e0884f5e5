import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest directory upwards holding searchsync's package.json. */
export function findRepoRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (parsed.name === 'searchsync') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no searchsync package.json above ${start}`);
    dir = parent;
  }
}

/** Git-ignored cache of the deploy checks (the extracted helm binary). */
export function cacheDir(root: string): string {
  return join(root, 'node_modules', '.cache', 'searchsync', 'deploy-check');
}
