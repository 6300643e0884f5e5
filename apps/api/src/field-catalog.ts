import type { FilterScalar, MappedField } from '@searchsync/search-engine';
import { InvalidQueryError } from './api.errors';

export type FieldKind = 'text' | 'keyword' | 'integer' | 'number' | 'date' | 'boolean' | 'other';

export const FILTER_OPS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'exists', 'prefix'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

const INTEGER_BOUNDS: Record<string, [number, number]> = {
  byte: [-128, 127],
  short: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  // Beyond ±2^53 a JS number is not exact anyway; the engine clamps nothing for us.
  long: [-9007199254740991, 9007199254740991],
  unsigned_long: [0, 9007199254740991],
};

const NUMBER_TYPES = new Set(['double', 'float', 'half_float', 'scaled_float']);
const KEYWORD_TYPES = new Set(['keyword', 'constant_keyword']);

/** What a user may do with one field, and which engine path each use goes to. */
export interface FieldRule {
  name: string;
  type: string;
  kind: FieldKind;
  /** Path for exact matching, prefix, ranges, sort and terms (`name.keyword` for text). */
  exactPath?: string;
  /** The engine type behind `exactPath`. */
  exactKind?: Exclude<FieldKind, 'text' | 'other'>;
  /** Part of `q` and highlighting. */
  fullText: boolean;
}

export function fieldRule(field: MappedField): FieldRule {
  const base = { name: field.name, type: field.type };
  if (field.type === 'text' || field.type === 'match_only_text') {
    const keyword = Object.entries(field.subFields).find(([, t]) => KEYWORD_TYPES.has(t));
    return {
      ...base,
      kind: 'text',
      fullText: true,
      ...(keyword ? { exactPath: `${field.name}.${keyword[0]}`, exactKind: 'keyword' } : {}),
    };
  }
  if (KEYWORD_TYPES.has(field.type))
    return {
      ...base,
      kind: 'keyword',
      fullText: true,
      exactPath: field.name,
      exactKind: 'keyword',
    };
  if (field.type in INTEGER_BOUNDS)
    return {
      ...base,
      kind: 'integer',
      fullText: false,
      exactPath: field.name,
      exactKind: 'integer',
    };
  if (NUMBER_TYPES.has(field.type))
    return { ...base, kind: 'number', fullText: false, exactPath: field.name, exactKind: 'number' };
  if (field.type === 'date' || field.type === 'date_nanos')
    return { ...base, kind: 'date', fullText: false, exactPath: field.name, exactKind: 'date' };
  if (field.type === 'boolean')
    return {
      ...base,
      kind: 'boolean',
      fullText: false,
      exactPath: field.name,
      exactKind: 'boolean',
    };
  return { ...base, kind: 'other', fullText: false };
}

const MAX_STRING_VALUE = 1024;
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$/;
const DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;
const EPOCH_MILLIS = /^-?\d{1,15}$/;

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function validDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [, y, mo, d, h, mi, s] = m;
  const month = Number(mo);
  const day = Number(d);
  const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return false;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59)) return false;
  return true;
}

/**
 * A filter or range value checked and converted for the field's exact path; anything that would
 * make the engine fail is a 400 naming the field.
 */
export function coerceValue(
  rule: FieldRule,
  kind: Exclude<FieldKind, 'text' | 'other'>,
  value: unknown,
  op: string,
): FilterScalar {
  const bad = (expected: string): never => {
    throw new InvalidQueryError(
      `field "${rule.name}" (${rule.type}) needs ${expected} for "${op}", got ${describe(value)}`,
    );
  };
  switch (kind) {
    case 'keyword': {
      if (typeof value === 'string') {
        if (value.length > MAX_STRING_VALUE)
          bad(`a string of at most ${MAX_STRING_VALUE} characters`);
        return value;
      }
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'boolean') return String(value);
      return bad('a string');
    }
    case 'integer':
    case 'number': {
      let n: number;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && NUMERIC.test(value.trim())) n = Number(value.trim());
      else return bad('a number');
      if (!Number.isFinite(n)) return bad('a finite number');
      if (kind === 'integer') {
        const [min, max] = INTEGER_BOUNDS[rule.type] ?? INTEGER_BOUNDS.long;
        const exactOp = op === 'eq' || op === 'ne' || op === 'in';
        if (exactOp && !Number.isInteger(n)) return bad('an integer');
        if (n < min || n > max) return bad(`a number from ${min} to ${max}`);
      } else if (Math.abs(n) > Number.MAX_VALUE) {
        return bad('a finite number');
      }
      return n;
    }
    case 'date': {
      if (typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) < 1e15)
        return value;
      if (typeof value === 'string') {
        const text = value.trim();
        if (EPOCH_MILLIS.test(text)) return Number(text);
        if (validDate(text)) return text.replace(' ', 'T');
      }
      return bad('an ISO 8601 date (2024-01-31, 2024-01-31T12:00:00Z) or epoch milliseconds');
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return bad('true or false');
    }
  }
}

/** One table's fields by name, for validating every field a request names. */
export class FieldCatalog {
  private readonly rules = new Map<string, FieldRule>();
  /** Object paths (`address` for `address.city`), valid in projections. */
  private readonly objectPaths = new Set<string>();

  constructor(fields: MappedField[]) {
    for (const field of fields) {
      this.rules.set(field.name, fieldRule(field));
      const parts = field.name.split('.');
      for (let i = 1; i < parts.length; i++) this.objectPaths.add(parts.slice(0, i).join('.'));
    }
  }

  get all(): FieldRule[] {
    return [...this.rules.values()];
  }

  get fullTextFields(): string[] {
    return this.all.filter((r) => r.fullText).map((r) => r.name);
  }

  get textFields(): string[] {
    return this.all.filter((r) => r.kind === 'text').map((r) => r.name);
  }

  field(name: unknown, purpose: string): FieldRule {
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidQueryError(`${purpose}: field must be a non-empty string`);
    const rule = this.rules.get(name);
    if (!rule) {
      const known = [...this.rules.keys()].slice(0, 50).join(', ');
      throw new InvalidQueryError(
        `${purpose}: unknown field ${describe(name)}; fields of this table: ${known || '(none)'}`,
      );
    }
    return rule;
  }

  /** A projection entry: a field or an object holding fields. */
  isProjectable(name: string): boolean {
    return this.rules.has(name) || this.objectPaths.has(name);
  }
}
