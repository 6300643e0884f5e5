import 'reflect-metadata';
import { loadAppConfig, runApp } from '@searchsync/app-kit';
import { apiEnvSchema } from '@searchsync/config';
import { createApiApp, listenApi } from './api-app';

runApp('api', async () => {
  const config = loadAppConfig(apiEnvSchema);
  const app = await createApiApp(config);
  await listenApi(app, config);
});
