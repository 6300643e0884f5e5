import type { JsonObject } from './search-engine';

/**
 * Where a vector column's k-NN copy is indexed. The column itself stays in `_source` exactly as
 * PostgreSQL holds it, whatever its value: a vector field refuses a whole document for one value
 * it cannot take (a NULL element, the wrong length, NaN), and a row must never go missing for
 * its vector. So the vector is indexed in a sibling field, written only when the value is one.
 *
 * Like the tie-break field, the prefix is longer than any PostgreSQL identifier (63 bytes), so
 * no column can be named like a copy; copies are excluded from the stored `_source` and left out
 * of the field catalogue.
 */
export const VECTOR_FIELD_PREFIX =
  'searchsync_knn_vector_copy_of_a_column_longer_than_any_postgresql_identifier__';

/** The field a vector column's copy is indexed in. */
export function vectorFieldOf(column: string): string {
  return `${VECTOR_FIELD_PREFIX}${column}`;
}

/** The column a copy field belongs to; null for any other field. */
export function columnOfVectorField(field: string): string | null {
  return field.startsWith(VECTOR_FIELD_PREFIX) ? field.slice(VECTOR_FIELD_PREFIX.length) : null;
}

/** How `knn` compares vectors, in engine-neutral terms (pgvector's `<->`, `<=>`, `<#>`). */
export type VectorSimilarity = 'l2' | 'cosine' | 'dot_product';

/** A column indexed as a vector: what a valid value of it looks like. */
export interface VectorColumn {
  column: string;
  dims: number;
  similarity: VectorSimilarity;
}

/** Why a column's value has no vector copy (the row is indexed all the same). */
export type VectorValueProblem =
  | 'not an array of numbers'
  | 'wrong number of elements'
  | 'an element that is not a finite number'
  | 'beyond the 32-bit float range'
  | 'zero length for cosine similarity';

/** The largest 32-bit float: engines store vector elements as such, and refuse overflows. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The vector a column value stands for, or why it is none. NULL has no vector and no problem.
 * Numeric strings count (numeric[] columns arrive as exact decimal strings); `NaN` and the
 * infinities do not, nor NULL elements or nested (multi-dimensional) arrays.
 */
export function vectorOf(
  value: unknown,
  column: VectorColumn,
): { vector: number[] } | { problem: VectorValueProblem } | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) return { problem: 'not an array of numbers' };
  if (value.length !== column.dims) return { problem: 'wrong number of elements' };
  const vector: number[] = new Array<number>(value.length);
  let magnitude = 0;
  for (let i = 0; i < value.length; i++) {
    const element: unknown = value[i];
    const number =
      typeof element === 'number'
        ? element
        : typeof element === 'string' && element.trim() !== ''
          ? Number(element)
          : Number.NaN;
    if (!Number.isFinite(number)) return { problem: 'an element that is not a finite number' };
    if (Math.abs(number) > FLOAT32_MAX) return { problem: 'beyond the 32-bit float range' };
    vector[i] = number;
    // In 32-bit floats, as the engines compute it: [1e-30, 0, 0] has no length there.
    const single = Math.fround(number);
    magnitude = Math.fround(magnitude + Math.fround(single * single));
  }
  // Engines compute lengths (cosine, dot products) in 32-bit floats: an overflow is refused.
  if (!Number.isFinite(magnitude) || magnitude > FLOAT32_MAX) {
    return { problem: 'beyond the 32-bit float range' };
  }
  // Cosine divides by the length: both engines refuse a zero vector in such a field.
  if (column.similarity === 'cosine' && magnitude === 0) {
    return { problem: 'zero length for cosine similarity' };
  }
  return { vector };
}

/** The copy fields of a document: one per vector column whose value is a vector. */
export function vectorCopies(document: JsonObject, columns: readonly VectorColumn[]): JsonObject {
  const copies: JsonObject = {};
  for (const column of columns) {
    const found = vectorOf(document[column.column], column);
    if (found && 'vector' in found) copies[vectorFieldOf(column.column)] = found.vector;
  }
  return copies;
}
