import { MemoryViewIndex } from './memory-view-index';
import { VIEW_REFS_FIELD } from './view-plan';

const doc = (id: string, version: bigint, refs: string[]) => ({
  type: 'index' as const,
  index: 'v',
  id,
  version,
  document: { id, [VIEW_REFS_FIELD]: refs },
});

describe('MemoryViewIndex', () => {
  it('writes with external_gte: older versions are stale, deletes keep their version', async () => {
    const index = new MemoryViewIndex();
    await index.write([doc('1', 5n, ['t:1'])]);
    await index.write([doc('1', 4n, ['t:old'])]);
    expect(index.documents().get('1')).toMatchObject({ [VIEW_REFS_FIELD]: ['t:1'] });
    await index.write([doc('1', 5n, ['t:same'])]);
    expect(index.documents().get('1')).toMatchObject({ [VIEW_REFS_FIELD]: ['t:same'] });
    await index.write([{ type: 'delete', index: 'v', id: '1', version: 6n }]);
    await index.write([doc('1', 5n, ['t:1'])]);
    expect(index.documents().size).toBe(0);
    expect(index.version('1')).toBe(6n);
    expect(index.stats).toMatchObject({ writes: 5, applied: 3, stale: 2 });
  });

  it('finds documents by ref and pages a prefix by a cursor that writes do not shift', async () => {
    const index = new MemoryViewIndex('v', 2);
    await index.write(['a', 'b', 'c', 'd', 'e'].map((id) => doc(id, 1n, [`t:${id}`, 'u:1'])));
    expect(await index.rootIdsReferencing(['t:b', 't:d', 'x:1'])).toEqual(['b', 'd']);
    const pages: string[][] = [];
    for await (const page of index.allRootIdsReferencingTable('t:')) {
      pages.push(page);
      // The refresh rewrites each page's documents without the ref before the next page.
      await index.write(page.map((id) => doc(id, 2n, ['u:1'])));
    }
    expect(pages).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });
});
