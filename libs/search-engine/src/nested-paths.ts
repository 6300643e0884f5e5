import type { JsonObject } from './search-engine';

/**
 * Arrays of objects mapped as `nested` (the one-to-many and many-to-many relations of document
 * views): each element is indexed as a document of its own, so conditions on one element's
 * fields hold for that element together — `lines.product.name = Lamp and lines.qty = 1` finds
 * orders with a line of one Lamp, not orders with a Lamp line and some other line of one. A
 * query, sort or aggregation on such a field must name the path it lies in: these functions add
 * the `nested` wrappers, from the outermost path in.
 */

/** The nested paths `field` lies in, outermost first (empty for a field of the root). */
export function nestingOf(field: string, nestedPaths: readonly string[]): string[] {
  return nestedPaths
    .filter((path) => field.startsWith(`${path}.`))
    .sort((a, b) => a.length - b.length);
}

/** `query` on `path` chain: nested(outer, nested(inner, query)). */
export function nestedQuery(paths: readonly string[], query: JsonObject): JsonObject {
  return paths.reduceRight<JsonObject>(
    (inner, path) => ({ nested: { path, query: inner, score_mode: 'max' } }),
    query,
  );
}

/** A filter clause on a field, and whether it excludes what it matches. */
export interface FieldClause {
  field: string;
  clause: JsonObject;
  negate: boolean;
}

interface ClauseGroup {
  filter: JsonObject[];
  mustNot: JsonObject[];
  children: Map<string, ClauseGroup>;
}

const emptyGroup = (): ClauseGroup => ({ filter: [], mustNot: [], children: new Map() });

function groupQuery(group: ClauseGroup): JsonObject {
  const filter = [
    ...group.filter,
    ...[...group.children].map(([path, child]) => ({
      nested: { path, query: groupQuery(child) },
    })),
  ];
  return {
    bool: {
      ...(filter.length ? { filter } : {}),
      ...(group.mustNot.length ? { must_not: group.mustNot } : {}),
    },
  };
}

/**
 * The clauses as the root query's `filter` and `must_not`: root fields as they are; the fields
 * of one nested path in one `nested` clause, so that they hold for one element, with the
 * conditions on deeper paths inside it. A negated condition inside a path excludes that element
 * only (`lines.qty:ne:1`: an order with a line whose quantity is not 1).
 */
export function nestClauses(
  clauses: readonly FieldClause[],
  nestedPaths: readonly string[],
): { filter: JsonObject[]; mustNot: JsonObject[] } {
  const root = emptyGroup();
  for (const { field, clause, negate } of clauses) {
    let group = root;
    for (const path of nestingOf(field, nestedPaths)) {
      let child = group.children.get(path);
      if (!child) {
        child = emptyGroup();
        group.children.set(path, child);
      }
      group = child;
    }
    (negate ? group.mustNot : group.filter).push(clause);
  }
  return {
    filter: [
      ...root.filter,
      ...[...root.children].map(([path, child]) => ({
        nested: { path, query: groupQuery(child) },
      })),
    ],
    mustNot: root.mustNot,
  };
}

/** The `nested` option of a sort on a field inside nested paths (engines pick min for asc, max for desc). */
export function nestedSortOption(paths: readonly string[]): JsonObject | undefined {
  return paths.reduceRight<JsonObject | undefined>(
    (inner, path) => ({ path, ...(inner ? { nested: inner } : {}) }),
    undefined,
  );
}

/** The name of the bucket sub-aggregation that counts root documents (not elements). */
export const ROOT_COUNT_AGG = 'searchsync_roots';
/** The name each nested wrapper gives the aggregation it wraps. */
export const NESTED_INNER_AGG = 'searchsync_nested';

/**
 * An aggregation on a field inside nested paths: wrapped in one `nested` aggregation per path;
 * a bucket aggregation counts root documents per bucket (`reverse_nested`), as it does for
 * root fields — an order with two Lamp lines is one order with a Lamp.
 */
export function nestedAggregation(
  paths: readonly string[],
  body: JsonObject,
  buckets: boolean,
): JsonObject {
  const counted = buckets ? { ...body, aggs: { [ROOT_COUNT_AGG]: { reverse_nested: {} } } } : body;
  return paths.reduceRight<JsonObject>(
    (inner, path) => ({ nested: { path }, aggs: { [NESTED_INNER_AGG]: inner } }),
    counted,
  );
}

/** The wrapped aggregation's own answer inside the nested wrappers' answers. */
export function unwrapNestedAggregation(raw: JsonObject, depth: number): JsonObject {
  let current = raw;
  for (let i = 0; i < depth; i++) {
    current = (current[NESTED_INNER_AGG] as JsonObject | undefined) ?? {};
  }
  return current;
}
