import type { DocumentValue } from './value-converter';

/**
 * Document `_id` from the primary-key values in key order: the value as a string for a
 * one-column key, the JSON array of the values for a composite key (e.g. `[7,"eu"]`).
 */
export function documentId(keyValues: DocumentValue[]): string {
  if (keyValues.length === 1) {
    const [only] = keyValues;
    return typeof only === 'string' ? only : JSON.stringify(only);
  }
  return JSON.stringify(keyValues);
}
