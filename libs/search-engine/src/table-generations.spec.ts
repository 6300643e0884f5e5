import {
  elasticsearchDialect,
  openSearchDialect,
  TIEBREAK_FIELD,
  TIEBREAK_MAPPING,
} from './engine-dialect';
import { SearchEngineNotFoundError } from './search-engine.errors';
import { VECTOR_FIELD_PREFIX, vectorFieldOf } from './vector-fields';
import {
  buildingAlias,
  liveAlias,
  TableGenerations,
  type EngineTransport,
} from './table-generations';

/** Answers scripted per path, and every call recorded. */
function transport(answers: Record<string, unknown>) {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  const request: EngineTransport = <T>(
    method: string,
    path: string,
    params: { body?: unknown } = {},
  ): Promise<T> => {
    calls.push({ method, path, body: params.body });
    const answer = answers[`${method} ${path}`];
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve((answer ?? {}) as T);
  };
  return { calls, request };
}

const meta = (table: string) => ({
  mappings: { _meta: { searchsync: { schema: 'public', table } } },
});

describe('TableGenerations', () => {
  it('lists a table’s generations with what points at them, ignoring another table whose name matches', async () => {
    const { request } = transport({
      'GET /searchsync.public.film.v*': {
        'searchsync.public.film.v1': { aliases: { 'searchsync.public.film': {} }, ...meta('film') },
        'searchsync.public.film.v2': {
          aliases: { [buildingAlias('searchsync.public.film.v2')]: {} },
          ...meta('film'),
        },
        // A table named `film.v9`'s index, and a stray index without our _meta.
        'searchsync.public.film.v9.v1': { aliases: {}, ...meta('film.v9') },
        'searchsync.public.film.v3': { aliases: {} },
      },
    });
    const generations = await new TableGenerations(request).list({
      schema: 'public',
      table: 'film',
      alias: 'searchsync.public.film',
    });
    expect(generations.map((g) => [g.index, g.generation, g.live, g.building])).toEqual([
      ['searchsync.public.film.v1', 1, true, false],
      ['searchsync.public.film.v2', 2, false, true],
    ]);
  });

  it('answers no generations when nothing matches (404)', async () => {
    const { request } = transport({
      'GET /searchsync.public.gone.v*': new SearchEngineNotFoundError(
        'no such index',
        'index_not_found_exception',
      ),
    });
    await expect(
      new TableGenerations(request).list({
        schema: 'public',
        table: 'gone',
        alias: 'searchsync.public.gone',
      }),
    ).resolves.toEqual([]);
  });

  it('maps building aliases to the live alias they shadow', async () => {
    const { request } = transport({
      'GET /_alias/searchsync.*.building': {
        'searchsync.public.film.v2': { aliases: { 'searchsync.public.film.v2.building': {} } },
        'searchsync.s.t.v7': { aliases: { 'searchsync.s.t.v7.building': {} } },
      },
    });
    const targets = await new TableGenerations(request).buildingTargets('searchsync');
    expect([...targets]).toEqual([
      ['searchsync.public.film', ['searchsync.public.film.v2.building']],
      ['searchsync.s.t', ['searchsync.s.t.v7.building']],
    ]);
  });

  it('swaps in one alias request: the live alias leaves the old generations, joins the new one, and the building alias goes', async () => {
    const { request, calls } = transport({});
    await new TableGenerations(request).swap(
      'searchsync.public.film',
      'searchsync.public.film.v2',
      ['searchsync.public.film.v1'],
    );
    expect(calls).toEqual([
      {
        method: 'POST',
        path: '/_aliases',
        body: {
          actions: [
            { remove: { index: 'searchsync.public.film.v1', alias: 'searchsync.public.film' } },
            { add: { index: 'searchsync.public.film.v2', alias: 'searchsync.public.film' } },
            {
              remove: {
                index: 'searchsync.public.film.v2',
                alias: 'searchsync.public.film.v2.building',
              },
            },
          ],
        },
      },
    ]);
  });

  it('creates a generation behind its building alias only, with the table’s settings and _meta', async () => {
    const { request, calls } = transport({});
    await new TableGenerations(request).create(
      {
        schema: 'public',
        table: 'film',
        alias: 'searchsync.public.film',
        index: 'searchsync.public.film.v3',
      },
      { number_of_shards: 1 },
      { index: { shards: 2, refresh: '-1' }, meta: { config: 'abc' } },
    );
    expect(calls[0]).toMatchObject({
      method: 'PUT',
      path: '/searchsync.public.film.v3',
      body: {
        settings: { number_of_shards: 2, refresh_interval: '-1' },
        mappings: {
          dynamic: false,
          _source: { excludes: [TIEBREAK_FIELD, `${VECTOR_FIELD_PREFIX}*`] },
          properties: { [TIEBREAK_FIELD]: TIEBREAK_MAPPING },
          _meta: { searchsync: { schema: 'public', table: 'film', config: 'abc' } },
        },
        aliases: { 'searchsync.public.film.v3.building': {} },
      },
    });
  });

  it('creates generations in the engine’s own terms, with its settings for new indices', async () => {
    const names = {
      schema: 'public',
      table: 'film',
      alias: 'searchsync.public.film',
      index: 'searchsync.public.film.v3',
    };
    const properties = {
      attrs: { type: 'flat_object' },
      embedding: { type: 'knn_vector', dimension: 3, method: { space_type: 'cosinesimil' } },
    };
    const es = transport({});
    await new TableGenerations(es.request, () => elasticsearchDialect({ version: '9.5.3' })).create(
      names,
      {},
      { properties },
    );
    const esBody = es.calls[0].body as { settings: object; mappings: { properties: object } };
    expect(esBody.settings).toEqual({ 'index.mapping.exclude_source_vectors': false });
    expect(esBody.mappings.properties).toEqual({
      attrs: { type: 'flattened' },
      embedding: { type: 'object', enabled: false },
      [vectorFieldOf('embedding')]: {
        type: 'dense_vector',
        dims: 3,
        index: true,
        similarity: 'cosine',
        index_options: { type: 'hnsw' },
      },
      [TIEBREAK_FIELD]: TIEBREAK_MAPPING,
    });
    const os = transport({});
    await new TableGenerations(os.request, () =>
      Promise.resolve(openSearchDialect({ knn: true })),
    ).create(names, {}, { properties });
    const osBody = os.calls[0].body as { settings: object; mappings: { properties: object } };
    expect(osBody.settings).toEqual({ 'index.knn': true });
    expect(osBody.mappings.properties).toMatchObject({
      attrs: { type: 'flat_object' },
      [vectorFieldOf('embedding')]: {
        type: 'knn_vector',
        dimension: 3,
        method: { name: 'hnsw', space_type: 'cosinesimil', engine: 'lucene' },
      },
    });
  });

  it('truncates by an empty generation with the live mappings and _meta, swapped in by the alias request that deletes the old', async () => {
    const properties = { id: { type: 'long' }, name: { type: 'text' } };
    const { request, calls } = transport({
      'GET /searchsync.public.film.v*': {
        'searchsync.public.film.v4': {
          aliases: { 'searchsync.public.film': {} },
          mappings: {
            // An index created before the tie-break field: it gets one in the new generation.
            _source: { excludes: ['blob'] },
            properties,
            _meta: {
              searchsync: { schema: 'public', table: 'film', config: 'abc', lastGeneration: 6 },
            },
          },
        },
      },
    });
    const replaced = await new TableGenerations(request).replaceWithEmpty(
      { schema: 'public', table: 'film', alias: 'searchsync.public.film' },
      { number_of_shards: 1 },
      { index: { refresh: '5s' } },
    );
    // v5 and v6 were used by rebuilds that failed: never reused.
    expect(replaced).toEqual({
      index: 'searchsync.public.film.v7',
      replaced: ['searchsync.public.film.v4'],
    });
    expect(calls.slice(1)).toEqual([
      {
        method: 'PUT',
        path: '/searchsync.public.film.v7',
        body: {
          settings: { number_of_shards: 1, refresh_interval: '5s' },
          mappings: {
            dynamic: false,
            // The live _source settings are kept, the tie-break field excluded and mapped.
            _source: { excludes: ['blob', TIEBREAK_FIELD, `${VECTOR_FIELD_PREFIX}*`] },
            properties: { ...properties, [TIEBREAK_FIELD]: TIEBREAK_MAPPING },
            _meta: {
              searchsync: { schema: 'public', table: 'film', config: 'abc', lastGeneration: 7 },
            },
          },
        },
      },
      {
        method: 'POST',
        path: '/_aliases',
        body: {
          actions: [
            { add: { index: 'searchsync.public.film.v7', alias: 'searchsync.public.film' } },
            { remove_index: { index: 'searchsync.public.film.v4' } },
          ],
        },
      },
    ]);
  });

  it('truncates nothing, and creates nothing, when the table has no live index', async () => {
    const { request, calls } = transport({ 'GET /searchsync.public.film.v*': {} });
    const generations = new TableGenerations(request);
    expect(
      await generations.replaceWithEmpty(
        { schema: 'public', table: 'film', alias: 'searchsync.public.film' },
        {},
        {},
      ),
    ).toBeNull();
    expect(calls.map((c) => c.method)).toEqual(['GET']);
  });

  it('drops the new generation again when the alias request fails, leaving the old one live', async () => {
    const { request, calls } = transport({
      'GET /searchsync.public.film.v*': {
        'searchsync.public.film.v1': { aliases: { 'searchsync.public.film': {} }, ...meta('film') },
      },
      'POST /_aliases': new Error('engine down'),
    });
    await expect(
      new TableGenerations(request).replaceWithEmpty(
        { schema: 'public', table: 'film', alias: 'searchsync.public.film' },
        {},
        {},
      ),
    ).rejects.toThrow('engine down');
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /searchsync.public.film.v*',
      'PUT /searchsync.public.film.v2',
      'POST /_aliases',
      'DELETE /searchsync.public.film.v2',
    ]);
  });

  it('picks the live alias of an index, never its building one', () => {
    expect(liveAlias({ 'a.v2.building': {}, a: {} })).toBe('a');
    expect(liveAlias({ 'a.v2.building': {} })).toBeUndefined();
  });
});
