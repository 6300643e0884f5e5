import {
  configuredFieldMapping,
  fieldMapping,
  rowColumnPlan,
  type ConnectSchema,
  type FieldMapping,
} from '@searchsync/change-events';
import type { ViewCatalogColumn } from './view-catalog';
import { VIEW_REFS_FIELD, type ViewNode, type ViewPlan } from './view-plan';

/**
 * A view's index mapping, engine-neutral (the search-engine library translates it like a
 * table's): columns of every level mapped as table columns are, `one` relations as objects,
 * `many` and `through` relations as `nested` (so that a filter on two fields of one embedded row
 * means the same row), and the refs field as a keyword.
 */

const INT_WIDTH: Record<string, ConnectSchema['type']> = { int2: 'int16', int4: 'int32' };

/** Debezium's geometry struct for point (its mapping is an object with these properties). */
const POINT_FIELDS: ConnectSchema[] = [
  { type: 'double', field: 'x' },
  { type: 'double', field: 'y' },
  { type: 'bytes', optional: true, field: 'wkb' },
  { type: 'int32', optional: true, field: 'srid' },
];

/**
 * The Connect schema Debezium gives a column, as far as its mapping goes. The conversion's
 * schema (rowColumnPlan) is what converts values; it differs in what the mapping reads: integer
 * width (int2 and int4 are `short` and `integer` fields, not `long`), enums (keywords, not
 * text), bytea (bytes), point's struct fields, and the source type Debezium reports — a domain's
 * own name, so a domain over numeric maps as text, as in table indexes (docs/values.md).
 * Checked against recorded events in view-mapping.spec.ts.
 */
export function viewColumnSchema(column: ViewCatalogColumn): ConnectSchema {
  const plan = rowColumnPlan({
    name: column.name,
    baseType: column.baseType,
    elementType: column.elementType,
    typmod: column.typmod,
    typtype: column.typtype,
  });
  const adjust = (s: ConnectSchema, type: string, typtype: string | null): ConnectSchema => {
    if (INT_WIDTH[type]) return { ...s, type: INT_WIDTH[type] };
    if (typtype === 'e') return { ...s, name: 'io.debezium.data.Enum' };
    if (plan.kind === 'bytea') return { ...s, type: 'bytes' };
    if (s.name === 'io.debezium.data.geometry.Point') return { ...s, fields: POINT_FIELDS };
    return s;
  };
  const parameters = {
    ...plan.schema.parameters,
    '__debezium.source.column.type': column.typeName.toUpperCase(),
  };
  if (plan.schema.type === 'array' && plan.schema.items && column.elementType) {
    return {
      ...plan.schema,
      parameters,
      field: column.name,
      items: adjust(plan.schema.items, column.elementType, column.elementTyptype),
    };
  }
  return {
    ...adjust(plan.schema, column.baseType, column.typtype),
    parameters,
    field: column.name,
  };
}

function nodeProperties(node: ViewNode): Record<string, FieldMapping> {
  // Entries, not assignments: a column may be called `__proto__`.
  const entries: [string, FieldMapping][] = node.columns.map((column) => {
    const settings = Object.hasOwn(node.fields, column.name) ? node.fields[column.name] : undefined;
    const natural = fieldMapping(viewColumnSchema(column.catalog));
    return [column.name, configuredFieldMapping(natural, settings)];
  });
  for (const child of node.embed) {
    entries.push([
      child.field as string,
      { type: child.kind === 'one' ? 'object' : 'nested', properties: nodeProperties(child) },
    ]);
  }
  return Object.fromEntries(entries);
}

/** The mapping properties of a view's index. */
export function viewMapping(plan: ViewPlan): Record<string, FieldMapping> {
  return { ...nodeProperties(plan.root), [VIEW_REFS_FIELD]: { type: 'keyword' } };
}
