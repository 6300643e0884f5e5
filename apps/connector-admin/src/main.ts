import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { adminEnvSchema, loadConfig } from '@searchsync/config';
import { redactText } from '@searchsync/connect-client';
import { AdminModule } from './admin.module';
import { isLoopbackHost } from './admin-auth.guard';

async function bootstrap(): Promise<void> {
  const config = loadConfig(adminEnvSchema);
  if (config.ADMIN_API_KEYS.length === 0 && !isLoopbackHost(config.ADMIN_HOST)) {
    throw new Error(
      `ADMIN_HOST=${config.ADMIN_HOST} is not a loopback address and no ADMIN_API_KEYS are set: set admin keys, or keep the admin on 127.0.0.1`,
    );
  }
  const app = await NestFactory.create(AdminModule);
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('searchsync connector admin')
      .setDescription(
        'Connectors (Kafka Connect or MSK Connect), pipeline health, healer, resync and verify. Status page at /status.',
      )
      .setVersion('1')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        description: 'an admin key (ADMIN_API_KEYS)',
      })
      .addSecurityRequirements('bearer')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  await app.listen(config.ADMIN_PORT, config.ADMIN_HOST);
  const logger = new Logger('Bootstrap');
  logger.log(
    `connector admin on http://${config.ADMIN_HOST}:${config.ADMIN_PORT} (backend ${config.ADMIN_CONNECT_BACKEND}; status page /status)`,
  );
  if (config.ADMIN_API_KEYS.length === 0) {
    logger.warn('no ADMIN_API_KEYS set: serving loopback clients only');
  }
}

bootstrap().catch((error: unknown) => {
  console.error(
    redactText(error instanceof Error ? (error.stack ?? error.message) : String(error)),
  );
  process.exit(1);
});
