import {
  EXCLUDE_KEY,
  MANAGED_EXCLUDE_KEY,
  ensureColumnExclusions,
  excludeEntry,
  sameExclusions,
  splitExcludeList,
  withManagedExclusions,
  type ExclusionBackend,
  type UnreplicatedColumn,
} from './column-exclusions';

const column = (schema: string, table: string, name: string): UnreplicatedColumn => ({
  schema,
  table,
  column: name,
  kind: 's',
});

describe('column.exclude.list entries', () => {
  it('escapes schema, table and column as one anchored-literal regex', () => {
    expect(excludeEntry(column('public', 'orders', 'total'))).toBe('public\\.orders\\.total');
    expect(excludeEntry(column('public', 'my$t', 'x.y'))).toBe('public\\.my\\$t\\.x\\.y');
    // Debezium splits the list on commas that are not escaped.
    expect(excludeEntry(column('public', 'a,b', 'c'))).toBe('public\\.a\\,b\\.c');
  });

  it('splits on unescaped commas only', () => {
    expect(splitExcludeList('a\\.b\\.c, public\\.a\\,b\\.c ,,x')).toEqual([
      'a\\.b\\.c',
      'public\\.a\\,b\\.c',
      'x',
    ]);
    expect(splitExcludeList(undefined)).toEqual([]);
  });
});

describe('withManagedExclusions', () => {
  const base: Record<string, string> = {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
  };

  it('adds the generated columns and records them as ours', () => {
    const next = withManagedExclusions(base, [
      column('public', 'orders', 'total'),
      column('public', 'orders', 'tax'),
    ]);
    expect(next[EXCLUDE_KEY]).toBe('public\\.orders\\.total,public\\.orders\\.tax');
    expect(next[MANAGED_EXCLUDE_KEY]).toBe(next[EXCLUDE_KEY]);
    expect(base).not.toHaveProperty(EXCLUDE_KEY);
  });

  it("keeps the user's own entries, and drops only ours that are no longer generated", () => {
    const current = {
      ...base,
      [EXCLUDE_KEY]: 'public\\.users\\.password,public\\.orders\\.total,public\\.gone\\.g',
      [MANAGED_EXCLUDE_KEY]: 'public\\.orders\\.total,public\\.gone\\.g',
    };
    const next = withManagedExclusions(current, [
      column('public', 'orders', 'total'),
      column('public', 'new', 'g'),
    ]);
    expect(next[EXCLUDE_KEY]).toBe(
      'public\\.users\\.password,public\\.orders\\.total,public\\.new\\.g',
    );
    expect(next[MANAGED_EXCLUDE_KEY]).toBe('public\\.orders\\.total,public\\.new\\.g');
  });

  it('removes both keys when nothing is left, and keeps a user entry equal to one of ours', () => {
    const ours = { ...base, [EXCLUDE_KEY]: 'a\\.b\\.c', [MANAGED_EXCLUDE_KEY]: 'a\\.b\\.c' };
    expect(withManagedExclusions(ours, [])).toEqual(base);
    // The user excluded the column already: it stays theirs, and is not recorded twice.
    const user = { ...base, [EXCLUDE_KEY]: 'a\\.b\\.c' };
    const next = withManagedExclusions(user, [column('a', 'b', 'c')]);
    expect(next[EXCLUDE_KEY]).toBe('a\\.b\\.c');
    expect(withManagedExclusions(next, [])).toEqual(base);
  });

  it('is stable: applying the same columns twice changes nothing', () => {
    const once = withManagedExclusions(base, [column('public', 'orders', 'total')]);
    expect(
      sameExclusions(once, withManagedExclusions(once, [column('public', 'orders', 'total')])),
    ).toBe(true);
    expect(sameExclusions(once, base)).toBe(false);
  });
});

describe('ensureColumnExclusions', () => {
  const notFound = Object.assign(new Error('connector x not found'), { statusCode: 404 });

  function backend(config: Record<string, string> | Error) {
    const applied: Record<string, string>[] = [];
    const fake: ExclusionBackend = {
      config: () => (config instanceof Error ? Promise.reject(config) : Promise.resolve(config)),
      apply: (_name, next) => {
        applied.push(next);
        return Promise.resolve({ created: false });
      },
      status: () => Promise.resolve({ state: 'RUNNING', tasks: [{ state: 'RUNNING' }] }),
    };
    return { fake, applied };
  }

  it('changes the config only when the exclusions differ', async () => {
    const current = {
      [EXCLUDE_KEY]: 'public\\.orders\\.total',
      [MANAGED_EXCLUDE_KEY]: 'public\\.orders\\.total',
    };
    const { fake, applied } = backend(current);
    const outcome = await ensureColumnExclusions(fake, 'x', [column('public', 'orders', 'total')]);
    expect(outcome.state).toBe('unchanged');
    expect([...outcome.excluded]).toEqual(['public\\.orders\\.total']);
    expect(applied).toHaveLength(0);
  });

  it('reports a missing connector without failing', async () => {
    const { fake } = backend(notFound);
    const outcome = await ensureColumnExclusions(fake, 'x', [column('public', 'orders', 'total')]);
    expect(outcome).toMatchObject({ state: 'missing', error: null });
  });
});

describe('ensureColumnExclusions with dropped tables', () => {
  const fake = (config: Record<string, string>) => {
    const applied: Record<string, string>[] = [];
    const backend: ExclusionBackend = {
      config: () => Promise.resolve(config),
      apply: (_name, next) => {
        applied.push(next);
        return Promise.resolve({ created: false });
      },
      // Seen restarting at once, so the wait is short.
      status: () => Promise.resolve({ state: 'RESTARTING', tasks: [] }),
    };
    return { backend, applied };
  };
  const current = {
    [EXCLUDE_KEY]: 'public\\.gone\\.g,public\\.kept\\.k',
    [MANAGED_EXCLUDE_KEY]: 'public\\.gone\\.g,public\\.kept\\.k',
  };
  const tables = new Set([excludeEntry({ schema: 'public', table: 'kept', column: '' })]);

  it('keeps the entry of a dropped table rather than restart the task for it', async () => {
    const { backend, applied } = fake(current);
    const outcome = await ensureColumnExclusions(
      backend,
      'x',
      [column('public', 'kept', 'k')],
      undefined,
      tables,
    );
    expect(outcome.state).toBe('unchanged');
    expect(applied).toHaveLength(0);
  });
});
