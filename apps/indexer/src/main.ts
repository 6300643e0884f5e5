import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppLogger, loadAppConfig, requestLogging, runApp } from '@searchsync/app-kit';
import { indexerEnvSchema } from '@searchsync/config';
import { IndexerModule } from './indexer.module';

runApp('indexer', async () => {
  // The same object the module's providers get: validated once.
  const config = loadAppConfig(indexerEnvSchema);
  const logger = new AppLogger({ app: 'indexer', level: config.LOG_LEVEL });
  const app = await NestFactory.create<NestExpressApplication>(IndexerModule, { logger });
  app.disable('x-powered-by');
  app.use(requestLogging(logger.root));
  app.enableShutdownHooks();
  await app.listen(config.INDEXER_METRICS_PORT, config.INDEXER_METRICS_HOST);
});
