import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableConfigInvalidError, type TableConfigProblem } from './config.errors';
import {
  BUILT_IN_ANALYZERS,
  DEFAULT_MAPPING_FINGERPRINT,
  SearchsyncConfigWatcher,
  configPaths,
  excludedColumns,
  expandConfigPaths,
  isColumnVisible,
  loadSearchsyncConfig,
  mappingFingerprint,
  parseSearchsyncConfig,
  rebuildNeed,
  tableSettings,
} from './table-config';
import type { SearchsyncConfig, TableSettings } from './table-config.types';

const EXAMPLE = `# pagila-like
tables:
  staff:
    exclude: [password]
  public.film:
    fields:
      title:       { analyzer: english }
      description: { analyzer: english, searchAnalyzer: standard }
      rating:      { type: keyword }
    index: { shards: 1, replicas: 0, refresh: 1s }
`;

function parse(text: string, file = 'a.yaml'): SearchsyncConfig {
  return parseSearchsyncConfig([{ file, text }]);
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

function settings(overrides: Partial<TableSettings> = {}): TableSettings {
  return { exclude: [], include: null, fields: {}, index: {}, ...overrides };
}

describe('parseSearchsyncConfig', () => {
  it('reads the example into settings by schema.table, with where each section starts', () => {
    const config = parse(EXAMPLE);
    expect(config.files).toEqual(['a.yaml']);
    expect([...config.tables.keys()]).toEqual(['public.staff', 'public.film']);
    expect(config.tables.get('public.staff')).toEqual(settings({ exclude: ['password'] }));
    expect(config.tables.get('public.film')).toEqual(
      settings({
        fields: {
          title: { analyzer: 'english' },
          description: { analyzer: 'english', searchAnalyzer: 'standard' },
          rating: { type: 'keyword' },
        },
        index: { shards: 1, replicas: 0, refresh: '1s' },
      }),
    );
    expect(config.locations.get('public.staff')).toEqual({ file: 'a.yaml', line: 3 });
    expect(config.locations.get('public.film')).toEqual({ file: 'a.yaml', line: 5 });
  });

  it.each([
    ['an empty file', ''],
    ['a file of comments', '# nothing configured yet\n# tables:\n'],
    ['an empty tables section', 'tables:\n'],
    ['an explicit null', '~\n'],
    ['empty views', 'tables: {}\nviews: {}\n'],
  ])('configures no table for %s', (_name, text) => {
    const config = parse(text);
    expect(config.tables.size).toBe(0);
    expect(config.views.size).toBe(0);
    expect(config.files).toEqual(['a.yaml']);
  });

  it('takes a table without settings as configured with the defaults', () => {
    expect(parse('tables:\n  film:\n').tables.get('public.film')).toEqual(settings());
  });

  it('resolves YAML aliases', () => {
    const config = parse('tables:\n  a: &hidden { exclude: [secret] }\n  b: *hidden\n');
    expect(config.tables.get('public.b')).toEqual(settings({ exclude: ['secret'] }));
  });

  it('reads views beside tables (view-config.spec.ts has the rest)', () => {
    const config = parse(`${EXAMPLE}views:\n  film_search:\n    root: public.film\n`);
    expect([...config.tables.keys()]).toEqual(['public.staff', 'public.film']);
    expect([...config.views.keys()]).toEqual(['film_search']);
    expect(config.views.get('film_search')).toMatchObject({
      root: 'public.film',
      location: { file: 'a.yaml', line: 12 },
    });
  });

  it('reports YAML syntax errors with their position', () => {
    const problem = problemOf('tables:\n  film:\n    exclude: [password\n');
    expect(problem.line).toBeGreaterThanOrEqual(3);
    expect(problem.message).toMatch(/fix the YAML syntax$/);
  });

  it('reports a key given twice in one mapping', () => {
    const problem = problemOf('tables:\n  film: {}\n  film: {}\n');
    expect(problem).toMatchObject({ line: 3, column: 3 });
    expect(problem.message).toMatch(/unique/);
  });

  it('rejects a file that is not a mapping', () => {
    expect(problemOf('- tables\n').message).toMatch(/the file: expected a mapping/);
  });

  describe('unknown keys', () => {
    it('at the top, with a suggestion and the allowed keys', () => {
      expect(problemOf('tabels:\n  film: {}\n')).toEqual({
        file: 'a.yaml',
        line: 1,
        column: 1,
        message: 'the file: unknown key "tabels" (did you mean "tables"?) — allowed: tables, views',
      });
    });

    it('in a table, at the key', () => {
      expect(problemOf('tables:\n  film:\n    exlude: [password]\n')).toEqual({
        file: 'a.yaml',
        line: 3,
        column: 5,
        message:
          'public.film: unknown key "exlude" (did you mean "exclude"?) — allowed: exclude, ' +
          'include, fields, index',
      });
    });

    it('in a field', () => {
      const problem = problemOf(
        'tables:\n  film:\n    fields:\n      title: { analyser: english }\n',
      );
      expect(problem).toMatchObject({ line: 4, column: 16 });
      expect(problem.message).toMatch(
        /public\.film fields\.title: unknown key "analyser" \(did you mean "analyzer"\?\) — allowed: type, analyzer, searchAnalyzer/,
      );
    });

    it('in index, without a suggestion when nothing is close', () => {
      const problem = problemOf('tables:\n  film:\n    index: { partitions: 3 }\n');
      expect(problem.message).toBe(
        'public.film index: unknown key "partitions" — allowed: shards, replicas, refresh',
      );
    });

    it('that are not names', () => {
      expect(problemOf('tables:\n  film:\n    fields:\n      1: { type: text }\n').message).toMatch(
        /key 1 is not a name — quote the key/,
      );
    });
  });

  describe('table names', () => {
    it('rejects more than schema.table', () => {
      const problem = problemOf('tables:\n  db.public.film: {}\n');
      expect(problem).toMatchObject({ line: 2, column: 3 });
      expect(problem.message).toMatch(/"db\.public\.film" is not a table name/);
    });

    it('rejects an empty part', () => {
      expect(problemOf('tables:\n  .film: {}\n').message).toMatch(/is not a table name/);
    });

    it('keeps other schemas as they are', () => {
      expect([...parse('tables:\n  sales.orders: {}\n').tables.keys()]).toEqual(['sales.orders']);
    });

    it('rejects the same table twice in one file, bare and qualified, naming the first', () => {
      expect(problemOf('tables:\n  film: {}\n  public.film:\n    exclude: [x]\n')).toEqual({
        file: 'a.yaml',
        line: 3,
        column: 3,
        message:
          'public.film is already configured at a.yaml:2 — configure each table in one section ' +
          'of one file only',
      });
    });

    it('rejects the same table in two files, naming both', () => {
      const problems = problemsOf([
        { file: 'base.yaml', text: 'tables:\n  staff:\n    exclude: [password]\n' },
        { file: 'extra.yaml', text: '# more\ntables:\n  public.staff:\n    exclude: [email]\n' },
      ]);
      expect(problems).toEqual([
        {
          file: 'extra.yaml',
          line: 3,
          column: 3,
          message: expect.stringContaining('public.staff is already configured at base.yaml:2'),
        },
      ]);
    });

    it('merges distinct tables of several files', () => {
      const config = parseSearchsyncConfig([
        { file: 'a.yaml', text: 'tables:\n  staff: { exclude: [password] }\n' },
        { file: 'b.yaml', text: 'tables:\n  film: { index: { replicas: 1 } }\n' },
      ]);
      expect(config.files).toEqual(['a.yaml', 'b.yaml']);
      expect(config.locations.get('public.film')).toEqual({ file: 'b.yaml', line: 2 });
    });
  });

  describe('exclude and include', () => {
    it('reads include', () => {
      expect(
        parse('tables:\n  film:\n    include: [title, rating]\n').tables.get('public.film'),
      ).toEqual(settings({ include: ['title', 'rating'] }));
    });

    it('reads block lists', () => {
      const config = parse('tables:\n  staff:\n    exclude:\n      - password\n      - picture\n');
      expect(config.tables.get('public.staff')?.exclude).toEqual(['password', 'picture']);
    });

    it('rejects both at once', () => {
      const problem = problemOf('tables:\n  film:\n    exclude: [a]\n    include: [b]\n');
      expect(problem).toMatchObject({ line: 4, column: 5 });
      expect(problem.message).toMatch(/exclude and include are both set — use one/);
    });

    it('rejects a value that is not a list', () => {
      const problem = problemOf('tables:\n  staff:\n    exclude: password\n');
      expect(problem).toMatchObject({ line: 3, column: 14 });
      expect(problem.message).toMatch(/public\.staff exclude: expected a list of column names/);
    });

    it('rejects a missing value at its key', () => {
      expect(problemOf('tables:\n  staff:\n    exclude:\n')).toMatchObject({ line: 3, column: 5 });
    });

    it.each([
      ['an empty name', '""', /"" is not a column name/],
      ['a blank name', '"  "', '"  " is not a column name'],
      ['a number', '42', /42 is not a column name — .*quote it/],
      ['a null', '~', /null is not a column name/],
      ['a nested list', '[a]', /a nested value is not a column name/],
    ])('rejects %s in a list', (_name, item, message) => {
      const problem = problemOf(`tables:\n  staff:\n    exclude: [password, ${item}]\n`);
      expect(problem).toMatchObject({ line: 3, column: 25 });
      expect(problem.message).toMatch(message);
    });

    it('rejects a column listed twice, naming the first line', () => {
      const problem = problemOf(
        'tables:\n  staff:\n    exclude:\n      - password\n      - password\n',
      );
      expect(problem).toMatchObject({ line: 5, column: 9 });
      expect(problem.message).toBe(
        'public.staff exclude: "password" is listed twice (first on line 4) — list each column once',
      );
    });

    it('rejects an empty include', () => {
      expect(problemOf('tables:\n  film:\n    include: []\n').message).toMatch(
        /include: the list is empty, which would keep only the primary key/,
      );
    });

    it('rejects settings for an excluded column', () => {
      const problem = problemOf(
        'tables:\n  staff:\n    exclude: [password]\n    fields:\n      password: { type: keyword }\n',
      );
      expect(problem).toMatchObject({ line: 5, column: 7 });
      expect(problem.message).toMatch(
        /public\.staff fields\.password: the column is excluded, so it is never indexed or searched/,
      );
    });

    it('rejects settings for a column left out by include', () => {
      const problem = problemOf(
        'tables:\n  film:\n    include: [title]\n    fields:\n      rating: { type: keyword }\n',
      );
      expect(problem.message).toMatch(/fields\.rating: the column is not in include/);
    });
  });

  describe('fields', () => {
    it('rejects fields that are not a mapping', () => {
      expect(problemOf('tables:\n  film:\n    fields: [title]\n').message).toMatch(
        /public\.film fields: expected a mapping/,
      );
    });

    it('rejects a field without settings', () => {
      expect(problemOf('tables:\n  film:\n    fields:\n      title:\n')).toMatchObject({
        line: 4,
        column: 7,
        message: expect.stringMatching(/fields\.title: no settings/),
      });
    });

    it('rejects an unknown type, with a suggestion', () => {
      const problem = problemOf('tables:\n  film:\n    fields:\n      rating: { type: txt }\n');
      expect(problem).toMatchObject({ line: 4, column: 23 });
      expect(problem.message).toBe(
        'public.film fields.rating.type: "txt" is not a field type — use text, keyword or vector ' +
          '(did you mean "text"?)',
      );
    });

    it('reads a vector field with its dimensions and similarity', () => {
      const config = parse(
        'tables:\n  docs:\n    fields:\n      embedding: { type: vector, dims: 384, similarity: cosine }\n      other: { type: vector, dims: 3 }\n',
      );
      expect(config.tables.get('public.docs')?.fields).toEqual({
        embedding: { type: 'vector', dims: 384, similarity: 'cosine' },
        other: { type: 'vector', dims: 3 },
      });
    });

    it('asks a vector for its dimensions', () => {
      expect(
        problemOf('tables:\n  docs:\n    fields:\n      embedding: { type: vector }\n'),
      ).toMatchObject({
        line: 4,
        column: 7,
        message:
          'public.docs fields.embedding: type vector needs dims, the number of elements of every vector (e.g. dims: 384)',
      });
    });

    it.each([
      ['dims: 0', /dims: 0 is out of range — give a whole number from 1 to 4096/],
      ['dims: 5000', /dims: 5000 is out of range/],
      ['dims: 2.5', /dims: 2\.5 is not a whole number/],
      [
        'dims: 3, similarity: cosin',
        /similarity: "cosin" is not a vector similarity — use l2, cosine, dot_product \(did you mean "cosine"\?\)/,
      ],
      [
        'dims: 3, analyzer: english',
        /analyzer is set but the type is vector, and vectors are not analyzed/,
      ],
    ])('refuses a vector with %s', (extra, message) => {
      expect(
        problemOf(`tables:\n  docs:\n    fields:\n      embedding: { type: vector, ${extra} }\n`)
          .message,
      ).toMatch(message);
    });

    it('refuses dims or similarity on a field that is not a vector', () => {
      expect(
        problemOf('tables:\n  docs:\n    fields:\n      embedding: { dims: 3 }\n').message,
      ).toBe(
        'public.docs fields.embedding: dims applies to vectors only — add type: vector, or remove dims',
      );
      expect(
        problemOf('tables:\n  docs:\n    fields:\n      title: { type: text, similarity: l2 }\n')
          .message,
      ).toBe(
        'public.docs fields.title: similarity applies to vectors only, and the type is text — use type: vector, or remove similarity',
      );
    });

    it('needs a rebuild when a vector field changes', () => {
      const vector = (dims: number) =>
        mappingFingerprint(settings({ fields: { embedding: { type: 'vector', dims } } }));
      expect(vector(3)).not.toBe(vector(4));
    });

    it('rejects an unknown analyzer, with a suggestion and the list', () => {
      const problem = problemOf(
        'tables:\n  film:\n    fields:\n      title: { analyzer: englsh }\n',
      );
      expect(problem).toMatchObject({ line: 4, column: 26 });
      expect(problem.message).toMatch(
        /^public\.film fields\.title\.analyzer: "englsh" is not a known analyzer \(did you mean "english"\?\) — use one of: standard, simple,/,
      );
    });

    it('rejects an unknown search analyzer', () => {
      expect(
        problemOf('tables:\n  film:\n    fields:\n      title: { searchAnalyzer: klingon }\n')
          .message,
      ).toMatch(/fields\.title\.searchAnalyzer: "klingon" is not a known analyzer — use one of/);
    });

    it.each(['analyzer', 'searchAnalyzer'])('rejects %s on a keyword', (key) => {
      const problem = problemOf(
        `tables:\n  film:\n    fields:\n      rating:\n        type: keyword\n        ${key}: english\n`,
      );
      expect(problem).toMatchObject({ line: 6, column: 9 });
      expect(problem.message).toBe(
        `public.film fields.rating: ${key} is set but the type is keyword, and keywords are not ` +
          `analyzed — remove ${key} or use type text`,
      );
    });

    it('accepts every built-in analyzer on text', () => {
      for (const analyzer of BUILT_IN_ANALYZERS) {
        const config = parse(
          `tables:\n  film:\n    fields:\n      title: { type: text, analyzer: ${analyzer} }\n`,
        );
        expect(config.tables.get('public.film')?.fields.title).toEqual({ type: 'text', analyzer });
      }
    });
  });

  describe('index', () => {
    it.each([
      ['shards: 0', /index\.shards: 0 is out of range — give a whole number from 1 to 1024/],
      ['shards: 1025', /1025 is out of range/],
      ['shards: "2"', /"2" is not a whole number/],
      ['shards: 1.5', /1\.5 is not a whole number/],
      ['replicas: 16', /index\.replicas: 16 is out of range — give a whole number from 0 to 15/],
      ['replicas: -1', /-1 is out of range/],
      ['refresh: 1', /index\.refresh: 1 is not a refresh interval — give a time with its unit/],
      ['refresh: 1h', /"1h" is not a refresh interval/],
      ['refresh: "-2"', /"-2" is not a refresh interval/],
      ['refresh: 1.5s', /"1\.5s" is not a refresh interval/],
    ])('rejects %s', (setting, message) => {
      const problem = problemOf(`tables:\n  film:\n    index:\n      ${setting}\n`);
      expect(problem).toMatchObject({ line: 4, column: setting.indexOf(':') + 9 });
      expect(problem.message).toMatch(message);
    });

    it('rejects a missing value at its key', () => {
      expect(problemOf('tables:\n  film:\n    index:\n      shards:\n')).toMatchObject({
        line: 4,
        column: 7,
        message: expect.stringContaining('no value is not a whole number'),
      });
    });

    it.each([
      ['shards: 1024', { shards: 1024 }],
      ['replicas: 15', { replicas: 15 }],
      ['refresh: -1', { refresh: '-1' }],
      ['refresh: "-1"', { refresh: '-1' }],
      ['refresh: 500ms', { refresh: '500ms' }],
      ['refresh: 2m', { refresh: '2m' }],
    ])('accepts %s', (setting, index) => {
      expect(
        parse(`tables:\n  film:\n    index: { ${setting} }\n`).tables.get('public.film'),
      ).toEqual(settings({ index }));
    });
  });

  it('reports every problem of every file at once, each as file:line:column', () => {
    let error: unknown;
    try {
      parseSearchsyncConfig([
        { file: 'a.yaml', text: 'tables:\n  film:\n    index: { shards: 0 }\n' },
        { file: 'b.yaml', text: 'tables:\n  staff:\n    exclude: nope\n' },
      ]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TableConfigInvalidError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid table configuration \(docs\/configuration\.md\):\n/);
    expect(message).toContain('\n  a.yaml:3:22: public.film index.shards: 0 is out of range');
    expect(message).toContain('\n  b.yaml:3:14: public.staff exclude: expected a list');
    expect((error as TableConfigInvalidError).problems).toHaveLength(2);
  });
});

describe('tableSettings, isColumnVisible and excludedColumns', () => {
  const config = parse(EXAMPLE);

  it('returns the configured settings, or fresh defaults', () => {
    expect(tableSettings(config, { schema: 'public', table: 'staff' }).exclude).toEqual([
      'password',
    ]);
    const defaults = tableSettings(config, { schema: 'public', table: 'actor' });
    expect(defaults).toEqual(settings());
    defaults.exclude.push('x');
    expect(tableSettings(config, { schema: 'public', table: 'actor' })).toEqual(settings());
  });

  it('hides excluded columns, and with include the columns not listed', () => {
    expect(isColumnVisible(settings({ exclude: ['password'] }), 'password')).toBe(false);
    expect(isColumnVisible(settings({ exclude: ['password'] }), 'email')).toBe(true);
    expect(isColumnVisible(settings({ include: ['title'] }), 'title')).toBe(true);
    expect(isColumnVisible(settings({ include: ['title'] }), 'rating')).toBe(false);
    expect(isColumnVisible(settings(), 'anything')).toBe(true);
  });

  it('lists the columns to exclude in table order, never a key column', () => {
    const columns = ['film_id', 'title', 'description', 'rating', 'tenant'];
    expect(
      excludedColumns(settings({ include: ['title'] }), columns, ['film_id', 'tenant']),
    ).toEqual(['description', 'rating']);
    expect(
      excludedColumns(settings({ exclude: ['rating', 'film_id'] }), columns, ['film_id']),
    ).toEqual(['rating']);
    expect(excludedColumns(settings(), columns, ['film_id'])).toEqual([]);
  });
});

describe('mappingFingerprint', () => {
  const film = settings({
    exclude: ['a', 'b'],
    fields: { title: { type: 'text', analyzer: 'english' }, rating: { type: 'keyword' } },
    index: { shards: 2, replicas: 1, refresh: '1s' },
  });

  it('is 16 hex characters, the same for every unconfigured table', () => {
    expect(DEFAULT_MAPPING_FINGERPRINT).toMatch(/^[0-9a-f]{16}$/);
    expect(mappingFingerprint(settings())).toBe(DEFAULT_MAPPING_FINGERPRINT);
    const config = parse('tables:\n  film:\n    exclude: []\n');
    expect(mappingFingerprint(tableSettings(config, { schema: 'public', table: 'film' }))).toBe(
      DEFAULT_MAPPING_FINGERPRINT,
    );
  });

  it('does not depend on the order things are written in', () => {
    const reordered = settings({
      exclude: ['b', 'a'],
      fields: { rating: { type: 'keyword' }, title: { analyzer: 'english', type: 'text' } },
      index: { shards: 2 },
    });
    expect(mappingFingerprint(reordered)).toBe(mappingFingerprint(film));
  });

  it('ignores replicas and refresh, which apply live', () => {
    expect(mappingFingerprint({ ...film, index: { shards: 2 } })).toBe(mappingFingerprint(film));
  });

  it.each<[string, Partial<TableSettings>]>([
    ['an exclusion', { exclude: ['a'] }],
    ['an include list', { exclude: [], include: ['a', 'b'] }],
    ['the shards', { index: { shards: 3 } }],
    ['no shards', { index: {} }],
    ['an analyzer', { fields: { ...film.fields, title: { type: 'text', analyzer: 'french' } } }],
    [
      'a search analyzer',
      { fields: { ...film.fields, rating: { type: 'keyword', searchAnalyzer: 'x' } } },
    ],
    ['a field', { fields: { title: { type: 'text', analyzer: 'english' } } }],
  ])('changes with %s', (_name, change) => {
    expect(mappingFingerprint({ ...film, ...change })).not.toBe(mappingFingerprint(film));
  });

  it('tells include [] from no include', () => {
    expect(mappingFingerprint(settings({ include: [] }))).not.toBe(DEFAULT_MAPPING_FINGERPRINT);
  });
});

describe('rebuildNeed', () => {
  const configured = settings({ exclude: ['password'] });

  it('is null when the index was built with the current configuration', () => {
    expect(rebuildNeed(settings(), { schema: 'public', table: 'film' })).toBeNull();
    expect(rebuildNeed(configured, { config: mappingFingerprint(configured) })).toBeNull();
  });

  it("gives the indexer's reason first", () => {
    expect(
      rebuildNeed(settings(), { needsRebuild: { reason: 'rating changed type' }, config: 'x' }),
    ).toBe('rating changed type');
  });

  it('ignores a needsRebuild without a reason', () => {
    expect(rebuildNeed(settings(), { needsRebuild: { reason: 7 } })).toBeNull();
    expect(rebuildNeed(settings(), { needsRebuild: 'yes' })).toBeNull();
  });

  it('names the table when the configuration changed', () => {
    expect(rebuildNeed(configured, { schema: 'public', table: 'staff' })).toBe(
      "the table's configuration (fields, exclusions or shards) changed since its index was " +
        'built: rebuild it (POST /v1/tables/public.staff/rebuild)',
    );
    expect(rebuildNeed(settings(), { config: mappingFingerprint(configured) })).toMatch(
      /rebuild it \(POST \/v1\/tables\/<table>\/rebuild\)$/,
    );
  });
});

describe('configuration files', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'searchsync-config-'));
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  describe('configPaths', () => {
    it('defaults to searchsync.yaml in the current directory', () => {
      expect(configPaths({}, '/srv/app')).toEqual(['/srv/app/searchsync.yaml']);
      expect(configPaths({ SEARCHSYNC_CONFIG: ' , ' }, '/srv/app')).toEqual([
        '/srv/app/searchsync.yaml',
      ]);
    });

    it('splits SEARCHSYNC_CONFIG on commas, relative to the current directory', () => {
      expect(
        configPaths({ SEARCHSYNC_CONFIG: '/etc/searchsync.yaml, conf.d ,' }, '/srv/app'),
      ).toEqual(['/etc/searchsync.yaml', '/srv/app/conf.d']);
    });
  });

  it('loads nothing when no file exists', () => {
    const config = loadSearchsyncConfig({}, root);
    expect(config.files).toEqual([]);
    expect(config.tables.size).toBe(0);
  });

  it('loads searchsync.yaml from the current directory by default', () => {
    writeFileSync(join(root, 'searchsync.yaml'), EXAMPLE);
    const config = loadSearchsyncConfig({}, root);
    expect(config.files).toEqual([join(root, 'searchsync.yaml')]);
    expect(config.tables.size).toBe(2);
  });

  it('expands directories into their YAML files sorted by name and skips missing paths', () => {
    const dir = join(root, 'config.d');
    mkdirSync(dir);
    mkdirSync(join(dir, 'nested.yaml'));
    writeFileSync(join(root, 'main.yaml'), 'tables:\n  staff: { exclude: [password] }\n');
    writeFileSync(join(dir, 'b.yml'), 'tables:\n  film: {}\n');
    writeFileSync(join(dir, 'a.yaml'), 'tables:\n  actor: {}\n');
    writeFileSync(join(dir, 'notes.txt'), 'not yaml');
    writeFileSync(join(dir, '.a.yaml.swp.yaml'), 'tables: [broken');
    symlinkSync(join(root, 'main.yaml'), join(dir, 'c.yaml'));
    symlinkSync(join(root, 'gone.yaml'), join(dir, 'd.yaml'));
    const env = { SEARCHSYNC_CONFIG: `missing.yaml,main.yaml,config.d,${dir}/a.yaml` };
    const expected = [join(root, 'main.yaml'), join(dir, 'a.yaml'), join(dir, 'b.yml')];
    expect(expandConfigPaths(configPaths(env, root))).toEqual([...expected, join(dir, 'c.yaml')]);
    // c.yaml is main.yaml again under another name: its tables are configured twice.
    const problems = loadProblems(env);
    expect(problems).toEqual([
      expect.objectContaining({
        file: join(dir, 'c.yaml'),
        line: 2,
        message: expect.stringContaining(`already configured at ${join(root, 'main.yaml')}:2`),
      }),
    ]);
    rmSync(join(dir, 'c.yaml'));
    const config = loadSearchsyncConfig(env, root);
    expect(config.files).toEqual(expected);
    expect([...config.tables.keys()]).toEqual(['public.staff', 'public.actor', 'public.film']);
  });

  it('reports a duplicate across files with both paths', () => {
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd', '10-base.yaml'), 'tables:\n  film: {}\n');
    writeFileSync(join(root, 'd', '20-more.yaml'), '\n\ntables:\n  public.film: {}\n');
    const problems = loadProblems({ SEARCHSYNC_CONFIG: 'd' });
    expect(problems).toEqual([
      {
        file: join(root, 'd', '20-more.yaml'),
        line: 4,
        column: 3,
        message: expect.stringContaining(
          `public.film is already configured at ${join(root, 'd', '10-base.yaml')}:2`,
        ),
      },
    ]);
  });

  it('rejects a path that is neither a file nor a directory', () => {
    const fifo = join(root, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const problems = loadProblems({ SEARCHSYNC_CONFIG: fifo });
    expect(problems).toEqual([
      { file: fifo, line: 0, column: 0, message: expect.stringMatching(/is neither a file nor/) },
    ]);
    expect(() => expandConfigPaths([fifo])).toThrow(`${fifo}: is neither a file nor a directory`);
  });

  function loadProblems(env: NodeJS.ProcessEnv): TableConfigProblem[] {
    try {
      loadSearchsyncConfig(env, root);
    } catch (error) {
      if (error instanceof TableConfigInvalidError) return error.problems;
      throw error;
    }
    throw new Error('expected the configuration to be rejected');
  }
});

describe('SearchsyncConfigWatcher', () => {
  let root: string;
  let file: string;
  let lines: string[];
  let watcher: SearchsyncConfigWatcher | undefined;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'searchsync-watch-'));
    file = join(root, 'searchsync.yaml');
    lines = [];
    watcher = undefined;
  });

  afterEach(() => {
    watcher?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  function start(): SearchsyncConfigWatcher {
    watcher = new SearchsyncConfigWatcher({
      env: { SEARCHSYNC_CONFIG: `${file},${join(root, 'conf.d')}` },
      intervalMs: 10,
      log: (line) => lines.push(line),
    });
    watcher.start();
    return watcher;
  }

  async function until(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out; log: ${lines.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('refuses to start on an invalid configuration', () => {
    writeFileSync(file, 'tables:\n  film:\n    index: { shards: 0 }\n');
    expect(start).toThrow(TableConfigInvalidError);
  });

  it('reloads a valid change and tells its listeners', async () => {
    writeFileSync(file, 'tables:\n  staff: { exclude: [password] }\n');
    const current = start();
    const seen: SearchsyncConfig[] = [];
    current.onChange((config) => seen.push(config));
    expect(current.current().tables.has('public.staff')).toBe(true);

    writeFileSync(file, 'tables:\n  film:\n    fields: { rating: { type: keyword } }\n');
    await until(() => seen.length === 1);
    expect([...current.current().tables.keys()]).toEqual(['public.film']);
    expect(seen[0]).toBe(current.current());
    expect(lines).toEqual([`configuration reloaded from ${file}`]);
    expect(current.lastError()).toBeNull();
  });

  it('keeps the last good configuration on an invalid change, and recovers', async () => {
    writeFileSync(file, 'tables:\n  staff: { exclude: [password] }\n');
    const current = start();
    const seen: SearchsyncConfig[] = [];
    current.onChange((config) => seen.push(config));
    const good = current.current();

    writeFileSync(file, 'tables:\n  staff:\n    exclude: [password]\n    include: [email]\n');
    await until(() => current.lastError() !== null);
    expect(current.lastError()).toContain(`${file}:4:5: public.staff: exclude and include`);
    expect(current.current()).toBe(good);
    expect(seen).toHaveLength(0);
    expect(lines[0]).toMatch(/^configuration change rejected, keeping the last valid one: /);

    writeFileSync(file, 'tables:\n  staff: { exclude: [password, email] }\n');
    await until(() => seen.length === 1);
    expect(current.lastError()).toBeNull();
    expect(current.current().tables.get('public.staff')?.exclude).toEqual(['password', 'email']);
  });

  it('sees files appear in a directory and survives a failing listener', async () => {
    const current = start();
    expect(current.current().files).toEqual([]);
    const seen: SearchsyncConfig[] = [];
    current.onChange(() => {
      throw new Error('listener broke');
    });
    const unsubscribe = current.onChange((config) => seen.push(config));

    mkdirSync(join(root, 'conf.d'));
    writeFileSync(join(root, 'conf.d', 'film.yaml'), 'tables:\n  film: {}\n');
    await until(() => seen.length === 1);
    expect(lines).toContain('configuration listener failed: listener broke');
    expect(seen[0].files).toEqual([join(root, 'conf.d', 'film.yaml')]);

    writeFileSync(join(root, 'conf.d', 'staff.yaml'), 'tables:\n  staff: {}\n');
    await until(() => seen.length === 2);
    expect([...current.current().tables.keys()]).toEqual(['public.film', 'public.staff']);

    unsubscribe();
    rmSync(join(root, 'conf.d', 'staff.yaml'));
    await until(() => current.current().tables.size === 1);
    expect(seen).toHaveLength(2);
  });

  it('stops polling when stopped', async () => {
    writeFileSync(file, 'tables: {}\n');
    const current = start();
    current.stop();
    writeFileSync(file, 'tables:\n  film: {}\n');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(current.current().tables.size).toBe(0);
  });
});
