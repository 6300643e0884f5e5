import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { ConfigInvalidError } from './config.errors';
import { registerKafkaCodecs } from './kafka-compression';
import type { SharedConfig } from './env-schemas';

type KafkaConnection = Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>;

function sasl(config: SharedConfig): SASLOptions | undefined {
  switch (config.KAFKA_SASL_MECHANISM) {
    case 'none':
      return undefined;
    case 'aws-msk-iam':
      return {
        mechanism: 'oauthbearer',
        // Tokens last 15 minutes; kafkajs asks again on every (re)authentication.
        oauthBearerProvider: async () => {
          const region = config.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
          if (!region) {
            throw new ConfigInvalidError([
              'AWS_REGION: required for KAFKA_SASL_MECHANISM=aws-msk-iam',
            ]);
          }
          const { token } = await generateAuthToken({ region });
          return { value: token };
        },
      };
    case 'scram-sha-512':
    case 'plain': {
      const { KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
      if (!username || !password) {
        throw new ConfigInvalidError([
          `KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: required for KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}`,
        ]);
      }
      return config.KAFKA_SASL_MECHANISM === 'plain'
        ? { mechanism: 'plain', username, password }
        : { mechanism: 'scram-sha-512', username, password };
    }
  }
}

/** Broker list, TLS and SASL for every kafkajs client of an app, from its configuration. */
export function kafkaConnection(config: SharedConfig): KafkaConnection {
  registerKafkaCodecs();
  const auth = sasl(config);
  return {
    brokers: config.KAFKA_BROKERS,
    ssl: config.KAFKA_SSL || config.KAFKA_SASL_MECHANISM === 'aws-msk-iam',
    ...(auth ? { sasl: auth } : {}),
  };
}
