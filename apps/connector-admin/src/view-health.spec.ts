import {
  EMPTY_SEARCHSYNC_CONFIG,
  type SearchsyncConfig,
  type ViewConfig,
} from '@searchsync/config';
import type { IndexedView } from '@searchsync/search-engine';
import { viewHealth, viewReasons } from './view-health';

const at = { file: 'searchsync.yaml', line: 1 };
const view = (name: string): ViewConfig => ({
  name,
  root: 'orders',
  columns: null,
  location: at,
  embed: [
    {
      field: 'customer',
      table: 'customers',
      join: { kind: 'one', parentColumns: null },
      columns: null,
      embed: [],
      location: at,
    },
  ],
});
const config = (...names: string[]): SearchsyncConfig => ({
  ...EMPTY_SEARCHSYNC_CONFIG,
  views: new Map(names.map((n) => [n, view(n)])),
});
const indexed = (name: string, meta: Record<string, unknown>): IndexedView => ({
  view: name,
  alias: `searchsync-view.${name}`,
  index: `searchsync-view.${name}.v1`,
  fields: [],
  meta: { view: name, ...meta },
});
const engine = (views: IndexedView[]) => ({
  listViews: () => Promise.resolve(views),
  count: (alias: string) => Promise.resolve(alias.length),
});
const tables = [
  { table: 'public.orders', kafkaLag: 3, freshnessSeconds: 2 },
  { table: 'public.customers', kafkaLag: 4, freshnessSeconds: 9 },
];

describe('view health', () => {
  it('tells missing, building, following and set-aside views apart, with lag and freshness of their tables', async () => {
    const health = await viewHealth(
      engine([
        indexed('b', { config: 'c1' }),
        indexed('f', { config: 'c1', built: 'c1' }),
        indexed('x', { config: 'c2', built: 'c2', failed: 'column "gone" does not exist' }),
      ]),
      'searchsync',
      config('m', 'b', 'f', 'x'),
      tables,
    );
    expect(health.map((v) => [v.view, v.state])).toEqual([
      ['m', 'missing'],
      ['b', 'building'],
      ['f', 'following'],
      ['x', 'failed'],
    ]);
    expect(health[2]).toMatchObject({
      root: 'public.orders',
      tables: ['public.orders', 'public.customers'],
      index: 'searchsync-view.f',
      documents: 'searchsync-view.f'.length,
      kafkaLag: 7,
      freshnessSeconds: 9,
    });
    expect(health[0]).toMatchObject({ index: null, documents: null });
    expect(viewReasons(health)).toEqual([
      expect.stringMatching(/^view m has no index yet/),
      expect.stringMatching(/^view b is being built/),
      expect.stringMatching(/^view x set aside by the indexer: column "gone" does not exist/),
    ]);
  });

  it('has no freshness while a table it draws on has none', async () => {
    const [only] = await viewHealth(engine([]), 'searchsync', config('v'), [tables[0]]);
    expect(only).toMatchObject({ kafkaLag: null, freshnessSeconds: null });
  });
});
