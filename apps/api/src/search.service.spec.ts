import { parseSearchsyncConfig } from '@searchsync/config';
import type { MappedField } from '@searchsync/search-engine';
import { crossTableTextFields } from './search.service';
import { catalogTable } from './table-catalog.service';

const config = parseSearchsyncConfig([
  {
    file: 'test.yaml',
    text: `
tables:
  public.staff:
    exclude: [notes]
  public.orders:
    include: [id, title]
`,
  },
]);

const text = (name: string): MappedField => ({
  name,
  type: 'text',
  subFields: { keyword: 'keyword' },
});

const table = (name: string, fields: MappedField[]) =>
  catalogTable(
    {
      schema: 'public',
      table: name,
      alias: `searchsync.public.${name}`,
      index: `searchsync.public.${name}.v1`,
      fields,
      meta: { schema: 'public', table: name },
    },
    config,
  );

describe('crossTableTextFields', () => {
  it('leaves out a field any searched table hides, so its values decide no hit', () => {
    const staff = table('staff', [text('name'), text('notes')]);
    const film = table('film', [text('title'), text('notes')]);
    expect(crossTableTextFields([staff, film])).toEqual(['name', 'title']);
    expect(crossTableTextFields([film])).toEqual(['title', 'notes']);
  });

  it('is not narrowed by fields a table with include does not have', () => {
    // orders lists only id and title; film's description is no field of orders at all.
    const orders = table('orders', [text('title'), text('comment')]);
    const film = table('film', [text('title'), text('description')]);
    expect(crossTableTextFields([orders, film])).toEqual(['title', 'description']);
  });
});
