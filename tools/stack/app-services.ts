import { join } from 'node:path';
import type { StackPaths } from './stack-paths';
import { appEnvironment, type StackSettings } from './stack-settings';
import type { ServiceSpec } from './supervisor';

async function answers(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return response.ok;
}

/** Our three apps, run from the compiled output with the same Node that runs this CLI. */
export function appServiceSpecs(paths: StackPaths, settings: StackSettings): ServiceSpec[] {
  const env = appEnvironment(settings, paths);
  const app = (name: string, port: number, extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
    name,
    command: process.execPath,
    args: ['--enable-source-maps', join(paths.root, 'dist', 'apps', name, 'src', 'main.js')],
    env,
    healthy: () => answers(`http://127.0.0.1:${port}/health`),
    startTimeoutMs: 60_000,
    stopTimeoutMs: 30_000,
    ...extra,
  });
  return [
    app('indexer', settings.indexerMetricsPort, {
      url: `http://127.0.0.1:${settings.indexerMetricsPort}/metrics`,
    }),
    app('connector-admin', settings.adminPort, {
      url: `http://127.0.0.1:${settings.adminPort}/docs`,
    }),
    app('api', settings.apiPort, { url: `http://127.0.0.1:${settings.apiPort}/docs` }),
  ];
}
