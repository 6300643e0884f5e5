import express from 'express';
import type { AddressInfo } from 'node:net';
import { AppMetrics } from './app-metrics';

class ThingMetrics extends AppMetrics {
  readonly things = this.counter({
    name: 'test_things_total',
    help: 'things',
    labelNames: ['kind'],
  });
  readonly level = this.gauge({ name: 'test_level', help: 'level' });
  readonly took = this.histogram({ name: 'test_took_seconds', help: 'took', buckets: [1] });

  constructor(http = false) {
    super({
      prefix: 'test_app_',
      httpRequestDuration: http ? 'test_app_request_duration_seconds' : undefined,
    });
  }
}

describe('AppMetrics', () => {
  it('has the process metrics under the prefix and its own metrics on its own registry', async () => {
    const metrics = new ThingMetrics();
    metrics.things.inc({ kind: 'a' });
    metrics.level.set(3);
    metrics.took.observe(0.5);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^test_app_process_cpu_seconds_total /m);
    expect(text).toMatch(/^test_things_total\{kind="a"\} 1$/m);
    expect(text).toMatch(/^test_level 3$/m);
    expect(text).toMatch(/^test_took_seconds_count 1$/m);
    expect(text).not.toMatch(/request_duration/);
    // A second instance (another app in the process) has a registry of its own.
    expect(await new ThingMetrics().registry.getSingleMetricAsString('test_level')).toMatch(
      /^test_level 0$/m,
    );
  });

  it('times HTTP requests by method, matched route and status', async () => {
    const metrics = new ThingMetrics(true);
    const app = express();
    app.use(metrics.httpMiddleware());
    app.get('/v1/things/:id', (_req, res) => void res.json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fetch(`${base}/v1/things/7`);
      await fetch(`${base}/v1/things/8`);
      await fetch(`${base}/%2e%2e/whatever`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      server.close();
    }
    const text = await metrics.registry.getSingleMetricAsString(
      'test_app_request_duration_seconds',
    );
    expect(text).toMatch(
      /test_app_request_duration_seconds_count\{method="GET",route="\/v1\/things\/:id",status="200"\} 2/,
    );
    expect(text).toMatch(/route="unmatched",status="404"\} 1/);
  });
});
