import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { SearchsyncConfigWatcher } from '@searchsync/config';
import type { SearchEngine } from '@searchsync/search-engine';
import { Public } from './auth.guard';
import { SEARCH_ENGINE, TABLE_CONFIG } from './api.tokens';
import { HttpMetrics } from './http-metrics';
import { ApiErrors, HealthDto } from './tables.dto';

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    @Inject(SEARCH_ENGINE) private readonly engine: SearchEngine,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
    private readonly metrics: HttpMetrics,
  ) {}

  @Get('health')
  @ApiOperation({
    summary:
      'Ready when the search engine answers; also reports the table configuration files and a rejected change',
  })
  @ApiOkResponse({ type: HealthDto })
  @ApiErrors(503, 504)
  async health(): Promise<HealthDto> {
    const info = await this.engine.info();
    // A rejected configuration change is reported, not a failure: the last valid one still serves.
    return {
      status: 'ok',
      engine: `${info.distribution} ${info.version}`,
      configuration: {
        files: this.tableConfig.current().files,
        error: this.tableConfig.lastError(),
      },
    };
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
