import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from '@searchsync/retry';
import type { StackPaths } from './stack-paths';
import { isAlive, readStackState, type ServiceRecord } from './stack-state';

/**
 * Holding a part down: `./searchsync stop <part>` writes the set of held parts to
 * `.stack/run/held.json` and signals the supervisor (SIGUSR2), which stops the part and does not
 * restart it until `./searchsync start <part>` removes it from the set. Used by the disruptive
 * end-to-end tests (PostgreSQL down under the connector, indexer down to watch lag grow).
 */
export function heldFile(paths: StackPaths): string {
  return join(paths.run, 'held.json');
}

export function readHeld(paths: StackPaths): Set<string> {
  const file = heldFile(paths);
  if (!existsSync(file)) return new Set();
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return new Set(
      Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [],
    );
  } catch {
    return new Set();
  }
}

export function writeHeld(paths: StackPaths, held: Set<string>): void {
  writeFileSync(heldFile(paths), JSON.stringify([...held].sort()));
}

export class StackControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackControlError';
  }
}

export interface SetHeldOptions {
  timeoutMs?: number;
  /** Tells the supervisor to apply the held set; SIGUSR2 unless a test drives it in-process. */
  notify?: (supervisorPid: number) => void;
}

/** Holds a part down (`hold`) or releases it, and waits until the supervisor has done so. */
export async function setHeld(
  paths: StackPaths,
  part: string,
  hold: boolean,
  { timeoutMs = 180_000, notify = (pid) => process.kill(pid, 'SIGUSR2') }: SetHeldOptions = {},
): Promise<void> {
  const state = readStackState(paths.stateFile);
  if (!state || !isAlive(state.supervisorPid)) {
    throw new StackControlError('searchsync is not running (./searchsync up starts it)');
  }
  if (!state.services[part]) {
    throw new StackControlError(
      `no part named "${part}"; parts: ${Object.keys(state.services).join(', ')}`,
    );
  }
  const held = readHeld(paths);
  if (hold) held.add(part);
  else held.delete(part);
  writeHeld(paths, held);
  notify(state.supervisorPid);
  let record: ServiceRecord | undefined;
  const done = () => {
    const current = readStackState(paths.stateFile);
    if (
      !current ||
      current.supervisorPid !== state.supervisorPid ||
      !isAlive(state.supervisorPid)
    ) {
      throw new StackControlError(
        `the stack supervisor exited while ${hold ? 'stopping' : 'starting'} ${part}; see ${paths.log('supervisor')}`,
      );
    }
    record = current.services[part];
    if (!hold && record?.state === 'failed') {
      throw new StackControlError(`${part} failed to start again; see ${record.log}`);
    }
    return record?.state === (hold ? 'held' : 'running');
  };
  if (await waitUntil(done, timeoutMs, 200)) return;
  throw new StackControlError(
    `${part} did not become ${hold ? 'held' : 'running'} within ${timeoutMs / 1000}s${describe(record)}`,
  );
}

/** What the supervisor last reported for a part that did not reach the state asked for. */
function describe(record: ServiceRecord | undefined): string {
  if (!record) return '';
  const exits =
    record.restarts > 0 ? `, ${record.restarts} restart(s), last exit ${record.lastExit}` : '';
  const retrying =
    record.state === 'restarting' ? '; the supervisor keeps retrying it with backoff' : '';
  return `: it is ${record.state}${exits}${retrying}; see ${record.log}`;
}
