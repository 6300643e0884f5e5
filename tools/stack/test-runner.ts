import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findElasticsearchJava, JavaSetupError } from './java-services';
import type { StackPaths } from './stack-paths';
import {
  appEnvironment,
  readStackSettings,
  STACK_ENGINES,
  type StackEngine,
} from './stack-settings';
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
 * Suites whose subject is not the search engine (connector registration, PostgreSQL and Connect
 * outages, the status page, process supervision): run on the first engine only.
 */
const ENGINE_INDEPENDENT_SUITES = [
  'admin-connectors',
  'admin-disruptive',
  'admin-status-page',
  'supervision',
  'indexer-replicas',
  // New tables and columns: Kafka topics, the publication and the indexer's mapping updates,
  // which the kitchen-sink and table-config suites cover on every engine.
  'table-lifecycle',
];

/**
 * On a later release of an engine already tested, only the suites whose subject is what differs
 * between its releases — the query DSL, mappings and analyzers, vectors, the engine's errors,
 * aliases and reindexing — to keep the README's test command near 40 minutes on 2 cores.
 */
const RELEASE_SENSITIVE_SUITES = [
  'api-search',
  'api-aggregations',
  'api-hostile',
  'vectors',
  'kitchen-sink',
  'table-config',
  'rebuild',
];

/** One pass of the e2e suites: an engine, and for Elasticsearch the release of its node. */
interface TestEngine {
  engine: StackEngine;
  /** null: the release deploy/local/elasticsearch/pom.xml names. */
  elasticsearchVersion: string | null;
}

/** The 8.x release the default test run also covers (the newest 8.x on Maven Central). */
const ELASTICSEARCH_8 = '8.19.21';

const DEFAULT_TEST_ENGINES = `opensearch,elasticsearch,elasticsearch@${ELASTICSEARCH_8}`;

function testEngineName(pass: TestEngine): string {
  return pass.elasticsearchVersion ? `${pass.engine}@${pass.elasticsearchVersion}` : pass.engine;
}

function parseTestEngines(raw: string): TestEngine[] {
  return raw.split(',').map((entry) => {
    const [name, version] = entry.trim().split('@');
    const engine = STACK_ENGINES.find((known) => known === name);
    if (!engine || (version !== undefined && (engine !== 'elasticsearch' || !version))) {
      throw new Error(
        `SEARCHSYNC_TEST_ENGINES=${raw}: ${entry} is not an engine (use ${STACK_ENGINES.join(', ')}, or elasticsearch@<release> such as elasticsearch@${ELASTICSEARCH_8})`,
      );
    }
    return { engine, elasticsearchVersion: version ?? null };
  });
}

/**
 * SEARCHSYNC_TEST_ENGINES: the engines the e2e tests run against, in order. By default OpenSearch,
 * Elasticsearch 9 and Elasticsearch 8 — Elasticsearch only where a Java 21+ exists for its node:
 * without one its passes are skipped, loudly.
 */
function testEngines(): TestEngine[] {
  const asked = process.env.SEARCHSYNC_TEST_ENGINES;
  if (asked) return parseTestEngines(asked);
  try {
    findElasticsearchJava(readStackSettings());
    return parseTestEngines(DEFAULT_TEST_ENGINES);
  } catch (error) {
    if (!(error instanceof JavaSetupError)) throw error;
    console.log(
      `\n=== SKIPPING the Elasticsearch end-to-end passes: ${error.message} (SEARCHSYNC_TEST_ENGINES=${DEFAULT_TEST_ENGINES} makes them required)`,
    );
    return parseTestEngines('opensearch');
  }
}

function passEnvironment(pass: TestEngine): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SEARCHSYNC_ENGINE: pass.engine,
    SEARCHSYNC_ELASTICSEARCH_VERSION: pass.elasticsearchVersion ?? '',
  };
}

/** Which e2e suites a pass runs: all, all but some, or only some. */
type SuiteSelection = { all: true } | { skip: readonly string[] } | { only: readonly string[] };

function suitePatterns(selection: SuiteSelection): string[] {
  const pattern = (suite: string) => `/${suite}\\.e2e-spec\\.ts$`;
  if ('skip' in selection) return ['--testPathIgnorePatterns', ...selection.skip.map(pattern)];
  if ('only' in selection) return ['--testPathPatterns', ...selection.only.map(pattern)];
  return [];
}

function selectionTitle(selection: SuiteSelection): string {
  if ('skip' in selection) return ' (the suites that exercise the engine)';
  if ('only' in selection) return ' (the suites whose subject differs between releases)';
  return '';
}

/** The e2e suites against the stack now running on `engine`. */
function endToEnd(
  paths: StackPaths,
  pass: TestEngine,
  jestArgs: string[],
  selection: SuiteSelection,
): boolean {
  const settings = readStackSettings(passEnvironment(pass));
  const engine = testEngineName(pass);
  return step(
    paths,
    `end-to-end tests on ${engine}${selectionTitle(selection)}`,
    'jest/bin/jest.js',
    [
      '--config',
      'test/e2e/jest-e2e.config.js',
      '--runInBand',
      ...suitePatterns(selection),
      ...jestArgs,
    ],
    { ...appEnvironment(settings, paths), SEARCHSYNC_STACK_ROOT: paths.root },
  );
}

/**
 * The middle tier (test/medium): recorded Debezium events through the indexer's core into the
 * running engine, without Kafka or Connect — fast, and precise about each applier rule.
 */
function middleTier(paths: StackPaths, pass: TestEngine): boolean {
  const settings = readStackSettings(passEnvironment(pass));
  return step(
    paths,
    `middle tier (applier → ${testEngineName(pass)})`,
    'jest/bin/jest.js',
    ['--config', 'test/medium/jest-medium.config.js', '--runInBand'],
    { ...appEnvironment(settings, paths), SEARCHSYNC_STACK_ROOT: paths.root },
  );
}

/**
 * The whole suite: static checks and unit tests, then end-to-end tests against the real stack —
 * started here on each engine in turn (OpenSearch, then Elasticsearch) when it is not already
 * running, and stopped again afterwards; a running stack is used as it is.
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

  const running = runningSupervisor(paths) !== null ? readStackState(paths.stateFile) : null;
  if (running?.phase === 'ready') {
    const engine = STACK_ENGINES.find((name) => name in running.services) ?? 'opensearch';
    console.log(`\n=== using the running stack (${engine}) for end-to-end tests`);
    const other = STACK_ENGINES.filter((name) => name !== engine);
    console.log(
      `    (the ${other.join(', ')} pass runs when the tests start the stack themselves: ./searchsync down first)`,
    );
    const version = engine === 'elasticsearch' ? readStackSettings().elasticsearchVersion : null;
    const pass = { engine, elasticsearchVersion: version };
    // Both tiers run whatever the other's outcome: one failure must not hide the rest.
    const medium = jestArgs.length === 0 ? middleTier(paths, pass) : true;
    const e2e = endToEnd(paths, pass, jestArgs, { all: true });
    return medium && e2e ? 0 : 1;
  }
  let ok = true;
  const passes = testEngines();
  for (const [index, pass] of passes.entries()) {
    const releaseBefore = passes.slice(0, index).some((earlier) => earlier.engine === pass.engine);
    const selection: SuiteSelection =
      index === 0
        ? { all: true }
        : releaseBefore
          ? { only: RELEASE_SENSITIVE_SUITES }
          : { skip: ENGINE_INDEPENDENT_SUITES };
    const engine = testEngineName(pass);
    process.env.SEARCHSYNC_ENGINE = pass.engine;
    process.env.SEARCHSYNC_ELASTICSEARCH_VERSION = pass.elasticsearchVersion ?? '';
    console.log(`\n=== starting the stack on ${engine} for end-to-end tests`);
    if ((await upDetached(paths, entry)) !== 0) {
      await down(paths);
      return 1;
    }
    // The middle tier once, on the first engine; not when the arguments pick e2e suites.
    const medium = index === 0 && jestArgs.length === 0 ? middleTier(paths, pass) : true;
    const e2e = endToEnd(paths, pass, jestArgs, selection);
    ok = medium && e2e && ok;
    console.log(`\n=== stopping the stack started for the ${engine} tests`);
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
    if (!ok) break;
  }
  return ok ? 0 : 1;
}

/**
 * `./searchsync faults` (npm run test:faults): the fault-injection suite (test/faults) against
 * the running stack, or one started for it (on SEARCHSYNC_ENGINE, OpenSearch by default) and
 * stopped after. `--quick` shortens every fault (CI's form); other arguments go to Jest.
 */
export async function runFaults(paths: StackPaths, entry: string, args: string[]): Promise<number> {
  const quick = args.includes('--quick');
  const jestArgs = args.filter((arg) => arg !== '--quick');
  const running = runningSupervisor(paths) !== null ? readStackState(paths.stateFile) : null;
  const startHere = running?.phase !== 'ready';
  if (startHere) {
    console.log('\n=== starting the stack for the fault-injection suite');
    if ((await upDetached(paths, entry)) !== 0) {
      await down(paths);
      return 1;
    }
  }
  // The engine the stack runs (a running one may not be the default's).
  const state = readStackState(paths.stateFile);
  const engine = STACK_ENGINES.find((name) => name in (state?.services ?? {}));
  if (engine) process.env.SEARCHSYNC_ENGINE = engine;
  const settings = readStackSettings();
  const ok = step(
    paths,
    `fault-injection suite${quick ? ' (quick form)' : ''}`,
    'jest/bin/jest.js',
    ['--config', 'test/faults/jest-faults.config.js', '--runInBand', ...jestArgs],
    {
      ...appEnvironment(settings, paths),
      SEARCHSYNC_STACK_ROOT: paths.root,
      ...(quick ? { SEARCHSYNC_FAULTS_QUICK: '1' } : {}),
    },
  );
  if (startHere) {
    console.log('\n=== stopping the stack started for the fault-injection suite');
    await down(paths);
  }
  return ok ? 0 : 1;
}
