import type { ViewConfig } from '@searchsync/config';
import type { IndexedView, JsonObject } from '@searchsync/search-engine';
import { ViewRebuilds } from './view-rebuild';

const at = { file: 'searchsync.yaml', line: 1 };
const view: ViewConfig = {
  name: 'order_search',
  root: 'orders',
  columns: null,
  location: at,
  embed: [],
};

/** The view's live index as the indexer leaves it: meta merged by setTableMeta, swapped by hand. */
function engine() {
  const live: IndexedView = {
    view: 'order_search',
    alias: 'searchsync-view.order_search',
    index: 'searchsync-view.order_search.v1',
    fields: [],
    meta: { view: 'order_search', config: 'c' },
  };
  let views: IndexedView[] = [];
  return {
    views: () => views,
    create: () => (views = [live]),
    swapIn: (meta: JsonObject) =>
      (views = [
        { ...live, index: 'searchsync-view.order_search.v2', meta: { ...live.meta, ...meta } },
      ]),
    listViews: () => Promise.resolve(views),
    setTableMeta: (_alias: string, meta: JsonObject) => {
      views = views.map((v) => ({ ...v, meta: { ...v.meta, ...meta } }));
      return Promise.resolve();
    },
    count: () => Promise.resolve(7),
  };
}

describe('rebuilds of document views on request', () => {
  it('asks the indexer through the index meta and reads the outcome back from it', async () => {
    const fake = engine();
    const rebuilds = new ViewRebuilds(fake, 'searchsync');
    await expect(rebuilds.start(view)).rejects.toMatchObject({ statusCode: 409 });
    await expect(rebuilds.progress(view)).rejects.toMatchObject({ statusCode: 404 });

    fake.create();
    const started = await rebuilds.start(view);
    expect(started).toMatchObject({
      state: 'filling',
      generation: 2,
      index: 'searchsync-view.order_search.v2',
      previous: ['searchsync-view.order_search.v1'],
    });
    expect(fake.views()[0].meta.rebuildRequested).toBe(started.id);
    // One at a time.
    await expect(rebuilds.start(view)).rejects.toMatchObject({ statusCode: 409 });
    expect((await rebuilds.progress(view)).state).toBe('filling');

    fake.swapIn({ rebuiltFor: started.id });
    expect(await rebuilds.progress(view)).toMatchObject({
      id: started.id,
      state: 'completed',
      rowsDone: 7,
      index: 'searchsync-view.order_search.v2',
    });
    // Once completed, another may start.
    await expect(rebuilds.start(view)).resolves.toMatchObject({ generation: 3 });
  });
});
