import { setHeld } from '../../../tools/stack/stack-control';
import { StackPaths } from '../../../tools/stack/stack-paths';
import { stackRoot, stackUrls } from './stack';

export interface AdminResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
}

/** Every admin response body seen by a test, so a test can prove no secret ever left. */
export const adminTranscript: string[] = [];

export async function admin<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminResponse<T>> {
  const response = await fetch(`${stackUrls().admin}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  adminTranscript.push(text);
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed as T, text };
}

export const searchUrl = () =>
  process.env.SEARCH_URL ?? `http://127.0.0.1:${process.env.SEARCHSYNC_SEARCH_PORT ?? 9200}`;

/** A raw call to OpenSearch, for changing the index behind the pipeline's back. */
export async function search(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${searchUrl()}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 404) {
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return JSON.parse(text) as unknown;
}

export const connectorName = () => process.env.ADMIN_CONNECTOR_NAME ?? 'searchsync-postgres';

/** `./searchsync stop <part>`: the supervisor stops the part and does not restart it. */
export function holdPart(part: string): Promise<void> {
  return setHeld(new StackPaths(stackRoot), part, true);
}

/** `./searchsync start <part>`. */
export function releasePart(part: string): Promise<void> {
  return setHeld(new StackPaths(stackRoot), part, false);
}
