import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { apiEnvSchema, loadConfig } from '@searchsync/config';
import { ApiModule } from './api.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(apiEnvSchema);
  const app = await NestFactory.create(ApiModule);
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('searchsync API')
      .setDescription('Search the documents kept in step with your PostgreSQL tables.')
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  await app.listen(config.API_PORT, config.API_HOST);
  Logger.log(
    `API on http://${config.API_HOST}:${config.API_PORT} — Swagger UI at /docs`,
    'Bootstrap',
  );
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
