import { Logger } from '@nestjs/common';
import {
  sourceColumnType,
  vectorColumnsOf,
  type ConnectSchema,
  type UpsertEvent,
} from '@searchsync/change-events';
import type { TableSettings } from '@searchsync/config';
import { vectorOf, type VectorColumn } from '@searchsync/search-engine';
import type { IndexingMetrics } from './indexing-metrics';

const NO_VECTORS: readonly VectorColumn[] = Object.freeze([]);

/**
 * Asked for every event. The decoder hands out one schema object per distinct schema text
 * (every row of a table version shares it), so the plan is computed once per schema; schemas
 * are never modified after decoding.
 */
const plans = new WeakMap<
  ConnectSchema[],
  { fields: TableSettings['fields']; vectors: readonly VectorColumn[] }
>();

function tableLabel(event: UpsertEvent): string {
  return `${event.table.schema}.${event.table.table}`;
}

/** Which columns of a row are written as k-NN vectors, and what is said about those that are not. */
export class VectorPlans {
  private readonly logger = new Logger('ChangeApplier');
  /** Vector columns already reported as unable to hold vectors. */
  private readonly warned = new Set<string>();

  constructor(private readonly metrics: Pick<IndexingMetrics, 'vectorsNotIndexed'>) {}

  /** The table's vector columns for this schema and these field settings. */
  columns(event: UpsertEvent, fields: TableSettings['fields']): readonly VectorColumn[] {
    // Most tables configure no vector: nothing to compute (their settings may be fresh objects).
    if (!Object.values(fields).some((field) => field.type === 'vector')) return NO_VECTORS;
    let plan = plans.get(event.columns);
    if (!plan || plan.fields !== fields) {
      plan = { fields, vectors: vectorColumnsOf(event.columns, fields) };
      plans.set(event.columns, plan);
      this.warnNotHeld(event, fields, plan.vectors);
    }
    return plan.vectors;
  }

  /** Rows whose vector value is none are indexed all the same; they are counted, by reason. */
  countNotIndexed(event: UpsertEvent, vectors: readonly VectorColumn[], table: string): void {
    for (const vector of vectors) {
      const found = vectorOf(event.document[vector.column], vector);
      if (found && 'problem' in found) {
        this.metrics.vectorsNotIndexed.inc({ table, column: vector.column, reason: found.problem });
      }
    }
  }

  /** A column configured as a vector that cannot hold one is said once, not ignored. */
  private warnNotHeld(
    event: UpsertEvent,
    fields: TableSettings['fields'],
    vectors: readonly VectorColumn[],
  ): void {
    for (const column of event.columns) {
      const name = column.field ?? '';
      if (fields[name]?.type !== 'vector' || vectors.some((v) => v.column === name)) continue;
      const type = sourceColumnType(column) ?? column.type;
      const key = `${tableLabel(event)}.${name}\u0000${type}`;
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      this.logger.warn(
        `${tableLabel(event)}.${name} is configured as a vector but its type (${type}) holds no vectors: it is indexed as its type maps it — use an array of numbers (real[], double precision[]) or a pgvector column`,
      );
    }
  }
}
