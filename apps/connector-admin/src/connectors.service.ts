import { Inject, Injectable } from '@nestjs/common';
import type { AdminConfig } from '@searchsync/config';
import { ConnectClient } from '@searchsync/connect-client';

export const ADMIN_CONFIG = Symbol('ADMIN_CONFIG');

export interface ConnectorSummary {
  name: string;
  type: string;
  state: string;
  tasks: { id: number; state: string }[];
}

/** Connectors as seen through the Kafka Connect REST API. */
@Injectable()
export class ConnectorsService {
  readonly connect: ConnectClient;

  constructor(@Inject(ADMIN_CONFIG) config: AdminConfig) {
    this.connect = new ConnectClient(config.CONNECT_URL);
  }

  async list(): Promise<ConnectorSummary[]> {
    const statuses = await this.connect.listConnectorStatuses();
    return statuses
      .map((status) => ({
        name: status.name,
        type: status.type,
        state: status.connector.state,
        tasks: status.tasks.map((task) => ({ id: task.id, state: task.state })),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
