import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  fieldMapping,
  notSentByDebezium,
  propertiesFor,
  type ConnectSchema,
  type RowColumn,
} from '@searchsync/change-events';
import type { ViewConfig } from '@searchsync/config';
import type { ViewCatalogColumn } from './view-catalog';
import { viewColumnSchema, viewMapping } from './view-mapping';
import { planView, VIEW_REFS_FIELD } from './view-plan';
import { catalogOf, column, location, relation, table } from './view-plan.fixtures';

/** The recorded probe of every type (libs/change-events/src/fixtures/values-probe.sql). */
const fixtures = join(__dirname, '..', '..', 'change-events', 'src', 'fixtures');
const read = <T>(name: string): T => JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as T;

/** The schemas Debezium gave each column, from a recorded event (binary.handling.mode=bytes). */
function recordedSchemas(): Map<string, ConnectSchema> {
  const [record] = read<{ value: string }[]>('values-bytes.records.json');
  const value = JSON.parse(record.value) as { schema: ConnectSchema };
  const after = value.schema.fields?.find((f) => f.field === 'after');
  return new Map((after?.fields ?? []).map((f) => [f.field ?? '', f]));
}

/** The probe's columns as the catalogue reader describes them (declared names from the SQL). */
function probeColumns(): ViewCatalogColumn[] {
  const { columns } = read<{ columns: RowColumn[] }>('values-probe.rows.json');
  const declared: Record<string, string> = {
    c_dom_int: 'posint',
    c_dom_text: 'shorttext',
    c_dom_num: 'price',
  };
  return columns.map((c) => ({
    ...c,
    sqlType: c.baseType,
    typeName: declared[c.name] ?? c.baseType,
    typtype: c.typtype ?? 'b',
    elementTyptype: c.elementType === 'mood' ? 'e' : c.elementType ? 'b' : null,
    notReplicated: null,
  }));
}

describe('viewColumnSchema', () => {
  it('maps every column Debezium sends as the table index maps it (recorded events)', () => {
    const recorded = recordedSchemas();
    const compared: string[] = [];
    const differing: string[] = [];
    for (const catalogColumn of probeColumns()) {
      if (notSentByDebezium(catalogColumn)) continue;
      const schema = recorded.get(catalogColumn.name);
      if (!schema) continue;
      compared.push(catalogColumn.name);
      const ours = JSON.stringify(fieldMapping(viewColumnSchema(catalogColumn)));
      const tables = JSON.stringify(propertiesFor([schema])[catalogColumn.name]);
      if (ours !== tables) differing.push(`${catalogColumn.name}: ${ours} vs ${tables}`);
    }
    expect(differing).toEqual([]);
    // The probe covers the types, not a handful of them.
    expect(compared.length).toBeGreaterThan(60);
  });
});

describe('viewMapping', () => {
  const catalog = catalogOf(
    table(
      'public.film',
      ['film_id'],
      [column('film_id', 'int4'), column('title', 'text')],
      [
        {
          name: 'film_language_fk',
          columns: ['language_id'],
          references: 'public.language',
          referencedColumns: ['language_id'],
        },
      ],
    ),
    table(
      'public.language',
      ['language_id'],
      [column('language_id', 'int2'), column('name', 'bpchar')],
    ),
    table(
      'public.actor',
      ['actor_id'],
      [
        column('actor_id', 'int4'),
        column('first_name', 'text'),
        column('last_update', 'timestamptz'),
      ],
    ),
    table(
      'public.film_actor',
      ['actor_id', 'film_id'],
      [column('actor_id', 'int4'), column('film_id', 'int4')],
      [
        {
          name: 'fa_actor',
          columns: ['actor_id'],
          references: 'public.actor',
          referencedColumns: ['actor_id'],
        },
        {
          name: 'fa_film',
          columns: ['film_id'],
          references: 'public.film',
          referencedColumns: ['film_id'],
        },
      ],
    ),
  );
  // film.language_id is in the catalogue of film for the join only.
  catalog.get('public.film')?.columns.push(column('language_id', 'int2'));
  const view: ViewConfig = {
    name: 'film_search',
    root: 'public.film',
    columns: null,
    location,
    embed: [
      relation('language', 'public.language', { kind: 'one', parentColumns: null }),
      relation('actors', 'public.actor', {
        kind: 'through',
        table: 'public.film_actor',
        parentColumns: null,
        childColumns: null,
      }),
    ],
  };

  it('maps one relations as objects, many and through as nested, and the refs as a keyword', () => {
    expect(viewMapping(planView(view, catalog))).toEqual({
      film_id: { type: 'integer' },
      title: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
      language_id: { type: 'short' },
      language: {
        type: 'object',
        properties: {
          language_id: { type: 'short' },
          name: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
        },
      },
      actors: {
        type: 'nested',
        properties: {
          actor_id: { type: 'integer' },
          first_name: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
          last_update: {
            type: 'date',
            format: 'strict_date_optional_time_nanos||strict_date_optional_time||epoch_millis',
            ignore_malformed: true,
            fields: { exact: { type: 'keyword', ignore_above: 64 } },
          },
        },
      },
      [VIEW_REFS_FIELD]: { type: 'keyword' },
    });
  });

  it("applies each table's configured field settings at every level", () => {
    const config = {
      files: [],
      locations: new Map(),
      views: new Map(),
      tables: new Map([
        [
          'public.actor',
          {
            exclude: [],
            include: null,
            index: {},
            fields: { first_name: { type: 'keyword' as const } },
          },
        ],
      ]),
    };
    const mapping = viewMapping(planView(view, catalog, { config }));
    expect((mapping.actors.properties as Record<string, unknown>).first_name).toEqual({
      type: 'keyword',
      ignore_above: 8191,
    });
    expect(mapping.title).toEqual(fieldMapping({ type: 'string' }));
  });
});
