import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { PublicationReconciler, type PublicationStatus } from './publication-reconciler.service';
import { TableLifecycleService, type DroppedTablesStatus } from './table-lifecycle.service';

export interface PublicationView extends PublicationStatus {
  droppedTables: DroppedTablesStatus;
}

@ApiTags('pipeline')
@Controller('v1/publication')
export class PublicationStatusController {
  constructor(
    private readonly reconciler: PublicationReconciler,
    private readonly lifecycle: TableLifecycleService,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Publication membership: published tables, tables kept out (no replica identity) with the fix, the DDL trigger, dropped tables whose indices are removed',
  })
  status(): PublicationView {
    return { ...this.reconciler.status(), droppedTables: this.lifecycle.status() };
  }

  @Post('reconcile')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run a reconciliation pass now (otherwise every ADMIN_RECONCILE_INTERVAL_MS)',
  })
  async reconcile(): Promise<PublicationView> {
    await Promise.all([this.reconciler.reconcile(), this.lifecycle.sweep()]);
    return this.status();
  }
}
