import { ApiKeyVerifier } from '@searchsync/app-kit';
import type { ApiKeyEntry } from '@searchsync/config';
import { parseTableReference } from '@searchsync/search-engine';

/** Who is calling, and which tables (`schema.table`) they may read: the scope of an API key. */
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

/** API_KEYS as configured (`name:sha256:tables`): only the digests are held. */
export function apiKeyVerifier(entries: ApiKeyEntry[]): ApiKeyVerifier<Principal> {
  return new ApiKeyVerifier(
    entries.map((entry) => ({
      sha256: entry.sha256,
      principal: {
        name: entry.name,
        tables: entry.tables === '*' ? '*' : new Set(entry.tables.map(canonicalTable)),
      },
    })),
  );
}
