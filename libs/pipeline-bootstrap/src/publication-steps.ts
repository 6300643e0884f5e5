import type { ConnectorConfig } from '@searchsync/connect-client';
import type { SearchsyncConfig } from '@searchsync/config';
import type { Pool } from 'pg';

/** What the bootstrap reads of a reconcile pass (the admin's ReconcileReport has more). */
export interface PublicationReport {
  action: string;
  published: string[];
  excluded: { table: string; fix: string }[];
  deferred: string[];
  trigger: { state: string; detail: string | null };
}

/**
 * The publication and column-exclusion steps, which the connector admin owns and runs on every
 * reconcile pass (apps/connector-admin/src/publication-manager.ts, column-exclusions.ts). They
 * are passed in rather than imported: a library never depends on an app, and the first start
 * must prepare the database with exactly the code that keeps it right afterwards.
 * tools/pipeline-bootstrap/admin-publication-steps.ts is the one wiring.
 */
export interface PublicationSteps {
  /**
   * Records the tables searchsync.yaml excludes columns of, so that the DDL trigger never
   * publishes them (the admin does, once the connector excludes those columns).
   */
  holdConfiguredTables(
    pool: Pool,
    publication: string,
    config: SearchsyncConfig,
  ): Promise<{ held: string[] }>;
  /**
   * One pass: signal and heartbeat tables (schema searchsync_cdc), the publication as an
   * explicit list of the tables PostgreSQL can replicate safely, the DDL trigger. Null when
   * another process holds the pass.
   */
  reconcilePublication(
    pool: Pool,
    settings: { publication: string; schemas: string[]; ddlTrigger: boolean },
    log: (line: string) => void,
    options: { excludedColumns: ReadonlySet<string>; tableConfig?: SearchsyncConfig },
  ): Promise<PublicationReport | null>;
  /**
   * The connector config with the generated columns PostgreSQL does not replicate and the
   * columns searchsync.yaml excludes in column.exclude.list.
   */
  withColumnExclusions(
    pool: Pool,
    settings: { publication: string; schemas: string[] },
    config: ConnectorConfig,
    tableConfig: SearchsyncConfig,
    log: (line: string) => void,
  ): Promise<ConnectorConfig>;
}
