import { kafkaConnection } from './kafka-connection';
import { loadConfig } from './load-config';
import { sharedEnvSchema } from './env-schemas';
import { ConfigInvalidError } from './config.errors';

const configOf = (env: NodeJS.ProcessEnv) => loadConfig(sharedEnvSchema, env);

describe('kafkaConnection', () => {
  it('is plaintext without SASL by default (the local stack)', () => {
    expect(kafkaConnection(configOf({}))).toEqual({ brokers: ['127.0.0.1:9092'], ssl: false });
  });

  it('uses OAUTHBEARER over TLS for Amazon MSK with IAM', () => {
    const connection = kafkaConnection(
      configOf({
        KAFKA_SASL_MECHANISM: 'aws-msk-iam',
        AWS_REGION: 'eu-west-1',
        KAFKA_BROKERS: 'b-1:9098',
      }),
    );
    expect(connection.ssl).toBe(true);
    expect(connection.sasl).toMatchObject({ mechanism: 'oauthbearer' });
  });

  it('takes SCRAM credentials and names what is missing', () => {
    expect(
      kafkaConnection(
        configOf({
          KAFKA_SASL_MECHANISM: 'scram-sha-512',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: 'p',
          KAFKA_SSL: 'true',
        }),
      ),
    ).toEqual({
      brokers: ['127.0.0.1:9092'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    });
    expect(() => kafkaConnection(configOf({ KAFKA_SASL_MECHANISM: 'plain' }))).toThrow(
      ConfigInvalidError,
    );
    expect(() => configOf({ KAFKA_SASL_MECHANISM: 'kerberos' })).toThrow(/KAFKA_SASL_MECHANISM/);
  });
});
