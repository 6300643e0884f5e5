import 'reflect-metadata';
import { apiEnvSchema, loadConfig } from '@searchsync/config';
import { createApiApp, listenApi } from './api-app';

async function bootstrap(): Promise<void> {
  const config = loadConfig(apiEnvSchema);
  const app = await createApiApp(config);
  await listenApi(app, config);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
