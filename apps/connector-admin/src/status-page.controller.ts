import { Controller, Get, Header, Redirect } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from './admin-auth.guard';
import { STATUS_PAGE_HTML } from './status-page';

@ApiTags('status page')
@Controller()
export class StatusPageController {
  @Get()
  @Public()
  @ApiExcludeEndpoint()
  @Redirect('/status', 302)
  root(): void {}

  @Get('status')
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Status page: pipeline health with lag and freshness over the last hour',
  })
  page(): string {
    return STATUS_PAGE_HTML;
  }
}
