import type { Request, RequestHandler } from 'express';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import { routeOf } from './http-route';

export interface AppMetricsOptions {
  /** Prefix of the process metrics (`searchsync_api_` → `searchsync_api_process_cpu_seconds_total`). */
  prefix: string;
  /** Name of a histogram of HTTP request latency by method, route and status (`httpMiddleware`). */
  httpRequestDuration?: string;
}

type Config<C> = Omit<C, 'registers'>;

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one app, on its own registry (several apps may share a process):
 * process metrics under the app's prefix, optionally HTTP request latency, and the app's own
 * metrics declared with `counter`/`gauge`/`histogram`.
 */
export class AppMetrics {
  readonly registry = new Registry();
  private readonly requestDuration?: Histogram;

  constructor(options: AppMetricsOptions) {
    collectDefaultMetrics({ register: this.registry, prefix: options.prefix });
    if (options.httpRequestDuration) {
      this.requestDuration = this.histogram({
        name: options.httpRequestDuration,
        help: 'HTTP request latency by route and status',
        labelNames: ['method', 'route', 'status'],
        buckets: HTTP_BUCKETS,
      });
    }
  }

  protected counter(config: Config<CounterConfiguration<string>>): Counter {
    return new Counter({ ...config, registers: [this.registry] });
  }

  protected gauge(config: Config<GaugeConfiguration<string>>): Gauge {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  protected histogram(config: Config<HistogramConfiguration<string>>): Histogram {
    return new Histogram({ ...config, registers: [this.registry] });
  }

  /** Times every request into the HTTP histogram (a no-op without one). */
  httpMiddleware(): RequestHandler {
    const duration = this.requestDuration;
    return (req, res, next) => {
      if (duration) {
        const began = process.hrtime.bigint();
        res.on('finish', () => {
          const seconds = Number(process.hrtime.bigint() - began) / 1e9;
          duration.observe(
            { method: req.method, route: routeOf(req as Request), status: String(res.statusCode) },
            seconds,
          );
        });
      }
      next();
    };
  }
}
