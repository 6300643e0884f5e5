import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export type ServiceState =
  'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed' | 'held';

export interface ServiceRecord {
  pid: number | null;
  state: ServiceState;
  restarts: number;
  lastExit: string | null;
  lastRestartAt: string | null;
  /** Set while `./searchsync stop <part>` holds the service down (supervision paused). */
  heldSince?: string | null;
  log: string;
  url?: string;
}

export interface StackState {
  supervisorPid: number;
  startedAt: string;
  phase: 'starting' | 'ready' | 'failed' | 'stopping';
  message: string;
  services: Record<string, ServiceRecord>;
}

export function readStackState(file: string): StackState | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackState;
  } catch {
    return null;
  }
}

export function writeStackState(file: string, state: StackState): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(state, null, 2));
  renameSync(temp, file);
}

export function isAlive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
