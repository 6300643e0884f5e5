import { isSecretKey, REDACTED, redactText } from '@searchsync/connect-client';
import { redactCredentials } from '@searchsync/search-engine';
import { stdSerializers } from 'pino';

/**
 * Text as it may leave the process: `key=value` / `"key":"value"` secrets and URL passwords
 * (`redactText`), URL user info and Authorization header values (`redactCredentials`).
 */
export function redactSecrets(text: string): string {
  return redactCredentials(redactText(text));
}

const MAX_DEPTH = 8;

/**
 * A copy of a value fit for a log line or an answer: every string redacted, values under secret
 * keys (`password`, `token`, …) replaced, errors serialized with their causes. Cycles and very
 * deep values are cut rather than followed.
 */
export function redactValue(value: unknown): unknown {
  return redact(value, 0, new WeakSet());
}

function redact(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  try {
    if (value instanceof Error) return redact({ ...serializeError(value) }, depth + 1, seen);
    if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
    if (value instanceof Date) return value;
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] =
        typeof item === 'string' && isSecretKey(key) ? REDACTED : redact(item, depth + 1, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

function serializeError(error: Error): Record<string, unknown> {
  // pino's serializer: type, message and stack with every `cause` ("caused by: …"), own fields.
  return stdSerializers.err(error);
}

/** pino's `err` serializer, redacted. */
export const redactedErrorSerializer = (error: unknown): unknown => redactValue(error);
