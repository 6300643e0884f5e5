import { checkConnectorPolicy } from './connector-policy';

const DEBEZIUM = 'io.debezium.connector.postgresql.PostgresConnector';
const allowed = { allowedClasses: [DEBEZIUM] };

describe('checkConnectorPolicy', () => {
  it('accepts a plain config of an allowed class', () => {
    expect(
      checkConnectorPolicy({ 'connector.class': DEBEZIUM, 'tasks.max': '1' }, allowed),
    ).toEqual([]);
  });

  it('refuses unknown or missing classes', () => {
    expect(checkConnectorPolicy({ 'connector.class': 'x.Y' }, allowed)[0].key).toBe(
      'connector.class',
    );
    expect(checkConnectorPolicy({}, allowed)[0].message).toMatch(/required/);
  });

  it.each([
    'consumer.override.sasl.jaas.config',
    'producer.override.bootstrap.servers',
    'admin.override.security.protocol',
    'sasl.jaas.config',
    'database.history.consumer.sasl.jaas.config',
    'config.providers',
    'config.providers.file.class',
    'heartbeat.action.query',
    'database.initial.statements',
    'snapshot.select.statement.overrides',
    'snapshot.select.statement.overrides.public.t',
  ])('refuses %s', (key) => {
    const violations = checkConnectorPolicy({ 'connector.class': DEBEZIUM, [key]: 'x' }, allowed);
    expect(violations.map((v) => v.key)).toEqual([key]);
  });

  it('lets a refused key through only with exactly our template’s value', () => {
    const trusted = { 'heartbeat.action.query': 'INSERT INTO hb VALUES (1)' };
    const ok = {
      'connector.class': DEBEZIUM,
      'heartbeat.action.query': 'INSERT INTO hb VALUES (1)',
    };
    expect(checkConnectorPolicy(ok, { ...allowed, trusted })).toEqual([]);
    const changed = { ...ok, 'heartbeat.action.query': 'DROP TABLE t' };
    expect(checkConnectorPolicy(changed, { ...allowed, trusted })).toHaveLength(1);
  });
});
