import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { adminEnvSchema, loadConfig } from '@searchsync/config';
import { ConnectorsController } from './connectors.controller';
import { ADMIN_CONFIG, ConnectorsService } from './connectors.service';
import { ErrorFilter } from './error.filter';
import { HealthController } from './health.controller';

@Module({
  controllers: [ConnectorsController, HealthController],
  providers: [
    { provide: ADMIN_CONFIG, useFactory: () => loadConfig(adminEnvSchema) },
    { provide: APP_FILTER, useClass: ErrorFilter },
    ConnectorsService,
  ],
})
export class AdminModule {}
