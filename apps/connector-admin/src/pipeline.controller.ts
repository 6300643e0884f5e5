import { Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AdminBadRequestError } from './admin.errors';
import { Public } from './admin-auth.guard';
import { AdminMetrics } from './admin-metrics';
import { PipelineService, type HistoryPoint, type PipelineSnapshot } from './pipeline.service';
import { ResyncService, type ResyncHandle } from './resync.service';
import { VerifyService, type VerifyResult } from './verify.service';

@ApiTags('pipeline')
@Controller('v1')
export class PipelineController {
  constructor(
    private readonly pipeline: PipelineService,
    private readonly resyncs: ResyncService,
    private readonly verifier: VerifyService,
  ) {}

  @Get('pipeline')
  @ApiOperation({
    summary:
      'Connector/task states, replication slot, Kafka lag per table, rows vs documents, freshness, dead letters, tables whose index needs a rebuild, the table configuration in force (files, rejected change), document views (index, state, documents, lag, freshness), overall status with reasons',
  })
  snapshot(): Promise<PipelineSnapshot> {
    return this.pipeline.snapshot();
  }

  @Get('pipeline/history')
  @ApiOperation({
    summary: 'Samples of the last hour (lag, slot lag, freshness) for the status page',
  })
  history(): HistoryPoint[] {
    return this.pipeline.historyPoints();
  }

  @Post('tables/:table/resync')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Ad-hoc incremental snapshot of the table (Debezium signal); returns a handle',
  })
  resync(@Param('table') table: string): Promise<ResyncHandle> {
    return this.resyncs.resync(table);
  }

  @Get('resyncs')
  @ApiOperation({ summary: 'Recent resyncs, newest first' })
  listResyncs(): ResyncHandle[] {
    return this.resyncs.list();
  }

  @Get('resyncs/:id')
  @ApiOperation({ summary: 'Progress of a resync' })
  resyncProgress(@Param('id') id: string): ResyncHandle {
    return this.resyncs.get(id);
  }

  @Post('tables/:table/verify')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Compare rows with documents by primary key and content (streamed; columns searchsync.yaml excludes are not compared, documents still holding them are counted in staleExcluded); capped id lists + totals',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    type: Number,
    description: 'ids per list (default 100, max 10000)',
  })
  verify(@Param('table') table: string, @Query('limit') limit?: string): Promise<VerifyResult> {
    const cap = limit === undefined || limit === '' ? 100 : Number(limit);
    if (!Number.isInteger(cap) || cap < 0 || cap > 10_000) {
      throw new AdminBadRequestError('limit must be an integer from 0 to 10000');
    }
    return this.verifier.verify(table, cap);
  }
}

@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(
    private readonly pipeline: PipelineService,
    private readonly metrics: AdminMetrics,
  ) {}

  @Get('metrics')
  @Public()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics: the pipeline figures and the healer' })
  async scrape(): Promise<string> {
    await this.pipeline.snapshot().catch(() => undefined);
    return this.metrics.registry.metrics();
  }
}
