import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ConnectorsService } from './connectors.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly connectors: ConnectorsService) {}

  @Get()
  @ApiOperation({ summary: 'Ready when Kafka Connect answers' })
  async health(): Promise<{ status: 'ok'; connect: string }> {
    const info = await this.connectors.connect.serverInfo();
    return { status: 'ok', connect: info.version };
  }
}
