import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { InvalidQueryError } from './api.errors';
import type { Principal } from './api-keys';
import { CONSISTENCY_PARAMS, CONSISTENCY_QUERY, takeConsistency } from './consistency-query';
import { CurrentPrincipal } from './principal.decorator';
import type { RawQuery } from './search-query';
import { SearchService, type SearchView } from './search.service';
import { ApiErrors, CrossTableSearchResponseDto } from './tables.dto';

const PARAMS = ['q', 'tables', 'size', 'cursor'] as const;

@ApiTags('search')
@ApiSecurity('bearer')
@ApiSecurity('apiKey')
@Controller('v1/search')
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get()
  @ApiOperation({ summary: 'Full-text search across tables; each hit names its table' })
  @ApiQuery({ name: 'q', required: false, example: 'espresso' })
  @ApiQuery({
    name: 'tables',
    required: false,
    example: 'products,sales.orders',
    description: 'comma-separated; default every table the caller may read',
  })
  @ApiQuery({ name: 'size', required: false, example: 20 })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery(CONSISTENCY_QUERY.consistentWith)
  @ApiQuery(CONSISTENCY_QUERY.consistencyTimeoutMs)
  @ApiOkResponse({ type: CrossTableSearchResponseDto })
  @ApiErrors(400, 401, 403, 404, 429, 503, 504)
  across(@CurrentPrincipal() principal: Principal, @Query() query: RawQuery): Promise<SearchView> {
    const { rest, consistency } = takeConsistency(query);
    const values: Partial<Record<(typeof PARAMS)[number], string>> = {};
    for (const [name, value] of Object.entries(rest)) {
      if (name === 'knn')
        throw new InvalidQueryError(
          'knn: cross-table search takes no knn (each table has its own vector columns); search one table with POST /v1/tables/{table}/search',
        );
      if (!(PARAMS as readonly string[]).includes(name))
        throw new InvalidQueryError(
          `unknown query parameter ${JSON.stringify(name.slice(0, 64))}; allowed: ${[...PARAMS, ...CONSISTENCY_PARAMS].join(', ')}`,
        );
      if (typeof value !== 'string') throw new InvalidQueryError(`${name} may be given once`);
      values[name as (typeof PARAMS)[number]] = value;
    }
    return this.search.searchAcross(principal, values, consistency);
  }
}
