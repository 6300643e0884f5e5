import { IndexingHarness, recorded } from './support/indexing-harness';

/**
 * A document the engine refuses is set aside as a dead letter with a reason that says what to
 * do, and every other record of the batch is applied.
 */
describe('refused documents (recorded medium_refused rows → ChangeApplier → OpenSearch)', () => {
  // Rows 1 and 3 are plain; row 2's jsonb nests 25 arrays deep, past the engine's depth limit (20).
  const rows = recorded('refusedRow');
  let harness: IndexingHarness;
  /**
   * The refusal is OpenSearch's: its document parser checks the depth of arrays even inside an
   * `enabled: false` object (opensearch-project/OpenSearch#5199). Whether Elasticsearch refuses
   * the row too has not been recorded yet, so the test runs against OpenSearch only.
   */
  const refusing = process.env.SEARCHSYNC_ENGINE === 'elasticsearch' ? it.skip : it;

  beforeEach(async () => {
    harness = await IndexingHarness.open('refused');
  });
  afterEach(() => harness.close());

  refusing(
    'dead-letters the refused row with its classified reason and applies the rest of the batch',
    async () => {
      await harness.apply(rows);

      expect(await harness.document('medium_refused', '1')).toEqual({
        id: 1,
        note: 'flat',
        doc: { a: 1 },
      });
      expect(await harness.document('medium_refused', '2')).toBeNull();
      expect(await harness.document('medium_refused', '3')).toEqual({
        id: 3,
        note: 'after',
        doc: [1, 2],
      });
      expect(harness.letters.letters).toHaveLength(1);
      const [letter] = harness.letters.letters;
      expect(letter).toMatchObject({
        topic: 'searchsync.public.medium_refused',
        partition: 0,
        offset: '1',
        reasonClass: 'mapping_conflict',
        table: 'public.medium_refused',
      });
      // What the engine said, and what to do about it.
      expect(letter.reason).toMatch(/\(400\): mapper_parsing_exception: .*depth.*limit of \[20\]/);
      expect(letter.reason).toMatch(/fix: .*resync the table/);
      // The original record, byte for byte, for a replay after the fix.
      expect(letter.key).toBe(rows[1].key);
      expect(letter.value).toBe(rows[1].value);
    },
  );
});
