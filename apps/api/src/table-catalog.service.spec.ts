import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  apiEnvSchema,
  loadConfig,
  mappingFingerprint,
  parseSearchsyncConfig,
  SearchsyncConfigWatcher,
  tableSettings,
} from '@searchsync/config';
import type {
  IndexedView,
  MappedField,
  SearchEngine,
  TableMapping,
} from '@searchsync/search-engine';
import { InvalidQueryError } from './api.errors';
import { compileSearch, parseSearchBody, parseSearchQuery } from './search-query';
import { catalogTable, TableCatalogService } from './table-catalog.service';

const STAFF_YAML = `
tables:
  public.staff:
    exclude: [password, address, notes_json]
`;
const config = parseSearchsyncConfig([{ file: 'test.yaml', text: STAFF_YAML }]);

const fields: MappedField[] = [
  { name: 'id', type: 'integer', subFields: {} },
  { name: 'name', type: 'text', subFields: { keyword: 'keyword' } },
  { name: 'email', type: 'keyword', subFields: {} },
  { name: 'password', type: 'text', subFields: { keyword: 'keyword' } },
  { name: 'address.city', type: 'text', subFields: { keyword: 'keyword' } },
  { name: 'address.zip', type: 'keyword', subFields: {} },
  { name: 'notes_json', type: 'object', subFields: {} },
  { name: 'hired', type: 'date', subFields: { exact: 'keyword' } },
];

function mapping(meta: Record<string, unknown> = {}): TableMapping {
  return {
    schema: 'public',
    table: 'staff',
    alias: 'searchsync.public.staff',
    index: 'searchsync.public.staff.v1',
    fields,
    meta: { schema: 'public', table: 'staff', ...meta },
  };
}

const staff = catalogTable(
  mapping({
    notReplicated: [
      { column: 'total', reason: 'generated column' },
      { column: 'password', reason: 'excluded in searchsync.yaml' },
    ],
  }),
  config,
);

const fails = (fn: () => unknown, pattern: RegExp) => {
  expect(fn).toThrow(InvalidQueryError);
  expect(fn).toThrow(pattern);
};

describe('catalogTable', () => {
  it('keeps hidden columns out of the field catalogue', () => {
    expect(staff.fields.map((f) => f.name)).toEqual(['id', 'name', 'email', 'hired']);
    expect(staff.catalog.all.map((r) => r.name)).toEqual(['id', 'name', 'email', 'hired']);
    expect([...staff.hidden].sort()).toEqual([
      'address.city',
      'address.zip',
      'notes_json',
      'password',
    ]);
  });

  it('does not name a hidden column among the columns not replicated', () => {
    expect(staff.notReplicated).toEqual([{ column: 'total', reason: 'generated column' }]);
  });

  it('reports a rebuild when the index was built with another configuration', () => {
    // Built before searchsync.yaml configured the table: the unconfigured fingerprint.
    expect(staff.needsRebuild).toMatch(/changed since its index was built/);
    const current = mappingFingerprint(tableSettings(config, { schema: 'public', table: 'staff' }));
    expect(catalogTable(mapping({ config: current }), config).needsRebuild).toBeNull();
    // The indexer's own finding wins.
    expect(
      catalogTable(
        mapping({ config: current, needsRebuild: { reason: 'email: a value is not a keyword' } }),
        config,
      ).needsRebuild,
    ).toBe('email: a value is not a keyword');
  });

  it('needs no rebuild for an unconfigured table built unconfigured', () => {
    const film = catalogTable({ ...mapping(), schema: 'public', table: 'film' }, config);
    expect(film.needsRebuild).toBeNull();
    expect(film.fields).toHaveLength(fields.length);
  });
});

describe('searching a table with hidden columns', () => {
  const compile = (query: Record<string, unknown>) =>
    compileSearch(staff.catalog, parseSearchQuery(query));
  const compileBody = (body: unknown) => compileSearch(staff.catalog, parseSearchBody(body));

  it('searches q over the visible text fields only', () => {
    expect(compile({ q: 'hunter2' }).text).toEqual({ query: 'hunter2', fields: ['name', 'email'] });
  });

  it('highlights visible text fields only', () => {
    expect(compileBody({ q: 'x', highlight: true }).highlight).toEqual({ fields: ['name'] });
    fails(
      () => compileBody({ q: 'x', highlight: { fields: ['password'] } }),
      /highlight: unknown field "password"/,
    );
  });

  it('refuses hidden fields everywhere, as unknown fields', () => {
    for (const field of ['password', 'address.city', 'address', 'notes_json', 'notes_json.a']) {
      fails(() => compile({ filter: `${field}:eq:x` }), /unknown field/);
      fails(() => compile({ filter: `${field}:exists` }), /unknown field/);
      fails(() => compile({ sort: `${field}:asc` }), /unknown field/);
      fails(() => compile({ fields: field }), /unknown field/);
      fails(
        () => compileBody({ aggregations: [{ name: 'a', type: 'terms', field }] }),
        /unknown field/,
      );
    }
    // The list of the table's fields offered in the answer names none of them.
    fails(
      () => compile({ filter: 'password:eq:x' }),
      /fields of this table: id, name, email, hired$/,
    );
  });

  it('still serves the visible fields', () => {
    const compiled = compile({ filter: 'email:eq:a@b.c', sort: 'hired:desc', fields: 'id,name' });
    expect(compiled.source).toEqual(['id', 'name']);
    expect(compiled.filters).toEqual([
      { kind: 'term', field: 'email', value: 'a@b.c', negate: false },
    ]);
  });
});

describe('TableCatalogService', () => {
  let dir: string;
  let watcher: SearchsyncConfigWatcher;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-catalog-'));
    fs.writeFileSync(path.join(dir, 'searchsync.yaml'), 'tables: {}\n');
    watcher = new SearchsyncConfigWatcher({
      env: { SEARCHSYNC_CONFIG: dir },
      intervalMs: 20,
      log: () => undefined,
    });
  });

  afterEach(() => {
    watcher.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies a configuration change to cached tables at once, without re-reading the engine', async () => {
    let reads = 0;
    const engine = {
      listTableMappings: () => {
        reads++;
        return Promise.resolve([mapping()]);
      },
      listViews: () => Promise.resolve([]),
    } as unknown as SearchEngine;
    const apiConfig = loadConfig(apiEnvSchema, { API_CATALOG_TTL_MS: '60000' });
    const service = new TableCatalogService(apiConfig, engine, watcher);
    expect((await service.resolve('staff')).catalog.fullTextFields).toContain('password');

    watcher.start();
    fs.writeFileSync(path.join(dir, 'searchsync.yaml'), STAFF_YAML);
    const before = watcher.current();
    for (let i = 0; i < 200 && watcher.current() === before; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(watcher.current()).not.toBe(before);

    const table = await service.resolve('staff');
    expect(table.catalog.fullTextFields).toEqual(['name', 'email']);
    expect((await service.all())[0].hidden.has('password')).toBe(true);
    expect(service.visibility({ schema: 'public', table: 'staff' })('password')).toBe(false);
    expect(reads).toBe(1);
  });

  it('serves views beside tables, with the nested paths of their arrays; a table of the same name wins', async () => {
    const view = (name: string): IndexedView => ({
      view: name,
      alias: `searchsync-view.${name}`,
      index: `searchsync-view.${name}.v1`,
      fields: [
        { name: 'id', type: 'long', subFields: {} },
        { name: 'lines.qty', type: 'integer', subFields: {}, nestedIn: ['lines'] },
        {
          name: 'lines.product.tags.label',
          type: 'keyword',
          subFields: {},
          nestedIn: ['lines', 'lines.product.tags'],
        },
      ],
      meta: { view: name, config: 'c' },
    });
    const engine = {
      listTableMappings: () => Promise.resolve([mapping()]),
      listViews: () => Promise.resolve([view('order_search'), view('staff')]),
    } as unknown as SearchEngine;
    const service = new TableCatalogService(loadConfig(apiEnvSchema, {}), engine, watcher);
    const orders = await service.resolve('order_search');
    expect(orders).toMatchObject({
      kind: 'view',
      alias: 'searchsync-view.order_search',
      reference: 'order_search',
      nestedPaths: ['lines', 'lines.product.tags'],
      // Not in this configuration: its freshness cannot be waited for.
      sources: [],
    });
    expect(await service.resolve('staff')).toMatchObject({ kind: 'table', nestedPaths: [] });
  });
});
