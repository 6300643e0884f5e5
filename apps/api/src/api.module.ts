import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import type { ApiConfig, SearchsyncConfigWatcher } from '@searchsync/config';
import type { SearchEngine } from '@searchsync/search-engine';
import { apiKeyVerifier } from './api-keys';
import { API_CONFIG, API_KEYS, SEARCH_ENGINE, TABLE_CONFIG } from './api.tokens';
import { AuthGuard } from './auth.guard';
import { ErrorFilter } from './error.filter';
import { HealthController } from './health.controller';
import { HttpMetrics } from './http-metrics';
import { requestContextOf } from './request-context';
import { ReadYourWritesService } from './read-your-writes.service';
import { SearchController } from './search.controller';
import { SearchService } from './search.service';
import { TableCatalogService } from './table-catalog.service';
import { TablesController } from './tables.controller';
import type { Request } from 'express';

class EngineCloser {
  constructor(private readonly engine: SearchEngine) {}
  async onApplicationShutdown(): Promise<void> {
    await this.engine.close();
  }
}

/** Polls searchsync.yaml while the app runs: changes apply to the next request, no restart. */
class TableConfigLifecycle {
  constructor(private readonly watcher: SearchsyncConfigWatcher) {}
  onModuleInit(): void {
    this.watcher.start();
  }
  onApplicationShutdown(): void {
    this.watcher.stop();
  }
}

/**
 * Wiring only: configuration, the engine, metrics and the table configuration watcher come in
 * ready-made from `createApiApp`.
 */
@Module({})
export class ApiModule {
  static forRoot(
    config: ApiConfig,
    engine: SearchEngine,
    metrics: HttpMetrics,
    tableConfig: SearchsyncConfigWatcher,
  ): DynamicModule {
    const rateLimited = config.API_RATE_LIMIT > 0;
    const guards: Provider[] = [{ provide: APP_GUARD, useClass: AuthGuard }];
    // After auth, so a key is limited as itself and not as its IP.
    if (rateLimited) guards.push({ provide: APP_GUARD, useClass: ThrottlerGuard });
    return {
      module: ApiModule,
      imports: [
        ThrottlerModule.forRoot({
          throttlers: [{ limit: config.API_RATE_LIMIT || 1, ttl: config.API_RATE_LIMIT_WINDOW_MS }],
          getTracker: (req: Record<string, unknown>) => {
            const principal = requestContextOf(req as unknown as Request).principal;
            return principal.name === 'anonymous'
              ? `ip:${String((req as unknown as Request).ip)}`
              : `key:${principal.name}`;
          },
        }),
      ],
      controllers: [TablesController, SearchController, HealthController],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: SEARCH_ENGINE, useValue: engine },
        { provide: TABLE_CONFIG, useValue: tableConfig },
        { provide: TableConfigLifecycle, useValue: new TableConfigLifecycle(tableConfig) },
        { provide: API_KEYS, useValue: apiKeyVerifier(config.API_KEYS) },
        { provide: HttpMetrics, useValue: metrics },
        { provide: EngineCloser, useValue: new EngineCloser(engine) },
        { provide: APP_FILTER, useClass: ErrorFilter },
        ...guards,
        TableCatalogService,
        ReadYourWritesService,
        SearchService,
      ],
    };
  }
}
