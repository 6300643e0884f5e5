import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import type { StackPaths } from './stack-paths';

export class JarResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JarResolutionError';
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'target') return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Hash of everything in a deploy/local component folder: a change re-runs Maven. */
function componentHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(dir).sort()) {
    hash.update(relative(dir, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex');
}

/**
 * Resolves a component's jars from Maven Central into .stack/jars/<component> with the pom in
 * deploy/local/<component>; skipped when that folder is unchanged since the last resolution.
 */
export function resolveJars(
  paths: StackPaths,
  component: string,
  say: (line: string) => void,
  properties: Record<string, string> = {},
  outputName: string = component,
): string {
  const source = join(paths.root, 'deploy', 'local', component);
  const output = join(paths.jars, outputName);
  const stamp = join(output, '.resolved');
  // The properties count: the same pom with another release is another set of jars.
  const hash = `${componentHash(source)}${JSON.stringify(Object.entries(properties).sort())}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return output;
  mkdirSync(output, { recursive: true });
  say(`… resolving ${component} jars with Maven (first start downloads them)`);
  const began = Date.now();
  const result = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(source, 'pom.xml'),
      `-DoutputRoot=${output}`,
      ...Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
      'package',
    ],
    { cwd: paths.root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (result.error) {
    throw new JarResolutionError(
      `cannot run Maven (mvn): ${result.error.message}; install Apache Maven 3.8+`,
    );
  }
  if (result.status !== 0) {
    const log = join(paths.logs, `maven-${component}.log`);
    writeFileSync(log, `${result.stdout}\n${result.stderr}`);
    throw new JarResolutionError(`Maven could not resolve the ${component} jars; see ${log}`);
  }
  // A class-data archive recorded with the former jars would be ignored at every start from now
  // on (the JVM checks the class path): dropped, the next start records one for these jars.
  for (const entry of readdirSync(output)) {
    if (entry.endsWith('.jsa')) rmSync(join(output, entry), { force: true });
  }
  writeFileSync(stamp, hash);
  say(`✓ ${component} jars resolved in ${((Date.now() - began) / 1000).toFixed(0)}s`);
  return output;
}
