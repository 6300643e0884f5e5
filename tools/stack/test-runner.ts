import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { StackPaths } from './stack-paths';
import { appEnvironment, readStackSettings } from './stack-settings';
import { down, markedProcesses, runningSupervisor, upDetached } from './stack-runner';
import { readStackState } from './stack-state';

function step(
  paths: StackPaths,
  title: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): boolean {
  console.log(`\n=== ${title}`);
  const began = Date.now();
  const result = spawnSync(process.execPath, [join(paths.root, 'node_modules', script), ...args], {
    cwd: paths.root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  const ok = result.status === 0;
  console.log(
    `=== ${title}: ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - began) / 1000).toFixed(1)}s`,
  );
  return ok;
}

/** docker-compose, Helm and Terraform validated offline (`npm run check:deploy`). */
function deployChecks(paths: StackPaths): boolean {
  console.log('\n=== deploy checks');
  const result = spawnSync('npm', ['run', '--silent', 'check:deploy'], {
    cwd: paths.root,
    stdio: 'inherit',
  });
  const ok = result.status === 0;
  console.log(`=== deploy checks: ${ok ? 'passed' : 'FAILED'}`);
  return ok;
}

/**
 * The whole suite: static checks and unit tests, then end-to-end tests against the real stack —
 * started once here when it is not already running, and stopped again afterwards.
 */
export async function runTests(
  paths: StackPaths,
  entry: string,
  jestArgs: string[],
): Promise<number> {
  const checks =
    step(paths, 'typecheck', 'typescript/bin/tsc', ['-p', 'tsconfig.json', '--noEmit']) &&
    step(paths, 'lint', 'eslint/bin/eslint.js', ['.']) &&
    step(paths, 'format', 'prettier/bin/prettier.cjs', ['--check', '.', '--log-level', 'warn']) &&
    step(paths, 'unit tests', 'jest/bin/jest.js', ['--config', 'jest.config.js', ...jestArgs]) &&
    deployChecks(paths);
  if (!checks) return 1;

  const alreadyRunning =
    runningSupervisor(paths) !== null && readStackState(paths.stateFile)?.phase === 'ready';
  if (!alreadyRunning) {
    console.log('\n=== starting the stack for end-to-end tests');
    if ((await upDetached(paths, entry)) !== 0) {
      await down(paths);
      return 1;
    }
  } else {
    console.log('\n=== using the running stack for end-to-end tests');
  }
  const settings = readStackSettings();
  const ok = step(
    paths,
    'end-to-end tests',
    'jest/bin/jest.js',
    ['--config', 'test/e2e/jest-e2e.config.js', '--runInBand', ...jestArgs],
    { ...appEnvironment(settings, paths), SEARCHSYNC_STACK_ROOT: paths.root },
  );
  if (!alreadyRunning) {
    console.log('\n=== stopping the stack started for the tests');
    await down(paths);
    // The stop command must leave nothing of ours behind.
    const leftovers = markedProcesses(paths);
    if (leftovers.length > 0) {
      console.log(
        `=== FAILED: processes of this stack still running after down: ${leftovers.join(', ')}`,
      );
      return 1;
    }
    console.log('=== no process of this stack left running');
  }
  return ok ? 0 : 1;
}
