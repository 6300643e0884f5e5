/** SQL the bootstrap runs itself (the publication's is the admin's, see publication-steps.ts). */

/** A PostgreSQL identifier, quoted: any schema name a user configures is safe in SQL. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** `"schema"."table"`. */
export const qualifiedName = (schema: string, table: string): string =>
  `${quoteIdent(schema)}.${quoteIdent(table)}`;

/** Reads which of the given schemas exist (`$1`: text[]). */
export const EXISTING_SCHEMAS_SQL = 'select nspname from pg_namespace where nspname = any($1)';

/**
 * CREATE SCHEMA for each synced schema the database does not have yet, once each, in the
 * configured order. Only missing ones: PostgreSQL checks the CREATE privilege on the database
 * before IF NOT EXISTS, so a user who may not create schemas could not even "create" `public`.
 */
export function createSchemaStatements(
  schemas: readonly string[],
  existing: ReadonlySet<string>,
): string[] {
  return [...new Set(schemas)]
    .filter((schema) => !existing.has(schema))
    .map((schema) => `create schema if not exists ${quoteIdent(schema)}`);
}

/** The demo table's name; it lives in the first synced schema, so that it is synced. */
export const DEMO_TABLE = 'products';

const DEMO_VALUES = [
  `('Espresso machine', 'Dual boiler espresso machine with PID temperature control', 1249.00, '{coffee,kitchen}', true)`,
  `('Burr grinder', 'Conical burr grinder for espresso and filter coffee', 329.50, '{coffee,kitchen}', true)`,
  `('Milk jug', 'Stainless steel milk jug, 600 ml', 24.90, '{coffee,barista}', true)`,
  `('Pour-over kettle', 'Gooseneck kettle with temperature hold', 89.00, '{coffee,kitchen}', false)`,
  `('Tamper', 'Calibrated 58 mm espresso tamper', 39.95, '{coffee,barista}', true)`,
  `('Cast iron pan', '28 cm pre-seasoned cast iron skillet', 54.00, '{kitchen}', true)`,
  `('Chef knife', '21 cm chef knife, stainless steel', 119.00, '{kitchen}', true)`,
  `('Coffee beans', 'Single origin Ethiopia, 1 kg, light roast for filter and espresso', 32.00, '{coffee}', true)`,
];

export interface DemoTableSql {
  /** `schema.products`, for messages. */
  name: string;
  create: string;
  /** Answers one row with `n`: how many rows the table holds. */
  count: string;
  /** Fills it; run only when it is empty, so a second start adds nothing. */
  insert: string;
  rows: number;
}

/** The small demo table of the quick start (the README's `curl` examples search it). */
export function demoTableSql(schema: string): DemoTableSql {
  const table = qualifiedName(schema, DEMO_TABLE);
  return {
    name: `${schema}.${DEMO_TABLE}`,
    create: `create table if not exists ${table} (
  id          bigserial primary key,
  name        text not null,
  description text,
  price       numeric(10, 2) not null,
  tags        text[] not null default '{}',
  in_stock    boolean not null default true,
  updated_at  timestamptz not null default now()
)`,
    count: `select count(*)::int as n from ${table}`,
    insert: `insert into ${table} (name, description, price, tags, in_stock) values\n  ${DEMO_VALUES.join(',\n  ')}`,
    rows: DEMO_VALUES.length,
  };
}
