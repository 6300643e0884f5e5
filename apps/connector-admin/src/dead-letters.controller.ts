import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { AdminError } from './admin.errors';
import type { DeadLetterPage, DeadLetterView } from './dead-letter-ledger';
import { REASON_CLASSES } from './dead-letter-record';
import {
  DeadLettersService,
  MAX_OPERATION,
  MAX_PAGE,
  type OperationRequest,
  type OperationResult,
} from './dead-letters.service';

class RecordPositionDto {
  @ApiProperty({ example: 'searchsync.public.orders' }) topic!: string;
  @ApiProperty({ example: 0 }) partition!: number;
  @ApiProperty({ example: '1234', description: 'Kafka offset (a decimal string)' })
  offset!: string;
}

class ResolutionDto {
  @ApiProperty({ enum: ['replayed', 'discarded'] }) status!: string;
  @ApiProperty({ example: '2026-12-01T08:00:00.000Z' }) at!: string;
  @ApiProperty({ example: 'admin', description: 'who, as given in the request' }) by!: string;
  @ApiPropertyOptional({ example: 'index mapping fixed' }) note?: string;
  @ApiPropertyOptional({
    type: RecordPositionDto,
    nullable: true,
    description:
      'the source position of the dead letter it was written for: a resolution applies only to that record',
  })
  source?: RecordPositionDto | null;
  @ApiPropertyOptional({
    example: '2026-12-01T07:59:00.000Z',
    description: 'the `time` of the dead letter it was written for',
  })
  time?: string;
  @ApiPropertyOptional({
    type: RecordPositionDto,
    description: 'where the replayed record was written (replays only)',
  })
  replayedTo?: RecordPositionDto;
}

class DeadLetterDto {
  @ApiProperty({
    example: '0:42',
    description: '`<partition>:<offset>` of the record in the dead-letter topic',
  })
  id!: string;
  @ApiProperty({ enum: ['unresolved', 'replayed', 'discarded'] }) status!: string;
  @ApiProperty({
    enum: REASON_CLASSES,
    description: 'class of the failure; `unclassified` for records of older indexers',
  })
  reasonClass!: string;
  @ApiProperty({
    example:
      'mapping_conflict: column total is text but the index maps it as long; rebuild the table index',
    description: 'what went wrong and the fix, secrets redacted',
  })
  reason!: string;
  @ApiProperty({ example: 'public.orders', nullable: true, type: String }) table!: string | null;
  @ApiProperty({
    type: RecordPositionDto,
    nullable: true,
    description: 'the change record that failed (table topic, partition, offset)',
  })
  source!: RecordPositionDto | null;
  @ApiProperty({ example: '2026-12-01T07:59:58.123Z', description: 'when it was dead-lettered' })
  time!: string;
  @ApiProperty({
    example: '{"payload":{"id":7}}',
    nullable: true,
    type: String,
    description: 'record key excerpt, secrets redacted',
  })
  key!: string | null;
  @ApiProperty({
    example: '{"op":"u","after":{"id":7,"password":"********","total":"12.50"}}',
    nullable: true,
    type: String,
    description:
      'payload excerpt (a Debezium envelope reduced to op/before/after), secrets redacted, at most 600 characters',
  })
  excerpt!: string | null;
  @ApiProperty({ example: 1840, description: 'key plus value size in bytes' }) bytes!: number;
  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'id of the dead letter this record is a failed replay of (when the indexer says)',
  })
  replayOf!: string | null;
  @ApiProperty({ type: ResolutionDto, nullable: true }) resolution!: ResolutionDto | null;
}

class DeadLetterPageDto {
  @ApiProperty({ example: 3, description: 'dead letters matching the filters, on all pages' })
  total!: number;
  @ApiProperty({ type: [DeadLetterDto] }) items!: DeadLetterDto[];
  @ApiProperty({
    example: '0:42',
    nullable: true,
    type: String,
    description: 'pass as `after` for the next page; null on the last page',
  })
  next!: string | null;
}

class OperationBodyDto {
  @ApiPropertyOptional({
    type: [String],
    example: ['0:42', '0:43'],
    description: `explicit dead-letter ids (at most ${MAX_OPERATION})`,
  })
  ids?: string[];
  @ApiPropertyOptional({ example: 'public.orders', description: '`schema.table` or `table`' })
  table?: string;
  @ApiPropertyOptional({ enum: REASON_CLASSES, description: 'reason class' })
  reason?: string;
  @ApiPropertyOptional({
    example: false,
    description: 'every unresolved dead letter (required when no other selector is given)',
  })
  all?: boolean;
  @ApiPropertyOptional({
    example: MAX_OPERATION,
    description: `at most this many per call (1–${MAX_OPERATION}, default ${MAX_OPERATION}); \`remaining\` says how many are left`,
  })
  limit?: number;
  @ApiPropertyOptional({
    example: 'alice',
    description: 'who does it, recorded with the resolution',
  })
  by?: string;
  @ApiPropertyOptional({ example: 'mapping fixed in INC-123' }) note?: string;
}

class OperationDoneDto {
  @ApiProperty({ example: '0:42' }) id!: string;
  @ApiProperty({ example: 'public.orders', nullable: true, type: String }) table!: string | null;
  @ApiPropertyOptional({ type: RecordPositionDto }) replayedTo?: RecordPositionDto;
}

class OperationSkippedDto {
  @ApiProperty({ example: '0:41' }) id!: string;
  @ApiProperty({ example: 'already discarded at 2026-12-01T08:00:00.000Z' }) why!: string;
}

class OperationResultDto {
  @ApiProperty({ enum: ['replayed', 'discarded'] }) action!: string;
  @ApiProperty({ type: [OperationDoneDto] }) done!: OperationDoneDto[];
  @ApiProperty({ type: [OperationSkippedDto] }) skipped!: OperationSkippedDto[];
  @ApiProperty({ example: 0, description: 'matching unresolved dead letters beyond `limit`' })
  remaining!: number;
}

class DeadLetterNotFoundError extends AdminError {
  constructor(id: string) {
    super(`dead letter ${id} not found`, 404);
  }
}

@ApiTags('dead letters')
@Controller('v1/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @ApiOperation({
    summary:
      'Dead letters with reason class, table, source topic/partition/offset, time and a redacted payload excerpt',
  })
  @ApiQuery({ name: 'table', required: false, description: '`schema.table` or `table`' })
  @ApiQuery({ name: 'reason', required: false, enum: REASON_CLASSES })
  @ApiQuery({
    name: 'status',
    required: false,
    enum: ['unresolved', 'replayed', 'discarded', 'all'],
    description: 'default unresolved',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    type: Number,
    description: `page size (1–${MAX_PAGE}, default 100)`,
  })
  @ApiQuery({ name: 'after', required: false, description: 'the `next` of the previous page' })
  @ApiOkResponse({ type: DeadLetterPageDto })
  list(
    @Query('table') table?: string,
    @Query('reason') reason?: string,
    @Query('status') status?: string,
    @Query('limit') limit?: string,
    @Query('after') after?: string,
  ): Promise<DeadLetterPage> {
    return this.deadLetters.list({ table, reason, status, limit, after });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One dead letter by id (`<partition>:<offset>`), with its resolution' })
  @ApiOkResponse({ type: DeadLetterDto })
  async get(@Param('id') id: string): Promise<DeadLetterView> {
    const found = await this.deadLetters.get(id);
    if (!found) throw new DeadLetterNotFoundError(id);
    return found;
  }

  @Post('replay')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Re-drive unresolved dead letters after fixing the cause: each record goes back, unchanged, to its table topic and partition and is applied with its original version (nothing newer is overwritten); a record that fails again becomes a new dead letter',
  })
  @ApiBody({ type: OperationBodyDto })
  @ApiOkResponse({ type: OperationResultDto })
  replay(@Body() body: OperationRequest): Promise<OperationResult> {
    return this.deadLetters.replay(body ?? {});
  }

  @Post('discard')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Mark unresolved dead letters as discarded (the record stays in the topic; it no longer counts in pipeline health)',
  })
  @ApiBody({ type: OperationBodyDto })
  @ApiOkResponse({ type: OperationResultDto })
  discard(@Body() body: OperationRequest): Promise<OperationResult> {
    return this.deadLetters.discard(body ?? {});
  }
}
