import { IndexingHarness, recorded } from './support/indexing-harness';

/**
 * A replayed or out-of-date event never overwrites a newer document, and a deleted row stays
 * deleted: each write carries a version that only grows along the row's history.
 */
describe('stale events (recorded ops_probe changes → ChangeApplier → OpenSearch)', () => {
  const ops = recorded('opsProbe');
  const [create, update, laterUpdate, remove] = [ops[2], ops[3], ops[4], ops[5]];
  let harness: IndexingHarness;

  beforeEach(async () => {
    harness = await IndexingHarness.open('stale');
  });
  afterEach(() => harness.close());

  it('never lets a replayed older change overwrite the newer document', async () => {
    await harness.apply([create, update, laterUpdate]);
    expect(await harness.document('ops_probe', '1')).toMatchObject({ name: 'eins' });

    // Delivered again after a rebalance, and out of order: the older versions lose.
    await harness.apply([update]);
    await harness.apply([create]);

    expect(await harness.document('ops_probe', '1')).toMatchObject({ name: 'eins' });
    expect(harness.metrics.versionConflicts.get({ table: 'public.ops_probe' })).toBe(2);
    expect(harness.letters.letters).toEqual([]);
  });

  it('keeps a deleted row deleted when its earlier changes are replayed', async () => {
    await harness.apply([create, laterUpdate, remove]);
    expect(await harness.document('ops_probe', '1')).toBeNull();

    await harness.apply([create]);
    await harness.apply([laterUpdate]);

    expect(await harness.document('ops_probe', '1')).toBeNull();
    expect(harness.letters.letters).toEqual([]);
  });
});
