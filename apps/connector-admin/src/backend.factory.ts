import { readFileSync } from 'node:fs';
import type { AdminConfig } from '@searchsync/config';
import {
  KafkaConnectBackend,
  MskConnectBackend,
  type ConnectorBackend,
  type MskCreateSpec,
} from '@searchsync/connect-client';

/** Kafka Connect REST or MSK Connect, as configured. */
export function createConnectorBackend(config: AdminConfig): ConnectorBackend {
  switch (config.ADMIN_CONNECT_BACKEND) {
    case 'kafka-connect':
      return new KafkaConnectBackend(config.CONNECT_URL);
    case 'msk-connect':
      return new MskConnectBackend({
        region: config.ADMIN_MSK_REGION,
        createSpec: config.ADMIN_MSK_CREATE_SPEC
          ? (JSON.parse(readFileSync(config.ADMIN_MSK_CREATE_SPEC, 'utf8')) as MskCreateSpec)
          : undefined,
      });
  }
}
