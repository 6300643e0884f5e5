import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { DocumentDto, ErrorDto, SearchResponseDto, TableDto } from './tables.dto';
import { TablesService } from './tables.service';
import { InvalidQueryError } from './api.errors';

@ApiTags('tables')
@Controller('v1/tables')
export class TablesController {
  constructor(private readonly tables: TablesService) {}

  @Get()
  @ApiOperation({ summary: 'The synced tables, with document counts and fields' })
  @ApiOkResponse({ type: [TableDto] })
  list(): Promise<TableDto[]> {
    return this.tables.list();
  }

  @Get(':table/documents/:id')
  @ApiOperation({ summary: 'One document by primary key' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('table') table: string, @Param('id') id: string): Promise<DocumentDto> {
    return this.tables.getDocument(table, id);
  }

  @Get(':table/search')
  @ApiOperation({ summary: 'Full-text search in one table (simple query string syntax)' })
  @ApiQuery({ name: 'q', required: false, example: 'espresso' })
  @ApiQuery({ name: 'size', required: false, example: 20 })
  @ApiOkResponse({ type: SearchResponseDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  async search(
    @Param('table') table: string,
    @Query('q') q?: string,
    @Query('size') size?: string,
  ): Promise<SearchResponseDto> {
    if (Array.isArray(q) || Array.isArray(size))
      throw new InvalidQueryError('q and size may be given once');
    const parsedSize = size === undefined ? 20 : Number(size);
    const result = await this.tables.search(table, q, parsedSize);
    return { ...result, nextCursor: null };
  }
}
