import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { indexerEnvSchema, loadConfig } from '@searchsync/config';
import { IndexerModule } from './indexer.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(indexerEnvSchema);
  const app = await NestFactory.create(IndexerModule, {
    logger: [config.LOG_LEVEL, 'error', 'warn', 'log'],
  });
  app.enableShutdownHooks();
  await app.listen(config.INDEXER_METRICS_PORT, config.INDEXER_METRICS_HOST);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
