import { Controller, Get, Header } from '@nestjs/common';
import { IndexerMetrics } from './indexer-metrics';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: IndexerMetrics) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
