import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  adminEnvSchema,
  apiEnvSchema,
  indexerEnvSchema,
  sharedEnvSchema,
} from '@searchsync/config';
import { BOOTSTRAP_ENV } from '@searchsync/pipeline-bootstrap';
import { TABLE_CONFIG_ENV } from './app-facts';
import { placeholders, readConnectorTemplate } from './connector-template-vars';
import type { Problems } from './data-access';

export interface EnvTable {
  /** The markdown file whose tables document the variables. */
  file: string;
  /** Who reads them, for the message. */
  readers: string;
  /** Every variable that must have a row. */
  expected: (root: string) => string[];
  /** Names a row may carry besides those (documented elsewhere, read without a schema). */
  alsoAllowed: readonly string[];
}

const unique = (names: string[]) => [...new Set(names)];

/**
 * Where each variable is documented. The tables are written by hand; these checks (a unit test
 * and `npm run check:deploy`) fail when a variable is missing from its table, or a row names a
 * variable nothing reads.
 */
export const ENV_TABLES: readonly EnvTable[] = [
  {
    file: 'README.md',
    readers: 'the apps (libs/config/src/env-schemas.ts)',
    expected: () =>
      unique(
        [sharedEnvSchema, indexerEnvSchema, apiEnvSchema, adminEnvSchema].flatMap((schema) =>
          Object.keys(schema.shape),
        ),
      ),
    alsoAllowed: [TABLE_CONFIG_ENV],
  },
  {
    file: 'docs/deploy.md',
    readers: 'the pipeline bootstrap (libs/pipeline-bootstrap) or the connector template',
    // PG* come from DATABASE_URL: the bootstrap sets them itself.
    expected: (root) =>
      unique([
        ...BOOTSTRAP_ENV,
        ...placeholders(readConnectorTemplate(root))
          .map((p) => p.variable)
          .filter((name) => !name.startsWith('PG')),
      ]),
    alsoAllowed: [TABLE_CONFIG_ENV],
  },
];

/**
 * The variables a markdown file documents in its tables: every backticked upper-case name in
 * the first cell of a row (`A` / `B` lists several; `PREFIX_*` stands for every name it begins).
 */
export function documentedEnv(markdown: string): string[] {
  const names: string[] = [];
  for (const line of markdown.split('\n')) {
    const cells = /^\s*\|([^|]*)\|/.exec(line);
    if (!cells) continue;
    for (const match of cells[1].matchAll(/`([A-Z][A-Z0-9_]*\*?)`/g)) names.push(match[1]);
  }
  return names;
}

const covers = (entry: string, name: string) =>
  entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : entry === name;

/** The names of `expected` that no entry of `documented` covers. Pure. */
export function undocumentedEnv(
  expected: readonly string[],
  documented: readonly string[],
): string[] {
  return expected.filter((name) => !documented.some((entry) => covers(entry, name)));
}

/** The entries of `documented` that cover none of `known`: rows about nothing. Pure. */
export function unknownEnv(documented: readonly string[], known: readonly string[]): string[] {
  return documented.filter((entry) => !known.some((name) => covers(entry, name)));
}

export function checkEnvDocs(root: string): Problems {
  return ENV_TABLES.flatMap((table) => {
    const documented = documentedEnv(readFileSync(join(root, table.file), 'utf8'));
    const expected = table.expected(root);
    return [
      ...undocumentedEnv(expected, documented).map(
        (name) => `${table.file}: ${name}, read by ${table.readers}, has no row in its tables`,
      ),
      ...unknownEnv(documented, [...expected, ...table.alsoAllowed]).map(
        (name) => `${table.file}: a table documents ${name}, which ${table.readers} never read`,
      ),
    ];
  });
}
