import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { SearchEngine } from '@searchsync/search-engine';
import { Public } from './auth.guard';
import { SEARCH_ENGINE } from './api.tokens';
import { HttpMetrics } from './http-metrics';
import { ApiErrors, HealthDto } from './tables.dto';

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    @Inject(SEARCH_ENGINE) private readonly engine: SearchEngine,
    private readonly metrics: HttpMetrics,
  ) {}

  @Get('health')
  @ApiOperation({ summary: 'Ready when the search engine answers' })
  @ApiOkResponse({ type: HealthDto })
  @ApiErrors(503, 504)
  async health(): Promise<HealthDto> {
    const info = await this.engine.info();
    return { status: 'ok', engine: `${info.distribution} ${info.version}` };
  }

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics: request latency histograms by route and status' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string' } })
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
