import { parseLsn } from '@searchsync/stream-position';
import { InvalidQueryError } from './api.errors';
import type { RawQuery } from './search-query';

export interface ConsistencyRequest {
  lsn: bigint;
  /** At most API_CONSISTENCY_TIMEOUT_MS. */
  timeoutMs?: number;
}

export const CONSISTENCY_PARAMS = ['consistentWith', 'consistencyTimeoutMs'] as const;

/** OpenAPI descriptions of the two parameters, shared by every read that takes them. */
export const CONSISTENCY_QUERY = {
  consistentWith: {
    name: 'consistentWith',
    required: false,
    example: '0/16B3748',
    description:
      'read-your-writes: a PostgreSQL LSN (`select pg_current_wal_lsn()` after your commit); the read waits until every change committed before it is searchable (504 with the lag when not in time); the response says how long it waited in `consistency`',
  },
  consistencyTimeoutMs: {
    name: 'consistencyTimeoutMs',
    required: false,
    example: 2000,
    description:
      'the longest wait for consistentWith, at most API_CONSISTENCY_TIMEOUT_MS (its default)',
  },
} as const;

/**
 * `consistentWith=<LSN>` (and `consistencyTimeoutMs`) out of a query string; the rest is left
 * for the read's own parser.
 */
export function takeConsistency(query: RawQuery): {
  rest: RawQuery;
  consistency: ConsistencyRequest | null;
} {
  const { consistentWith, consistencyTimeoutMs, ...rest } = query;
  if (consistentWith === undefined) {
    if (consistencyTimeoutMs !== undefined)
      throw new InvalidQueryError('consistencyTimeoutMs needs consistentWith');
    return { rest, consistency: null };
  }
  if (typeof consistentWith !== 'string')
    throw new InvalidQueryError('consistentWith may be given once');
  const lsn = parseLsn(consistentWith);
  if (lsn === null)
    throw new InvalidQueryError(
      `consistentWith must be a PostgreSQL LSN such as 0/16B3748 (select pg_current_wal_lsn() after your commit), not ${JSON.stringify(consistentWith.slice(0, 40))}`,
    );
  if (consistencyTimeoutMs === undefined) return { rest, consistency: { lsn } };
  const timeoutMs =
    typeof consistencyTimeoutMs === 'string' && /^\d{1,6}$/.test(consistencyTimeoutMs)
      ? Number(consistencyTimeoutMs)
      : NaN;
  if (!(timeoutMs >= 1))
    throw new InvalidQueryError('consistencyTimeoutMs must be a whole number of milliseconds ≥ 1');
  return { rest, consistency: { lsn, timeoutMs } };
}

/**
 * For reads whose query string takes nothing but the consistency parameters: any other is a 400
 * that says where it belongs (`where`).
 */
export function consistencyOnly(query: RawQuery, where: string): ConsistencyRequest | null {
  const { rest, consistency } = takeConsistency(query);
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    throw new InvalidQueryError(
      `unknown query parameter ${JSON.stringify(unknown.slice(0, 64))}; ${where}the query string takes consistentWith and consistencyTimeoutMs`,
    );
  return consistency;
}
