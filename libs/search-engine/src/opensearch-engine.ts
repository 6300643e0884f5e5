import { Client, errors } from '@opensearch-project/opensearch';
import {
  engineResponseError,
  SearchEngineClientError,
  SearchEngineError,
  SearchEngineTimeoutError,
  SearchEngineUnavailableError,
} from './search-engine.errors';
import { buildSearchBody, parseSearchResponse, type RawSearchResponse } from './search-dsl';
import type {
  BulkAction,
  BulkItemResult,
  EngineInfo,
  GetDocumentOptions,
  IndexedTable,
  JsonObject,
  SearchEngine,
  SearchHit,
  SearchPage,
  SearchRequest,
  SearchResult,
  TableMapping,
} from './search-engine';
import type { TableIndexNames } from './table-index';
import {
  liveAlias,
  TableGenerations,
  type EngineTransport,
  type TableIndexOptions,
} from './table-generations';
import {
  aliasResolver,
  bulkLine,
  classifyBulkItem,
  isMissingIndex,
  mergedTableMeta,
  searchTarget,
  putMappingTolerant,
  newTableIndex,
  tablesFromIndices,
  type BulkResponseItem,
  type SearchEngineOptions,
} from './engine-common';

// Our mappings are derived at run time; the client's static Property union cannot describe them.
type MappingProperties = Record<string, never>;

function toEngineError(error: unknown): SearchEngineError {
  if (error instanceof SearchEngineError) return error;
  if (error instanceof errors.ResponseError) {
    return engineResponseError(error.statusCode ?? 500, error.body, error.message);
  }
  if (error instanceof errors.TimeoutError) {
    return new SearchEngineTimeoutError(`search engine did not answer in time: ${error.message}`);
  }
  if (error instanceof errors.ConnectionError || error instanceof errors.NoLivingConnectionsError) {
    return new SearchEngineUnavailableError(`search engine unreachable: ${error.message}`);
  }
  return new SearchEngineClientError(`search engine call failed: ${(error as Error).message}`);
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toEngineError(error);
  }
}

function flattenMapping(
  properties: JsonObject | undefined,
  prefix = '',
): { name: string; type: string }[] {
  const out: { name: string; type: string }[] = [];
  for (const [name, raw] of Object.entries(properties ?? {})) {
    const spec = raw as { type?: string; properties?: JsonObject };
    const path = prefix ? `${prefix}.${name}` : name;
    if (spec.type) out.push({ name: path, type: spec.type });
    else if (spec.properties) out.push(...flattenMapping(spec.properties, path));
    else out.push({ name: path, type: 'object' });
  }
  return out;
}

/** SearchEngine over the OpenSearch JavaScript client. */
export class OpenSearchEngine implements SearchEngine {
  private readonly client: Client;
  readonly generations: TableGenerations;

  constructor(node: string, options: SearchEngineOptions = {}) {
    this.client = new Client({
      node,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      maxRetries: 0,
    });
    const request: EngineTransport = async <T>(
      method: string,
      path: string,
      params: { body?: JsonObject; querystring?: Record<string, unknown> } = {},
    ) => {
      const response = await call(() =>
        this.client.transport.request({
          method,
          path,
          ...(params.body !== undefined ? { body: params.body } : {}),
          querystring: params.querystring ?? {},
        }),
      );
      return response.body as T;
    };
    this.generations = new TableGenerations(request);
  }

  async searchPage(request: SearchRequest): Promise<SearchPage> {
    const target = searchTarget(request);
    const body = buildSearchBody(request, { idField: '_id' }, target.indexFilter);
    const response = await call(() =>
      this.client.search({
        // Our aliases (or our own pattern narrowed by exact indices); never user input, and a
        // missing alias is an error, not silence.
        index: target.path,
        body: body,
        ignore_unavailable: target.wide,
        allow_no_indices: target.wide,
        expand_wildcards: target.wide ? 'open' : 'none',
      }),
    );
    return parseSearchResponse(request, response.body as RawSearchResponse, aliasResolver(request));
  }

  async listTableMappings(prefix: string): Promise<TableMapping[]> {
    const response = await call(() =>
      this.client.indices.get({ index: `${prefix}.*`, allow_no_indices: true }),
    );
    return tablesFromIndices(response.body);
  }

  async info(): Promise<EngineInfo> {
    const response = await call(() => this.client.info());
    const body = response.body as { version: { number: string; distribution?: string } };
    return {
      distribution: body.version.distribution === 'opensearch' ? 'opensearch' : 'elasticsearch',
      version: body.version.number,
    };
  }

  async ensureTableIndex(
    names: TableIndexNames,
    properties: JsonObject,
    options?: TableIndexOptions,
  ): Promise<void> {
    const exists = await call(() => this.client.indices.exists({ index: names.alias }));
    if (exists.body) return;
    const { settings, meta } = newTableIndex(names, options);
    try {
      await this.client.indices.create({
        index: names.index,
        body: {
          settings,
          mappings: {
            // Unknown fields stay in _source unindexed until we map them from their schema.
            dynamic: false,
            properties: properties as MappingProperties,
            _meta: meta,
          },
          aliases: { [names.alias]: {} },
        },
      });
    } catch (error) {
      const engineError = toEngineError(error);
      // Another indexer replica created it first: that is the state we wanted.
      if (engineError.statusCode === 400 && /already.exists/.test(engineError.message)) return;
      throw engineError;
    }
  }

  async extendMapping(alias: string, properties: JsonObject): Promise<void> {
    await putMappingTolerant(
      properties,
      async (part) => {
        await call(() =>
          this.client.indices.putMapping({
            index: alias,
            body: { properties: part as MappingProperties },
          }),
        );
      },
      (error) => error instanceof SearchEngineError && error.statusCode === 400,
    );
  }

  async setTableMeta(alias: string, meta: JsonObject): Promise<void> {
    const response = await call(() => this.client.indices.getMapping({ index: alias }));
    const indices = response.body as Record<string, { mappings?: { _meta?: JsonObject } }>;
    for (const [index, description] of Object.entries(indices)) {
      await call(() =>
        this.client.indices.putMapping({
          index,
          body: { _meta: mergedTableMeta(description.mappings?._meta, meta) },
        }),
      );
    }
  }

  async bulk(actions: BulkAction[]): Promise<BulkItemResult[]> {
    if (actions.length === 0) return [];
    const body = actions.map(bulkLine).join('');
    // The client sends a string body as-is; its typings only know the array form.
    const response = await call(() =>
      this.client.bulk({ body: body as unknown as Parameters<Client['bulk']>[0]['body'] }),
    );
    const items = (response.body as { items: Record<string, BulkResponseItem>[] }).items;
    return items.map((entry, i) => classifyBulkItem(Object.values(entry)[0], actions[i].type));
  }

  async deleteAllDocuments(alias: string): Promise<number> {
    // delete_by_query sees refreshed documents only: one written within the refresh interval
    // (or into a generation being rebuilt, which is not refreshed) would survive the truncate.
    await call(() => this.client.indices.refresh({ index: alias }));
    const response = await call(() =>
      this.client.deleteByQuery({
        index: alias,
        body: { query: { match_all: {} } },
        conflicts: 'proceed',
        refresh: true,
      }),
    );
    return (response.body as { deleted?: number }).deleted ?? 0;
  }

  async deleteTableIndices(alias: string): Promise<number> {
    let indices: string[];
    try {
      const response = await this.client.indices.getAlias({ name: alias });
      indices = Object.keys(response.body);
    } catch (error) {
      const engineError = toEngineError(error);
      if (engineError.statusCode === 404) return 0;
      throw engineError;
    }
    if (indices.length === 0) return 0;
    try {
      await this.client.indices.delete({ index: indices.join(',') });
    } catch (error) {
      const engineError = toEngineError(error);
      // Deleted meanwhile by another replica: the state we wanted.
      if (engineError.statusCode === 404) return 0;
      throw engineError;
    }
    return indices.length;
  }

  async getDocument(
    alias: string,
    id: string,
    options: GetDocumentOptions = {},
  ): Promise<JsonObject | null> {
    try {
      const response = await this.client.get({ index: alias, id });
      const body = response.body as { found: boolean; _source?: JsonObject };
      return body.found ? (body._source ?? {}) : null;
    } catch (error) {
      const engineError = toEngineError(error);
      if (engineError.statusCode !== 404) throw engineError;
      if (options.requireIndex && isMissingIndex(engineError)) throw engineError;
      return null;
    }
  }

  async search(alias: string | string[], body: JsonObject): Promise<SearchResult> {
    const response = await call(() =>
      this.client.search({ index: Array.isArray(alias) ? alias.join(',') : alias, body }),
    );
    const result = response.body as {
      took: number;
      hits: {
        total: { value: number; relation: 'eq' | 'gte' };
        hits: { _id: string; _score: number | null; _source: JsonObject }[];
      };
    };
    return {
      total: result.hits.total.value,
      totalRelation: result.hits.total.relation,
      tookMs: result.took,
      hits: result.hits.hits.map((hit) => ({
        id: hit._id,
        score: hit._score,
        source: hit._source,
      })),
    };
  }

  async listTables(prefix: string): Promise<IndexedTable[]> {
    const response = await call(() =>
      this.client.indices.getMapping({ index: `${prefix}.*`, allow_no_indices: true }),
    );
    const indices = response.body as Record<
      string,
      {
        mappings: {
          _meta?: { searchsync?: { schema: string; table: string } };
          properties?: JsonObject;
        };
      }
    >;
    const aliases = await call(() =>
      this.client.indices.getAlias({ index: `${prefix}.*`, allow_no_indices: true }),
    );
    const aliasBody = aliases.body as Record<string, { aliases: Record<string, unknown> }>;
    const tables: IndexedTable[] = [];
    for (const [index, { mappings }] of Object.entries(indices)) {
      const meta = mappings._meta?.searchsync;
      const alias = liveAlias(aliasBody[index]?.aliases);
      if (!meta || !alias) continue;
      const count = await call(() => this.client.count({ index: alias }));
      tables.push({
        schema: meta.schema,
        table: meta.table,
        alias,
        documents: (count.body as { count: number }).count,
        fields: flattenMapping(mappings.properties),
      });
    }
    return tables.sort((a, b) => a.alias.localeCompare(b.alias));
  }

  async count(alias: string): Promise<number> {
    await call(() => this.client.indices.refresh({ index: alias }));
    const response = await call(() => this.client.count({ index: alias }));
    return (response.body as { count: number }).count;
  }

  async *scanDocuments(alias: string, batchSize = 1000): AsyncIterable<SearchHit[]> {
    type ScrollPage = {
      _scroll_id?: string;
      hits: { hits: { _id: string; _source: JsonObject }[] };
    };
    let page = (
      await call(() =>
        this.client.search({
          index: alias,
          scroll: '1m',
          size: batchSize,
          body: { sort: ['_doc'] },
        }),
      )
    ).body as ScrollPage;
    let scrollId = page._scroll_id;
    try {
      while (page.hits.hits.length > 0) {
        yield page.hits.hits.map((hit) => ({ id: hit._id, score: null, source: hit._source }));
        if (!scrollId) break;
        const id = scrollId;
        page = (await call(() => this.client.scroll({ scroll_id: id, scroll: '1m' })))
          .body as ScrollPage;
        scrollId = page._scroll_id ?? scrollId;
      }
    } finally {
      if (scrollId) {
        const id = scrollId;
        await this.client.clearScroll({ scroll_id: id }).catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
