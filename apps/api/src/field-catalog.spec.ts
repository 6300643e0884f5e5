import { parseSearchsyncConfig, tableSettings } from '@searchsync/config';
import { FieldCatalog, fieldRule, isPathVisible, visibleSource } from './field-catalog';

const config = parseSearchsyncConfig([
  {
    file: 'test.yaml',
    text: `
tables:
  public.staff:
    exclude: [password, address, "odd.name"]
  sales.orders:
    include: [id, total, customer]
`,
  },
]);
const staff = tableSettings(config, { schema: 'public', table: 'staff' });
const orders = tableSettings(config, { schema: 'sales', table: 'orders' });
const film = tableSettings(config, { schema: 'public', table: 'film' });

describe('isPathVisible', () => {
  it('hides an excluded column and everything nested in it', () => {
    expect(isPathVisible(staff, 'password')).toBe(false);
    expect(isPathVisible(staff, 'address')).toBe(false);
    expect(isPathVisible(staff, 'address.city')).toBe(false);
    expect(isPathVisible(staff, 'address.geo.lat')).toBe(false);
    expect(isPathVisible(staff, 'name')).toBe(true);
    // Only the column itself, not one that merely starts with its name.
    expect(isPathVisible(staff, 'password_hint')).toBe(true);
    expect(isPathVisible(staff, 'addresses.city')).toBe(true);
  });

  it('hides a column whose name holds a dot (mapped as an object path)', () => {
    expect(isPathVisible(staff, 'odd.name')).toBe(false);
    expect(isPathVisible(staff, 'odd.name.inner')).toBe(false);
    expect(isPathVisible(staff, 'odd.other')).toBe(true);
  });

  it('with include, serves the listed columns and what is nested in them only', () => {
    expect(isPathVisible(orders, 'total')).toBe(true);
    expect(isPathVisible(orders, 'customer.name')).toBe(true);
    expect(isPathVisible(orders, 'notes')).toBe(false);
    expect(isPathVisible(orders, 'shipping.city')).toBe(false);
  });

  it('serves everything of a table the configuration does not name', () => {
    expect(isPathVisible(film, 'anything.at.all')).toBe(true);
  });
});

describe('visibleSource', () => {
  it('drops hidden columns from a stored document, nested values with them', () => {
    const source = {
      id: 1,
      name: 'Mike',
      password: 'hunter2',
      address: { city: 'Lethbridge' },
      'odd.name': 'x',
    };
    expect(visibleSource(source, (p) => isPathVisible(staff, p))).toEqual({ id: 1, name: 'Mike' });
  });

  it('keeps only included columns', () => {
    const source = { id: 7, total: '9.90', customer: { name: 'A' }, notes: 'call first' };
    expect(visibleSource(source, (p) => isPathVisible(orders, p))).toEqual({
      id: 7,
      total: '9.90',
      customer: { name: 'A' },
    });
  });

  it('returns the document itself when nothing is hidden', () => {
    const source = { id: 1, title: 'Academy Dinosaur' };
    expect(visibleSource(source, (p) => isPathVisible(film, p))).toBe(source);
  });
});

describe('FieldCatalog with hidden columns', () => {
  const catalog = new FieldCatalog(
    [
      { name: 'name', type: 'text', subFields: { keyword: 'keyword' } },
      { name: 'password', type: 'keyword', subFields: {} },
      { name: 'address.city', type: 'keyword', subFields: {} },
      { name: 'secrets', type: 'object', subFields: {} },
    ],
    (p) => isPathVisible({ ...staff, exclude: [...staff.exclude, 'secrets'] }, p),
  );

  it('lists visible fields only', () => {
    expect(catalog.all.map((r) => r.name)).toEqual(['name']);
    expect(catalog.fullTextFields).toEqual(['name']);
    expect(catalog.textFields).toEqual(['name']);
  });

  it('answers a hidden field exactly as a field that does not exist', () => {
    const message = (name: string) => {
      try {
        catalog.field(name, 'sort');
      } catch (error) {
        return (error as Error).message.replace(name, '<name>');
      }
      throw new Error(`${name} was accepted`);
    };
    expect(message('password')).toBe(message('nosuchfield'));
    expect(message('address.city')).toBe(message('nosuchfield'));
    // Inside a hidden json column: not the "stored but not searchable" answer, which would tell.
    expect(message('secrets.key')).toBe(message('nosuchfield'));
    expect(message('password')).toMatch(/unknown field "<name>"; fields of this table: name$/);
  });

  it('projects neither hidden fields nor the objects that hold them', () => {
    expect(catalog.isProjectable('name')).toBe(true);
    expect(catalog.isProjectable('password')).toBe(false);
    expect(catalog.isProjectable('address')).toBe(false);
    expect(catalog.isProjectable('address.city')).toBe(false);
    expect(catalog.isProjectable('secrets.key')).toBe(false);
  });
});

describe('vector columns', () => {
  const embedding = {
    name: 'embedding',
    type: 'vector',
    subFields: {},
    vector: { dims: 384, similarity: 'cosine' as const, field: 'copy_of_embedding' },
  };

  it('are knn fields only: no q, exact path or stored-only reason, their copy field kept', () => {
    expect(fieldRule(embedding)).toEqual({
      name: 'embedding',
      type: 'vector',
      kind: 'other',
      fullText: false,
      existsPath: 'embedding',
      vector: { dims: 384, similarity: 'cosine', field: 'copy_of_embedding' },
    });
  });

  it('are listed as the vector fields, projectable, never searched by q or highlighted', () => {
    const catalog = new FieldCatalog([
      { name: 'name', type: 'text', subFields: { keyword: 'keyword' } },
      embedding,
      { ...embedding, name: 'image', vector: { ...embedding.vector, field: 'copy_of_image' } },
    ]);
    expect(catalog.vectorFields.map((r) => r.name)).toEqual(['embedding', 'image']);
    expect(catalog.fullTextFields).toEqual(['name']);
    expect(catalog.textFields).toEqual(['name']);
    expect(catalog.isProjectable('embedding')).toBe(true);
    expect(catalog.field('embedding', 'fields').vector?.dims).toBe(384);
    expect(new FieldCatalog([{ name: 'name', type: 'text', subFields: {} }]).vectorFields).toEqual(
      [],
    );
  });

  it('are left out when hidden, like any column', () => {
    const catalog = new FieldCatalog([embedding], (p) =>
      isPathVisible({ ...staff, exclude: ['embedding'] }, p),
    );
    expect(catalog.vectorFields).toEqual([]);
    expect(catalog.isProjectable('embedding')).toBe(false);
  });
});
