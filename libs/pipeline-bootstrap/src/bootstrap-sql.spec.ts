import {
  DEMO_TABLE,
  createSchemaStatements,
  demoTableSql,
  qualifiedName,
  quoteIdent,
} from './bootstrap-sql';

describe('identifiers', () => {
  it('quotes any configured name, doubling embedded quotes', () => {
    expect(quoteIdent('public')).toBe('"public"');
    expect(quoteIdent('Sales "EU"')).toBe('"Sales ""EU"""');
    expect(qualifiedName('a"b', 'products')).toBe('"a""b"."products"');
  });
});

describe('createSchemaStatements', () => {
  it('creates each missing schema once, in the configured order', () => {
    expect(createSchemaStatements(['sales', 'public', 'sales', 'hr'], new Set(['public']))).toEqual(
      ['create schema if not exists "sales"', 'create schema if not exists "hr"'],
    );
  });

  it('creates nothing when every schema exists (a user without CREATE on the database)', () => {
    expect(createSchemaStatements(['public'], new Set(['public']))).toEqual([]);
  });

  it('keeps hostile names inert', () => {
    expect(createSchemaStatements(['x"; drop table t; --'], new Set())).toEqual([
      'create schema if not exists "x""; drop table t; --"',
    ]);
  });
});

describe('demoTableSql', () => {
  it('puts the demo table in the given schema', () => {
    const sql = demoTableSql('shop');
    expect(sql.name).toBe(`shop.${DEMO_TABLE}`);
    expect(sql.create).toMatch(/^create table if not exists "shop"\."products" \(/);
    expect(sql.create).toContain('id          bigserial primary key');
    expect(sql.count).toBe('select count(*)::int as n from "shop"."products"');
    expect(sql.insert).toMatch(/^insert into "shop"\."products" \(name, description, price/);
  });

  it('holds the quick start rows (the README searches for espresso)', () => {
    const sql = demoTableSql('public');
    expect(sql.rows).toBe(8);
    expect(sql.insert.match(/^\s+\('/gm)).toHaveLength(8);
    expect(sql.insert).toContain("'Espresso machine'");
    expect(sql.insert).toContain("'Coffee beans'");
  });
});
