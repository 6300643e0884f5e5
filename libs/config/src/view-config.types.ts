import type { ConfigLocation } from './table-config.types';

/**
 * Document views (`views:` in searchsync.yaml): one search document per row of a root table, with
 * rows of related tables embedded — as validated from the file, before the PostgreSQL catalogue
 * is consulted (foreign keys are inferred later, by the view planner of libs/document-views).
 */

/**
 * How an embedded table relates to its parent:
 * - `one`: many-to-one, the parent references the table (an object, or null);
 * - `many`: one-to-many, the table references the parent (an array);
 * - `through`: many-to-many through a join table referencing both (an array).
 */
export const VIEW_RELATION_KINDS = ['one', 'many', 'through'] as const;
export type ViewRelationKind = (typeof VIEW_RELATION_KINDS)[number];

/** The join columns of a relation; null where the file leaves them to the foreign keys. */
export type ViewJoin =
  /** `one`: the parent's columns that reference the table's key, in key order. */
  | { kind: 'one'; parentColumns: string[] | null }
  /** `many`: the table's columns that reference the parent's key, in key order. */
  | { kind: 'many'; childColumns: string[] | null }
  /** `through`: the join table, and its columns referencing the parent's and the table's keys. */
  | {
      kind: 'through';
      table: string;
      parentColumns: string[] | null;
      childColumns: string[] | null;
    };

export interface ViewRelationConfig {
  /** The field of the parent document that holds it (the key under `embed:`). */
  field: string;
  /** `schema.table` (a bare name means schema `public`). */
  table: string;
  join: ViewJoin;
  /** Columns embedded; null for all (minus the table's `exclude`). Key columns always are. */
  columns: string[] | null;
  embed: ViewRelationConfig[];
  location: ConfigLocation;
}

export interface ViewConfig {
  /** The view's name: its index alias and its API name (`/v1/tables/<name>/…`). */
  name: string;
  /** `schema.table`: one document per row, `_id` = its primary key. */
  root: string;
  /** Root columns in the document; null for all (minus the table's `exclude`). */
  columns: string[] | null;
  embed: ViewRelationConfig[];
  location: ConfigLocation;
}
