import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { Principal } from './api-keys';
import { CONSISTENCY_QUERY, consistencyOnly, takeConsistency } from './consistency-query';
import { CurrentPrincipal } from './principal.decorator';
import { parseSearchBody, parseSearchQuery, type RawQuery } from './search-query';
import {
  SearchService,
  type DocumentView,
  type SearchView,
  type TableSummary,
} from './search.service';
import {
  ApiErrors,
  DocumentDto,
  SearchRequestDto,
  SearchResponseDto,
  TableDto,
} from './tables.dto';

const TABLE_PARAM = {
  name: 'table',
  description: '`schema.table`, or `table` for schema public',
  example: 'products',
};

@ApiTags('tables')
@ApiSecurity('bearer')
@ApiSecurity('apiKey')
@Controller('v1/tables')
export class TablesController {
  constructor(private readonly search: SearchService) {}

  @Get()
  @ApiOperation({
    summary:
      'The synced tables the caller may read, with document counts, fields, the columns that are not replicated (with why) and whether the index needs a rebuild',
  })
  @ApiOkResponse({ type: [TableDto] })
  @ApiErrors(401, 429, 503, 504)
  list(@CurrentPrincipal() principal: Principal): Promise<TableSummary[]> {
    return this.search.listTables(principal);
  }

  @Get(':table/documents/:id')
  @ApiOperation({
    summary: 'One document by primary key',
    description:
      'For a composite key, the id is the JSON array of the key values, URL-encoded: `%5B7%2C%22eu%22%5D` for `[7,"eu"]`.',
  })
  @ApiParam(TABLE_PARAM)
  @ApiParam({ name: 'id', example: '1' })
  @ApiQuery(CONSISTENCY_QUERY.consistentWith)
  @ApiQuery(CONSISTENCY_QUERY.consistencyTimeoutMs)
  @ApiOkResponse({ type: DocumentDto })
  @ApiErrors(400, 401, 403, 404, 429, 503, 504)
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('table') table: string,
    @Param('id') id: string,
    @Query() query: RawQuery,
  ): Promise<DocumentView> {
    return this.search.getDocument(principal, table, id, consistencyOnly(query, ''));
  }

  @Get(':table/search')
  @ApiOperation({
    summary: 'Search one table: full text, filters, sort, projection, cursor paging',
  })
  @ApiParam(TABLE_PARAM)
  @ApiQuery({
    name: 'q',
    required: false,
    example: 'espresso',
    description: 'simple query string syntax over the text fields',
  })
  @ApiQuery({
    name: 'filter',
    required: false,
    isArray: true,
    type: String,
    example: ['price:lt:500', 'tags:in:coffee,kitchen'],
    description:
      '`field:op:value`, repeatable; op one of eq, ne, in (comma-separated values), gt, gte, lt, lte, exists, prefix',
  })
  @ApiQuery({
    name: 'sort',
    required: false,
    isArray: true,
    type: String,
    example: ['price:desc'],
    description: '`field:asc|desc`, repeatable; ties broken by id',
  })
  @ApiQuery({ name: 'size', required: false, example: 20, description: '1-1000, default 20' })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  @ApiQuery({
    name: 'fields',
    required: false,
    example: 'id,name,price',
    description: 'projection, comma-separated',
  })
  @ApiQuery({
    name: 'highlight',
    required: false,
    example: true,
    description: 'highlight matches of q in text fields',
  })
  @ApiQuery(CONSISTENCY_QUERY.consistentWith)
  @ApiQuery(CONSISTENCY_QUERY.consistencyTimeoutMs)
  @ApiOkResponse({ type: SearchResponseDto })
  @ApiErrors(400, 401, 403, 404, 429, 503, 504)
  searchGet(
    @CurrentPrincipal() principal: Principal,
    @Param('table') table: string,
    @Query() query: RawQuery,
  ): Promise<SearchView> {
    const { rest, consistency } = takeConsistency(query);
    return this.search.search(principal, table, parseSearchQuery(rest), consistency);
  }

  @Post(':table/search')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Search one table with filters, sort, highlight, aggregations and knn (vector or hybrid search) in a JSON body',
  })
  @ApiParam(TABLE_PARAM)
  @ApiBody({ type: SearchRequestDto })
  @ApiQuery(CONSISTENCY_QUERY.consistentWith)
  @ApiQuery(CONSISTENCY_QUERY.consistencyTimeoutMs)
  @ApiOkResponse({ type: SearchResponseDto })
  @ApiErrors(400, 401, 403, 404, 413, 429, 503, 504)
  searchPost(
    @CurrentPrincipal() principal: Principal,
    @Param('table') table: string,
    @Body() body: unknown,
    @Query() query: RawQuery,
  ): Promise<SearchView> {
    const consistency = consistencyOnly(query, 'the search goes in the JSON body; ');
    return this.search.search(principal, table, parseSearchBody(body), consistency);
  }
}
