import {
  Controller,
  Get,
  Header,
  HttpCode,
  NotFoundException,
  Post,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { WriteStatus } from '@searchsync/indexing';
import type { ConsumerStatus } from './change-consumer';
import { IndexerMetrics } from './indexer-metrics';
import { IndexerService } from './indexer.service';
import type { ViewStatus } from './view-sync';

export interface IndexerHealth {
  status: 'ok' | 'not_consuming' | 'writes_blocked';
  consumer: ConsumerStatus;
  writes: WriteStatus;
  /** The document views of searchsync.yaml (a view set aside does not make the indexer unhealthy: its tables go on). */
  views: ViewStatus[];
}

@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: IndexerMetrics,
    private readonly indexer: IndexerService,
  ) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  /**
   * 503 while no Kafka consumer runs or it has not joined its group, or while writes to the
   * engine wait on an outage (credentials, a write block, a closed index, the engine down): the
   * process being up is not the same as changes being indexed.
   */
  @Get('health')
  health(): IndexerHealth {
    const consumer = this.indexer.consumerStatus();
    const writes = this.indexer.writeStatus();
    const views = this.indexer.viewStatus();
    if (!consumer.consuming) {
      throw new ServiceUnavailableException({
        status: 'not_consuming',
        message: `indexer not consuming: ${consumer.detail}`,
        consumer,
        writes,
        views,
      } satisfies IndexerHealth & { message: string });
    }
    if (writes.blocked) {
      const seconds = Math.round((Date.now() - (writes.since ?? Date.now())) / 1000);
      throw new ServiceUnavailableException({
        status: 'writes_blocked',
        message: `writes blocked: ${writes.reason ?? 'unknown'} (for ${seconds}s; changes wait in Kafka, nothing is lost)`,
        consumer,
        writes,
        views,
      } satisfies IndexerHealth & { message: string });
    }
    return { status: 'ok', consumer, writes, views };
  }

  /** Tests only (INDEXER_FAULT_INJECTION=true): the next batch makes the consumer crash. */
  @Post('faults/consumer-crash')
  @HttpCode(202)
  armConsumerCrash(): { armed: true } {
    if (!this.indexer.faults.enabled) throw new NotFoundException();
    this.indexer.faults.armConsumerCrash();
    return { armed: true };
  }
}
