import type { ChangeEvent } from '@searchsync/change-events';
import { MemoryViewIndex } from './memory-view-index';
import { viewChanges } from './view-changes';
import type { ViewDocumentResult } from './view-documents';
import { viewRef, type RowKey } from './view-keys';
import { planView, VIEW_REFS_FIELD } from './view-plan';
import { shopCatalog, shopView } from './view-plan.fixtures';
import type { ViewReader, ViewReaderSource } from './view-reader';
import { ViewRootIdInvalidError } from './view-refresh.errors';
import { ViewRefresher } from './view-refresher';
import { ViewDocumentValueError } from './view.errors';

/**
 * The refresh against a PostgreSQL of its own: each root's current document is its list of
 * refs (the rows it draws on now), a root absent from it is gone. The real statements are
 * tested on PostgreSQL in test/medium/view-refresh.medium-spec.ts.
 */
class World implements ViewReaderSource {
  readonly roots = new Map<string, { refs: string[]; bad?: boolean }>();
  version = 1n;
  connections = 0;
  readonly reads: number[] = [];
  /** Documents read and not yet written, at most (a batch's worth, or the refresh holds more). */
  outstanding = 0;
  maxOutstanding = 0;

  set(id: number, ...refs: string[]) {
    this.roots.set(String(id), { refs: [viewRef('shop.orders', String(id)), ...refs].sort() });
    this.version += 1n;
  }

  async withReader<T>(work: (reader: ViewReader) => Promise<T>): Promise<T> {
    this.connections += 1;
    return work(this.reader);
  }

  private readonly reader: ViewReader = {
    affectedRoots: async (table: string, keys: readonly RowKey[]) => {
      await Promise.resolve();
      const wanted = new Set(keys.map((key) => viewRef(table, refId(key))));
      return [...this.roots]
        .filter(([, root]) => root.refs.some((ref) => wanted.has(ref)))
        .map(([id]): RowKey => [id]);
    },
    readDocuments: async (keys: readonly RowKey[]) => {
      await Promise.resolve();
      this.reads.push(keys.length);
      const results = keys.map((key): ViewDocumentResult => {
        const id = String(Number(key[0]));
        const root = this.roots.get(id);
        if (!root) return { id, version: this.version, deleted: true };
        if (root.bad) {
          const cause = new RangeError('numeric out of range');
          const error = new ViewDocumentValueError('order_search', 'shop.orders', 'total', id, {
            cause,
          });
          return { id, version: this.version, deleted: false, error };
        }
        return {
          id,
          version: this.version,
          deleted: false,
          document: { id: Number(id) },
          refs: root.refs,
        };
      });
      this.outstanding += results.length;
      this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
      return results;
    },
  };
}

/** The document id of a key (numbers as numbers), as documentId gives it for these tables. */
const refId = (key: RowKey) => {
  const values = key.map((v) => (v !== null && /^-?\d+$/.test(v) ? Number(v) : v));
  return values.length === 1 ? String(values[0]) : JSON.stringify(values);
};

const plan = planView(shopView(), shopCatalog());
const event = (kind: 'upsert' | 'delete' | 'truncate', table: string, id = ''): ChangeEvent => {
  const position = { table: { schema: 'shop', table }, version: 1n, sourceTsMs: 0 };
  if (kind === 'truncate') return { kind, ...position };
  if (kind === 'delete') return { kind, ...position, id };
  return { kind, op: 'update', ...position, id, document: {}, columns: [] };
};
const changesOf = (...events: ChangeEvent[]) => viewChanges(events, [plan]);

/** The index holds exactly the world's documents (refs included). */
function expectIndexEqualsWorld(index: MemoryViewIndex, world: World) {
  const held = [...index.documents()].map(([id, document]): [string, unknown] => [
    id,
    document[VIEW_REFS_FIELD],
  ]);
  const expected = [...world.roots]
    .filter(([, root]) => !root.bad)
    .map(([id, root]): [string, unknown] => [id, root.refs]);
  expect(new Map(held)).toEqual(new Map(expected));
}

function setUp() {
  const world = new World();
  const index = new MemoryViewIndex('views_order_search');
  const written = index.write.bind(index);
  index.write = async (actions) => {
    world.outstanding -= actions.length;
    return written(actions);
  };
  const refresher = new ViewRefresher({ plan, index, reader: world });
  /** Builds every root's document, as an initial fill would. */
  const fill = async () => {
    const ids = [...world.roots.keys()];
    await refresher.refresh(changesOf(...ids.map((id) => event('upsert', 'orders', id))));
  };
  return { world, index, refresher, fill };
}

describe('ViewRefresher', () => {
  it('re-indexes the roots sharing an updated row, found by refs and in PostgreSQL, once each', async () => {
    const { world, index, refresher, fill } = setUp();
    world.set(1, 'shop.tags:7');
    world.set(2, 'shop.tags:7');
    world.set(3, 'shop.tags:8');
    await fill();
    world.version += 1n;
    const result = await refresher.refresh(changesOf(event('upsert', 'tags', '7')));
    expect(result).toMatchObject({ roots: 2, written: 2, deleted: 0, failed: 0, batches: 1 });
    expect(index.version('1')).toBe(world.version);
    expect(index.version('3')).toBeLessThan(world.version);
  });

  it('rewrites the documents a deleted or re-joined row left (found only by their refs)', async () => {
    const { world, index, refresher, fill } = setUp();
    world.set(1, 'shop.product_tags:["p",7]', 'shop.tags:7');
    world.set(2, 'shop.product_tags:["p",7]', 'shop.tags:7');
    await fill();
    world.set(1);
    world.set(2);
    const result = await refresher.refresh(changesOf(event('delete', 'product_tags', '["p",7]')));
    expect(result).toMatchObject({ roots: 2, written: 2 });
    expectIndexEqualsWorld(index, world);
  });

  it('writes the documents a new row joins (found only in PostgreSQL)', async () => {
    const { world, index, refresher, fill } = setUp();
    world.set(1);
    world.set(2);
    await fill();
    world.set(2, 'shop.product_tags:["p",9]', 'shop.tags:9');
    const result = await refresher.refresh(changesOf(event('upsert', 'product_tags', '["p",9]')));
    expect(result).toMatchObject({ roots: 1, written: 1 });
    expectIndexEqualsWorld(index, world);
  });

  it('deletes a deleted root even when the index cannot find it yet', async () => {
    const { world, index, refresher, fill } = setUp();
    world.set(1);
    await fill();
    world.roots.delete('1');
    world.version += 1n;
    index.rootIdsReferencing = () => Promise.resolve([]);
    const result = await refresher.refresh(changesOf(event('delete', 'orders', '1')));
    expect(result).toMatchObject({ roots: 1, written: 0, deleted: 1 });
    expect(index.documents().size).toBe(0);
  });

  it('follows a root key change: the old document deleted, the new one written', async () => {
    const { world, index, refresher, fill } = setUp();
    world.set(1, 'shop.order_lines:[1,1]');
    await fill();
    world.roots.delete('1');
    world.set(5, 'shop.order_lines:[5,1]');
    const result = await refresher.refresh(
      changesOf(
        event('delete', 'orders', '1'),
        event('delete', 'order_lines', '[1,1]'),
        event('upsert', 'orders', '5'),
        event('upsert', 'order_lines', '[5,1]'),
      ),
    );
    expect(result).toMatchObject({ roots: 2, written: 1, deleted: 1 });
    expectIndexEqualsWorld(index, world);
  });

  it('on a truncate rewrites every document drawing on the table; of the root, deletes them all', async () => {
    const { world, index, refresher, fill } = setUp();
    for (let id = 1; id <= 5; id += 1) world.set(id, ...(id % 2 ? ['shop.tags:1'] : []));
    await fill();
    for (let id = 1; id <= 5; id += 1) world.set(id);
    const tags = await refresher.refresh(changesOf(event('truncate', 'tags')));
    expect(tags).toMatchObject({ roots: 3, written: 3, deleted: 0 });
    expectIndexEqualsWorld(index, world);

    // Truncated, then a root inserted again within the same batch: it survives.
    world.roots.clear();
    world.set(4);
    const orders = await refresher.refresh(
      changesOf(event('truncate', 'orders'), event('upsert', 'orders', '4')),
    );
    expect(orders).toMatchObject({ roots: 5, written: 1, deleted: 4 });
    expectIndexEqualsWorld(index, world);
    expect(index.version('1')).toBe(world.version);
  });

  it('returns value errors as failures to dead-letter, and writes the rest of the batch', async () => {
    const { world, index, refresher, fill } = setUp();
    world.set(1, 'shop.tags:1');
    world.set(2, 'shop.tags:1');
    await fill();
    world.roots.set('2', { refs: world.roots.get('2')?.refs ?? [], bad: true });
    world.set(1, 'shop.tags:1');
    const result = await refresher.refresh(changesOf(event('upsert', 'tags', '1')));
    expect(result).toMatchObject({ roots: 2, written: 1, failed: 1 });
    expect(result.failures).toEqual([
      { id: '2', version: world.version, error: expect.any(ViewDocumentValueError) },
    ]);
    expect(index.version('1')).toBe(world.version);
    expect(index.version('2')).toBeLessThan(world.version);
  });

  it('reports an id in the index that is no key of the root as a failure', async () => {
    const customerPlan = planView({ ...shopView([]), root: 'shop.customers' }, shopCatalog());
    const world = new World();
    const index = new MemoryViewIndex();
    await index.write([
      {
        type: 'index',
        index: 'v',
        id: '7',
        version: 1n,
        document: { [VIEW_REFS_FIELD]: ['shop.customers:7'] },
      },
    ]);
    const refresher = new ViewRefresher({ plan: customerPlan, index, reader: world });
    const result = await refresher.refresh(
      viewChanges([{ ...event('truncate', 'customers') }], [customerPlan]),
    );
    expect(result).toMatchObject({ roots: 1, failed: 1, batches: 0 });
    expect(result.failures[0].error).toBeInstanceOf(ViewRootIdInvalidError);
    expect(result.failures[0].error.message).toContain('rebuild the view');
  });

  it('reads one root once however many ways it is reached (key texts `1` and `01`)', async () => {
    const { world, refresher, fill } = setUp();
    world.set(1, 'shop.tags:1');
    await fill();
    const result = await refresher.refresh(
      changesOf(event('upsert', 'orders', '01'), event('upsert', 'tags', '1')),
    );
    expect(result).toMatchObject({ roots: 1, written: 1 });
  });

  it('does not connect when no change concerns the view', async () => {
    const { world, refresher } = setUp();
    const result = await refresher.refresh(new Map());
    expect(result).toMatchObject({ roots: 0, batches: 0 });
    expect(world.connections).toBe(0);
  });

  it('streams a 100,000-root fan-out batch by batch with bounded documents in memory', async () => {
    const { world, index, refresher } = setUp();
    const roots = 100_000;
    for (let id = 1; id <= roots; id += 1) {
      world.roots.set(String(id), { refs: [`shop.orders:${id}`, 'shop.tags:1'] });
    }
    // Half the documents are in the index already (found by their refs), all reach the row now.
    await index.write(
      Array.from({ length: roots / 2 }, (_, i) => ({
        type: 'index' as const,
        index: 'v',
        id: String(i + 1),
        version: 1n,
        document: { [VIEW_REFS_FIELD]: ['shop.tags:1'] },
      })),
    );
    world.outstanding = 0;
    world.version += 1n;
    const progress: number[] = [];
    const result = await refresher.refresh(changesOf(event('upsert', 'tags', '1')), (p) =>
      progress.push(p.roots),
    );
    expect(result).toMatchObject({ roots, written: roots, failed: 0, batches: roots / 500 });
    expect(Math.max(...world.reads)).toBe(500);
    expect(world.maxOutstanding).toBe(500);
    expect(progress).toHaveLength(200);
    expect(progress[progress.length - 1]).toBe(roots);
    expect(index.documents().size).toBe(roots);
  });
});
