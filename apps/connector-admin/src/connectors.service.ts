import { resolve } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ConnectCapabilityError,
  checkConnectorPolicy,
  databaseTemplateEnv,
  loadConnectorTemplate,
  redactConfig,
  templatePath,
  type ConnectorBackend,
  type ConnectorConfig,
  type ConnectorOffsets,
  type ConnectorView,
  type ValidationOutcome,
} from '@searchsync/connect-client';
import {
  ADMIN_CONFIG,
  CONNECTOR_BACKEND,
  TABLE_CONFIG,
  type AdminConfig,
  type SearchsyncConfigWatcher,
} from './admin-config';
import { AdminBadRequestError, ConnectorInvalidError, ConnectorPolicyError } from './admin.errors';
import {
  MANAGED_EXCLUDE_KEY,
  splitExcludeList,
  withColumnExclusions,
  withManagedEntries,
} from './column-exclusions';
import { Infrastructure } from './infrastructure.service';

export const DEFAULT_TEMPLATE = 'debezium-postgres';

export interface ApplyRequest {
  template?: string;
  config?: Record<string, unknown>;
}

export interface ApplyResult {
  name: string;
  dryRun: boolean;
  /** Created (true), updated (false); null on a dry run. */
  created: boolean | null;
  /** False when the stored config already equalled the requested one (nothing sent). */
  changed: boolean;
  valid: boolean;
  errors: { key: string; message: string }[];
  config: ConnectorConfig;
}

function asConfig(raw: Record<string, unknown> | undefined): ConnectorConfig {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AdminBadRequestError('config must be an object of string values');
  }
  const out: ConnectorConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
    else
      throw new AdminBadRequestError(`config value of ${key} must be a string, number or boolean`);
  }
  return out;
}

function sameConfig(a: ConnectorConfig, b: ConnectorConfig): boolean {
  const strip = (c: ConnectorConfig) => Object.entries(c).filter(([key]) => key !== 'name');
  const left = strip(a);
  return left.length === strip(b).length && left.every(([key, value]) => b[key] === value);
}

/** Connectors through the configured backend, with policy and validation before any write. */
@Injectable()
export class ConnectorsService {
  private readonly logger = new Logger(ConnectorsService.name);

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    @Inject(CONNECTOR_BACKEND) readonly backend: ConnectorBackend,
    private readonly infra: Infrastructure,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
  ) {}

  list(): Promise<ConnectorView[]> {
    return this.backend.list();
  }

  async get(
    name: string,
  ): Promise<{ name: string; config: ConnectorConfig; status: ConnectorView }> {
    const [config, status] = await Promise.all([
      this.backend.config(name),
      this.backend.status(name),
    ]);
    return { name, config: redactConfig(config), status };
  }

  /** Renders a template from ADMIN_TEMPLATES_DIR with the environment and DATABASE_URL parts. */
  renderTemplate(template: string, name: string): ConnectorConfig {
    const path = templatePath(resolve(this.config.ADMIN_TEMPLATES_DIR), template);
    return loadConnectorTemplate(path, {
      ...databaseTemplateEnv(this.config.DATABASE_URL),
      ...process.env,
      SEARCHSYNC_TOPIC_PREFIX: this.config.SEARCHSYNC_TOPIC_PREFIX,
      SEARCHSYNC_SCHEMAS: this.config.SEARCHSYNC_SCHEMAS.join(','),
      SEARCHSYNC_NOTIFICATION_TOPIC: this.config.ADMIN_NOTIFICATION_TOPIC,
      SEARCHSYNC_CONNECTOR_NAME: name,
    }).config;
  }

  /** Our own template's keys and values: the only source of otherwise refused keys. */
  private trustedConfig(template: string | undefined, name: string): ConnectorConfig {
    try {
      return this.renderTemplate(template ?? DEFAULT_TEMPLATE, name);
    } catch (error) {
      if (template) throw error;
      return {};
    }
  }

  /** Template + overrides → policy → Connect's validation → create or update (unless dry run). */
  async apply(name: string, request: ApplyRequest, dryRun: boolean): Promise<ApplyResult> {
    if (!request.template && !request.config) {
      throw new AdminBadRequestError('give a template name, a config, or both');
    }
    const trusted = this.trustedConfig(request.template, name);
    const requested: ConnectorConfig = {
      ...(request.template ? trusted : {}),
      ...asConfig(request.config),
    };
    delete requested.name;
    const config =
      name === this.config.ADMIN_CONNECTOR_NAME
        ? await this.withExclusions(name, requested)
        : requested;
    const violations = checkConnectorPolicy(config, {
      allowedClasses: this.config.ADMIN_CONNECTOR_CLASSES,
      trusted,
    });
    if (violations.length > 0) throw new ConnectorPolicyError(violations);
    const validation = await this.validateChecked(name, config);
    if (!validation.valid) throw new ConnectorInvalidError(validation.errors);
    const result = { name, dryRun, valid: true, errors: [], config: redactConfig(config) };
    if (dryRun) return { ...result, created: null, changed: false };
    const existing = await this.backend.config(name).catch(() => null);
    if (existing && sameConfig(existing, config)) {
      return { ...result, created: false, changed: false };
    }
    const { created } = await this.backend.apply(name, config);
    this.logger.log(`connector ${name} ${created ? 'created' : 'updated'}`);
    return { ...result, created, changed: true };
  }

  /**
   * Our connector leaves out the generated columns PostgreSQL does not replicate and the columns
   * searchsync.yaml excludes (see column-exclusions.ts; the publication reconciler keeps them
   * current): a config applied here gets them too, next to the entries of column.exclude.list it
   * brings itself, so that not even its first snapshot carries an excluded column. When
   * PostgreSQL cannot be read, the exclusions the connector has now are kept rather than dropped.
   */
  private async withExclusions(name: string, config: ConnectorConfig): Promise<ConnectorConfig> {
    try {
      return await withColumnExclusions(
        this.infra.pool,
        {
          publication: this.config.SEARCHSYNC_PUBLICATION,
          schemas: this.config.SEARCHSYNC_SCHEMAS,
        },
        config,
        this.tableConfig.current(),
        (line) => this.logger.log(line),
      );
    } catch (error) {
      const existing = await this.backend.config(name).catch(() => null);
      const kept = splitExcludeList(existing?.[MANAGED_EXCLUDE_KEY]);
      this.logger.warn(
        `columns to exclude from the synced tables not read (${(error as Error).message}); keeping the ${kept.length} excluded now`,
      );
      return withManagedEntries(config, kept);
    }
  }

  /** Connect's validation when the backend has it; otherwise only our policy stands. */
  private async validateChecked(name: string, config: ConnectorConfig): Promise<ValidationOutcome> {
    if (!this.backend.capabilities.validate) return { valid: true, errors: [] };
    return this.backend.validate(name, config);
  }

  /** `POST /v1/connectors/validate`: policy and Connect's messages, per key, never throws on invalid. */
  async validate(raw: Record<string, unknown> | undefined): Promise<ValidationOutcome> {
    const config = asConfig(raw);
    const name = config.name ?? 'validation';
    const violations = checkConnectorPolicy(config, {
      allowedClasses: this.config.ADMIN_CONNECTOR_CLASSES,
      trusted: this.trustedConfig(undefined, name),
    });
    if (violations.length > 0) return { valid: false, errors: violations };
    if (!this.backend.capabilities.validate) {
      throw new ConnectCapabilityError(this.backend.kind, 'validate');
    }
    return this.backend.validate(name, config);
  }

  async delete(name: string): Promise<void> {
    await this.backend.delete(name);
    this.logger.log(`connector ${name} deleted`);
  }

  async pause(name: string): Promise<ConnectorView> {
    await this.backend.pause(name);
    return this.backend.status(name);
  }

  async resume(name: string): Promise<ConnectorView> {
    await this.backend.resume(name);
    return this.backend.status(name);
  }

  async stop(name: string): Promise<ConnectorView> {
    await this.backend.stop(name);
    return this.backend.status(name);
  }

  async restart(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<ConnectorView> {
    await this.backend.restart(name, { includeTasks, onlyFailed });
    return this.backend.status(name);
  }

  offsets(name: string): Promise<ConnectorOffsets> {
    return this.backend.offsets(name);
  }
}
