import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeChangeEvent, type ChangeEvent } from '@searchsync/change-events';
import { catalogOf, column, location, shopCatalog, shopView, table } from './view-plan.fixtures';
import { mergeViewChanges, viewChanges, viewTablesOf } from './view-changes';
import { planView } from './view-plan';

/** Records captured from Debezium (libs/change-events fixtures): inserts, updates, a key change. */
interface RecordedRecord {
  topic: string;
  key: string | null;
  value: string | null;
}
const recorded = JSON.parse(
  readFileSync(
    join(__dirname, '../../change-events/src/fixtures/ops-probe.records.json'),
  ).toString(),
) as RecordedRecord[];
const buffer = (text: string | null) => (text === null ? null : Buffer.from(text));
const decoded = recorded
  .filter((r) => r.topic !== 'searchsync.public.nokey_probe')
  .map((r) => decodeChangeEvent(buffer(r.key), buffer(r.value)));

const probeCatalog = catalogOf(
  table('public.ops_probe', ['id'], [column('id', 'int4'), column('name', 'text')]),
  table(
    'public.composite_probe',
    ['tenant', 'region'],
    [column('tenant', 'int4'), column('region', 'text'), column('qty', 'int4')],
  ),
);
const rootView = (root: string) => ({ name: 'v', root, columns: null, location, embed: [] });
const opsPlan = planView(rootView('public.ops_probe'), probeCatalog);
const compositePlan = planView(rootView('public.composite_probe'), probeCatalog);

const upsert = (name: string, id: string): ChangeEvent => {
  const [schema, t] = name.split('.');
  return {
    kind: 'upsert',
    op: 'update',
    table: { schema, table: t },
    version: 1n,
    sourceTsMs: 0,
    id,
    document: {},
    columns: [],
  };
};
const truncate = (name: string): ChangeEvent => {
  const [schema, t] = name.split('.');
  return { kind: 'truncate', table: { schema, table: t }, version: 1n, sourceTsMs: 0 };
};

describe('viewChanges', () => {
  it('gives both keys of a recorded key change (a delete, then a create), each row once', () => {
    const beforeTruncate = decoded.filter((e) => e.kind !== 'truncate');
    const changes = viewChanges(beforeTruncate, [opsPlan, compositePlan]);
    expect([...changes.keys()].sort()).toEqual(['public.composite_probe', 'public.ops_probe']);
    const ops = changes.get('public.ops_probe');
    // 1: created, updated twice, deleted; 2: created, then its key changed to 3.
    expect(ops?.truncated).toBe(false);
    expect([...(ops?.rows ?? [])]).toEqual([
      ['1', ['1']],
      ['2', ['2']],
      ['3', ['3']],
    ]);
    expect([...(changes.get('public.composite_probe')?.rows ?? [])]).toEqual([
      ['[7,"eu"]', ['7', 'eu']],
    ]);
  });

  it('keeps a truncate and only the rows touched after it', () => {
    const changes = viewChanges([...decoded, upsert('public.ops_probe', '9')], [opsPlan]);
    expect(changes.get('public.ops_probe')).toEqual({
      table: 'public.ops_probe',
      truncated: true,
      rows: new Map([['9', ['9']]]),
    });
  });

  it('leaves out tables no plan draws on, and tombstones', () => {
    const changes = viewChanges(
      [upsert('public.elsewhere', '1'), { kind: 'skip', reason: 'tombstone' }],
      [opsPlan],
    );
    expect(changes.size).toBe(0);
  });

  it('knows every table of a plan, join tables included, and an id of another width', () => {
    const plan = planView(shopView(), shopCatalog());
    expect([...viewTablesOf([plan]).keys()].sort()).toEqual([
      'shop.customers',
      'shop.order_lines',
      'shop.orders',
      'shop.product_tags',
      'shop.products',
      'shop.tags',
    ]);
    const changes = viewChanges(
      [upsert('shop.product_tags', '["p1",3]'), upsert('shop.product_tags', '7')],
      [plan],
    );
    expect([...(changes.get('shop.product_tags')?.rows ?? [])]).toEqual([
      ['["p1",3]', ['p1', '3']],
      ['7', null],
    ]);
  });

  it('merges changes gathered in parts, a later truncate replacing the earlier rows', () => {
    const first = viewChanges(
      [upsert('public.ops_probe', '1'), upsert('public.composite_probe', '[1,"a"]')],
      [opsPlan, compositePlan],
    );
    const second = viewChanges(
      [upsert('public.ops_probe', '2'), truncate('public.composite_probe')],
      [opsPlan, compositePlan],
    );
    const merged = mergeViewChanges(first, second);
    expect([...(merged.get('public.ops_probe')?.rows.keys() ?? [])]).toEqual(['1', '2']);
    expect(merged.get('public.composite_probe')).toMatchObject({
      truncated: true,
      rows: new Map(),
    });
    const third = viewChanges([upsert('public.composite_probe', '[2,"b"]')], [compositePlan]);
    expect(mergeViewChanges(merged, third).get('public.composite_probe')).toMatchObject({
      truncated: true,
      rows: new Map([['[2,"b"]', ['2', 'b']]]),
    });
  });
});
