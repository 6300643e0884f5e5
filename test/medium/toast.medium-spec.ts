import { IndexingHarness, recorded } from './support/indexing-harness';

/**
 * Debezium's "unchanged TOAST value" placeholder never overwrites a stored value: an update that
 * left a TOASTed column alone (REPLICA IDENTITY DEFAULT) keeps what the index holds.
 */
describe('unchanged TOAST values (recorded ops_probe changes → ChangeApplier → OpenSearch)', () => {
  const ops = recorded('opsProbe');
  const [create, update, laterUpdate] = [ops[2], ops[3], ops[4]];
  /** The 16 000-character value of `big` in the recorded insert. */
  const big = (
    JSON.parse(create.value?.toString() ?? '') as { payload: { after: { big: string } } }
  ).payload.after.big;
  let harness: IndexingHarness;

  beforeEach(async () => {
    harness = await IndexingHarness.open('toast');
  });
  afterEach(() => harness.close());

  it('keeps the stored value of a column an update left unchanged, batch after batch', async () => {
    await harness.apply([create]);
    await harness.apply([update]);
    expect(await harness.document('ops_probe', '1')).toEqual({ id: 1, name: 'uno', big });

    await harness.apply([laterUpdate]);
    expect(await harness.document('ops_probe', '1')).toEqual({ id: 1, name: 'eins', big });
  });

  it('keeps it within one batch too, where the insert is still on its way to the engine', async () => {
    await harness.apply([create, update, laterUpdate]);
    expect(await harness.document('ops_probe', '1')).toEqual({ id: 1, name: 'eins', big });
  });

  it('writes no placeholder when nothing is stored: the column is left out and counted', async () => {
    await harness.apply([update]);
    expect(await harness.document('ops_probe', '1')).toEqual({ id: 1, name: 'uno' });
    expect(harness.metrics.toastUnresolved.get({ table: 'public.ops_probe' })).toBe(1);
  });
});
