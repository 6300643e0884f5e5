import type { NestExpressApplication } from '@nestjs/platform-express';
import { apiEnvSchema, loadConfig, type ApiConfig } from '@searchsync/config';
import type { Client } from 'pg';
import { createApiApp, listenApi, type ApiAppOptions } from '../../../apps/api/src/api-app';
import { eventually, stackUrls } from './stack';

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** One HTTP call; the body is parsed as JSON when it is JSON. */
export async function http<T = Record<string, unknown>>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  } else if (init.raw !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** The API of the running stack. */
export const stackApi = <T = Record<string, unknown>>(
  path: string,
  init?: Parameters<typeof http>[2],
) => http<T>(stackUrls().api, path, init);

/** The engine of the running stack (SEARCH_URL, or the port the stack was told to use). */
export function searchUrl(): string {
  return process.env.SEARCH_URL ?? `http://127.0.0.1:${process.env.SEARCHSYNC_SEARCH_PORT ?? 9200}`;
}

export interface InProcessApi {
  app: NestExpressApplication;
  url: string;
  host: string;
  call: <T = Record<string, unknown>>(
    path: string,
    init?: Parameters<typeof http>[2],
  ) => Promise<HttpResult<T>>;
  close: () => Promise<void>;
}

/**
 * The real API app in this process, on an ephemeral port, against the stack's engine — for the
 * configurations the shared stack does not run with (API keys, rate limits).
 */
export async function startApi(
  env: Record<string, string> = {},
  options: ApiAppOptions = { logger: false },
): Promise<InProcessApi> {
  const config: ApiConfig = loadConfig(apiEnvSchema, {
    SEARCH_URL: searchUrl(),
    LOG_LEVEL: 'error',
    ...env,
  });
  const app = await createApiApp(config, options);
  const bound = await listenApi(app, config, 0);
  const url = `http://127.0.0.1:${bound.port}`;
  return {
    app,
    url,
    host: bound.host,
    call: (path, init) => http(url, path, init),
    close: () => app.close(),
  };
}

/** Waits until the API serves `expected` documents of a table. */
export async function waitForDocuments(table: string, expected: number): Promise<void> {
  await eventually(
    () => stackApi<{ total: number }>(`/v1/tables/${table}/search?size=1`),
    (r) => r.status === 200 && r.body.total === expected,
    { what: `${expected} documents of ${table} indexed`, timeoutMs: 90_000 },
  );
}

/**
 * A table with one column of each kind the API treats differently, 60 rows: text, numeric,
 * integer, bigint, double, boolean, date, timestamptz, text[], jsonb; some NULLs.
 */
export async function createCatalogTable(db: Client, table: string): Promise<void> {
  await db.query(`create table ${table} (
    id int primary key,
    name text not null,
    category text,
    price numeric(10,2),
    qty integer,
    big bigint,
    rating double precision,
    active boolean,
    born date,
    updated timestamptz,
    tags text[],
    attrs jsonb
  )`);
  await db.query(`insert into ${table}
    select g,
      (array['espresso','grinder','kettle','scale'])[g % 4 + 1] || ' model ' || g || case when g % 10 = 0 then ' zebracorn' else '' end,
      (array['coffee','tea',null])[g % 3 + 1],
      g * 1.5,
      g % 7,
      g::bigint * 1000000000,
      g / 4.0,
      g % 2 = 0,
      date '2024-01-01' + (g % 28),
      timestamptz '2024-01-15T10:00:00Z' + ((g % 3) || ' months')::interval,
      array['all', 'mod' || (g % 2)],
      jsonb_build_object('k', g)
    from generate_series(1, 60) g`);
}
