import { Inject, Logger, Module, type OnModuleDestroy } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { SearchsyncConfigWatcher, type AdminConfig } from '@searchsync/config';
import { ADMIN_CONFIG, adminConfigProvider, CONNECTOR_BACKEND, TABLE_CONFIG } from './admin-config';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminMetrics } from './admin-metrics';
import { createConnectorBackend } from './backend.factory';
import { ConnectorsController } from './connectors.controller';
import { ConnectorsService } from './connectors.service';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';
import { ErrorFilter } from './error.filter';
import { HealerService } from './healer.service';
import { HealthController } from './health.controller';
import { Infrastructure } from './infrastructure.service';
import { MetricsController, PipelineController } from './pipeline.controller';
import { PipelineService } from './pipeline.service';
import { PublicationReconciler } from './publication-reconciler.service';
import { PublicationStatusController } from './publication-status.controller';
import { RebuildController } from './rebuild.controller';
import { RebuildService } from './rebuild.service';
import { ResyncService } from './resync.service';
import { StatusPageController } from './status-page.controller';
import { TableCatalog } from './table-catalog';
import { TableLifecycleService } from './table-lifecycle.service';
import { VerifyService } from './verify.service';

@Module({
  controllers: [
    ConnectorsController,
    PipelineController,
    MetricsController,
    HealthController,
    StatusPageController,
    DeadLettersController,
    PublicationStatusController,
    RebuildController,
  ],
  providers: [
    adminConfigProvider,
    {
      provide: CONNECTOR_BACKEND,
      useFactory: (config: AdminConfig) => createConnectorBackend(config),
      inject: [ADMIN_CONFIG],
    },
    {
      // Reads SEARCHSYNC_CONFIG now: an invalid file fails the start-up with its line and fix.
      provide: TABLE_CONFIG,
      useFactory: () => {
        const logger = new Logger('TableConfig');
        const watcher = new SearchsyncConfigWatcher({ log: (line) => logger.log(line) });
        const files = watcher.current().files;
        logger.log(
          files.length > 0
            ? `table configuration from ${files.join(', ')}`
            : 'no table configuration file: every table synced as it is',
        );
        watcher.start();
        return watcher;
      },
    },
    { provide: APP_FILTER, useClass: ErrorFilter },
    { provide: APP_GUARD, useClass: AdminAuthGuard },
    AdminMetrics,
    Infrastructure,
    TableCatalog,
    ConnectorsService,
    HealerService,
    PipelineService,
    DeadLettersService,
    ResyncService,
    VerifyService,
    PublicationReconciler,
    TableLifecycleService,
    RebuildService,
  ],
})
export class AdminModule implements OnModuleDestroy {
  constructor(@Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher) {}

  onModuleDestroy(): void {
    this.tableConfig.stop();
  }
}
