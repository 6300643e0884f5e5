import {
  TIEBREAK_FIELD,
  tableIndexMappings,
  translateMapping,
  withoutInternalFields,
  type EngineDialect,
} from './engine-dialect';
import type { EngineHttp, EngineRequestParams } from './engine-transport';
import {
  aliasResolver,
  bulkLine,
  classifyBulkItem,
  isMissingIndex,
  mergedTableMeta,
  newTableIndex,
  putMappingTolerant,
  searchTarget,
  tablesFromIndices,
  type BulkResponseItem,
  type IndexDescription,
} from './engine-common';
import {
  buildSearchBody,
  parseSearchResponse,
  type RawSearchResponse,
  type TiebreakOptions,
} from './search-dsl';
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
import { SearchEngineError, SearchEngineRequestError } from './search-engine.errors';
import { TableGenerations, type TableIndexOptions } from './table-generations';
import type { TableIndexNames } from './table-index';
import {
  ID_PAGE_SIZE,
  idPageBody,
  isViewMeta,
  viewIndexBody,
  viewIndexPattern,
  viewsFromIndices,
  type IndexedView,
  type ViewIndexNames,
  type ViewIndexOptions,
} from './view-index';

/**
 * Elasticsearch's refusal to sort on `_id`, for an index older than the tie-break field, as an
 * error that says what to do about it.
 */
function tiebreakRefused(error: unknown, tiebreak: TiebreakOptions, aliases: string[]): unknown {
  if (
    tiebreak.idField !== '_id' ||
    !(error instanceof SearchEngineError) ||
    !/fielddata access on the _id field is disallowed/i.test(error.message)
  )
    return error;
  return new SearchEngineRequestError(
    `${aliases.join(', ')}: an index created before searchsync's sort tie-break field, which Elasticsearch cannot page in a stable order (it refuses sorting on _id); rebuild the table (POST /v1/tables/{table}/rebuild) or enable the cluster setting indices.id_field_data.enabled`,
    error.statusCode,
    'tiebreak_unavailable',
  );
}

/** A connected engine: the client's transport and what differs on this engine. */
export interface ResolvedEngine {
  http: EngineHttp;
  dialect: EngineDialect;
}

/** How long an alias known to have an index without the tie-break field is not asked again. */
const TIEBREAK_RECHECK_MS = 30_000;

/**
 * Which aliases have the tie-break field in every index behind them. Once they do they always
 * will (every index we create has it, and an alias only ever moves to a newer generation), so
 * that is remembered for good; an alias with an older index is asked again after a while, to
 * notice a rebuild that replaced it.
 */
class TiebreakCoverage {
  private readonly covered = new Set<string>();
  private readonly uncoveredUntil = new Map<string, number>();

  unknown(aliases: string[], now: number): string[] {
    return aliases.filter(
      (alias) => !this.covered.has(alias) && (this.uncoveredUntil.get(alias) ?? 0) <= now,
    );
  }

  record(alias: string, covered: boolean, now: number): void {
    if (covered) {
      this.covered.add(alias);
      this.uncoveredUntil.delete(alias);
    } else this.uncoveredUntil.set(alias, now + TIEBREAK_RECHECK_MS);
  }

  anyUncovered(aliases: string[], now: number): boolean {
    return aliases.some((alias) => (this.uncoveredUntil.get(alias) ?? 0) > now);
  }
}

/**
 * The SearchEngine over OpenSearch or Elasticsearch: one implementation over the transport both
 * clients share, with what differs between the engines read from its dialect. The engine is
 * connected (told apart, its client built) on the first call, or by `connect()`.
 */
/** Documents deleted per round by deleteAllDocuments. */
const DELETE_ALL_PAGE = 5000;

export class SearchEngineAdapter implements SearchEngine {
  readonly generations: TableGenerations;
  private resolved: ResolvedEngine | undefined;
  private resolving: Promise<ResolvedEngine> | undefined;
  private closed = false;
  private readonly tiebreak = new TiebreakCoverage();

  constructor(private readonly resolve: () => Promise<ResolvedEngine>) {
    this.generations = new TableGenerations(
      (method, path, params) => this.request(method, path, params),
      async () => (await this.engine()).dialect,
    );
  }

  /** Connects now (fails when the engine cannot be reached or told apart); the dialect. */
  async connect(): Promise<EngineDialect> {
    return (await this.engine()).dialect;
  }

  private async engine(): Promise<ResolvedEngine> {
    if (this.resolved) return this.resolved;
    this.resolving ??= this.resolve().then(
      (engine) => {
        this.resolved = engine;
        return engine;
      },
      (error: unknown) => {
        // Tried again on the next call: the engine may come up.
        this.resolving = undefined;
        throw error;
      },
    );
    return this.resolving;
  }

  private async request<T>(method: string, path: string, params?: EngineRequestParams): Promise<T> {
    const { http } = await this.engine();
    return http.request<T>(method, path, params);
  }

  async info(): Promise<EngineInfo> {
    const { dialect } = await this.engine();
    if (dialect.serverless) {
      // Serverless has no `GET /`; listing indices proves access.
      await this.request('GET', '/_cat/indices', { querystring: { format: 'json', h: 'index' } });
      return { distribution: 'opensearch', version: 'serverless' };
    }
    let version: string | undefined;
    try {
      version = (await this.request<{ version?: { number?: string } }>('GET', '/')).version?.number;
    } catch (error) {
      // A node without `rest-root` answers GET / with 405: its version is in _nodes.
      if (!(error instanceof SearchEngineError) || error.statusCode !== 405) throw error;
      const nodes = await this.request<{ nodes?: Record<string, { version?: string }> }>(
        'GET',
        '/_nodes/_local',
        { querystring: { filter_path: 'nodes.*.version' } },
      );
      version = Object.values(nodes.nodes ?? {})[0]?.version;
    }
    return { distribution: dialect.distribution, version: version ?? dialect.version ?? 'unknown' };
  }

  async ensureTableIndex(
    names: TableIndexNames,
    properties: JsonObject,
    options?: TableIndexOptions,
  ): Promise<void> {
    // The transport answers a HEAD with true/false instead of failing on 404.
    const exists = await this.request<boolean>('HEAD', `/${encodeURIComponent(names.alias)}`);
    if (exists) return;
    const { dialect } = await this.engine();
    const { settings, meta } = newTableIndex(names, options);
    try {
      await this.request('PUT', `/${encodeURIComponent(names.index)}`, {
        body: {
          settings: { ...dialect.indexSettings, ...settings },
          mappings: tableIndexMappings(dialect, properties, meta),
          aliases: { [names.alias]: {} },
        },
      });
    } catch (error) {
      // Another indexer replica created it first: that is the state we wanted.
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
    const { dialect } = await this.engine();
    await putMappingTolerant(
      properties,
      async (part) => {
        await this.request('PUT', `/${encodeURIComponent(alias)}/_mapping`, {
          body: { properties: translateMapping(dialect, part) },
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

  /**
   * Deletes every document, each with its own version: a replayed older change cannot bring one
   * back while its tombstone lives. No `_delete_by_query`: an Elasticsearch built from Maven
   * Central's jars has no reindex module, and versioned deletes are what we want anyway. Rounds
   * of search → bulk delete → refresh, since a search sees refreshed documents only (a generation
   * being rebuilt is not refreshed on its own).
   */
  async deleteAllDocuments(alias: string): Promise<number> {
    const path = `/${encodeURIComponent(alias)}`;
    let deleted = 0;
    for (;;) {
      await this.request('POST', `${path}/_refresh`);
      const page = await this.request<{ hits: { hits: { _id: string; _version: number }[] } }>(
        'POST',
        `${path}/_search`,
        {
          body: { size: DELETE_ALL_PAGE, version: true, _source: false, query: { match_all: {} } },
        },
      );
      const hits = page.hits.hits;
      if (hits.length === 0) return deleted;
      // Versions are source LSNs, exact as JSON numbers below 2^53 (9 PB of WAL).
      const unsafe = hits.find((hit) => !Number.isSafeInteger(hit._version));
      if (unsafe) {
        throw new SearchEngineRequestError(
          `document ${unsafe._id} of ${alias} has version ${unsafe._version}, beyond what a JSON number holds exactly`,
          500,
        );
      }
      const results = await this.bulk(
        hits.map((hit) => ({
          type: 'delete' as const,
          index: alias,
          id: hit._id,
          version: BigInt(hit._version),
        })),
      );
      const failed = results.find((r) => r.outcome !== 'applied' && r.outcome !== 'stale');
      if (failed) {
        throw new SearchEngineRequestError(
          `search engine refused to delete a document of ${alias} (${failed.status}): ${failed.reason ?? failed.outcome}`,
          failed.status,
          failed.type,
        );
      }
      deleted += hits.length;
    }
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
      return body.found ? (withoutInternalFields(body._source) ?? {}) : null;
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
      hits: page.hits.map(({ id, score, source }) => ({
        id,
        score,
        source: withoutInternalFields(source),
      })),
    };
  }

  async searchPage(request: SearchRequest): Promise<SearchPage> {
    const target = searchTarget(request);
    const tiebreak = await this.tiebreakFor(request, target);
    const { dialect } = await this.engine();
    const body = buildSearchBody(request, tiebreak, target.indexFilter, dialect);
    const path = target.wide ? target.path : request.indices.map(encodeURIComponent).join(',');
    let raw: RawSearchResponse;
    try {
      raw = await this.request<RawSearchResponse>('POST', `/${path}/_search`, {
        body,
        querystring: {
          // Our aliases (or our own pattern narrowed by exact indices); never user input, and a
          // missing alias is an error, not silence.
          ignore_unavailable: target.wide,
          allow_no_indices: target.wide,
          expand_wildcards: target.wide ? 'open' : 'none',
        },
      });
    } catch (error) {
      throw tiebreakRefused(error, tiebreak, request.indices);
    }
    const page = parseSearchResponse(request, raw, aliasResolver(request));
    for (const hit of page.hits) hit.source = withoutInternalFields(hit.source);
    return page;
  }

  /**
   * The tie-break field when every index searched has it, else `_id`: an index created before
   * the field existed has it in no document (rebuilding the table gives it the field). Both sort
   * on the document id as a string, byte by byte, so a cursor made with one continues with the
   * other. OpenSearch sorts on `_id` (with fielddata on the heap); Elasticsearch refuses it unless
   * `indices.id_field_data.enabled` — it cannot just sort such an index on the missing field: with
   * every value missing, `search_after` past a tie skips the rest of the tie.
   */
  private async tiebreakFor(
    request: SearchRequest,
    target: { path: string; wide: boolean },
  ): Promise<TiebreakOptions> {
    const field: TiebreakOptions = { idField: TIEBREAK_FIELD, unmappedType: 'keyword' };
    const now = Date.now();
    const unknown = this.tiebreak.unknown(request.indices, now);
    if (unknown.length > 0) {
      const path = target.wide ? target.path : unknown.map(encodeURIComponent).join(',');
      let answer: Record<string, { mappings?: JsonObject }> = {};
      try {
        answer = await this.request('GET', `/${path}/_mapping/field/${TIEBREAK_FIELD}`, {
          querystring: { ignore_unavailable: true, allow_no_indices: true },
        });
      } catch (error) {
        if (!(error instanceof SearchEngineError) || error.retryable) throw error;
        // Not answered here (an engine without the field-mapping API): the field is sorted on
        // as unmapped where missing, and the search itself says what else is wrong.
        for (const alias of unknown) this.tiebreak.record(alias, true, now);
      }
      const concrete = request.wideTarget ? new Set(request.wideTarget.concreteIndices) : undefined;
      const aliasOf = aliasResolver({ ...request, indices: unknown });
      const asked = new Set(unknown);
      const coverage = new Map<string, boolean>();
      for (const [index, entry] of Object.entries(answer)) {
        if (concrete && !concrete.has(index)) continue;
        const alias = aliasOf(index);
        if (!asked.has(alias)) continue;
        const has = entry.mappings?.[TIEBREAK_FIELD] !== undefined;
        coverage.set(alias, (coverage.get(alias) ?? true) && has);
      }
      for (const [alias, covered] of coverage) this.tiebreak.record(alias, covered, now);
    }
    return this.tiebreak.anyUncovered(request.indices, now) ? { idField: '_id' } : field;
  }

  async listTableMappings(prefix: string): Promise<TableMapping[]> {
    const body = await this.request<Record<string, IndexDescription>>('GET', `/${prefix}.*`, {
      querystring: { allow_no_indices: true },
    });
    // A view index matches only another deployment's `<prefix>-view` prefix: never a table.
    return tablesFromIndices(body).filter((table) => !isViewMeta(table.meta));
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
          fields: t.fields.map(({ name, type, vector }) => ({
            name,
            type,
            ...(vector ? { vector } : {}),
          })),
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
        yield page.hits.hits.map((hit) => ({
          id: hit._id,
          score: null,
          source: withoutInternalFields(hit._source),
        }));
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

  async ensureViewIndex(
    names: ViewIndexNames,
    properties: JsonObject,
    meta: JsonObject,
    options: ViewIndexOptions = {},
  ): Promise<boolean> {
    // The transport answers a HEAD with true/false instead of failing on 404.
    const target = options.building ? names.index : names.alias;
    const exists = await this.request<boolean>('HEAD', `/${encodeURIComponent(target)}`);
    if (exists) return false;
    const { dialect } = await this.engine();
    try {
      await this.request('PUT', `/${encodeURIComponent(names.index)}`, {
        body: viewIndexBody(dialect, names, properties, meta, options),
      });
    } catch (error) {
      // Another indexer replica created it first: that is the state we wanted.
      if (
        error instanceof SearchEngineError &&
        error.statusCode === 400 &&
        /already.exists/.test(error.message)
      )
        return false;
      throw error;
    }
    return true;
  }

  async listViews(prefix: string): Promise<IndexedView[]> {
    const body = await this.request<Record<string, IndexDescription>>(
      'GET',
      `/${viewIndexPattern(prefix)}`,
      { querystring: { allow_no_indices: true } },
    );
    return viewsFromIndices(body);
  }

  idsWithTerms(
    alias: string,
    field: string,
    values: readonly string[],
    pageSize = ID_PAGE_SIZE,
  ): AsyncIterable<string[]> {
    if (values.length === 0) return (async function* () {})();
    return this.idPages(alias, { terms: { [field]: [...values] } }, pageSize);
  }

  idsWithPrefix(
    alias: string,
    field: string,
    prefix: string,
    pageSize = ID_PAGE_SIZE,
  ): AsyncIterable<string[]> {
    return this.idPages(alias, { prefix: { [field]: { value: prefix } } }, pageSize);
  }

  private async *idPages(
    alias: string,
    query: JsonObject,
    pageSize: number,
  ): AsyncIterable<string[]> {
    type IdPage = { hits?: { hits?: { _id: string; sort?: unknown[] }[] } };
    const path = `/${encodeURIComponent(alias)}/_search`;
    let after: unknown[] | undefined;
    for (;;) {
      const body = idPageBody(query, pageSize, after);
      const page = await this.request<IdPage>('POST', path, {
        body,
        // Ids and sort values only: a page of 10,000 ids is a few hundred kB, not the documents.
        querystring: { filter_path: 'hits.hits._id,hits.hits.sort' },
      });
      const hits = page.hits?.hits ?? [];
      if (hits.length > 0) yield hits.map((hit) => hit._id);
      const last = hits[hits.length - 1];
      if (!last?.sort || hits.length < (body.size as number)) return;
      after = last.sort;
    }
  }

  async refresh(alias: string): Promise<void> {
    await this.request('POST', `/${encodeURIComponent(alias)}/_refresh`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const engine = this.resolved ?? (await this.resolving?.catch(() => undefined));
    await engine?.http.close();
  }
}
