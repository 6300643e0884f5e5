import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ConnectorsService } from './connectors.service';

class TaskStateDto {
  @ApiProperty({ example: 0 }) id!: number;
  @ApiProperty({ example: 'RUNNING' }) state!: string;
}

class ConnectorSummaryDto {
  @ApiProperty({ example: 'searchsync-postgres' }) name!: string;
  @ApiProperty({ example: 'source' }) type!: string;
  @ApiProperty({ example: 'RUNNING' }) state!: string;
  @ApiProperty({ type: [TaskStateDto] }) tasks!: TaskStateDto[];
}

@ApiTags('connectors')
@Controller('v1/connectors')
export class ConnectorsController {
  constructor(private readonly connectors: ConnectorsService) {}

  @Get()
  @ApiOperation({ summary: 'Every connector with its state and its tasks’ states' })
  @ApiOkResponse({ type: [ConnectorSummaryDto] })
  list(): Promise<ConnectorSummaryDto[]> {
    return this.connectors.list();
  }
}
