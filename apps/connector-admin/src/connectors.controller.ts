import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type {
  ConnectorOffsets,
  ConnectorView,
  ValidationOutcome,
} from '@searchsync/connect-client';
import { AdminBadRequestError } from './admin.errors';
import { ConnectorsService, type ApplyResult } from './connectors.service';
import { HealerService, type HealEvent } from './healer.service';

class TaskStateDto {
  @ApiProperty({ example: 0 }) id!: number;
  @ApiProperty({ example: 'RUNNING' }) state!: string;
  @ApiPropertyOptional({ description: 'First line of the failure, secrets redacted' })
  trace?: string;
}

class ConnectorSummaryDto {
  @ApiProperty({ example: 'searchsync-postgres' }) name!: string;
  @ApiProperty({ example: 'source' }) type!: string;
  @ApiProperty({ example: 'RUNNING' }) state!: string;
  @ApiProperty({ type: [TaskStateDto] }) tasks!: TaskStateDto[];
}

class ApplyBodyDto {
  @ApiPropertyOptional({
    example: 'debezium-postgres',
    description: 'Template in connectors/ (without .json)',
  })
  template?: string;
  @ApiPropertyOptional({
    example: { 'snapshot.mode': 'initial' },
    description: 'Config keys; merged over the template when both are given',
  })
  config?: Record<string, unknown>;
}

class ValidateBodyDto {
  @ApiProperty({
    example: { 'connector.class': 'io.debezium.connector.postgresql.PostgresConnector' },
  })
  config!: Record<string, unknown>;
}

class ValidationErrorDto {
  @ApiProperty({ example: 'database.port' }) key!: string;
  @ApiProperty({ example: "The 'database.port' value is invalid: An integer is expected" })
  message!: string;
}

class ValidationDto {
  @ApiProperty() valid!: boolean;
  @ApiProperty({ type: [ValidationErrorDto] }) errors!: ValidationErrorDto[];
}

function flag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '') return false;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new AdminBadRequestError(`${name} must be true or false`);
}

@ApiTags('connectors')
@Controller('v1/connectors')
export class ConnectorsController {
  constructor(
    private readonly connectors: ConnectorsService,
    private readonly healer: HealerService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every connector with its state and its tasks’ states' })
  @ApiOkResponse({ type: [ConnectorSummaryDto] })
  list(): Promise<ConnectorView[]> {
    return this.connectors.list();
  }

  @Get('capabilities')
  @ApiOperation({ summary: 'The backend (kafka-connect or msk-connect) and what it can do' })
  capabilities(): { backend: string; capabilities: Record<string, boolean> } {
    const { backend } = this.connectors;
    return { backend: backend.kind, capabilities: { ...backend.capabilities } };
  }

  @Post('validate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Policy check, then Connect’s own validation: messages per key' })
  @ApiBody({ type: ValidateBodyDto })
  @ApiOkResponse({ type: ValidationDto })
  validate(@Body() body: ValidateBodyDto): Promise<ValidationOutcome> {
    return this.connectors.validate(body?.config);
  }

  @Get(':name')
  @ApiOperation({ summary: 'Config (secrets redacted), status and the healer’s recent events' })
  async get(@Param('name') name: string) {
    return { ...(await this.connectors.get(name)), events: this.healer.eventsOf(name) };
  }

  @Get(':name/events')
  @ApiOperation({ summary: 'The healer’s recent events for this connector, newest first' })
  events(@Param('name') name: string): HealEvent[] {
    return this.healer.eventsOf(name);
  }

  @Put(':name')
  @ApiOperation({
    summary:
      'Create or update from a template and/or config (idempotent); dryRun=true validates only',
  })
  @ApiQuery({ name: 'dryRun', required: false, type: Boolean })
  @ApiBody({ type: ApplyBodyDto })
  apply(
    @Param('name') name: string,
    @Body() body: ApplyBodyDto,
    @Query('dryRun') dryRun?: string,
  ): Promise<ApplyResult> {
    return this.connectors.apply(name, body ?? {}, flag(dryRun, 'dryRun'));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the connector (its slot and topics stay)' })
  async remove(@Param('name') name: string): Promise<void> {
    await this.connectors.delete(name);
  }

  @Post(':name/pause')
  @HttpCode(200)
  pause(@Param('name') name: string): Promise<ConnectorView> {
    return this.connectors.pause(name);
  }

  @Post(':name/resume')
  @HttpCode(200)
  resume(@Param('name') name: string): Promise<ConnectorView> {
    return this.connectors.resume(name);
  }

  @Post(':name/stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop (tasks shut down, config kept; needed before altering offsets)' })
  stop(@Param('name') name: string): Promise<ConnectorView> {
    return this.connectors.stop(name);
  }

  @Post(':name/restart')
  @HttpCode(200)
  @ApiQuery({ name: 'includeTasks', required: false, type: Boolean })
  @ApiQuery({ name: 'onlyFailed', required: false, type: Boolean })
  restart(
    @Param('name') name: string,
    @Query('includeTasks') includeTasks?: string,
    @Query('onlyFailed') onlyFailed?: string,
  ): Promise<ConnectorView> {
    return this.connectors.restart(
      name,
      flag(includeTasks, 'includeTasks'),
      flag(onlyFailed, 'onlyFailed'),
    );
  }

  @Get(':name/offsets')
  @ApiOperation({ summary: 'Source offsets (for Debezium: the LSNs it has reached)' })
  offsets(@Param('name') name: string): Promise<ConnectorOffsets> {
    return this.connectors.offsets(name);
  }
}
