import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { SearchEngine } from '@searchsync/search-engine';
import { SEARCH_ENGINE } from './tables.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(SEARCH_ENGINE) private readonly engine: SearchEngine) {}

  @Get()
  @ApiOperation({ summary: 'Ready when the search engine answers' })
  async health(): Promise<{ status: 'ok'; engine: string }> {
    const info = await this.engine.info();
    return { status: 'ok', engine: `${info.distribution} ${info.version}` };
  }
}
