import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { adminEnvSchema, loadConfig } from '@searchsync/config';
import { AdminModule } from './admin.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(adminEnvSchema);
  const app = await NestFactory.create(AdminModule);
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('searchsync connector admin')
      .setDescription('Connectors and pipeline health over the Kafka Connect REST API.')
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  await app.listen(config.ADMIN_PORT, config.ADMIN_HOST);
  Logger.log(`connector admin on http://${config.ADMIN_HOST}:${config.ADMIN_PORT}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
