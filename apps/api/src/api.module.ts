import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { apiEnvSchema, loadConfig, type ApiConfig } from '@searchsync/config';
import { OpenSearchEngine } from '@searchsync/search-engine';
import { ErrorFilter } from './error.filter';
import { HealthController } from './health.controller';
import { TablesController } from './tables.controller';
import { API_CONFIG, SEARCH_ENGINE, TablesService } from './tables.service';

@Module({
  controllers: [TablesController, HealthController],
  providers: [
    { provide: API_CONFIG, useFactory: () => loadConfig(apiEnvSchema) },
    {
      provide: SEARCH_ENGINE,
      inject: [API_CONFIG],
      useFactory: (config: ApiConfig) => new OpenSearchEngine(config.SEARCH_URL),
    },
    { provide: APP_FILTER, useClass: ErrorFilter },
    TablesService,
  ],
})
export class ApiModule {}
