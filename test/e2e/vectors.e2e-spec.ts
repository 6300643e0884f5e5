import type { Client } from 'pg';
import { admin } from './support/admin';
import { stackApi } from './support/api-client';
import { apiGet, database, eventually, stackEngine, uniqueTable } from './support/stack';
import { writeTableConfig } from './support/table-config';

/**
 * Vector columns (`type: vector` in searchsync.yaml, on real[] here: pgvector is not packaged
 * for this PostgreSQL) are indexed as k-NN vectors, and `knn` finds the nearest rows: checked
 * against the exact nearest neighbours computed in PostgreSQL, for each similarity, filtered
 * and hybrid. A value that is no vector leaves its row indexed and exact.
 */

const DIMS = 16;
const ROWS = 1500;
const QUERIES = 20;
const K = 10;
const CATEGORIES = ['a', 'b', 'c'];
/** Rows whose vector values are none: their documents must exist all the same. */
const ODD = {
  nullVector: 900001,
  shortVector: 900002,
  nullElement: 900003,
  nanElement: 900004,
  zeroForCosine: 900005,
};

type Similarity = 'l2' | 'cosine' | 'dot_product';
const COLUMNS: Record<Similarity, string> = {
  l2: 'emb_l2',
  cosine: 'emb_cos',
  dot_product: 'emb_dot',
};

interface SearchBody {
  total: number;
  hits: { id: string; score: number | null; source: Record<string, unknown> }[];
}
interface TableInfo {
  table: string;
  documents: number;
  fields: { name: string; type: string; dims?: number; similarity?: string }[];
  needsRebuild: string | null;
}
interface Progress {
  id: string;
  state: string;
  error: string | null;
}

/** A small deterministic generator: the same vectors every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    state ^= state >>> 13;
    return (state % 2_000_001) / 1_000_000 - 1;
  };
}

/** Vectors as PostgreSQL's real stores them, so both sides compare the same numbers. */
function vector(next: () => number): number[] {
  return Array.from({ length: DIMS }, () => Math.fround(next()));
}

/** PostgreSQL's own ordering of the rows for a query vector: the exact nearest neighbours. */
const EXACT_ORDER: Record<Similarity, string> = {
  l2: 'sum((x::float8 - y) ^ 2) asc',
  cosine: 'sum(x::float8 * y) / (sqrt(sum(x::float8 * x)) * sqrt(sum(y * y))) desc',
  dot_product: 'sum(x::float8 * y) desc',
};

describe('vector columns and knn search', () => {
  let db: Client;
  const table = uniqueTable('vectors');
  const next = generator(20261201);

  const exactNearest = async (
    similarity: Similarity,
    query: number[],
    category?: string,
  ): Promise<string[]> => {
    const column = COLUMNS[similarity];
    const rows = await db.query<{ id: number }>(
      `select t.id from ${table} t, lateral (
         select ${EXACT_ORDER[similarity].replace(/ (asc|desc)$/, '')} as score
         from unnest(t.${column}, $1::float8[]) u(x, y)
       ) s
       where t.id < 900000 ${category ? 'and t.category = $3' : ''}
       order by s.score ${EXACT_ORDER[similarity].endsWith('desc') ? 'desc' : 'asc'}, t.id
       limit $2`,
      category ? [query, K, category] : [query, K],
    );
    return rows.rows.map((r) => String(r.id));
  };

  const knn = (body: Record<string, unknown>) =>
    stackApi<SearchBody & { message?: string }>(`/v1/tables/${table}/search`, { body });

  const recall = (found: string[], exact: string[]) =>
    exact.filter((id) => found.includes(id)).length / exact.length;

  beforeAll(async () => {
    db = await database();
    await db.query(
      `create table ${table} (id int primary key, category text not null, title text not null,
         emb_l2 real[], emb_cos real[], emb_dot real[])`,
    );
    for (let from = 1; from <= ROWS; from += 250) {
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let id = from; id < Math.min(from + 250, ROWS + 1); id++) {
        const p = values.length;
        tuples.push(`($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6})`);
        values.push(
          id,
          CATEGORIES[id % CATEGORIES.length],
          id === 7 ? 'the zebracorn row' : `row ${id}`,
          vector(next),
          vector(next),
          vector(next),
        );
      }
      await db.query(`insert into ${table} values ${tuples.join(', ')}`, values);
    }
    const ok = vector(next);
    await db.query(
      `insert into ${table} values
         (${ODD.nullVector}, 'a', 'no vector', null, null, null),
         (${ODD.shortVector}, 'a', 'short vector', '{1,2,3}', '{1,2,3}', '{1,2,3}'),
         (${ODD.nullElement}, 'a', 'null element', $1, $1, $1),
         (${ODD.nanElement}, 'a', 'nan element', $2, $2, $2),
         (${ODD.zeroForCosine}, 'a', 'zero vector', $3, $3, $3)`,
      [[null, ...ok.slice(1)], ['NaN', ...ok.slice(1)], new Array<number>(DIMS).fill(0)],
    );
    const total = ROWS + Object.keys(ODD).length;
    await eventually(
      () => apiGet<SearchBody>(`/v1/tables/${table}/search?size=1`),
      (r) => r.status === 200 && r.body.total === total,
      { what: `${total} rows searchable`, timeoutMs: 180_000 },
    );

    // Declared as vectors after the fact: the mapping changes, so the table is rebuilt.
    const fields = (Object.entries(COLUMNS) as [Similarity, string][])
      .map(
        ([similarity, c]) =>
          `      ${c}: { type: vector, dims: ${DIMS}, similarity: ${similarity} }`,
      )
      .join('\n');
    writeTableConfig(table, `tables:\n  ${table}:\n    fields:\n${fields}\n`);
    await eventually(
      () => apiGet<TableInfo[]>('/v1/tables'),
      (r) => typeof r.body.find((t) => t.table === table)?.needsRebuild === 'string',
      { what: 'the table reported as needing a rebuild' },
    );
    const started = await admin<Progress>('POST', `/v1/tables/${table}/rebuild`);
    expect(started.status).toBe(202);
    const finished = await eventually(
      () => admin<Progress>('GET', `/v1/tables/${table}/rebuild`),
      (r) =>
        r.body.id === started.body.id &&
        (r.body.state === 'completed' || r.body.state === 'failed'),
      { what: `rebuild of ${table}`, timeoutMs: 300_000 },
    );
    expect(finished.body).toMatchObject({ state: 'completed', error: null });
    await eventually(
      () => apiGet<TableInfo[]>('/v1/tables'),
      (r) => {
        const info = r.body.find((t) => t.table === table);
        return info?.needsRebuild === null && info.fields.some((f) => f.type === 'vector');
      },
      { what: 'the rebuilt table with its vector fields', timeoutMs: 60_000 },
    );
  }, 900_000);

  afterAll(async () => {
    await db?.end();
  });

  it('lists vector columns in the catalogue with their dimensions and similarity', async () => {
    const info = (await apiGet<TableInfo[]>('/v1/tables')).body.find((t) => t.table === table);
    for (const [similarity, column] of Object.entries(COLUMNS)) {
      expect(info?.fields.find((f) => f.name === column)).toMatchObject({
        type: 'vector',
        dims: DIMS,
        similarity,
      });
    }
  });

  it.each(['l2', 'cosine', 'dot_product'] as const)(
    `finds the exact nearest rows (recall@${K} ≥ 0.95) by %s`,
    async (similarity) => {
      const queries = Array.from({ length: QUERIES }, () => vector(next));
      let sum = 0;
      for (const query of queries) {
        const r = await knn({ knn: { field: COLUMNS[similarity], vector: query, k: K } });
        expect(r.status).toBe(200);
        expect(r.body.hits).toHaveLength(K);
        sum += recall(
          r.body.hits.map((h) => h.id),
          await exactNearest(similarity, query),
        );
      }
      const mean = sum / queries.length;
      console.log(`knn ${similarity} on ${stackEngine}: recall@${K} ${mean.toFixed(3)}`);
      expect(mean).toBeGreaterThanOrEqual(0.95);
    },
  );

  it('finds the nearest rows among those a filter admits', async () => {
    let sum = 0;
    for (let i = 0; i < QUERIES / 2; i++) {
      const query = vector(next);
      const r = await knn({
        knn: { field: COLUMNS.l2, vector: query, k: K },
        filters: [{ field: 'category', op: 'eq', value: 'b' }],
      });
      expect(r.status).toBe(200);
      expect(r.body.hits).toHaveLength(K);
      expect(r.body.hits.every((h) => h.source.category === 'b')).toBe(true);
      sum += recall(
        r.body.hits.map((h) => h.id),
        await exactNearest('l2', query, 'b'),
      );
    }
    expect(sum / (QUERIES / 2)).toBeGreaterThanOrEqual(0.95);
  });

  it('combines words and vectors (hybrid): the word match and the nearest rows', async () => {
    const query = vector(next);
    const exact = await exactNearest('l2', query);
    const r = await knn({ q: 'zebracorn', knn: { field: COLUMNS.l2, vector: query, k: K } });
    expect(r.status).toBe(200);
    const ids = r.body.hits.map((h) => h.id);
    expect(ids).toContain('7');
    expect(recall(ids, exact)).toBeGreaterThanOrEqual(0.9);
  });

  it('keeps rows whose value is no vector, exactly, and never returns them as neighbours', async () => {
    for (const id of Object.values(ODD)) {
      const r = await stackApi<{ source: Record<string, unknown> }>(
        `/v1/tables/${table}/documents/${id}`,
      );
      expect(r.status).toBe(200);
    }
    const nullElement = await stackApi<{ source: Record<string, unknown> }>(
      `/v1/tables/${table}/documents/${ODD.nullElement}`,
    );
    expect((nullElement.body.source.emb_l2 as unknown[])[0]).toBeNull();
    const nan = await stackApi<{ source: Record<string, unknown> }>(
      `/v1/tables/${table}/documents/${ODD.nanElement}`,
    );
    expect((nan.body.source.emb_l2 as unknown[])[0]).toBe('NaN');
    // The zero vector is a vector for l2 (the nearest to a tiny query) but none for cosine.
    const tiny = new Array<number>(DIMS).fill(1e-6);
    const byL2 = await knn({ knn: { field: COLUMNS.l2, vector: tiny, k: 1 } });
    expect(byL2.body.hits.map((h) => h.id)).toEqual([String(ODD.zeroForCosine)]);
    const byCosine = await knn({ knn: { field: COLUMNS.cosine, vector: tiny, k: K } });
    const odd = new Set(Object.values(ODD).map(String));
    expect(byCosine.body.hits.filter((h) => odd.has(h.id))).toEqual([]);
    // Counted, by reason, never dead-lettered.
    const metrics = await (
      await fetch(`http://127.0.0.1:${process.env.INDEXER_METRICS_PORT ?? 3002}/metrics`)
    ).text();
    const counted = (column: string, reason: string) =>
      metrics.includes(
        `searchsync_indexer_vectors_not_indexed_total{table="public.${table}",column="${column}",reason="${reason}"}`,
      );
    expect(counted(COLUMNS.cosine, 'zero length for cosine similarity')).toBe(true);
    expect(counted(COLUMNS.l2, 'wrong number of elements')).toBe(true);
    expect(counted(COLUMNS.l2, 'an element that is not a finite number')).toBe(true);
  });

  it('verifies clean: every document equals its row, vector columns included', async () => {
    const report = await admin<{
      missingTotal: number;
      extraTotal: number;
      mismatchedTotal: number;
      rows: number;
    }>('POST', `/v1/tables/${table}/verify`);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ missingTotal: 0, extraTotal: 0, mismatchedTotal: 0 });
    expect(report.body.rows).toBe(ROWS + Object.keys(ODD).length);
  });

  it('follows updates and deletes of vectors', async () => {
    const target = vector(next);
    await db.query(`update ${table} set emb_l2 = $1 where id = 42`, [target]);
    await eventually(
      () => knn({ knn: { field: COLUMNS.l2, vector: target, k: 1 } }),
      (r) => r.status === 200 && r.body.hits[0]?.id === '42',
      { what: 'row 42 nearest to its new vector' },
    );
    await db.query(`delete from ${table} where id = 42`);
    await eventually(
      () => knn({ knn: { field: COLUMNS.l2, vector: target, k: K } }),
      (r) => r.status === 200 && !r.body.hits.some((h) => h.id === '42'),
      { what: 'row 42 gone from the neighbours' },
    );
  });

  it('refuses a query vector of the wrong length with a 400 that says what to send', async () => {
    const r = await knn({ knn: { field: COLUMNS.l2, vector: [1, 2, 3], k: K } });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/16/);
  });
});
