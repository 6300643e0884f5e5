import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '@searchsync/config';
import {
  formatTableReference,
  type AggregationResult,
  type BucketAggregationResult,
  type JsonObject,
  type MappedField,
  type SearchEngine,
  type SearchPage,
  type SearchRequest,
} from '@searchsync/search-engine';
import { DocumentNotFoundError, InvalidQueryError, TableAccessDeniedError } from './api.errors';
import { canRead, type Principal } from './api-keys';
import { API_CONFIG, SEARCH_ENGINE } from './api.tokens';
import type { ConsistencyRequest } from './consistency-query';
import { ReadYourWritesService } from './read-your-writes.service';
import { visibleSource } from './field-catalog';
import { CursorCodec, queryFingerprint } from './search-cursor';
import {
  compileSearch,
  DEFAULT_SIZE,
  MAX_Q_LENGTH,
  parseSize,
  type SearchSpec,
} from './search-query';
import type { ConsistencyReport } from '@searchsync/stream-position';
import {
  TableCatalogService,
  type CatalogTable,
  type NotReplicatedColumn,
} from './table-catalog.service';

/** A field of `GET /v1/tables`; a vector column (type `vector`) says what `knn` needs. */
export interface FieldSummary {
  name: string;
  type: string;
  dims?: number;
  similarity?: string;
}

export interface TableSummary {
  table: string;
  documents: number;
  /** The fields searchsync.yaml lets the API serve. */
  fields: FieldSummary[];
  notReplicated: NotReplicatedColumn[];
  needsRebuild: string | null;
}

export interface SearchHitView {
  id: string;
  table?: string;
  score: number | null;
  source: JsonObject;
  highlight?: Record<string, string[]>;
}

export interface SearchView {
  total: number;
  totalRelation: 'eq' | 'gte';
  hits: SearchHitView[];
  nextCursor: string | null;
  /** Bucket answers may say `truncated` (see BucketAggregationResult). */
  aggregations?: Record<string, AggregationResult | BucketAggregationResult>;
  tookMs: number;
  /** With `consistentWith`: how long the read waited for the stream to reach the LSN. */
  consistency?: ConsistencyReport;
}

export interface DocumentView {
  id: string;
  table: string;
  source: JsonObject;
  consistency?: ConsistencyReport;
}

/** The largest document id the engine stores (512 bytes); longer ids cannot exist. */
const MAX_ID_BYTES = 512;
const MAX_CROSS_TABLES = 100;

/**
 * The fields `q` searches across tables. One query goes to every index, so a field any of them
 * hides is left out for all: searching it would let that table's hidden values decide its hits.
 */
export function crossTableTextFields(tables: CatalogTable[]): string[] {
  const hidden = new Set(tables.flatMap((t) => [...t.hidden]));
  const fields = new Set(tables.flatMap((t) => t.catalog.fullTextFields));
  return [...fields].filter((f) => !hidden.has(f));
}

/**
 * A field as `GET /v1/tables` lists it. The engine's listing names a vector column's type only;
 * its dims and similarity come from the table's mapping (the catalogue), when it has the column.
 */
export function fieldSummary(
  field: { name: string; type: string; vector?: MappedField['vector'] },
  mapped: ReadonlyMap<string, MappedField> | undefined,
): FieldSummary {
  const vector = field.vector ?? mapped?.get(field.name)?.vector;
  if (field.type !== 'vector' && !vector) return { name: field.name, type: field.type };
  return {
    name: field.name,
    type: 'vector',
    ...(vector ? { dims: vector.dims, similarity: vector.similarity } : {}),
  };
}

/** Reads of synced tables, each checked against the caller's access and the table's mapping. */
@Injectable()
export class SearchService {
  private readonly cursors: CursorCodec;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(SEARCH_ENGINE) private readonly engine: SearchEngine,
    private readonly catalog: TableCatalogService,
    private readonly readYourWrites: ReadYourWritesService,
  ) {
    this.cursors = new CursorCodec(config.API_CURSOR_SECRET);
  }

  private async readable(principal: Principal, reference: string): Promise<CatalogTable> {
    if (!canRead(principal, reference)) throw new TableAccessDeniedError(principal.name, reference);
    return this.catalog.resolve(reference);
  }

  /** Waits, when asked, until the tables are searchable up to the caller's LSN. */
  private async consistent(
    tables: CatalogTable[],
    request: ConsistencyRequest | null | undefined,
  ): Promise<{ consistency?: ConsistencyReport }> {
    if (!request) return {};
    return { consistency: await this.readYourWrites.waitFor(tables, request) };
  }

  async listTables(principal: Principal): Promise<TableSummary[]> {
    const [tables, catalog] = await Promise.all([
      this.engine.listTables(this.config.SEARCHSYNC_INDEX_PREFIX),
      this.catalog.all(),
    ]);
    const known = new Map(catalog.map((t) => [t.reference, t]));
    return tables
      .map((t): TableSummary => {
        const reference = formatTableReference(t);
        // A table created between the two reads is not in the catalogue yet: hide by the config.
        const entry = known.get(reference);
        const visible = entry?.visible ?? this.catalog.visibility(t);
        const mapped = entry ? new Map(entry.fields.map((f) => [f.name, f])) : undefined;
        return {
          table: reference,
          documents: t.documents,
          fields: t.fields.filter((f) => visible(f.name)).map((f) => fieldSummary(f, mapped)),
          notReplicated: entry?.notReplicated ?? [],
          needsRebuild: entry?.needsRebuild ?? null,
        };
      })
      .filter((t) => canRead(principal, t.table));
  }

  async getDocument(
    principal: Principal,
    reference: string,
    id: string,
    consistencyRequest?: ConsistencyRequest | null,
  ): Promise<DocumentView> {
    const table = await this.readable(principal, reference);
    if (id.length === 0 || Buffer.byteLength(id) > MAX_ID_BYTES)
      throw new DocumentNotFoundError(table.reference, id);
    const consistency = await this.consistent([table], consistencyRequest);
    const source = await this.engine.getDocument(table.alias, id);
    if (!source) throw new DocumentNotFoundError(table.reference, id);
    return {
      id,
      table: table.reference,
      source: visibleSource(source, table.visible),
      ...consistency,
    };
  }

  private async page(
    request: Omit<SearchRequest, 'searchAfter' | 'size' | 'trackTotalHitsUpTo' | 'timeoutMs'>,
    spec: { size?: number; cursor?: string | null },
    fingerprintShape: unknown,
  ): Promise<SearchPage & { nextCursor: string | null }> {
    const size = spec.size ?? DEFAULT_SIZE;
    if (size === 0) {
      // Aggregations only: no hits, so neither a probe hit nor a cursor.
      const page = await this.engine.searchPage({
        ...request,
        size: 0,
        trackTotalHitsUpTo: this.config.API_TRACK_TOTAL_HITS,
        timeoutMs: this.config.API_REQUEST_TIMEOUT_MS,
      });
      return { ...page, hits: [], nextCursor: null };
    }
    const fingerprint = queryFingerprint(fingerprintShape);
    // The adapter appends `_index` (several tables) and the id as tie-breakers.
    const sortLength = request.sort.length + (request.indices.length > 1 ? 2 : 1);
    const searchAfter = spec.cursor
      ? this.cursors.decode(spec.cursor, fingerprint, sortLength)
      : undefined;
    // One hit more than asked tells whether another page exists.
    const page = await this.engine.searchPage({
      ...request,
      size: size + 1,
      ...(searchAfter ? { searchAfter } : {}),
      trackTotalHitsUpTo: this.config.API_TRACK_TOTAL_HITS,
      timeoutMs: this.config.API_REQUEST_TIMEOUT_MS,
    });
    const more = page.hits.length > size;
    const hits = more ? page.hits.slice(0, size) : page.hits;
    const last = hits[hits.length - 1];
    return {
      ...page,
      hits,
      nextCursor: more && last ? this.cursors.encode(fingerprint, last.sort) : null,
    };
  }

  async search(
    principal: Principal,
    reference: string,
    spec: SearchSpec,
    consistencyRequest?: ConsistencyRequest | null,
  ): Promise<SearchView> {
    const table = await this.readable(principal, reference);
    const compiled = compileSearch(table.catalog, spec);
    const consistency = await this.consistent([table], consistencyRequest);
    const page = await this.page(
      {
        indices: [table.alias],
        filters: compiled.filters,
        ...(table.nestedPaths.length ? { nestedPaths: table.nestedPaths } : {}),
        sort: compiled.sort,
        ...(compiled.text ? { text: compiled.text } : {}),
        ...(compiled.knn ? { knn: compiled.knn } : {}),
        ...(compiled.source ? { source: compiled.source } : {}),
        ...(compiled.highlight ? { highlight: compiled.highlight } : {}),
        ...(compiled.aggregations ? { aggregations: compiled.aggregations } : {}),
      },
      { size: compiled.size, cursor: spec.cursor },
      { table: table.alias, ...(compiled.shape as object) },
    );
    return {
      total: page.total,
      totalRelation: page.totalRelation,
      hits: page.hits.map((h) => ({
        id: h.id,
        score: h.score,
        source: visibleSource(h.source, table.visible),
        ...(h.highlight ? { highlight: h.highlight } : {}),
      })),
      nextCursor: page.nextCursor,
      ...(page.aggregations ? { aggregations: page.aggregations } : {}),
      tookMs: page.tookMs,
      ...consistency,
    };
  }

  /** `GET /v1/search`: the same q over several tables (all the caller may read by default). */
  async searchAcross(
    principal: Principal,
    query: { q?: string; tables?: string; size?: string; cursor?: string },
    consistencyRequest?: ConsistencyRequest | null,
  ): Promise<SearchView> {
    const q = query.q?.trim();
    if (q !== undefined && q.length > MAX_Q_LENGTH)
      throw new InvalidQueryError(`q must be at most ${MAX_Q_LENGTH} characters`);
    const size = parseSize(query.size);
    let tables: CatalogTable[];
    if (query.tables !== undefined && query.tables.trim() !== '') {
      const references = [
        ...new Set(
          query.tables
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t.length > 0),
        ),
      ];
      if (references.length > MAX_CROSS_TABLES)
        throw new InvalidQueryError(`tables: at most ${MAX_CROSS_TABLES}`);
      tables = [];
      for (const reference of references) {
        const table = await this.readable(principal, reference);
        if (table.kind === 'view') {
          throw new InvalidQueryError(
            `tables: ${reference} is a view; search it on its own: GET /v1/tables/${reference}/search`,
          );
        }
        tables.push(table);
      }
    } else {
      // Views are searched on their own: their documents repeat their tables' rows.
      tables = (await this.catalog.all()).filter(
        (t) => t.kind === 'table' && canRead(principal, t.reference),
      );
    }
    if (tables.length === 0) {
      return { total: 0, totalRelation: 'eq', hits: [], nextCursor: null, tookMs: 0 };
    }
    const consistency = await this.consistent(tables, consistencyRequest);
    const fullText = crossTableTextFields(tables);
    const byAlias = new Map(tables.map((t) => [t.alias, t]));
    const indices = [...byAlias.keys()].sort();
    const sort = q ? [{ field: '_score', order: 'desc' as const }] : [];
    const page = await this.page(
      {
        indices,
        wideTarget: {
          pattern: `${this.config.SEARCHSYNC_INDEX_PREFIX}.*`,
          concreteIndices: tables.map((t) => t.index).sort(),
        },
        filters: [],
        sort,
        ...(q ? { text: { query: q, fields: fullText } } : {}),
      },
      { size, cursor: query.cursor },
      { tables: indices, q: q ?? null },
    );
    return {
      total: page.total,
      totalRelation: page.totalRelation,
      hits: page.hits.flatMap((h) => {
        const table = byAlias.get(h.index);
        // Only our aliases are searched; a hit from anywhere else is not ours to serve.
        if (!table) return [];
        return [
          {
            id: h.id,
            table: table.reference,
            score: h.score,
            source: visibleSource(h.source, table.visible),
          },
        ];
      }),
      nextCursor: page.nextCursor,
      tookMs: page.tookMs,
      ...consistency,
    };
  }
}
