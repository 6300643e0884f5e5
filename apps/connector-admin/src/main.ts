import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppLogger, loadAppConfig, requestLogging, runApp } from '@searchsync/app-kit';
import { adminEnvSchema } from '@searchsync/config';
import { AdminModule } from './admin.module';
import { isLoopbackHost } from './admin-auth.guard';
import { AdminMetrics } from './admin-metrics';

runApp('connector-admin', async () => {
  // The same object the module's providers get: validated once.
  const config = loadAppConfig(adminEnvSchema);
  if (config.ADMIN_API_KEYS.length === 0 && !isLoopbackHost(config.ADMIN_HOST)) {
    throw new Error(
      `ADMIN_HOST=${config.ADMIN_HOST} is not a loopback address and no ADMIN_API_KEYS are set: set admin keys, or keep the admin on 127.0.0.1`,
    );
  }
  const logger = new AppLogger({ app: 'connector-admin', level: config.LOG_LEVEL });
  const app = await NestFactory.create<NestExpressApplication>(AdminModule, { logger });
  app.disable('x-powered-by');
  // First: every request has its id and its access line, also one the body parser refuses.
  app.use(requestLogging(logger.root));
  app.use(app.get(AdminMetrics).httpMiddleware());
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
  const log = new Logger('Bootstrap');
  log.log(
    `connector admin on http://${config.ADMIN_HOST}:${config.ADMIN_PORT} (backend ${config.ADMIN_CONNECT_BACKEND}; status page /status)`,
  );
  if (config.ADMIN_API_KEYS.length === 0) {
    log.warn('no ADMIN_API_KEYS set: serving loopback clients only');
  }
});
