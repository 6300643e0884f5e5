import { observeTables, readyToRemove, type DropWatch } from './table-lifecycle';

const indexed = [
  { schema: 'public', table: 'kept', alias: 'searchsync.public.kept' },
  { schema: 'public', table: 'gone', alias: 'searchsync.public.gone' },
  { schema: 'other', table: 'elsewhere', alias: 'searchsync.other.elsewhere' },
];

describe('observeTables', () => {
  it('watches a table missing from PostgreSQL, and makes it a candidate only on the second look', () => {
    const present = new Set(['public.kept']);
    const first = observeTables(new Map(), indexed, present, ['public'], 1000, '0/10');
    expect(first.candidates).toEqual([]);
    expect([...first.watches.keys()]).toEqual(['searchsync.public.gone']);
    const second = observeTables(first.watches, indexed, present, ['public'], 11_000, '0/20');
    expect(second.candidates).toEqual([
      {
        schema: 'public',
        table: 'gone',
        alias: 'searchsync.public.gone',
        since: 1000,
        lsn: '0/10',
      },
    ]);
  });

  it('forgets the watch when the table is back (dropped and created again between two looks)', () => {
    const first = observeTables(new Map(), indexed, new Set(['public.kept']), ['public'], 1, null);
    const again = observeTables(
      first.watches,
      indexed,
      new Set(['public.kept', 'public.gone']),
      ['public'],
      2,
      null,
    );
    expect(again.watches.size).toBe(0);
    expect(again.candidates).toEqual([]);
  });

  it('never judges an index of a schema that is not synced', () => {
    const seen = observeTables(new Map(), indexed, new Set(), ['public'], 1, null);
    expect([...seen.watches.keys()]).not.toContain('searchsync.other.elsewhere');
  });

  it('drops the watch of an index that is already gone', () => {
    const watches = new Map<string, DropWatch>([
      [
        'searchsync.public.gone',
        { schema: 'public', table: 'gone', alias: 'searchsync.public.gone', since: 1, lsn: null },
      ],
    ]);
    const seen = observeTables(
      watches,
      indexed.slice(0, 1),
      new Set(['public.kept']),
      ['public'],
      2,
      null,
    );
    expect(seen.watches.size).toBe(0);
  });
});

describe('readyToRemove', () => {
  const watch: DropWatch = { schema: 'public', table: 'gone', alias: 'a', since: 0, lsn: '0/1' };

  it('removes once the stream is settled', () => {
    expect(readyToRemove(watch, true, 10, 120_000)).toBe(true);
  });

  it('waits for the stream, but not beyond the grace period', () => {
    expect(readyToRemove(watch, false, 119_999, 120_000)).toBe(false);
    expect(readyToRemove(watch, false, 120_000, 120_000)).toBe(true);
  });
});
