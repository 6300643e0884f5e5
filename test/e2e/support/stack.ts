import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
// Not @searchsync/retry: Jest's globalSetup loads this file without the path aliases.
import { setTimeout as sleep } from 'node:timers/promises';

export function stackUrls() {
  return {
    api: `http://127.0.0.1:${process.env.API_PORT ?? 3000}`,
    admin: `http://127.0.0.1:${process.env.ADMIN_PORT ?? 3001}`,
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/app',
  };
}

export const stackRoot = process.env.SEARCHSYNC_STACK_ROOT ?? resolve(__dirname, '..', '..', '..');

export interface ServiceRecord {
  pid: number | null;
  state: string;
  restarts: number;
}

/** The search engine the stack runs (SEARCHSYNC_ENGINE), also the name of its service. */
export const stackEngine: 'opensearch' | 'elasticsearch' =
  process.env.SEARCHSYNC_ENGINE === 'elasticsearch' ? 'elasticsearch' : 'opensearch';

export function stackService(name: string): ServiceRecord {
  const state = JSON.parse(readFileSync(join(stackRoot, '.stack', 'state.json'), 'utf8')) as {
    services: Record<string, ServiceRecord>;
  };
  return state.services[name];
}

export async function database(): Promise<Client> {
  const client = new Client({ connectionString: stackUrls().databaseUrl });
  await client.connect();
  return client;
}

/** A table name no other test uses, so tests share one stack without interfering. */
export function uniqueTable(purpose: string): string {
  return `e2e_${purpose}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export async function apiGet<T = Record<string, unknown>>(path: string): Promise<ApiResponse<T>> {
  const response = await fetch(`${stackUrls().api}${path}`, {
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * Polls until `probe` returns a value that `done` accepts; the bounded wait of every pipeline
 * assertion. Fails with the last value seen.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 60_000, what = 'condition' }: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await sleep(500);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${(lastError as Error).message}` : ''}`,
  );
}
