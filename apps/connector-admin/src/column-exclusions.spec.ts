import { parseSearchsyncConfig } from '@searchsync/config';
import {
  EXCLUDE_KEY,
  MANAGED_EXCLUDE_KEY,
  describeChange,
  ensureColumnExclusions,
  excludeEntry,
  planExclusions,
  sameExclusions,
  splitExcludeList,
  tablePrefixes,
  waitForRestart,
  withManagedExclusions,
  type ExcludedColumn,
  type ExclusionBackend,
  type SourceColumn,
  type SourceTable,
} from './column-exclusions';

const column = (schema: string, table: string, name: string): ExcludedColumn => ({
  schema,
  table,
  column: name,
  causes: ['generated'],
  reason: 'generated column PostgreSQL does not replicate',
});

const config = (text: string) => parseSearchsyncConfig([{ file: '/srv/searchsync.yaml', text }]);

const col = (name: string, extra: Partial<SourceColumn> = {}): SourceColumn => ({
  name,
  key: false,
  unreplicated: null,
  ...extra,
});

const staff: SourceTable = {
  schema: 'public',
  table: 'staff',
  columns: [
    col('id', { key: true }),
    col('name'),
    col('password'),
    col('email'),
    col('name_upper', { unreplicated: 's' }),
  ],
};

describe('planExclusions', () => {
  it('merges the configured exclusions with the generated columns, one entry per column', () => {
    const plan = planExclusions(
      [staff],
      config('tables:\n  staff:\n    exclude: [password, name_upper]\n'),
    );
    expect(plan.columns.map((c) => [c.column, c.causes])).toEqual([
      ['password', ['configured']],
      ['name_upper', ['generated', 'configured']],
    ]);
    expect(plan.columns[0].reason).toBe('excluded by /srv/searchsync.yaml:2');
    expect(plan.columns[1].reason).toBe(
      'generated column PostgreSQL does not replicate; excluded by /srv/searchsync.yaml:2',
    );
    expect(plan.problems).toEqual([]);
  });

  it('excludes only the generated columns of an unconfigured table', () => {
    const plan = planExclusions([staff], config('tables:\n  other:\n    exclude: [x]\n'));
    expect(plan.columns).toEqual([
      {
        schema: 'public',
        table: 'staff',
        column: 'name_upper',
        causes: ['generated'],
        reason: 'generated column PostgreSQL does not replicate',
      },
    ]);
  });

  it('never excludes a key column, and reports the configuration that asks for it', () => {
    const plan = planExclusions(
      [staff],
      config('tables:\n  public.staff:\n    exclude: [id, password]\n'),
    );
    expect(plan.columns.map((c) => c.column)).toEqual(['password', 'name_upper']);
    expect(plan.problems).toEqual([
      {
        table: 'public.staff',
        column: 'id',
        kind: 'key-column',
        message: expect.stringContaining(
          '/srv/searchsync.yaml:2: public.staff exclude names id, a primary-key column',
        ),
      },
    ]);
  });

  it('in include mode excludes every other column except the key', () => {
    const plan = planExclusions([staff], config('tables:\n  staff:\n    include: [name, email]\n'));
    expect(plan.columns.map((c) => [c.column, c.causes])).toEqual([
      ['password', ['configured']],
      ['name_upper', ['generated', 'configured']],
    ]);
    expect(plan.columns[0].reason).toBe('not in the include list of /srv/searchsync.yaml:2');
    expect(plan.problems).toEqual([]);
  });

  it('reports a configured column the table does not have (a typo would keep the real one in)', () => {
    const plan = planExclusions([staff], config('tables:\n  staff:\n    exclude: [pasword]\n'));
    expect(plan.columns.map((c) => c.column)).toEqual(['name_upper']);
    expect(plan.problems).toMatchObject([
      { table: 'public.staff', column: 'pasword', kind: 'unknown-column' },
    ]);
  });

  it('keys the entries of its tables by prefix', () => {
    expect([...tablePrefixes([staff])]).toEqual(['public\\.staff\\.']);
  });
});

describe('describeChange', () => {
  it('says why each added entry is there', () => {
    const plan = planExclusions([staff], config('tables:\n  staff:\n    exclude: [password]\n'));
    const line = describeChange(
      new Set(['public\\.staff\\.name_upper', 'public\\.gone\\.g']),
      new Set(plan.columns.map(excludeEntry)),
      plan.columns,
    );
    expect(line).toBe(
      `${EXCLUDE_KEY} + public\\.staff\\.password (excluded by /srv/searchsync.yaml:2); - public\\.gone\\.g (no longer generated nor excluded by the configuration, or its table is gone)`,
    );
  });
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

describe('ensureColumnExclusions with a configured exclusion', () => {
  it('adds it next to the generated columns, says why, and waits for the restarted task', async () => {
    const current = {
      [EXCLUDE_KEY]: 'public\\.users\\.secret,public\\.staff\\.name_upper',
      [MANAGED_EXCLUDE_KEY]: 'public\\.staff\\.name_upper',
    };
    const applied: Record<string, string>[] = [];
    const states = ['RESTARTING'];
    const backend: ExclusionBackend = {
      config: () => Promise.resolve(current),
      apply: (_name, next) => {
        applied.push(next);
        return Promise.resolve({ created: false });
      },
      // Seen restarting once, then running: the wait ends at once.
      status: () =>
        Promise.resolve({ state: states.shift() ?? 'RUNNING', tasks: [{ state: 'RUNNING' }] }),
    };
    const plan = planExclusions([staff], config('tables:\n  staff:\n    exclude: [password]\n'));
    const lines: string[] = [];
    const outcome = await ensureColumnExclusions(backend, 'x', plan.columns, (line) =>
      lines.push(line),
    );
    expect(outcome.state).toBe('applied');
    expect(applied).toHaveLength(1);
    expect(applied[0][EXCLUDE_KEY]).toBe(
      'public\\.users\\.secret,public\\.staff\\.password,public\\.staff\\.name_upper',
    );
    expect(applied[0][MANAGED_EXCLUDE_KEY]).toBe(
      'public\\.staff\\.password,public\\.staff\\.name_upper',
    );
    expect(lines[0]).toContain('+ public\\.staff\\.password (excluded by /srv/searchsync.yaml:2)');
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

describe('waitForRestart', () => {
  /** A connector whose task states follow `states`, one per status call, the last one kept. */
  const connector = (states: string[]) => {
    let calls = 0;
    return {
      calls: () => calls,
      status: () => {
        const state = states[Math.min(calls, states.length - 1)];
        calls += 1;
        return Promise.resolve({ state: 'RUNNING', tasks: [{ state }] });
      },
    };
  };

  it('waits for the task to leave RUNNING, then to run again', async () => {
    const backend = connector(['RUNNING', 'RESTARTING', 'UNASSIGNED', 'RUNNING']);
    await expect(waitForRestart(backend, 'c', { settleMs: 5_000, timeoutMs: 5_000 })).resolves.toBe(
      true,
    );
    // RUNNING (still the old task), RESTARTING (left), UNASSIGNED, RUNNING (the new task).
    expect(backend.calls()).toBe(4);
  });

  it('a restart too quick to be seen: RUNNING throughout the settle time is enough', async () => {
    const backend = connector(['RUNNING']);
    const began = Date.now();
    await expect(waitForRestart(backend, 'c', { settleMs: 300, timeoutMs: 5_000 })).resolves.toBe(
      true,
    );
    expect(Date.now() - began).toBeGreaterThanOrEqual(250);
  });

  it('says false when the task does not run again in time', async () => {
    const backend = connector(['FAILED']);
    await expect(waitForRestart(backend, 'c', { settleMs: 100, timeoutMs: 300 })).resolves.toBe(
      false,
    );
  });
});
