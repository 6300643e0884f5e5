import { TableConfigInvalidError, type TableConfigProblem } from './config.errors';
import { MAX_EMBED_DEPTH, parseSearchsyncConfig } from './table-config';
import type { SearchsyncConfig } from './table-config.types';
import type { ViewConfig, ViewRelationConfig } from './view-config.types';

/** The design's example: orders → customer (n:1), lines (1:n) → product (n:1) → tags (n:m). */
const ORDER_SEARCH = `views:
  order_search:
    root: public.orders
    columns: [id, status, placed_at]
    embed:
      customer: { table: public.customers }
      lines:
        table: public.order_lines
        many: true
        on: order_id
        embed:
          product:
            table: public.products
            on: product_id
            columns: [id, name, price]
            embed:
              tags: { table: public.tags, through: public.product_tags }
`;

function parse(text: string, file = 'a.yaml'): SearchsyncConfig {
  return parseSearchsyncConfig([{ file, text }]);
}

function view(text: string, name: string): ViewConfig {
  const found = parse(text).views.get(name);
  if (found === undefined) throw new Error(`no view ${name}`);
  return found;
}

/** The only relation of a view `v` rooted at `r`, written as the YAML of its value. */
function relation(yaml: string): ViewRelationConfig {
  const found = view(`views:\n  v:\n    root: r\n    embed:\n      f: ${yaml}\n`, 'v').embed;
  expect(found).toHaveLength(1);
  return found[0];
}

function problemsOf(sources: { file: string; text: string }[]): TableConfigProblem[] {
  try {
    parseSearchsyncConfig(sources);
  } catch (error) {
    if (error instanceof TableConfigInvalidError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

/** The only problem of a one-file configuration. */
function problemOf(text: string): TableConfigProblem {
  const problems = problemsOf([{ file: 'a.yaml', text }]);
  expect(problems).toHaveLength(1);
  return problems[0];
}

/** The only problem of the relation `f` of a view `v`, given as the YAML of its value. */
function relationProblem(yaml: string): TableConfigProblem {
  return problemOf(`views:\n  v:\n    root: r\n    embed:\n      f: ${yaml}\n`);
}

describe('views', () => {
  it('reads a three-level view into its relations, kinds, joins and locations', () => {
    const config = parse(`tables:\n  staff: { exclude: [password] }\n${ORDER_SEARCH}`);
    expect([...config.views.keys()]).toEqual(['order_search']);
    expect(config.tables.has('public.orders')).toBe(false); // a view configures no table
    const expected: ViewConfig = {
      name: 'order_search',
      root: 'public.orders',
      columns: ['id', 'status', 'placed_at'],
      location: { file: 'a.yaml', line: 4 },
      embed: [
        {
          field: 'customer',
          table: 'public.customers',
          join: { kind: 'one', parentColumns: null },
          columns: null,
          embed: [],
          location: { file: 'a.yaml', line: 8 },
        },
        {
          field: 'lines',
          table: 'public.order_lines',
          join: { kind: 'many', childColumns: ['order_id'] },
          columns: null,
          location: { file: 'a.yaml', line: 9 },
          embed: [
            {
              field: 'product',
              table: 'public.products',
              join: { kind: 'one', parentColumns: ['product_id'] },
              columns: ['id', 'name', 'price'],
              location: { file: 'a.yaml', line: 14 },
              embed: [
                {
                  field: 'tags',
                  table: 'public.tags',
                  join: {
                    kind: 'through',
                    table: 'public.product_tags',
                    parentColumns: null,
                    childColumns: null,
                  },
                  columns: null,
                  embed: [],
                  location: { file: 'a.yaml', line: 19 },
                },
              ],
            },
          ],
        },
      ],
    };
    expect(config.views.get('order_search')).toEqual(expected);
  });

  it.each([
    ['no views key', 'tables: {}\n'],
    ['an empty views section', 'views:\n'],
    ['an empty views mapping', 'views: {}\n'],
  ])('configures no view for %s', (_name, text) => {
    expect(parse(text).views.size).toBe(0);
  });

  it('takes a bare table name as schema public and keeps other schemas', () => {
    const found = view(
      'views:\n  v:\n    root: orders\n    embed:\n      c: { table: sales.customers }\n',
      'v',
    );
    expect(found.root).toBe('public.orders');
    expect(found.embed[0].table).toBe('sales.customers');
    expect(found.columns).toBeNull();
  });

  it('reads a view with a root only', () => {
    expect(view('views:\n  v: { root: r }\n', 'v')).toEqual({
      name: 'v',
      root: 'public.r',
      columns: null,
      embed: [],
      location: { file: 'a.yaml', line: 2 },
    });
  });

  describe('relation kinds and on', () => {
    it('is one when neither many nor through is given, and with many: false', () => {
      expect(relation('{ table: t }').join).toEqual({ kind: 'one', parentColumns: null });
      expect(relation('{ table: t, many: false, on: t_id }').join).toEqual({
        kind: 'one',
        parentColumns: ['t_id'],
      });
    });

    it('reads a composite on in key order', () => {
      expect(relation('{ table: t, on: [a_id, b_id] }').join).toEqual({
        kind: 'one',
        parentColumns: ['a_id', 'b_id'],
      });
      expect(relation('{ table: t, many: true, on: [b_id, a_id] }').join).toEqual({
        kind: 'many',
        childColumns: ['b_id', 'a_id'],
      });
    });

    it('reads the join columns of a through relation, each side optional', () => {
      expect(
        relation('{ table: t, through: s.j, on: { parent: [p1, p2], child: c } }').join,
      ).toEqual({
        kind: 'through',
        table: 's.j',
        parentColumns: ['p1', 'p2'],
        childColumns: ['c'],
      });
      expect(relation('{ table: t, through: j, on: { child: [c] } }').join).toEqual({
        kind: 'through',
        table: 'public.j',
        parentColumns: null,
        childColumns: ['c'],
      });
      expect(relation('{ table: t, through: j, many: false }').join).toMatchObject({
        kind: 'through',
      });
    });

    it('refuses many: true together with through, at the later key', () => {
      const problem = relationProblem('{ table: t, many: true, through: j }');
      expect(problem).toMatchObject({ line: 5, column: 34 });
      expect(problem.message).toBe(
        'view v f: many: true and through are both set — use many: true for a table that ' +
          'references the parent (one-to-many), through for a join table (many-to-many)',
      );
      expect(relationProblem('{ through: j, table: t, many: true }')).toMatchObject({
        line: 5,
        column: 34,
      });
    });

    it('refuses a many that is not a boolean', () => {
      expect(relationProblem('{ table: t, many: "yes" }')).toMatchObject({
        line: 5,
        column: 28,
        message: 'view v f many: "yes" is not true or false',
      });
    });

    it('refuses { parent, child } on a one or many relation', () => {
      expect(relationProblem('{ table: t, on: { parent: a } }').message).toBe(
        "view v f on: { parent, child } is for through relations — give the parent's column(s) " +
          "that reference the table's key: on: column, or on: [column, …] for a composite key",
      );
      expect(relationProblem('{ table: t, many: true, on: { child: a } }').message).toMatch(
        /^view v f on: \{ parent, child \} is for through relations — give the table's column\(s\) that reference the parent's key/,
      );
    });

    it.each([
      ['a column', 'on: a'],
      ['a list', 'on: [a]'],
    ])('refuses %s as the on of a through relation', (_name, on) => {
      expect(relationProblem(`{ table: t, through: j, ${on} }`).message).toMatch(
        /^view v f on: a through relation is joined by the join table's columns — write on: \{ parent: \[column, …\], child: \[column, …\] \}/,
      );
    });

    it('refuses an empty through on, and unknown keys in it', () => {
      expect(relationProblem('{ table: t, through: j, on: {} }').message).toBe(
        'view v f on: empty — give parent, child or both, or remove on to use the foreign keys',
      );
      expect(relationProblem('{ table: t, through: j, on: { parents: [a] } }').message).toBe(
        'view v f on: unknown key "parents" (did you mean "parent"?) — allowed: parent, child',
      );
    });

    it.each([
      ['an empty list', '[]', /view v f on: the list is empty — name the column\(s\), or remove/],
      ['a column twice', '[a, a]', /view v f on: "a" is listed twice \(first on line 5\)/],
      ['a number', '3', /view v f on: 3 is not a column — write column, or \[column, …\]/],
      ['no value', '~', /view v f on: no value is not a column/],
      ['an empty name', '""', /view v f on: "" is not a column/],
      ['a nested list', '[[a]]', /view v f on: a nested value is not a column name/],
    ])('refuses %s as on', (_name, on, message) => {
      expect(relationProblem(`{ table: t, on: ${on} }`).message).toMatch(message);
    });

    it('checks each side of a through on like an on', () => {
      expect(relationProblem('{ table: t, through: j, on: { parent: [] } }').message).toMatch(
        /^view v f on\.parent: the list is empty/,
      );
      expect(relationProblem('{ table: t, through: j, on: { child: 1 } }').message).toMatch(
        /^view v f on\.child: 1 is not a column/,
      );
    });
  });

  describe('view names', () => {
    it.each([['Orders'], ['order-search'], ['1orders'], ['_orders'], ['sales.orders']])(
      'refuses %s',
      (name) => {
        expect(problemOf(`views:\n  ${name}: { root: r }\n`)).toEqual({
          file: 'a.yaml',
          line: 2,
          column: 3,
          message:
            `views: "${name}" is not a view name — use lowercase letters, digits and _, ` +
            'starting with a letter (it names the index alias and the API path /v1/tables/<view>)',
        });
      },
    );

    it('accepts 63 characters and refuses 64', () => {
      const ok = `v${'x'.repeat(62)}`;
      expect(parse(`views:\n  ${ok}: { root: r }\n`).views.has(ok)).toBe(true);
      expect(problemOf(`views:\n  ${ok}x: { root: r }\n`).message).toBe(
        `views: "${ok}x" is 64 characters long — use at most 63`,
      );
    });

    it('still reports the problems of a view with a bad name', () => {
      const problems = problemsOf([{ file: 'a.yaml', text: 'views:\n  Bad:\n    rot: r\n' }]);
      expect(problems.map((problem) => problem.message)).toEqual([
        expect.stringMatching(/^views: "Bad" is not a view name/),
        'view Bad: unknown key "rot" (did you mean "root"?) — allowed: root, columns, embed',
        'view Bad: no root — give root: schema.table, the table with one document per row',
      ]);
    });

    it('refuses the name of a table configured under tables, bare or qualified', () => {
      for (const table of ['orders', 'public.orders']) {
        expect(problemOf(`tables:\n  ${table}: {}\nviews:\n  orders: { root: o }\n`)).toEqual({
          file: 'a.yaml',
          line: 4,
          column: 3,
          message:
            'views: "orders" is also the name of table public.orders (configured at a.yaml:2), ' +
            'and /v1/tables/orders would mean both — give the view another name (e.g. orders_view)',
        });
      }
    });

    it('refuses the name of a table a view draws on: its own root, a relation, a join table', () => {
      expect(problemOf('views:\n  orders: { root: public.orders }\n').message).toBe(
        'views: "orders" is also the name of table public.orders (the root of view orders at ' +
          'a.yaml:2), and /v1/tables/orders would mean both — give the view another name ' +
          '(e.g. orders_view)',
      );
      expect(
        problemOf(
          'views:\n  v:\n    root: r\n    embed:\n      f: { table: tags }\n  tags: { root: t }\n',
        ).message,
      ).toMatch(
        /"tags" is also the name of table public\.tags \(the table of view v f at a\.yaml:5\)/,
      );
      expect(
        problemOf(
          'views:\n  v:\n    root: r\n    embed:\n      f: { table: t, through: tags }\n  tags: { root: t }\n',
        ).message,
      ).toMatch(/\(the join table of view v f at a\.yaml:5\)/);
    });

    it('allows the name of a table in another schema: a bare name means schema public', () => {
      const config = parse(
        'tables:\n  sales.orders: {}\nviews:\n  orders: { root: sales.orders }\n',
      );
      expect(config.views.get('orders')?.root).toBe('sales.orders');
    });

    it('refuses the same view twice in one file, naming the first', () => {
      // A mapping's keys are unique in YAML, so the same view twice in one file takes two views: keys.
      const problems = problemsOf([
        { file: 'a.yaml', text: 'views:\n  v: { root: r }\nviews:\n  v: { root: s }\n' },
      ]);
      expect(problems).toHaveLength(1);
      expect(problems[0].message).toMatch(/unique/);
    });
  });

  describe('view and relation sections', () => {
    it('refuses a view that is not a mapping', () => {
      expect(problemOf('views:\n  v: public.orders\n')).toEqual({
        file: 'a.yaml',
        line: 2,
        column: 6,
        message: 'view v: expected a mapping with root (and columns, embed)',
      });
    });

    it('refuses a view without root, at its name', () => {
      expect(problemOf('views:\n  v:\n    columns: [a]\n')).toMatchObject({
        line: 2,
        column: 3,
        message: 'view v: no root — give root: schema.table, the table with one document per row',
      });
      expect(problemOf('views:\n  v:\n').message).toMatch(/^view v: no root/);
    });

    it.each([
      ['more than schema.table', 'a.b.c', '"a.b.c"'],
      ['an empty part', '.orders', '".orders"'],
      ['a number', '12', '12'],
      ['a list', '[a]', 'a list or mapping'],
      ['no value', '', 'no value'],
    ])('refuses a root that is %s', (_name, root, shown) => {
      expect(problemOf(`views:\n  v:\n    root: ${root}\n`).message).toBe(
        `view v root: ${shown} is not a table name — write schema.table, or table for schema public`,
      );
    });

    it('refuses unknown keys of a view, pointing table to root', () => {
      expect(problemOf('views:\n  v:\n    table: r\n    root: r\n')).toMatchObject({
        line: 3,
        column: 5,
        message:
          'view v: unknown key "table" (did you mean "root"?) — allowed: root, columns, embed',
      });
      expect(problemOf('views:\n  v:\n    root: r\n    embeds: {}\n').message).toBe(
        'view v: unknown key "embeds" (did you mean "embed"?) — allowed: root, columns, embed',
      );
    });

    it('refuses a relation given as a table name, showing the mapping to write', () => {
      expect(relationProblem('public.customers')).toEqual({
        file: 'a.yaml',
        line: 5,
        column: 10,
        message: 'view v f: expected a mapping with table — write f: { table: public.customers }',
      });
    });

    it('refuses a relation that is a list', () => {
      expect(relationProblem('[a]').message).toBe(
        'view v f: expected a mapping with table (and many or through, on, columns, embed)',
      );
    });

    it('refuses a relation without table, at its field', () => {
      expect(relationProblem('{ many: true }')).toMatchObject({
        line: 5,
        column: 7,
        message: 'view v f: no table — give table: schema.table, the table whose rows are embedded',
      });
      expect(relationProblem('').message).toMatch(/^view v f: no table/);
    });

    it('refuses a table or through that is not a table name', () => {
      expect(relationProblem('{ table: a.b.c }').message).toBe(
        'view v f table: "a.b.c" is not a table name — write schema.table, or table for schema public',
      );
      expect(relationProblem('{ table: t, through: { t: j } }').message).toBe(
        'view v f through: a list or mapping is not a table name — write schema.table, or table ' +
          'for schema public',
      );
    });

    it('refuses unknown keys of a relation, pointing root to table', () => {
      expect(relationProblem('{ root: t, table: t }')).toMatchObject({
        line: 5,
        column: 12,
        message:
          'view v f: unknown key "root" (did you mean "table"?) — allowed: table, many, through, ' +
          'on, columns, embed',
      });
      expect(relationProblem('{ table: t, colums: [a] }').message).toMatch(
        /unknown key "colums" \(did you mean "columns"\?\)/,
      );
      expect(relationProblem('{ table: t, kind: many }').message).toBe(
        'view v f: unknown key "kind" — allowed: table, many, through, on, columns, embed',
      );
    });

    it('refuses an embed that is not a mapping', () => {
      expect(problemOf('views:\n  v:\n    root: r\n    embed: [a]\n').message).toBe(
        'view v embed: expected a mapping (key: value, one per line)',
      );
    });

    it('names nested relations by their path from the root', () => {
      const text =
        'views:\n  v:\n    root: r\n    embed:\n      a:\n        table: t\n        embed:\n' +
        '          b:\n            table: u\n            embed:\n              c: { table: w, on: [] }\n';
      expect(problemOf(text)).toMatchObject({
        line: 11,
        column: 30,
        message: expect.stringMatching(/^view v a\.b\.c on: the list is empty/),
      });
    });
  });

  describe('columns', () => {
    it('reads columns of the root and of relations, an empty list meaning the key only', () => {
      const found = view(
        'views:\n  v:\n    root: r\n    columns: []\n    embed:\n      f: { table: t, columns: [b, a] }\n',
        'v',
      );
      expect(found.columns).toEqual([]);
      expect(found.embed[0].columns).toEqual(['b', 'a']);
    });

    it('refuses columns that are not a list, or list a column twice', () => {
      expect(problemOf('views:\n  v:\n    root: r\n    columns: id\n').message).toBe(
        'view v columns: expected a list of column names — write [column, …] or one "- column" ' +
          'per line',
      );
      expect(relationProblem('{ table: t, columns: [a, b, a] }')).toMatchObject({
        line: 5,
        column: 38,
        message: 'view v f columns: "a" is listed twice (first on line 5) — list each column once',
      });
    });

    it('refuses a column the table excludes, naming where the table is configured', () => {
      expect(
        problemOf(
          'tables:\n  orders: { exclude: [secret] }\nviews:\n  v:\n    root: orders\n' +
            '    columns: [id, secret]\n',
        ),
      ).toEqual({
        file: 'a.yaml',
        line: 6,
        column: 19,
        message:
          'view v columns: "secret" is excluded by tables.public.orders (a.yaml:2), so it never ' +
          'leaves PostgreSQL — remove it from columns, or from exclude',
      });
    });

    it('refuses a relation column outside the include of its table', () => {
      const text =
        'tables:\n  products: { include: [name] }\nviews:\n  v:\n    root: r\n    embed:\n' +
        '      p: { table: public.products, columns: [name, price] }\n';
      expect(problemOf(text)).toEqual({
        file: 'a.yaml',
        line: 7,
        column: 52,
        message:
          'view v p columns: "price" is not in the include of tables.public.products (a.yaml:2), ' +
          'so it is never synced — add it to include, or remove it from columns (key columns are ' +
          'always embedded, listed or not)',
      });
    });

    it('does not check the columns of unconfigured tables', () => {
      expect(
        parse('tables:\n  other: { exclude: [a] }\nviews:\n  v: { root: r, columns: [a] }\n').views
          .size,
      ).toBe(1);
    });
  });

  describe('embedded field names', () => {
    it('accepts lowercase identifiers, a leading _ included', () => {
      expect(relation('{ table: t }').field).toBe('f');
      const found = view('views:\n  v:\n    root: r\n    embed:\n      _a1: { table: t }\n', 'v');
      expect(found.embed[0].field).toBe('_a1');
    });

    it.each([['Customer'], ['1st'], ['first-line'], ['a.b']])('refuses %s', (field) => {
      expect(
        problemOf(`views:\n  v:\n    root: r\n    embed:\n      ${field}: { table: t }\n`),
      ).toEqual({
        file: 'a.yaml',
        line: 5,
        column: 7,
        message:
          `view v embed: "${field}" is not a field name — use lowercase letters, digits and _, ` +
          'not starting with a digit',
      });
    });

    it('refuses a field named like the fields searchsync adds', () => {
      expect(
        problemOf(
          'views:\n  v:\n    root: r\n    embed:\n      searchsync_view_refs: { table: t }\n',
        ).message,
      ).toBe(
        'view v embed: "searchsync_view_refs" starts with searchsync_, which is kept for the ' +
          'fields searchsync adds to view documents — rename the embedded field',
      );
    });

    it('refuses a field longer than 63 characters', () => {
      const field = 'f'.repeat(64);
      expect(
        problemOf(`views:\n  v:\n    root: r\n    embed:\n      ${field}: { table: t }\n`).message,
      ).toBe(`view v embed: "${field}" is 64 characters long — use at most 63`);
    });

    it("refuses a field named like one of its parent's columns, at the root and deeper", () => {
      expect(
        problemOf(
          'views:\n  v:\n    root: r\n    columns: [id, customer]\n    embed:\n' +
            '      customer: { table: c }\n',
        ),
      ).toEqual({
        file: 'a.yaml',
        line: 6,
        column: 7,
        message:
          'view v embed: "customer" is also a column in columns, and a document field holds one ' +
          'or the other — rename the embedded field, or remove the column from columns',
      });
      expect(
        problemOf(
          'views:\n  v:\n    root: r\n    embed:\n      a:\n        table: t\n' +
            '        columns: [x]\n        embed:\n          x: { table: u }\n',
        ).message,
      ).toMatch(/^view v a embed: "x" is also a column in columns/);
    });

    it('leaves collisions with all columns (no columns given) to the planner', () => {
      expect(relation('{ table: t, embed: { id: { table: u } } }').embed[0].field).toBe('id');
    });

    it('refuses the same field twice under one parent (a YAML error)', () => {
      const problem = problemOf(
        'views:\n  v:\n    root: r\n    embed:\n      f: { table: t }\n      f: { table: u }\n',
      );
      expect(problem).toMatchObject({ line: 6, column: 7 });
      expect(problem.message).toMatch(/unique.*fix the YAML syntax$/);
    });

    it('allows the same field name under different parents', () => {
      const found = relation('{ table: t, embed: { f: { table: u } } }');
      expect(found.embed[0].field).toBe('f');
    });
  });

  describe('depth', () => {
    /** A view whose relations nest `levels` deep: f1 → f2 → …, each one line deeper. */
    function nested(levels: number): string {
      let text = 'views:\n  v:\n    root: r\n';
      for (let level = 1; level <= levels; level++) {
        const indent = '  '.repeat(2 * level);
        text += `${indent}embed:\n${indent}  f${level}:\n${indent}    table: t${level}\n`;
      }
      return text;
    }

    it(`reads ${MAX_EMBED_DEPTH} levels`, () => {
      let relations = view(nested(MAX_EMBED_DEPTH), 'v').embed;
      for (let level = 1; level <= MAX_EMBED_DEPTH; level++) {
        expect(relations.map((found) => found.field)).toEqual([`f${level}`]);
        relations = relations[0].embed;
      }
      expect(relations).toEqual([]);
    });

    it(`refuses level ${MAX_EMBED_DEPTH + 1}, once, at its field`, () => {
      const problem = problemOf(nested(MAX_EMBED_DEPTH + 2));
      expect(problem).toMatchObject({
        line: 5 + 3 * MAX_EMBED_DEPTH,
        column: 4 * (MAX_EMBED_DEPTH + 1) + 3,
      });
      expect(problem.message).toBe(
        'view v f1.f2.f3.f4.f5.f6.f7.f8.f9: embedded 9 levels deep — at most 8 levels of embed ' +
          'are allowed: embed fewer levels, or make a deeper table the root of another view',
      );
    });
  });

  describe('several files', () => {
    it('merges the views of several files, with the tables of all of them', () => {
      const config = parseSearchsyncConfig([
        { file: 'a.yaml', text: 'tables:\n  staff: { exclude: [password] }\n' + ORDER_SEARCH },
        { file: 'b.yaml', text: '# more\nviews:\n  staff_search: { root: staff }\n' },
      ]);
      expect([...config.views.keys()]).toEqual(['order_search', 'staff_search']);
      expect(config.views.get('staff_search')?.location).toEqual({ file: 'b.yaml', line: 3 });
      expect(config.tables.get('public.staff')?.exclude).toEqual(['password']);
    });

    it('refuses the same view in two files, naming both', () => {
      const problems = problemsOf([
        { file: 'a.yaml', text: 'views:\n  v: { root: r }\n' },
        { file: 'b.yaml', text: 'views:\n  x: { root: r }\n  v: { root: s }\n' },
      ]);
      expect(problems).toEqual([
        {
          file: 'b.yaml',
          line: 3,
          column: 3,
          message:
            'view v is already configured at a.yaml:2 — configure each view in one section of ' +
            'one file only',
        },
      ]);
    });

    it('names the first section even when it is invalid', () => {
      const problems = problemsOf([
        { file: 'a.yaml', text: 'views:\n  v: { columns: [a] }\n' },
        { file: 'b.yaml', text: 'views:\n  v: { root: s }\n' },
      ]);
      expect(problems.map((problem) => problem.message)).toEqual([
        expect.stringMatching(/^view v: no root/),
        expect.stringMatching(/^view v is already configured at a\.yaml:2/),
      ]);
    });

    it("checks a view's columns against an exclude in another file, read before or after", () => {
      const viewFile = { file: 'views.yaml', text: 'views:\n  v: { root: r, columns: [a, b] }\n' };
      const tableFile = { file: 'tables.yaml', text: 'tables:\n  r: { exclude: [b] }\n' };
      for (const sources of [
        [viewFile, tableFile],
        [tableFile, viewFile],
      ]) {
        expect(problemsOf(sources)).toEqual([
          {
            file: 'views.yaml',
            line: 2,
            column: 30,
            message: expect.stringContaining('"b" is excluded by tables.public.r (tables.yaml:2)'),
          },
        ]);
      }
    });

    it('refuses a view named like a table configured in another file', () => {
      const problems = problemsOf([
        { file: 'a.yaml', text: 'views:\n  film: { root: r }\n' },
        { file: 'b.yaml', text: 'tables:\n  public.film: {}\n' },
      ]);
      expect(problems).toEqual([
        {
          file: 'a.yaml',
          line: 2,
          column: 3,
          message: expect.stringContaining('table public.film (configured at b.yaml:2)'),
        },
      ]);
    });
  });

  it('reports every problem of every view at once, each as file:line:column', () => {
    let error: unknown;
    try {
      parseSearchsyncConfig([
        {
          file: 'a.yaml',
          text:
            'views:\n  one:\n    root: r\n    embed:\n      x: { table: t, many: maybe }\n' +
            '  two:\n    root: a.b.c\n',
        },
        { file: 'b.yaml', text: 'views:\n  Three: { root: r }\n' },
      ]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TableConfigInvalidError);
    const message = (error as Error).message;
    expect(message).toContain('\n  a.yaml:5:28: view one x many: "maybe" is not true or false');
    expect(message).toContain('\n  a.yaml:7:11: view two root: "a.b.c" is not a table name');
    expect(message).toContain('\n  b.yaml:2:3: views: "Three" is not a view name');
    expect((error as TableConfigInvalidError).problems).toHaveLength(3);
  });

  it('resolves YAML aliases in views', () => {
    const found = view(
      'views:\n  v:\n    root: r\n    embed:\n      a: &rel { table: t, many: true }\n      b: *rel\n',
      'v',
    );
    expect(found.embed.map((item) => [item.field, item.table, item.join.kind])).toEqual([
      ['a', 'public.t', 'many'],
      ['b', 'public.t', 'many'],
    ]);
  });
});
