import { Client, errors } from '@elastic/elasticsearch';
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
import { TableGenerations, type TableIndexOptions } from './table-generations';
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
  type IndexDescription,
  type SearchEngineOptions,
} from './engine-common';

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

/**
 * Elasticsearch has no `flat_object`; its `flattened` type is the equivalent. Our mappings are
 * derived for OpenSearch, so they are translated on the way in.
 */
export function toElasticsearchMapping(properties: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, raw] of Object.entries(properties)) {
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      const spec = { ...(raw as JsonObject) };
      if (spec.type === 'flat_object') spec.type = 'flattened';
      if (spec.type === 'knn_vector') {
        spec.type = 'dense_vector';
        if (spec.dimension !== undefined) {
          spec.dims = spec.dimension;
          delete spec.dimension;
        }
        delete spec.method;
      }
      if (spec.properties && typeof spec.properties === 'object') {
        spec.properties = toElasticsearchMapping(spec.properties as JsonObject);
      }
      out[name] = spec;
    } else {
      out[name] = raw;
    }
  }
  return out;
}

/**
 * SearchEngine over the Elasticsearch JavaScript client (8.x/9.x servers). Requests go through
 * the transport with the same bodies as the OpenSearch adapter, so both speak one DSL.
 *
 * Sorting on `_id` needs `indices.id_field_data.enabled: true` on Elasticsearch 8+; the tie-break
 * field is configurable for clusters where it is off.
 */
export class ElasticsearchEngine implements SearchEngine {
  private readonly client: Client;
  private readonly idSortField: string;
  readonly generations: TableGenerations;

  constructor(node: string, options: SearchEngineOptions & { idSortField?: string } = {}) {
    this.client = new Client({
      node,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      maxRetries: 0,
    });
    this.idSortField = options.idSortField ?? '_id';
    this.generations = new TableGenerations(
      (method, path, params) => this.request(method, path, params),
      toElasticsearchMapping,
    );
  }

  private async request<T>(
    method: string,
    path: string,
    params: { body?: JsonObject; querystring?: Record<string, unknown>; bulkBody?: string } = {},
  ): Promise<T> {
    try {
      return await this.client.transport.request({ method, path, ...params });
    } catch (error) {
      throw toEngineError(error);
    }
  }

  async info(): Promise<EngineInfo> {
    const body = await this.request<{ version: { number: string; distribution?: string } }>(
      'GET',
      '/',
    );
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
    // The transport answers a HEAD with true/false instead of failing on 404.
    const exists = await this.request<boolean>('HEAD', `/${encodeURIComponent(names.alias)}`);
    if (exists) return;
    const { settings, meta } = newTableIndex(names, options);
    try {
      await this.request('PUT', `/${encodeURIComponent(names.index)}`, {
        body: {
          settings,
          mappings: {
            dynamic: false,
            properties: toElasticsearchMapping(properties),
            _meta: meta,
          },
          aliases: { [names.alias]: {} },
        },
      });
    } catch (error) {
      if (
        error instanceof SearchEngineError &&
        error.statusCode === 400 &&
        /already.exists/.test(error.message)
      )
        return;
      throw error;
    }
  }

  async extendMapping(alias: string, properties: JsonObject): Promise<void> {
    await putMappingTolerant(
      properties,
      async (part) => {
        await this.request('PUT', `/${encodeURIComponent(alias)}/_mapping`, {
          body: { properties: toElasticsearchMapping(part) },
        });
      },
      (error) => error instanceof SearchEngineError && error.statusCode === 400,
    );
  }

  async setTableMeta(alias: string, meta: JsonObject): Promise<void> {
    const indices = await this.request<Record<string, { mappings?: { _meta?: JsonObject } }>>(
      'GET',
      `/${encodeURIComponent(alias)}/_mapping`,
    );
    for (const [index, description] of Object.entries(indices)) {
      await this.request('PUT', `/${encodeURIComponent(index)}/_mapping`, {
        body: { _meta: mergedTableMeta(description.mappings?._meta, meta) },
      });
    }
  }

  async bulk(actions: BulkAction[]): Promise<BulkItemResult[]> {
    if (actions.length === 0) return [];
    const body = await this.request<{ items: Record<string, BulkResponseItem>[] }>(
      'POST',
      '/_bulk',
      { bulkBody: actions.map(bulkLine).join('') },
    );
    return body.items.map((entry, i) => classifyBulkItem(Object.values(entry)[0], actions[i].type));
  }

  async deleteAllDocuments(alias: string): Promise<number> {
    // delete_by_query sees refreshed documents only: one written within the refresh interval
    // (or into a generation being rebuilt, which is not refreshed) would survive the truncate.
    await this.request('POST', `/${encodeURIComponent(alias)}/_refresh`);
    const body = await this.request<{ deleted?: number }>(
      'POST',
      `/${encodeURIComponent(alias)}/_delete_by_query`,
      { body: { query: { match_all: {} } }, querystring: { conflicts: 'proceed', refresh: true } },
    );
    return body.deleted ?? 0;
  }

  async deleteTableIndices(alias: string): Promise<number> {
    let indices: string[];
    try {
      const body = await this.request<Record<string, unknown>>(
        'GET',
        `/_alias/${encodeURIComponent(alias)}`,
      );
      indices = Object.keys(body);
    } catch (error) {
      if (error instanceof SearchEngineError && error.statusCode === 404) return 0;
      throw error;
    }
    if (indices.length === 0) return 0;
    try {
      await this.request('DELETE', `/${indices.map(encodeURIComponent).join(',')}`);
    } catch (error) {
      // Deleted meanwhile by another replica: the state we wanted.
      if (error instanceof SearchEngineError && error.statusCode === 404) return 0;
      throw error;
    }
    return indices.length;
  }

  async getDocument(
    alias: string,
    id: string,
    options: GetDocumentOptions = {},
  ): Promise<JsonObject | null> {
    try {
      const body = await this.request<{ found: boolean; _source?: JsonObject }>(
        'GET',
        `/${encodeURIComponent(alias)}/_doc/${encodeURIComponent(id)}`,
      );
      return body.found ? (body._source ?? {}) : null;
    } catch (error) {
      if (!(error instanceof SearchEngineError) || error.statusCode !== 404) throw error;
      if (options.requireIndex && isMissingIndex(error)) throw error;
      return null;
    }
  }

  async search(alias: string | string[], body: JsonObject): Promise<SearchResult> {
    const index = Array.isArray(alias) ? alias.join(',') : alias;
    const raw = await this.request<RawSearchResponse>('POST', `/${index}/_search`, { body });
    const page = parseSearchResponse(
      { indices: [index], filters: [], sort: [], size: 0, trackTotalHitsUpTo: 0 },
      raw,
      (i) => i,
    );
    return {
      total: page.total,
      totalRelation: page.totalRelation,
      tookMs: page.tookMs,
      hits: page.hits.map(({ id, score, source }) => ({ id, score, source })),
    };
  }

  async searchPage(request: SearchRequest): Promise<SearchPage> {
    const target = searchTarget(request);
    const body = buildSearchBody(request, { idField: this.idSortField }, target.indexFilter);
    const path = target.wide ? target.path : request.indices.map(encodeURIComponent).join(',');
    const raw = await this.request<RawSearchResponse>('POST', `/${path}/_search`, {
      body,
      querystring: {
        ignore_unavailable: target.wide,
        allow_no_indices: target.wide,
        expand_wildcards: target.wide ? 'open' : 'none',
      },
    });
    return parseSearchResponse(request, raw, aliasResolver(request));
  }

  async listTableMappings(prefix: string): Promise<TableMapping[]> {
    const body = await this.request<Record<string, IndexDescription>>('GET', `/${prefix}.*`, {
      querystring: { allow_no_indices: true },
    });
    return tablesFromIndices(body);
  }

  async listTables(prefix: string): Promise<IndexedTable[]> {
    const tables = await this.listTableMappings(prefix);
    return Promise.all(
      tables.map(async (t) => {
        const count = await this.request<{ count: number }>(
          'GET',
          `/${encodeURIComponent(t.alias)}/_count`,
        );
        return {
          schema: t.schema,
          table: t.table,
          alias: t.alias,
          documents: count.count,
          fields: t.fields.map(({ name, type }) => ({ name, type })),
        };
      }),
    );
  }

  async count(alias: string): Promise<number> {
    await this.request('POST', `/${encodeURIComponent(alias)}/_refresh`);
    const body = await this.request<{ count: number }>(
      'GET',
      `/${encodeURIComponent(alias)}/_count`,
    );
    return body.count;
  }

  async *scanDocuments(alias: string, batchSize = 1000): AsyncIterable<SearchHit[]> {
    type ScrollPage = {
      _scroll_id?: string;
      hits: { hits: { _id: string; _source: JsonObject }[] };
    };
    let page = await this.request<ScrollPage>('POST', `/${encodeURIComponent(alias)}/_search`, {
      body: { sort: ['_doc'], size: batchSize },
      querystring: { scroll: '1m' },
    });
    let scrollId = page._scroll_id;
    try {
      while (page.hits.hits.length > 0) {
        yield page.hits.hits.map((hit) => ({ id: hit._id, score: null, source: hit._source }));
        if (!scrollId) break;
        page = await this.request<ScrollPage>('POST', '/_search/scroll', {
          body: { scroll_id: scrollId, scroll: '1m' },
        });
        scrollId = page._scroll_id ?? scrollId;
      }
    } finally {
      if (scrollId) {
        await this.request('DELETE', '/_search/scroll', { body: { scroll_id: scrollId } }).catch(
          () => undefined,
        );
      }
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
