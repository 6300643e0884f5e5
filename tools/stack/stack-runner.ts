import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { sleep, waitUntil } from '@searchsync/retry';
import { checkLogicalReplication, LocalPostgres } from './local-postgres';
import { javaServiceSpecs, prepareJavaServices } from './java-services';
import { appServiceSpecs } from './app-services';
import { configureSearchEngine, prepareDatabase, registerConnector } from './pipeline-setup';
import type { StackPaths } from './stack-paths';
import { readStackSettings, type StackSettings } from './stack-settings';
import { isAlive, readStackState, type StackState } from './stack-state';
import { readHeld, setHeld, writeHeld } from './stack-control';
import { signalGroup, Supervisor } from './supervisor';

const say = (line: string) => console.log(line);

/** The supervisor of a running stack, if any. */
export function runningSupervisor(paths: StackPaths): number | null {
  if (!existsSync(paths.supervisorPidFile)) return null;
  const pid = Number(readFileSync(paths.supervisorPidFile, 'utf8').trim());
  return isAlive(pid) ? pid : null;
}

function printReady(settings: StackSettings): void {
  say('');
  say('searchsync is up.');
  say(`  Swagger UI (search API):  http://127.0.0.1:${settings.apiPort}/docs`);
  say(`  Connector admin:          http://127.0.0.1:${settings.adminPort}/docs`);
  say(`  Indexer metrics:          http://127.0.0.1:${settings.indexerMetricsPort}/metrics`);
  say('  Try:');
  say(`    curl 'http://127.0.0.1:${settings.apiPort}/v1/tables/products/search?q=espresso'`);
  say(`  psql ${settings.databaseUrl}   — change a row, search again`);
  say('  Stop with Ctrl-C, or ./searchsync down from another terminal.');
}

/** Foreground start: brings everything up, then supervises until Ctrl-C or `down`. */
export async function up(paths: StackPaths): Promise<number> {
  const existing = runningSupervisor(paths);
  if (existing) {
    say(
      `searchsync is already running (supervisor pid ${existing}); ./searchsync status shows it, ./searchsync down stops it.`,
    );
    return 0;
  }
  const settings = readStackSettings();
  for (const dir of [paths.stack, paths.logs, paths.run, paths.jars])
    mkdirSync(dir, { recursive: true });
  writeFileSync(paths.supervisorPidFile, String(process.pid));
  writeHeld(paths, new Set());
  const supervisor = new Supervisor(paths, say);
  // `./searchsync stop|start <part>` edits the held set, then signals us to apply it.
  process.on('SIGUSR2', () => void supervisor.applyHolds(readHeld(paths)));
  let stopping: Promise<void> | null = null;
  const stop = (why: string) => {
    if (!stopping) {
      say(`\n${why}: stopping everything this stack started…`);
      stopping = supervisor.stopAll();
    }
    return stopping;
  };
  const finished = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => void stop(signal).then(resolve));
    }
  });
  try {
    const began = Date.now();
    const javaDirs = prepareJavaServices(paths, settings, say);
    if (!settings.externalDatabase) {
      const postgres = new LocalPostgres(paths, settings);
      postgres.prepare(say);
      await supervisor.start(postgres.spec());
      await postgres.ensureDatabase();
    } else {
      say('… using the PostgreSQL server named by DATABASE_URL');
      await checkLogicalReplication(settings.databaseUrl);
    }
    await prepareDatabase(settings, { demo: !settings.externalDatabase }, say);
    for (const spec of javaServiceSpecs(paths, settings, javaDirs)) {
      if (stopping) break;
      await supervisor.start(spec);
    }
    if (!stopping) {
      await configureSearchEngine(settings, say);
      await registerConnector(paths, settings, say);
    }
    for (const spec of appServiceSpecs(paths, settings)) {
      if (stopping) break;
      await supervisor.start(spec);
    }
    if (!stopping) {
      supervisor.setPhase('ready', `ready in ${((Date.now() - began) / 1000).toFixed(1)}s`);
      say(`✓ all parts up in ${((Date.now() - began) / 1000).toFixed(1)}s`);
      printReady(settings);
    }
  } catch (error) {
    supervisor.setPhase('failed', (error as Error).message);
    say(`\n✗ ${(error as Error).message}`);
    await stop('start-up failed');
    return 1;
  }
  await finished;
  say('stopped.');
  return 0;
}

/** Starts the stack in the background and returns once it is ready (or failed). */
export async function upDetached(paths: StackPaths, entry: string): Promise<number> {
  const existing = runningSupervisor(paths);
  if (existing) {
    say(`searchsync is already running (supervisor pid ${existing}).`);
    return readStackState(paths.stateFile)?.phase === 'ready' ? 0 : await waitReady(paths, 0);
  }
  mkdirSync(paths.logs, { recursive: true });
  const logFile = paths.log('supervisor');
  const offset = existsSync(logFile) ? statSync(logFile).size : 0;
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [entry, 'up'], {
    cwd: paths.root,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, SEARCHSYNC_STACK_MARKER: paths.marker },
  });
  closeSync(log);
  child.unref();
  say(`starting the stack in the background (log: ${logFile})`);
  return waitReady(paths, offset);
}

async function waitReady(paths: StackPaths, fromOffset: number): Promise<number> {
  const logFile = paths.log('supervisor');
  let offset = fromOffset;
  const started = Date.now();
  const deadline = started + 20 * 60_000;
  let sawOurState = false;
  while (Date.now() < deadline) {
    if (existsSync(logFile)) {
      const text = readFileSync(logFile);
      if (text.length > offset) {
        process.stdout.write(text.subarray(offset));
        offset = text.length;
      }
    }
    const state = readStackState(paths.stateFile);
    const supervisor = runningSupervisor(paths);
    if (state && state.supervisorPid === supervisor) sawOurState = true;
    if (sawOurState && state?.phase === 'ready') return 0;
    if (sawOurState && state?.phase === 'failed') return 1;
    if (!supervisor && Date.now() - started > 10_000) {
      say('✗ the stack supervisor exited; see the log above');
      return 1;
    }
    await sleep(500);
  }
  say('✗ the stack did not become ready within 20 minutes');
  return 1;
}

/** Our processes: every process whose environment carries this checkout's marker. */
export function markedProcesses(paths: StackPaths): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (environ.includes(`SEARCHSYNC_STACK_MARKER=${paths.marker}\0`)) pids.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Stops the stack: the supervisor first (so nothing restarts), then any leftover of ours. */
export async function down(paths: StackPaths): Promise<number> {
  const supervisor = runningSupervisor(paths);
  if (supervisor) {
    say(`stopping the stack (supervisor pid ${supervisor})…`);
    process.kill(supervisor, 'SIGTERM');
    await waitUntil(() => !isAlive(supervisor), 90_000, 300);
    if (isAlive(supervisor)) process.kill(supervisor, 'SIGKILL');
  }
  let leftovers = markedProcesses(paths);
  if (leftovers.length > 0) {
    say(`stopping ${leftovers.length} leftover process(es) of this stack: ${leftovers.join(', ')}`);
    for (const pid of leftovers) signalGroup(pid, 'SIGTERM');
    await waitUntil(() => (leftovers = leftovers.filter(isAlive)).length === 0, 20_000, 300);
    for (const pid of leftovers) signalGroup(pid, 'SIGKILL');
  }
  if (!supervisor && leftovers.length === 0) say('searchsync is not running.');
  else say('stopped.');
  return 0;
}

export function status(paths: StackPaths): number {
  const state: StackState | null = readStackState(paths.stateFile);
  const supervisor = runningSupervisor(paths);
  if (!state || !supervisor) {
    say('searchsync is not running.');
    return 3;
  }
  say(`supervisor pid ${supervisor}, since ${state.startedAt}: ${state.phase} (${state.message})`);
  for (const [name, record] of Object.entries(state.services)) {
    const alive = isAlive(record.pid);
    const restarts =
      record.restarts > 0 ? `, ${record.restarts} restart(s), last exit ${record.lastExit}` : '';
    say(
      `  ${name.padEnd(16)} ${record.state.padEnd(10)} pid ${alive ? record.pid : '-'}${restarts}${record.url ? `  ${record.url}` : ''}`,
    );
  }
  return state.phase === 'ready' ? 0 : 1;
}

/** `./searchsync stop <part>` / `start <part>`: hold one part down, or let it run again. */
export async function holdPart(
  paths: StackPaths,
  part: string | undefined,
  hold: boolean,
): Promise<number> {
  if (!part) {
    say(`usage: searchsync ${hold ? 'stop' : 'start'} <part>`);
    return 2;
  }
  say(`${hold ? 'stopping' : 'starting'} ${part}…`);
  await setHeld(paths, part, hold);
  say(
    hold
      ? `${part} is held down (not restarted) until ./searchsync start ${part}`
      : `${part} is running`,
  );
  return 0;
}

export function logs(paths: StackPaths, name: string | undefined): number {
  const files = name
    ? [paths.log(name)]
    : readdirSync(paths.logs).map((file) => join(paths.logs, file));
  for (const file of files) {
    if (!existsSync(file)) {
      say(`no log ${file}`);
      return 1;
    }
    const lines = readFileSync(file, 'utf8').split('\n').slice(-40);
    say(`==> ${file} <==\n${lines.join('\n')}`);
  }
  return 0;
}
