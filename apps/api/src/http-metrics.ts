import type { NextFunction, Request, Response } from 'express';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { requestContextOf } from './request-context';
import type { JsonLogger } from './json-logger';

/** Prometheus metrics of one API instance (own registry: several apps may share a process). */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly duration = new Histogram({
    name: 'searchsync_api_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'searchsync_api_' });
  }

  /** Times every request and writes one access log line when it finishes. */
  middleware(logger: JsonLogger) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const began = process.hrtime.bigint();
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - began) / 1e9;
        const routePath = (req.route as { path?: string } | undefined)?.path;
        // Unmatched paths share one label so hostile URLs cannot blow up the series count.
        const route = routePath ? `${req.baseUrl}${routePath}` : 'unmatched';
        const status = String(res.statusCode);
        this.duration.observe({ method: req.method, route, status }, seconds);
        const context = requestContextOf(req);
        logger.log(
          {
            msg: 'request',
            requestId: context.requestId,
            method: req.method,
            route,
            status: res.statusCode,
            durationMs: Math.round(seconds * 1e6) / 1e3,
            key: context.principal.name,
          },
          'Http',
        );
      });
      next();
    };
  }
}
