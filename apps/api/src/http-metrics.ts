import { AppMetrics } from '@searchsync/app-kit';

/** Prometheus metrics of one API instance: process metrics and request latency by route. */
export class HttpMetrics extends AppMetrics {
  constructor() {
    super({
      prefix: 'searchsync_api_',
      httpRequestDuration: 'searchsync_api_request_duration_seconds',
    });
  }
}
