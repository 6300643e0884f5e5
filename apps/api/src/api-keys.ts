import { createHash } from 'node:crypto';
import type { ApiKeyEntry } from '@searchsync/config';
import { parseTableReference } from '@searchsync/search-engine';

/** Who is calling, and which tables (`schema.table`) they may read. */
export interface Principal {
  name: string;
  tables: '*' | ReadonlySet<string>;
}

export const ANONYMOUS: Principal = { name: 'anonymous', tables: '*' };

/** `products` and `public.products` are the same table. */
export function canonicalTable(reference: string): string {
  const { schema, table } = parseTableReference(reference);
  return `${schema}.${table}`;
}

export function canRead(principal: Principal, reference: string): boolean {
  return principal.tables === '*' || principal.tables.has(canonicalTable(reference));
}

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** API keys as configured: only SHA-256 digests are held, looked up by the digest of the key sent. */
export class ApiKeyRegistry {
  private readonly byDigest = new Map<string, Principal>();

  constructor(entries: ApiKeyEntry[]) {
    for (const entry of entries) {
      this.byDigest.set(entry.sha256, {
        name: entry.name,
        tables: entry.tables === '*' ? '*' : new Set(entry.tables.map(canonicalTable)),
      });
    }
  }

  get enabled(): boolean {
    return this.byDigest.size > 0;
  }

  /** The principal of a presented key, or undefined when it is not one of ours. */
  authenticate(key: string): Principal | undefined {
    if (key.length === 0 || key.length > 512) return undefined;
    return this.byDigest.get(sha256Hex(key));
  }
}
