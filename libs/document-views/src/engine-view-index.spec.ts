import {
  elasticsearchDialect,
  openSearchDialect,
  TIEBREAK_FIELD,
  viewIndexBody,
  viewIndexNames,
  type BulkAction,
  type BulkItemResult,
} from '@searchsync/search-engine';
import { engineViewIndex, ViewIndexWriteError, type ViewIndexEngine } from './engine-view-index';
import { viewMapping } from './view-mapping';
import { planView, VIEW_REFS_FIELD } from './view-plan';
import { shopCatalog, shopView } from './view-plan.fixtures';

/** The engine's view methods over fixed answers, recording the calls in order. */
function fakeEngine(answers: { pages?: string[][]; bulk?: BulkItemResult['outcome'][] } = {}) {
  const calls: string[] = [];
  const bulks: BulkAction[][] = [];
  const pages = async function* (call: string) {
    calls.push(call);
    await Promise.resolve();
    for (const page of answers.pages ?? []) yield page;
  };
  const engine: ViewIndexEngine = {
    refresh: async (alias) => {
      await Promise.resolve();
      calls.push(`refresh ${alias}`);
    },
    idsWithTerms: (alias, field, values, pageSize) =>
      pages(
        `terms ${alias} ${field === VIEW_REFS_FIELD ? 'refs' : field} ${values.join(',')} ${pageSize}`,
      ),
    idsWithPrefix: (alias, field, prefix, pageSize) =>
      pages(`prefix ${alias} ${field === VIEW_REFS_FIELD ? 'refs' : field} ${prefix} ${pageSize}`),
    bulk: async (actions) => {
      await Promise.resolve();
      calls.push(`bulk ${actions.length}`);
      bulks.push(actions);
      return actions.map((_, i) => {
        const outcome = answers.bulk?.[i] ?? 'applied';
        return {
          status: outcome === 'applied' ? 200 : outcome === 'stale' ? 409 : 400,
          outcome,
          ...(outcome === 'applied' || outcome === 'stale' ? {} : { reason: `${outcome}: why` }),
        };
      });
    },
  };
  return { engine, calls, bulks };
}

const NAMES = { alias: 'searchsync-view.orders' };

function action(id: string, version = 1n): BulkAction {
  return {
    type: 'index',
    index: NAMES.alias,
    id,
    version,
    document: { id, [VIEW_REFS_FIELD]: [`public.orders:${id}`] },
  };
}

describe('engineViewIndex', () => {
  it('finds roots by refs (every page) on the refs field, after one refresh', async () => {
    const { engine, calls } = fakeEngine({ pages: [['["1"]', '["2"]'], ['["3"]']] });
    const index = engineViewIndex(engine, NAMES, { pageSize: 2 });
    expect(index.alias).toBe(NAMES.alias);
    await expect(index.rootIdsReferencing(['public.t:a', 'public.t:b'])).resolves.toEqual([
      '["1"]',
      '["2"]',
      '["3"]',
    ]);
    await index.rootIdsReferencing(['public.t:c']);
    expect(calls).toEqual([
      // Writes made before this object existed count: the first lookup refreshes.
      'refresh searchsync-view.orders',
      'terms searchsync-view.orders refs public.t:a,public.t:b 2',
      // No write since: no refresh.
      'terms searchsync-view.orders refs public.t:c 2',
    ]);
  });

  it('asks nothing for no refs', async () => {
    const { engine, calls } = fakeEngine();
    await expect(engineViewIndex(engine, NAMES).rootIdsReferencing([])).resolves.toEqual([]);
    expect(calls).toEqual([]);
  });

  it('refreshes before a lookup after writes, once however many writes', async () => {
    const { engine, calls } = fakeEngine({ pages: [['x']] });
    const index = engineViewIndex(engine, NAMES);
    await index.rootIdsReferencing(['r']);
    await index.write([action('1')]);
    await index.write([action('2')]);
    await index.rootIdsReferencing(['r']);
    await index.rootIdsReferencing(['r']);
    index.changed();
    await index.rootIdsReferencing(['r']);
    expect(calls.filter((c) => c.startsWith('refresh') || c.startsWith('bulk'))).toEqual([
      'refresh searchsync-view.orders',
      'bulk 1',
      'bulk 1',
      'refresh searchsync-view.orders',
      'refresh searchsync-view.orders',
    ]);
    expect(index.stats).toMatchObject({ writes: 2, applied: 2, refreshes: 3 });
  });

  it('pages roots referencing a table by the ref prefix, refreshed before the first page only', async () => {
    const { engine, calls } = fakeEngine({ pages: [['a', 'b'], ['c']] });
    const index = engineViewIndex(engine, NAMES);
    const seen: string[][] = [];
    for await (const page of index.allRootIdsReferencingTable('public.order_lines:')) {
      seen.push(page);
      // The refresh writes between pages; the cursor goes on.
      await index.write([action(page[0])]);
    }
    expect(seen).toEqual([['a', 'b'], ['c']]);
    expect(calls).toEqual([
      'refresh searchsync-view.orders',
      'prefix searchsync-view.orders refs public.order_lines: undefined',
      'bulk 1',
      'bulk 1',
    ]);
  });

  it('counts stale writes (an older snapshot than the one written), not as failures', async () => {
    const { engine, bulks } = fakeEngine({ bulk: ['applied', 'stale', 'applied'] });
    const index = engineViewIndex(engine, NAMES);
    const actions = [action('1'), action('2'), { ...action('3'), type: 'delete' as const }];
    await expect(index.write(actions)).resolves.toBeUndefined();
    expect(bulks).toEqual([actions]);
    expect(index.stats).toMatchObject({ writes: 1, applied: 2, stale: 1 });
  });

  it('fails loudly on any other item outcome, naming the documents', async () => {
    const { engine } = fakeEngine({ bulk: ['applied', 'rejected', 'stale', 'retryable'] });
    const index = engineViewIndex(engine, NAMES);
    const failure = index.write([action('1'), action('2'), action('3'), action('4')]);
    await expect(failure).rejects.toThrow(ViewIndexWriteError);
    await expect(failure).rejects.toMatchObject({
      alias: NAMES.alias,
      retryable: false,
      written: 2,
      failures: [
        { id: '2', type: 'index', status: 400, outcome: 'rejected', reason: 'rejected: why' },
        { id: '4', type: 'index', status: 400, outcome: 'retryable', reason: 'retryable: why' },
      ],
    });
    await expect(failure).rejects.toThrow(
      /searchsync-view\.orders: 2 of 4 actions not written; first: index "2" rejected \(400\): rejected: why/,
    );
    expect(index.stats).toMatchObject({ applied: 1, stale: 1 });
  });

  it('is retryable when every failure is a throttle or a block', async () => {
    for (const [outcomes, retryable] of [
      [['retryable', 'blocked'], true],
      [['missing_index'], false],
      [['blocked', 'rejected'], false],
    ] as const) {
      const { engine } = fakeEngine({ bulk: [...outcomes] });
      const index = engineViewIndex(engine, NAMES);
      await expect(index.write(outcomes.map((_, i) => action(String(i))))).rejects.toMatchObject({
        retryable,
      });
    }
  });

  it('refreshes after a failed write too (some of it may be written), and again after a failed refresh', async () => {
    const { engine, calls } = fakeEngine({ bulk: ['retryable'], pages: [] });
    let refreshFails = true;
    const refresh = engine.refresh;
    engine.refresh = async (alias) => {
      if (refreshFails) {
        refreshFails = false;
        throw new Error('engine down');
      }
      await refresh(alias);
    };
    const index = engineViewIndex(engine, NAMES);
    await expect(index.rootIdsReferencing(['r'])).rejects.toThrow('engine down');
    await index.rootIdsReferencing(['r']);
    await expect(index.write([action('1')])).rejects.toThrow(ViewIndexWriteError);
    await index.rootIdsReferencing(['r']);
    expect(calls.filter((c) => c.startsWith('refresh'))).toHaveLength(2);
  });

  it('writes nothing for no actions', async () => {
    const { engine, calls } = fakeEngine();
    await engineViewIndex(engine, NAMES).write([]);
    expect(calls).toEqual([]);
  });
});

describe("a view's mapping as the engines' create body", () => {
  it('keeps every level: one as object, many and through as nested, refs and tie-break keywords', () => {
    const mapping = viewMapping(planView(shopView(), shopCatalog()));
    const names = viewIndexNames('searchsync', 'order_search');
    for (const dialect of [openSearchDialect(), elasticsearchDialect({ version: '9.5.3' })]) {
      const body = viewIndexBody(dialect, names, mapping, { config: 'c' });
      expect(body).toMatchObject({
        aliases: { 'searchsync-view.order_search': {} },
        mappings: {
          _meta: { searchsync: { view: 'order_search', config: 'c' } },
          properties: {
            customer: { type: 'object' },
            lines: {
              type: 'nested',
              properties: {
                product: { type: 'object', properties: { tags: { type: 'nested' } } },
              },
            },
            [VIEW_REFS_FIELD]: { type: 'keyword' },
            [TIEBREAK_FIELD]: { type: 'keyword', doc_values: true },
          },
        },
      });
    }
  });
});
