import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  fieldMapping,
  propertiesFor,
  sourceColumnType,
  type ConnectSchema,
  type TableRef,
} from '@searchsync/change-events';
import { mappingFingerprint, type TableSettings } from '@searchsync/config';
import {
  SearchEngineError,
  isMissingIndex,
  tableIndexNames,
  type SearchEngine,
} from '@searchsync/search-engine';
import {
  TableIndexMissingError,
  TableIndexRefusedError,
  describeError,
  isRetryable,
} from './apply-errors';
import { engineOutage } from './engine-failure';
import type { RebuildTargets } from './rebuild-targets';

/**
 * Both keys below are asked for every event. The decoder hands out one schema object per
 * distinct schema text (every row of a table version shares it), so they are computed once per
 * schema; schemas are never modified after decoding.
 */
const columnKeys = new WeakMap<ConnectSchema, string>();
const fingerprints = new WeakMap<ConnectSchema[], string>();

/**
 * A column as far as its index mapping goes: its name and the mapping its source type gives. A
 * column whose type changed is then a column not mapped yet, and the engine says whether the
 * index can take its new mapping (or the table needs a rebuild).
 */
function mappedColumnKey(column: ConnectSchema): string {
  let key = columnKeys.get(column);
  if (key === undefined) {
    key = `${column.field ?? ''}\u0000${JSON.stringify(fieldMapping(column))}`;
    columnKeys.set(column, key);
  }
  return key;
}

/** Identifies a table's column set: an ALTER TABLE makes a refused index worth asking again. */
export function columnsFingerprint(columns: ConnectSchema[]): string {
  let fingerprint = fingerprints.get(columns);
  if (fingerprint === undefined) {
    fingerprint = createHash('sha1').update(JSON.stringify(columns)).digest('hex');
    fingerprints.set(columns, fingerprint);
  }
  return fingerprint;
}

type MappingEngine = Pick<SearchEngine, 'ensureTableIndex' | 'extendMapping' | 'setTableMeta'>;

/**
 * The index mappings the applier has stated, per live alias and per generation being rebuilt:
 * a table's index is created with the columns of its first change, and each column seen later
 * is added. What the engine refuses is a refused index (the records' problem), a table marked
 * for a rebuild (a changed column), or a rebuild marked to fail (its generation).
 */
export class TableMappings {
  private readonly logger = new Logger('ChangeApplier');
  /** Columns already mapped (mappedColumnKey), per alias or building alias. */
  private readonly mappedFields = new Map<string, Set<string>>();
  /** Tables already flagged for a rebuild, by alias and column set. */
  private readonly flagged = new Set<string>();

  constructor(
    private readonly engine: MappingEngine,
    private readonly indexPrefix: string,
    private readonly settingsOf: (table: TableRef) => TableSettings,
    private readonly rebuilds: RebuildTargets,
  ) {}

  /**
   * The table's index was found missing (deleted by the admin for a dropped table, or by an
   * operator): what we knew of its mapping is void, and the next write creates it again.
   */
  forgetTable(alias: string): void {
    if (this.mappedFields.delete(alias)) {
      this.logger.warn(`index of ${alias} is gone; it is created again for the next writes`);
    }
  }

  /** A generation being rebuilt that is gone: nothing of its mapping is known any more. */
  forgetTarget(target: string): void {
    this.mappedFields.delete(target);
  }

  /**
   * Creates the table's index when it is new to us, and maps the columns not mapped yet.
   * Throws TableIndexRefusedError when the engine will not create the index for these columns.
   */
  async ensureMapping(table: TableRef, columns: ConnectSchema[]): Promise<void> {
    const names = tableIndexNames(this.indexPrefix, table);
    const known = this.mappedFields.get(names.alias);
    const missing = columns.filter((column) => !known?.has(mappedColumnKey(column)));
    if (missing.length === 0) return;
    const settings = this.settingsOf(table);
    if (!known) {
      // A schema we cannot map is this record's problem (thrown as is), not the table's.
      const properties = propertiesFor(columns, settings.fields);
      try {
        await this.engine.ensureTableIndex(names, properties, {
          index: settings.index,
          meta: { config: mappingFingerprint(settings) },
        });
      } catch (error) {
        if (
          error instanceof SearchEngineError &&
          !error.retryable &&
          engineOutage(error) === null
        ) {
          throw new TableIndexRefusedError(error);
        }
        throw error;
      }
    }
    // The index may predate this process: (re)state the mapping of every column not yet seen.
    try {
      await this.engine.extendMapping(names.alias, propertiesFor(missing, settings.fields));
    } catch (error) {
      if (isMissingIndex(error)) {
        if (!known) throw new TableIndexMissingError(names.alias);
        // Our cache outlived the index: create it (with every column) and map again.
        this.forgetTable(names.alias);
        return this.ensureMapping(table, columns);
      }
      if (isRetryable(error) || engineOutage(error)) throw error;
      this.logger.warn(
        `mapping of ${names.alias} not extended (values stay in _source): ${describeError(error)}`,
      );
      await this.flagForRebuild(names.alias, columns, missing, error);
    }
    const fields = known ?? new Set<string>();
    for (const column of missing) fields.add(mappedColumnKey(column));
    this.mappedFields.set(names.alias, fields);
  }

  /**
   * Maps a generation being rebuilt from the change's own columns, as a new table's index is.
   * False when that generation is gone (the rebuild ended or was abandoned).
   */
  async ensureCopyMapping(
    target: string,
    table: TableRef,
    columns: ConnectSchema[],
  ): Promise<boolean> {
    const known = this.mappedFields.get(target);
    const missing = columns.filter((column) => !known?.has(mappedColumnKey(column)));
    if (missing.length === 0) return true;
    try {
      await this.engine.extendMapping(
        target,
        propertiesFor(missing, this.settingsOf(table).fields),
      );
    } catch (error) {
      if (isMissingIndex(error)) {
        this.rebuilds.forget(target);
        this.mappedFields.delete(target);
        return false;
      }
      if (isRetryable(error) || engineOutage(error)) throw error;
      // The generation would go live without these fields searchable (e.g. an analyzer the
      // engine lacks): the rebuild must fail, not swap it in. The admin reads this before the swap.
      const reason = `the engine refused the mapping of ${missing.map((c) => c.field ?? '').join(', ')}: ${describeError(error)}`;
      this.logger.warn(`${target}: ${reason}; the rebuild filling it will fail`);
      // A failure to say so is retried with the whole mapping (the caller retries outages).
      try {
        await this.engine.setTableMeta(target, {
          mappingRefused: { reason, at: new Date().toISOString() },
        });
      } catch (flagError) {
        if (!isMissingIndex(flagError)) throw flagError;
        this.rebuilds.forget(target);
        this.mappedFields.delete(target);
        return false;
      }
    }
    const fields = known ?? new Set<string>();
    for (const column of missing) fields.add(mappedColumnKey(column));
    this.mappedFields.set(target, fields);
    return true;
  }

  /**
   * A column whose type changed (or any mapping the live index refuses) cannot be fixed in
   * place: the index is marked, and the admin rebuilds it as a new generation mapped from the
   * current schema. Values stay in `_source` (ignore_malformed) meanwhile; nothing is dropped.
   */
  private async flagForRebuild(
    alias: string,
    columns: ConnectSchema[],
    refused: ConnectSchema[],
    error: unknown,
  ): Promise<void> {
    const key = `${alias}\u0000${columnsFingerprint(columns)}`;
    if (this.flagged.has(key)) return;
    const reason = `the index refused the mapping of a changed column (${describeError(error)}); a rebuild maps it from the current schema`;
    try {
      // The PostgreSQL types the event carried: a replay of events older than an ALTER TABLE
      // asks for the old types, and the admin, comparing with PostgreSQL, then rebuilds nothing.
      const types = Object.fromEntries(
        refused.map((column) => [column.field ?? '', sourceColumnType(column) ?? null]),
      );
      await this.engine.setTableMeta(alias, {
        needsRebuild: { reason, at: new Date().toISOString(), columns: types },
      });
      this.flagged.add(key);
      this.logger.warn(`${alias} marked for a rebuild: ${reason}`);
    } catch (flagError) {
      // Asked again with the next record of these columns.
      this.logger.warn(`${alias} could not be marked for a rebuild: ${describeError(flagError)}`);
    }
  }
}
