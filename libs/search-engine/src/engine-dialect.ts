import type { JsonObject } from './search-engine';
import { VECTOR_FIELD_PREFIX, vectorFieldOf, type VectorSimilarity } from './vector-fields';

export type EngineDistribution = 'opensearch' | 'elasticsearch';

/**
 * The keyword copy of the document id that sorts break their ties on, with doc values (off
 * heap). Sorting on `_id` needs fielddata: Elasticsearch 8+ refuses it by default (400 "Fielddata
 * access on the _id field is disallowed") and on OpenSearch it is built on the heap, per segment.
 *
 * The name is longer than 63 bytes on purpose: PostgreSQL identifiers are at most 63 bytes
 * (NAMEDATALEN − 1, longer ones are truncated), so no column — and so no field of a table
 * document — can ever be called this. It has no leading `_` (reserved for metadata fields) and
 * no `.` (an object path). It is in every document we index, excluded from the stored `_source`
 * (mapping `_source.excludes`) and left out of the field catalogue, so users never see it.
 */
/**
 * The hidden keyword field of every document-view document listing each row it drew on
 * (`<schema.table>:<document id>`), by which a change finds the documents it affects (see
 * libs/document-views). Longer than any PostgreSQL identifier, so no column is named like it;
 * kept in `_source` (verify compares it) but stripped from what the API returns.
 */
export const VIEW_REFS_FIELD =
  'searchsync_view_rows_drawn_on_longer_than_any_postgresql_identifier';

export const TIEBREAK_FIELD =
  'searchsync_sort_tiebreak_document_id_longer_than_any_postgresql_identifier';

/** Sortable from doc values; not indexed for queries (nothing searches it). */
export const TIEBREAK_MAPPING: JsonObject = { type: 'keyword', index: false, doc_values: true };

/** A vector field in engine-neutral terms. */
export interface VectorSpec {
  dims: number;
  similarity: VectorSimilarity;
  /** The mapping as given: its other parameters are kept on the engine whose type it names. */
  original: JsonObject;
}

export interface KnnClause {
  field: string;
  vector: number[];
  k: number;
  numCandidates: number;
  /** Only documents matching all of these are candidates (filtered during the graph search). */
  filter: JsonObject[];
}

function filterOf(clauses: JsonObject[]): JsonObject | undefined {
  if (clauses.length === 0) return undefined;
  return clauses.length === 1 ? clauses[0] : { bool: { filter: clauses } };
}

/**
 * What differs between OpenSearch and Elasticsearch for our adapter, as data: one adapter reads
 * it instead of two copies of the code drifting apart.
 */
export interface EngineDialect {
  distribution: EngineDistribution;
  /** Server version when known (`GET /`), e.g. `2.19.6`, `9.5.3`; `serverless` for AOSS. */
  version?: string;
  /** Schemaless JSON object field type: `flat_object` (OpenSearch) or `flattened`. */
  objectType: 'flat_object' | 'flattened';
  /** A vector field's mapping in this engine's terms; null where the engine has no vectors. */
  vectorField(spec: VectorSpec): JsonObject | null;
  /** The query for the `k` nearest documents in a vector field, pre-filtered by `filter`. */
  knnQuery(knn: KnnClause): JsonObject;
  /** Settings every new table index gets on this engine (e.g. `index.knn`). */
  indexSettings: JsonObject;
  /**
   * Request headers by body kind. Elasticsearch: plain JSON media types, which 8.x and 9.x both
   * serve as their own version — the 9.x client's default `compatible-with=9` is refused by 8.x.
   */
  headers: { json: Record<string, string>; ndjson: Record<string, string> };
  /** Amazon OpenSearch Serverless: no `GET /`, no cluster APIs. */
  serverless: boolean;
  /** A `date` field's `format` in this engine's terms. */
  dateFormat(format: string): string;
}

/**
 * Elasticsearch's ISO formats read 4-digit years only (elastic/elasticsearch#73034, 8.0);
 * OpenSearch's read up to 10 digits. PostgreSQL has years up to 294276 (and the API's bounds up
 * to ±999999), written with a sign beyond 4 digits (docs/values.md): a java.time pattern, tried
 * after the ISO formats, reads those — date-only, with 3 or 6 fractional digits, with an offset.
 * Only Elasticsearch gets it: a field's format cannot change, and OpenSearch needs none.
 */
const EXTENDED_YEARS = "uuuu-MM-dd['T'HH:mm:ss[.SSSSSS][.SSS]][XXX]";

function withExtendedYears(format: string): string {
  if (format.includes(EXTENDED_YEARS)) return format;
  const parts = format.split('||');
  const epoch = parts.findIndex((part) => part.startsWith('epoch_'));
  parts.splice(epoch < 0 ? parts.length : epoch, 0, EXTENDED_YEARS);
  return parts.join('||');
}

const OPENSEARCH_SPACE: Record<VectorSpec['similarity'], string> = {
  l2: 'l2',
  cosine: 'cosinesimil',
  dot_product: 'innerproduct',
};

const ELASTICSEARCH_SIMILARITY: Record<VectorSpec['similarity'], string> = {
  l2: 'l2_norm',
  cosine: 'cosine',
  // `dot_product` in Elasticsearch requires unit-length vectors; max_inner_product is the plain
  // inner product that OpenSearch's `innerproduct` space computes.
  dot_product: 'max_inner_product',
};

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface OpenSearchDialectOptions {
  version?: string;
  /** The k-NN plugin is installed: new indices get `index.knn: true` (vector fields need it). */
  knn?: boolean;
  /**
   * Vector fields exist (default true): false for OpenSearch without the k-NN plugin, where a
   * `knn_vector` mapping would make the engine refuse the whole index. Serverless vector
   * collections have them without `index.knn`.
   */
  vectors?: boolean;
  serverless?: boolean;
}

export function openSearchDialect(options: OpenSearchDialectOptions = {}): EngineDialect {
  return {
    distribution: 'opensearch',
    ...(options.version !== undefined ? { version: options.version } : {}),
    objectType: 'flat_object',
    vectorField: (spec) => {
      if (options.vectors === false) return null;
      const own = spec.original.type === 'knn_vector' ? spec.original : {};
      const method = isObject(own.method) ? own.method : {};
      return {
        ...own,
        type: 'knn_vector',
        dimension: spec.dims,
        method: {
          name: 'hnsw',
          space_type: OPENSEARCH_SPACE[spec.similarity],
          ...method,
          // Never the faiss/nmslib default: they need native libraries, and a node without them
          // dies on the first refresh of such a field. Lucene's HNSW is pure Java.
          engine: 'lucene',
        },
      };
    },
    knnQuery: ({ field, vector, k, numCandidates, filter }) => {
      const only = filterOf(filter);
      return {
        knn: {
          [field]: {
            vector,
            k,
            // Lucene's HNSW search takes ef_search as its own candidate count (2.16+).
            method_parameters: { ef_search: numCandidates },
            ...(only ? { filter: only } : {}),
          },
        },
      };
    },
    indexSettings: options.knn ? { 'index.knn': true } : {},
    headers: { json: {}, ndjson: {} },
    serverless: options.serverless === true,
    dateFormat: (format) => format,
  };
}

/** `major.minor` of a version string, 0.0 when it has none. */
function majorMinor(version: string | undefined): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

export function elasticsearchDialect(options: { version?: string } = {}): EngineDialect {
  const [major, minor] = majorMinor(options.version);
  return {
    distribution: 'elasticsearch',
    ...(options.version !== undefined ? { version: options.version } : {}),
    objectType: 'flattened',
    // The knn query with `k` is 8.15+ (max_inner_product 8.11+): older releases get no vector
    // fields, so their rows index and `knn` says the column is no vector, instead of failing.
    vectorField: (spec) =>
      options.version !== undefined && (major < 8 || (major === 8 && minor < 15))
        ? null
        : {
            // An OpenSearch field's other parameters (method, mode, data_type) do not exist here.
            index: true,
            similarity: ELASTICSEARCH_SIMILARITY[spec.similarity],
            // Float HNSW, not the default int8 quantization: its approximate scores cost recall
            // (measured on 8.19: recall@10 0.65 for max_inner_product, 0.80 for l2; 9.5: 0.99).
            index_options: { type: 'hnsw' },
            ...(spec.original.type === 'dense_vector' ? spec.original : {}),
            type: 'dense_vector',
            dims: spec.dims,
          },
    knnQuery: ({ field, vector, k, numCandidates, filter }) => {
      const only = filterOf(filter);
      return {
        knn: {
          field,
          query_vector: vector,
          k,
          num_candidates: numCandidates,
          ...(only ? { filter: only } : {}),
        },
      };
    },
    // From 9.2 new indices leave dense_vector values out of `_source` (the setting exists from
    // then on); the document must hold the column's value (docs/values.md), so they stay in.
    indexSettings:
      major > 9 || (major === 9 && minor >= 2)
        ? { 'index.mapping.exclude_source_vectors': false }
        : {},
    headers: {
      json: { accept: 'application/json', 'content-type': 'application/json' },
      ndjson: { accept: 'application/json', 'content-type': 'application/x-ndjson' },
    },
    serverless: false,
    dateFormat: withExtendedYears,
  };
}

/** Our mappings' vector fields in neutral terms: either engine's spelling is accepted. */
export function vectorSpec(spec: JsonObject): VectorSpec | undefined {
  if (spec.type === 'knn_vector') {
    const method = isObject(spec.method) ? spec.method : {};
    // OpenSearch's default space is l2.
    const space = method.space_type ?? spec.space_type;
    const similarity =
      space === 'cosinesimil' ? 'cosine' : space === 'innerproduct' ? 'dot_product' : 'l2';
    return { dims: Number(spec.dimension), similarity, original: spec };
  }
  if (spec.type === 'dense_vector') {
    // Elasticsearch's default similarity for an indexed float vector is cosine.
    const given = spec.similarity ?? 'cosine';
    const similarity =
      given === 'l2_norm'
        ? 'l2'
        : given === 'dot_product' || given === 'max_inner_product'
          ? 'dot_product'
          : 'cosine';
    return { dims: Number(spec.dims), similarity, original: spec };
  }
  return undefined;
}

/**
 * Field mappings as this engine names their types. Our mappings are written in OpenSearch
 * terms (change-events); Elasticsearch's spellings are accepted too.
 */
export function translateMapping(
  dialect: EngineDialect,
  properties: JsonObject,
  nested = false,
): JsonObject {
  const out: JsonObject = {};
  for (const [name, raw] of Object.entries(properties)) {
    if (!isObject(raw)) {
      out[name] = raw;
      continue;
    }
    const vector = vectorSpec(raw);
    const engineVector = vector ? dialect.vectorField(vector) : null;
    if (vector && (nested || name.startsWith(VECTOR_FIELD_PREFIX))) {
      // Without vectors in the engine, the field is left unmapped (its values unindexed).
      if (engineVector) out[name] = engineVector;
      continue;
    }
    if (vector) {
      // A vector column (columns are the top level): its value stays in `_source` as it is
      // (indexed as nothing, so no value can refuse the row) and its copy, written when the
      // value is a vector, is the k-NN field — where the engine has vectors.
      out[name] = STORED_ONLY;
      if (engineVector) out[vectorFieldOf(name)] = engineVector;
      continue;
    }
    const spec = { ...raw };
    if (spec.type === 'flat_object' || spec.type === 'flattened') spec.type = dialect.objectType;
    if (spec.type === 'date' && typeof spec.format === 'string') {
      spec.format = dialect.dateFormat(spec.format);
    }
    if (isObject(spec.properties))
      spec.properties = translateMapping(dialect, spec.properties, true);
    out[name] = spec;
  }
  return out;
}

/** A field kept in `_source` and indexed as nothing: any JSON value is accepted. */
const STORED_ONLY: JsonObject = { type: 'object', enabled: false };

/** Whether a mapping (in any of its levels) has a vector field. */
export function hasVectorField(properties: JsonObject | undefined): boolean {
  return Object.values(properties ?? {}).some(
    (raw) =>
      isObject(raw) &&
      (vectorSpec(raw) !== undefined ||
        (isObject(raw.properties) && hasVectorField(raw.properties))),
  );
}

/** `_source` of a new index: whatever the live one had, and the tie-break field excluded. */
export function sourceWithoutInternalFields(current: unknown): JsonObject {
  const source = isObject(current) ? { ...current } : {};
  const excludes = Array.isArray(source.excludes) ? (source.excludes as unknown[]) : [];
  // The vector copies too: the column holds the value. A pattern, since `_source` cannot change
  // once the index exists and vector columns may be added to it later.
  const ours = [TIEBREAK_FIELD, `${VECTOR_FIELD_PREFIX}*`];
  source.excludes = [...excludes, ...ours.filter((field) => !excludes.includes(field))];
  return source;
}

/**
 * The `mappings` of a new table index: our field mappings in the engine's terms, plus the
 * tie-break field, excluded from `_source`. `dynamic: false`: unknown fields stay in `_source`
 * unindexed until we map them from their schema.
 */
export function tableIndexMappings(
  dialect: EngineDialect,
  properties: JsonObject,
  meta: JsonObject,
  options: { translated?: boolean; source?: unknown } = {},
): JsonObject {
  return {
    dynamic: false,
    _source: sourceWithoutInternalFields(options.source),
    properties: {
      ...(options.translated ? properties : translateMapping(dialect, properties)),
      [TIEBREAK_FIELD]: TIEBREAK_MAPPING,
    },
    _meta: meta,
  };
}

/**
 * A document's `_source` without our own fields (the tie-break field, vector copies). Indices
 * created before they existed have no `_source` exclusion for them, so documents written to
 * those since carry them in their stored source.
 */
export function withoutInternalFields<T extends JsonObject | undefined>(source: T): T {
  if (!source) return source;
  const ours = Object.keys(source).filter(
    (field) =>
      field === TIEBREAK_FIELD ||
      field === VIEW_REFS_FIELD ||
      field.startsWith(VECTOR_FIELD_PREFIX),
  );
  if (ours.length === 0) return source;
  const copy = { ...source };
  for (const field of ours) delete copy[field];
  return copy;
}
