import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidCursorError } from './api.errors';

const LONG_MAX = '9223372036854775807';
const LONG_MIN = '-9223372036854775808';

/**
 * Sort values as the engine must get them back. A missing value sorts as Long.MAX/MIN, which a
 * JS number cannot hold exactly; the exact decimal string is accepted in its place.
 */
function normalizeSortValue(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    if (value >= 9.2e18) return LONG_MAX;
    if (value <= -9.2e18) return LONG_MIN;
  }
  return value;
}

/** A stable digest of what a cursor is only valid for (tables, q, filters, sort). */
export function queryFingerprint(shape: unknown): string {
  return createHash('sha256').update(JSON.stringify(shape)).digest('base64url').slice(0, 22);
}

/**
 * Opaque, tamper-evident pagination cursors: the search-after position and the fingerprint of
 * the query, signed with HMAC-SHA256. A cursor is only valid for the query that produced it.
 */
export class CursorCodec {
  private readonly secret: Buffer;

  constructor(secret?: string) {
    this.secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest();
  }

  encode(fingerprint: string, searchAfter: unknown[]): string {
    const payload = Buffer.from(
      JSON.stringify({ v: 1, f: fingerprint, a: searchAfter.map(normalizeSortValue) }),
    ).toString('base64url');
    return `${payload}.${this.sign(payload).toString('base64url')}`;
  }

  /** The search-after values of a cursor made by `encode` for this same query. */
  decode(cursor: string, fingerprint: string, sortLength: number): unknown[] {
    const invalid = (why: string) => new InvalidCursorError(why);
    if (cursor.length > 4096) throw invalid('too long');
    const parts = cursor.split('.');
    if (
      parts.length !== 2 ||
      !/^[A-Za-z0-9_-]+$/.test(parts[0]) ||
      !/^[A-Za-z0-9_-]+$/.test(parts[1])
    )
      throw invalid('malformed');
    const [payload, signature] = parts;
    const expected = this.sign(payload);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw invalid('signature mismatch (tampered, or made by another deployment)');
    let decoded: { v?: unknown; f?: unknown; a?: unknown };
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof decoded;
    } catch {
      throw invalid('malformed');
    }
    if (decoded.v !== 1 || !Array.isArray(decoded.a)) throw invalid('malformed');
    if (decoded.f !== fingerprint)
      throw invalid('it belongs to a different query (table, q, filters or sort changed)');
    if (decoded.a.length !== sortLength) throw invalid('malformed');
    return decoded.a as unknown[];
  }
}
