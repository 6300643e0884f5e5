import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { RebuildProgress } from './rebuild-progress';
import { RebuildService } from './rebuild.service';

@ApiTags('pipeline')
@Controller('v1')
export class RebuildController {
  constructor(private readonly rebuilds: RebuildService) {}

  @Post('tables/:table/rebuild')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Zero-downtime rebuild of a table or a document view: a new index generation filled from PostgreSQL with the current configuration, caught up with the stream, then swapped in atomically; 409 when one runs',
  })
  rebuild(@Param('table') table: string): Promise<RebuildProgress> {
    return this.rebuilds.start(table);
  }

  @Get('tables/:table/rebuild')
  @ApiOperation({ summary: 'Progress of the latest rebuild of the table (rows done/total, ETA)' })
  progress(@Param('table') table: string): Promise<RebuildProgress> {
    return this.rebuilds.progress(table);
  }

  @Get('rebuilds')
  @ApiOperation({ summary: 'Latest rebuild of each table since the admin started' })
  list(): RebuildProgress[] {
    return this.rebuilds.list();
  }
}
