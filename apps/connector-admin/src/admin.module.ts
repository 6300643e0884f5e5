import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { adminEnvSchema, loadConfig, type AdminConfig } from '@searchsync/config';
import { ADMIN_CONFIG, CONNECTOR_BACKEND } from './admin-config';
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
  ],
  providers: [
    { provide: ADMIN_CONFIG, useFactory: () => loadConfig(adminEnvSchema) },
    {
      provide: CONNECTOR_BACKEND,
      useFactory: (config: AdminConfig) => createConnectorBackend(config),
      inject: [ADMIN_CONFIG],
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
  ],
})
export class AdminModule {}
