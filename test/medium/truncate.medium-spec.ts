import { IndexingHarness, recorded } from './support/indexing-harness';

/** A truncate removes every document of that table, and only of that table. */
describe('truncate (recorded ops_probe changes → ChangeApplier → OpenSearch)', () => {
  const ops = recorded('opsProbe');
  const otherTable = ops[0]; // composite_probe (7, 'eu')
  const creates = [ops[2], ops[6], ops[8]]; // ops_probe rows 1, 2 and 3
  const truncate = ops[9];
  let harness: IndexingHarness;

  beforeEach(async () => {
    harness = await IndexingHarness.open('truncate');
  });
  afterEach(() => harness.close());

  it('removes every document of the truncated table and leaves other tables alone', async () => {
    await harness.apply([otherTable, ...creates]);
    expect(await harness.count('ops_probe')).toBe(3);

    await harness.apply([truncate]);

    expect(await harness.count('ops_probe')).toBe(0);
    expect(await harness.document('composite_probe', '[7,"eu"]')).toMatchObject({ qty: 1 });
    expect(harness.metrics.eventsApplied.get({ table: 'public.ops_probe', op: 'truncate' })).toBe(
      1,
    );
  });

  it('truncates after the writes that came before it in the same batch, not before', async () => {
    await harness.apply([...creates, truncate]);
    expect(await harness.count('ops_probe')).toBe(0);
    // The table stays writable after its truncate.
    await harness.apply([otherTable]);
    expect(await harness.count('composite_probe')).toBe(1);
  });
});
