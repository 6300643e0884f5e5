import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ConnectorBackend } from '@searchsync/connect-client';
import { CONNECTOR_BACKEND } from './admin-config';
import { Public } from './admin-auth.guard';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(CONNECTOR_BACKEND) private readonly backend: ConnectorBackend) {}

  @Get()
  @Public()
  @ApiOperation({
    summary: 'Ready when the connector backend (Kafka Connect / MSK Connect) answers',
  })
  async health(): Promise<{ status: 'ok'; backend: string; connect: string }> {
    const info = await this.backend.info();
    return { status: 'ok', backend: this.backend.kind, connect: info.version };
  }
}
