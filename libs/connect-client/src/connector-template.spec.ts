import { ConnectorTemplateError, renderConnectorTemplate } from './connector-template';
import { redactConfig, redactText } from './redact';

describe('renderConnectorTemplate', () => {
  const template = {
    name: '${NAME:-searchsync-postgres}',
    config: {
      'database.hostname': '${PGHOST}',
      'database.port': '${PGPORT:-5432}',
      'slot.name': 'fixed',
    },
  };

  it('interpolates variables and defaults', () => {
    const rendered = renderConnectorTemplate(template, { PGHOST: 'db' });
    expect(rendered.name).toBe('searchsync-postgres');
    expect(rendered.config).toEqual({
      'database.hostname': 'db',
      'database.port': '5432',
      'slot.name': 'fixed',
    });
  });

  it('names every missing variable', () => {
    expect(() => renderConnectorTemplate(template, {})).toThrow(ConnectorTemplateError);
    expect(() => renderConnectorTemplate(template, {})).toThrow(/PGHOST/);
  });
});

describe('redaction', () => {
  it('hides secret config values', () => {
    expect(redactConfig({ 'database.password': 'hunter2', 'database.user': 'app' })).toEqual({
      'database.password': '********',
      'database.user': 'app',
    });
  });

  it('hides secrets inside messages', () => {
    const text = redactText(
      'failed: {"database.password":"hunter2"} url postgres://app:hunter2@db/x',
    );
    expect(text).not.toContain('hunter2');
  });
});
