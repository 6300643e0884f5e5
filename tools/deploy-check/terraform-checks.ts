import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { placeholders, readConnectorTemplate } from './connector-template-vars';
import {
  allStrings,
  asArray,
  asRecord,
  asString,
  at,
  isRecord,
  text,
  type Problems,
} from './data-access';

export const TERRAFORM_DIR = join('deploy', 'msk');
export const EXAMPLE_TFVARS = 'terraform.tfvars.example';

/** The configuration of a Terraform module: every *.tf file parsed and merged, plus the example tfvars. */
export interface TerraformModule {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data: Record<string, Record<string, Record<string, unknown>>>;
  variable: Record<string, Record<string, unknown>>;
  output: Record<string, Record<string, unknown>>;
  locals: Record<string, unknown>;
  /** provider and terraform blocks (scanned for references only). */
  settings: Record<string, unknown>[];
  /** The raw text of every file, by name (for checks on literal content). */
  files: Record<string, string>;
  tfvars: Record<string, unknown> | undefined;
}

/** Parses with @cdktf/hcl2json (Terraform's own HCL parser compiled to WebAssembly). */
export async function loadTerraform(
  root: string,
  files?: Record<string, string>,
): Promise<{ module: TerraformModule; problems: Problems }> {
  const dir = join(root, TERRAFORM_DIR);
  const texts =
    files ??
    Object.fromEntries(
      readdirSync(dir)
        .filter((f) => f.endsWith('.tf') || f === EXAMPLE_TFVARS)
        .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
    );
  const module: TerraformModule = {
    resource: {},
    data: {},
    variable: {},
    output: {},
    locals: {},
    settings: [],
    files: {},
    tfvars: undefined,
  };
  const problems: Problems = [];
  for (const [name, text] of Object.entries(texts)) {
    let parsed: unknown;
    try {
      parsed = await parse(name, text);
    } catch (error) {
      problems.push(
        `${TERRAFORM_DIR}/${name}: ${error instanceof Error ? error.message : String(error)}`,
      );
      continue;
    }
    if (name === EXAMPLE_TFVARS) {
      module.tfvars = asRecord(parsed);
      continue;
    }
    module.files[name] = text;
    const body = asRecord(parsed);
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, byName] of Object.entries(asRecord(body[kind]))) {
        for (const [blockName, blocks] of Object.entries(asRecord(byName))) {
          const target = (module[kind][type] ??= {});
          if (blockName in target) problems.push(`${kind} ${type}.${blockName} is declared twice`);
          target[blockName] = asRecord(asArray(blocks)[0]);
        }
      }
    }
    for (const kind of ['variable', 'output'] as const) {
      for (const [blockName, blocks] of Object.entries(asRecord(body[kind]))) {
        if (blockName in module[kind]) problems.push(`${kind} ${blockName} is declared twice`);
        module[kind][blockName] = asRecord(asArray(blocks)[0]);
      }
    }
    module.settings.push(asRecord(body.provider), asRecord(body.terraform));
    for (const block of asArray(body.locals)) {
      for (const [key, value] of Object.entries(asRecord(block))) {
        if (key in module.locals) problems.push(`local ${key} is declared twice`);
        module.locals[key] = value;
      }
    }
  }
  if (!module.tfvars && !files) problems.push(`${TERRAFORM_DIR}/${EXAMPLE_TFVARS} is missing`);
  return { module, problems };
}

const block = (value: unknown, ...path: string[]): unknown => {
  let current = value;
  for (const key of path) {
    current = at(current, key);
    if (Array.isArray(current)) current = current[0];
  }
  return current;
};

function resources(module: TerraformModule, type: string): [string, Record<string, unknown>][] {
  return Object.entries(module.resource[type] ?? {});
}

/** The one resource of a type, or a problem. */
function single(
  module: TerraformModule,
  type: string,
  problems: Problems,
  what: string,
): Record<string, unknown> | undefined {
  const found = resources(module, type);
  if (found.length === 0) problems.push(`missing ${type} (${what})`);
  return found[0]?.[1];
}

const references = (value: unknown, pattern: RegExp): boolean =>
  typeof value === 'string' && pattern.test(value);

// --- references: every var., local., data. and resource reference resolves ------------------

function checkReferences(module: TerraformModule): Problems {
  const problems: Problems = [];
  const used = new Set<string>();
  const strings = [
    ...allStrings(module.resource, 'resource'),
    ...allStrings(module.data, 'data'),
    ...allStrings(module.locals, 'locals'),
    ...allStrings(module.output, 'output'),
    ...allStrings(module.variable, 'variable'),
    ...allStrings(module.settings, 'provider'),
  ].filter((s) => s.value.includes('${'));
  for (const { path, value } of strings) {
    for (const match of value.matchAll(/\bvar\.([A-Za-z0-9_-]+)/g)) {
      used.add(match[1]);
      if (!(match[1] in module.variable)) problems.push(`${path}: var.${match[1]} is not declared`);
    }
    for (const match of value.matchAll(/\blocal\.([A-Za-z0-9_-]+)/g)) {
      if (!(match[1] in module.locals)) problems.push(`${path}: local.${match[1]} is not declared`);
    }
    for (const match of value.matchAll(/\bdata\.([a-z0-9_]+)\.([A-Za-z0-9_-]+)/g)) {
      if (!module.data[match[1]]?.[match[2]])
        problems.push(`${path}: data.${match[1]}.${match[2]} is not declared`);
    }
    for (const match of value.matchAll(/(?<![.\w])(aws_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)/g)) {
      if (!module.resource[match[1]]?.[match[2]])
        problems.push(`${path}: ${match[1]}.${match[2]} is not declared`);
    }
  }
  for (const name of Object.keys(module.variable)) {
    if (!used.has(name)) problems.push(`variable ${name} is declared but never used`);
  }
  return problems;
}

// --- variables, outputs, example tfvars ---------------------------------------------------------

const SECRET_NAME = /(password|secret|token|private_key|access_key)/i;
const SECRET_REFERENCE_NAME = /_(arn|key|name|id)$/;

function typeMatches(type: string, value: unknown): boolean {
  if (type === 'string') return typeof value === 'string' || value === null;
  if (type === 'number') return typeof value === 'number';
  if (type === 'bool') return typeof value === 'boolean';
  if (/^(list|set|tuple)\(/.test(type)) return Array.isArray(value);
  if (/^(map|object)\(/.test(type)) return isRecord(value);
  return true;
}

function checkVariables(module: TerraformModule): Problems {
  const problems: Problems = [];
  for (const [name, variable] of Object.entries(module.variable)) {
    const type = asString(variable.type);
    if (!type) problems.push(`variable ${name}: no type`);
    const description = asString(variable.description);
    if (!description || description.trim().length < 10)
      problems.push(`variable ${name}: no description`);
    if (SECRET_NAME.test(name) && !SECRET_REFERENCE_NAME.test(name)) {
      problems.push(
        `variable ${name}: secrets are never Terraform variables; pass a Secrets Manager ARN`,
      );
    }
    if (type && 'default' in variable && variable.default !== null) {
      if (!typeMatches(type.replace(/^\$\{|\}$/g, ''), variable.default))
        problems.push(`variable ${name}: default does not match type ${type}`);
    }
  }
  for (const [name, output] of Object.entries(module.output)) {
    if (!asString(output.description)) problems.push(`output ${name}: no description`);
    if (!('value' in output)) problems.push(`output ${name}: no value`);
  }
  const tfvars = module.tfvars;
  if (tfvars) {
    for (const [name, value] of Object.entries(tfvars)) {
      const variable = module.variable[name];
      if (!variable) {
        problems.push(`${EXAMPLE_TFVARS}: ${name} is not a variable`);
        continue;
      }
      const type = asString(variable.type)?.replace(/^\$\{|\}$/g, '');
      if (type && !typeMatches(type, value))
        problems.push(`${EXAMPLE_TFVARS}: ${name} is not a ${type}`);
      if (SECRET_NAME.test(name) && !SECRET_REFERENCE_NAME.test(name))
        problems.push(`${EXAMPLE_TFVARS}: ${name} looks like an inline secret`);
    }
    for (const [name, variable] of Object.entries(module.variable)) {
      if (!('default' in variable) && !(name in tfvars))
        problems.push(`${EXAMPLE_TFVARS}: required variable ${name} is not set`);
    }
  }
  return problems;
}

// --- no inline secrets --------------------------------------------------------------------------

const SECRET_ATTRIBUTES = [
  'password',
  'master_password',
  'master_user_password',
  'secret_string',
  'secret_binary',
  'access_key',
  'secret_key',
  'token',
];

function checkNoInlineSecrets(module: TerraformModule): Problems {
  const problems: Problems = [];
  for (const { path, value } of allStrings({
    resource: module.resource,
    data: module.data,
    locals: module.locals,
    tfvars: module.tfvars ?? {},
  })) {
    if (/AKIA[0-9A-Z]{16}/.test(value)) problems.push(`${path}: an AWS access key id`);
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) problems.push(`${path}: a private key`);
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@:\s$]+:[^/@\s$]+@/i.test(value))
      problems.push(`${path}: a URL with an inline password`);
    if (/(^|\n)\s*[\w.]*password\s*=\s*[^\s$]/i.test(value))
      problems.push(`${path}: an inline password`);
  }
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (isRecord(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (SECRET_ATTRIBUTES.includes(key))
          problems.push(`${path}.${key}: secrets are never set in Terraform`);
        walk(child, `${path}.${key}`);
      }
    }
  };
  walk(module.resource, 'resource');
  return problems;
}

// --- IAM: least privilege -------------------------------------------------------------------

/** Actions that AWS only authorises on "*" (no resource-level permissions). */
const ACTIONS_ON_ANY_RESOURCE = ['kafkaconnect:ListConnectors'];

function checkIam(module: TerraformModule): Problems {
  const problems: Problems = [];
  for (const [name, document] of Object.entries(module.data.aws_iam_policy_document ?? {})) {
    const dynamicStatements = asArray(at(document, 'dynamic', 'statement')).map((d) =>
      block(d, 'content'),
    );
    for (const statement of [...asArray(document.statement), ...dynamicStatements]) {
      const where =
        `aws_iam_policy_document.${name} ${asString(at(statement, 'sid')) ?? ''}`.trim();
      const actions = asArray(at(statement, 'actions')).map(String);
      const resourcesList = asArray(at(statement, 'resources')).map(String);
      if (actions.length === 0) problems.push(`${where}: no actions`);
      for (const action of actions) {
        if (action === '*' || /:\*$/.test(action))
          problems.push(`${where}: action ${action} grants a whole service`);
      }
      if (
        resourcesList.includes('*') &&
        !actions.every((a) => ACTIONS_ON_ANY_RESOURCE.includes(a))
      ) {
        problems.push(`${where}: resource "*" for ${actions.join(', ')}`);
      }
      if (at(statement, 'effect') === 'Allow' && asArray(at(statement, 'not_actions')).length > 0)
        problems.push(`${where}: NotAction in an Allow`);
    }
  }
  return problems;
}

// --- the resources the deployment needs ---------------------------------------------------------

function checkRequiredResources(root: string, module: TerraformModule): Problems {
  const problems: Problems = [];

  // MSK: TLS and IAM only
  const cluster = single(module, 'aws_msk_cluster', problems, 'the MSK cluster');
  if (cluster) {
    if (block(cluster, 'encryption_info', 'encryption_in_transit', 'client_broker') !== 'TLS')
      problems.push('aws_msk_cluster: encryption_in_transit.client_broker must be TLS');
    if (block(cluster, 'client_authentication', 'sasl', 'iam') !== true)
      problems.push('aws_msk_cluster: client_authentication.sasl.iam must be true');
    if (block(cluster, 'client_authentication', 'unauthenticated') !== false)
      problems.push('aws_msk_cluster: client_authentication.unauthenticated must be false');
    if (block(cluster, 'logging_info', 'broker_logs', 'cloudwatch_logs', 'enabled') !== true)
      problems.push('aws_msk_cluster: broker logs must go to CloudWatch');
  }

  // Custom plugin from S3
  const plugin = single(module, 'aws_mskconnect_custom_plugin', problems, 'the Debezium plugin');
  if (plugin) {
    if (!['ZIP', 'JAR'].includes(String(plugin.content_type)))
      problems.push('aws_mskconnect_custom_plugin: content_type must be ZIP or JAR');
    if (!references(block(plugin, 'location', 's3', 'bucket_arn'), /aws_s3_bucket\.\w+\.arn/))
      problems.push('aws_mskconnect_custom_plugin: location.s3.bucket_arn must be our bucket');
    if (!references(block(plugin, 'location', 's3', 'file_key'), /aws_s3_object\.\w+\.key/))
      problems.push(
        'aws_mskconnect_custom_plugin: location.s3.file_key must be the uploaded object',
      );
  }
  const upload = single(module, 'aws_s3_object', problems, 'the plugin zip upload');
  if (upload && !references(upload.source, /var\.\w+/))
    problems.push('aws_s3_object: source must be a variable (the plugin zip path)');
  if (resources(module, 'aws_s3_bucket_public_access_block').length === 0)
    problems.push('missing aws_s3_bucket_public_access_block for the plugin bucket');

  // Worker configuration
  const worker = single(
    module,
    'aws_mskconnect_worker_configuration',
    problems,
    'the worker configuration',
  );
  if (worker) {
    const content = text(worker.properties_file_content);
    const props = Object.fromEntries(
      content
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => {
          const i = l.indexOf('=');
          return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
        }),
    );
    for (const side of ['key', 'value']) {
      if (props[`${side}.converter`] !== 'org.apache.kafka.connect.json.JsonConverter')
        problems.push(`worker configuration: ${side}.converter must be the JsonConverter`);
      if (props[`${side}.converter.schemas.enable`] !== 'true')
        problems.push(`worker configuration: ${side}.converter.schemas.enable must be true`);
    }
    const providers = String(props['config.providers'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (!providers.some((p) => /SecretsManager/.test(props[`config.providers.${p}.class`] ?? ''))) {
      problems.push(
        'worker configuration: needs a Secrets Manager config provider (config.providers + its class)',
      );
    }
  }

  // The connector
  const connector = single(module, 'aws_mskconnect_connector', problems, 'the Debezium connector');
  if (connector) {
    if (block(connector, 'kafka_cluster_client_authentication', 'authentication_type') !== 'IAM')
      problems.push('aws_mskconnect_connector: authentication must be IAM');
    if (block(connector, 'kafka_cluster_encryption_in_transit', 'encryption_type') !== 'TLS')
      problems.push('aws_mskconnect_connector: encryption in transit must be TLS');
    if (
      !references(
        block(connector, 'kafka_cluster', 'apache_kafka_cluster', 'bootstrap_servers'),
        /bootstrap_brokers_sasl_iam/,
      )
    )
      problems.push('aws_mskconnect_connector: must use the IAM bootstrap brokers');
    const autoscaling = block(connector, 'capacity', 'autoscaling');
    if (!isRecord(autoscaling)) problems.push('aws_mskconnect_connector: capacity must autoscale');
    else {
      for (const key of [
        'mcu_count',
        'min_worker_count',
        'max_worker_count',
        'scale_in_policy',
        'scale_out_policy',
      ]) {
        if (!(key in autoscaling))
          problems.push(`aws_mskconnect_connector: capacity.autoscaling.${key} is missing`);
      }
    }
    if (
      block(connector, 'log_delivery', 'worker_log_delivery', 'cloudwatch_logs', 'enabled') !== true
    )
      problems.push('aws_mskconnect_connector: worker logs must go to CloudWatch');
    if (
      !references(
        block(connector, 'log_delivery', 'worker_log_delivery', 'cloudwatch_logs', 'log_group'),
        /aws_cloudwatch_log_group\.\w+/,
      )
    )
      problems.push('aws_mskconnect_connector: log group must be managed here');
    if (
      !references(
        block(connector, 'plugin', 'custom_plugin', 'arn'),
        /aws_mskconnect_custom_plugin\.\w+\.arn/,
      )
    )
      problems.push('aws_mskconnect_connector: must run the custom plugin');
    if (
      !references(
        block(connector, 'worker_configuration', 'arn'),
        /aws_mskconnect_worker_configuration\.\w+\.arn/,
      )
    )
      problems.push('aws_mskconnect_connector: must use the worker configuration');
    const role = /aws_iam_role\.(\w+)\.arn/.exec(text(connector.service_execution_role_arn))?.[1];
    if (!role || !module.resource.aws_iam_role?.[role])
      problems.push(
        'aws_mskconnect_connector: service_execution_role_arn must be a role managed here',
      );
    else {
      const assume = /data\.aws_iam_policy_document\.(\w+)\.json/.exec(
        text(module.resource.aws_iam_role[role].assume_role_policy),
      )?.[1];
      const trust = assume ? module.data.aws_iam_policy_document?.[assume] : undefined;
      const principals = asArray(trust?.statement).flatMap((s) =>
        asArray(at(s, 'principals')).flatMap((p) => asArray(at(p, 'identifiers'))),
      );
      if (!principals.includes('kafkaconnect.amazonaws.com'))
        problems.push(
          `aws_iam_role.${role}: must trust kafkaconnect.amazonaws.com only through its assume-role policy`,
        );
      if (
        !asArray(trust?.statement).some((s) =>
          asArray(at(s, 'condition')).some((c) => at(c, 'variable') === 'aws:SourceAccount'),
        )
      ) {
        problems.push(
          `aws_iam_role.${role}: the trust policy must pin aws:SourceAccount (confused deputy)`,
        );
      }
      const policies = Object.values(module.resource.aws_iam_role_policy ?? {}).filter((p) =>
        references(p.role, new RegExp(`aws_iam_role\\.${role}\\.`)),
      );
      const documents = policies
        .map((p) => /data\.aws_iam_policy_document\.(\w+)\.json/.exec(text(p.policy))?.[1])
        .map((d) => (d ? module.data.aws_iam_policy_document?.[d] : undefined));
      const statements = documents.flatMap((d) => asArray(d?.statement));
      const grants = (action: string) =>
        statements.filter((s) => asArray(at(s, 'actions')).includes(action));
      for (const action of [
        'kafka-cluster:Connect',
        'kafka-cluster:WriteData',
        'kafka-cluster:CreateTopic',
        'secretsmanager:GetSecretValue',
      ]) {
        if (grants(action).length === 0) problems.push(`connector role: ${action} is not granted`);
      }
      for (const statement of grants('secretsmanager:GetSecretValue')) {
        if (
          !asArray(at(statement, 'resources')).every((r) =>
            /^\$\{var\.database_password_secret_arn\}$/.test(String(r)),
          )
        ) {
          problems.push(
            'connector role: secretsmanager:GetSecretValue must be limited to the database password secret',
          );
        }
      }
    }

    // The configuration is connectors/debezium-postgres.json, rendered by connector-config.tf.
    const configuration = text(connector.connector_configuration);
    if (!/local\.\w+/.test(configuration))
      problems.push(
        'aws_mskconnect_connector: connector_configuration must be the rendered template (a local)',
      );
  }
  problems.push(...checkConnectorTemplateRendering(root, module));

  // RDS: logical replication
  const groups = resources(module, 'aws_db_parameter_group').concat(
    resources(module, 'aws_rds_cluster_parameter_group'),
  );
  if (groups.length === 0)
    problems.push('missing aws_db_parameter_group (rds.logical_replication=1)');
  const logical = groups.some(([, group]) =>
    asArray(group.parameter).some(
      (p) =>
        at(p, 'name') === 'rds.logical_replication' &&
        String(at(p, 'value')) === '1' &&
        at(p, 'apply_method') === 'pending-reboot',
    ),
  );
  if (groups.length > 0 && !logical)
    problems.push(
      'the RDS parameter group must set rds.logical_replication=1 (apply_method pending-reboot)',
    );

  // OpenSearch Service
  const domain = single(module, 'aws_opensearch_domain', problems, 'the search engine');
  if (domain) {
    if (block(domain, 'encrypt_at_rest', 'enabled') !== true)
      problems.push('aws_opensearch_domain: encryption at rest must be on');
    if (block(domain, 'node_to_node_encryption', 'enabled') !== true)
      problems.push('aws_opensearch_domain: node-to-node encryption must be on');
    if (block(domain, 'domain_endpoint_options', 'enforce_https') !== true)
      problems.push('aws_opensearch_domain: HTTPS must be enforced');
    if (!isRecord(block(domain, 'vpc_options')))
      problems.push('aws_opensearch_domain: must live in the VPC (vpc_options)');
    if (
      !/^OpenSearch_2\./.test(
        text(domain.engine_version ?? module.variable.opensearch_engine_version?.default),
      ) &&
      !references(domain.engine_version, /var\.\w+/)
    )
      problems.push('aws_opensearch_domain: engine OpenSearch 2.x');
  }
  if (resources(module, 'aws_cloudwatch_log_group').length === 0)
    problems.push('missing aws_cloudwatch_log_group');
  return problems;
}

/**
 * connector-config.tf renders connectors/debezium-postgres.json in Terraform. Terraform cannot
 * run here, so its inputs are checked: the template file it reads is ours, its placeholder
 * pattern finds exactly the placeholders our renderer finds, every placeholder without a
 * default has a value, the password is a Secrets Manager reference, and each value holds at
 * most one placeholder (the Terraform rendering relies on that).
 */
function checkConnectorTemplateRendering(root: string, module: TerraformModule): Problems {
  const problems: Problems = [];
  const templateLocal = Object.entries(module.locals).find(
    ([, v]) => typeof v === 'string' && /connectors\/debezium-postgres\.json/.test(v),
  );
  if (!templateLocal)
    return ['connector-config.tf: no local reads connectors/debezium-postgres.json'];
  const relative = /file\("\$\{path\.module\}\/([^"]+)"\)/.exec(String(templateLocal[1]))?.[1];
  if (
    !relative ||
    !existsSync(resolve(root, TERRAFORM_DIR, relative)) ||
    resolve(root, TERRAFORM_DIR, relative) !== resolve(root, 'connectors', 'debezium-postgres.json')
  ) {
    problems.push(
      `connector-config.tf: ${String(relative)} is not connectors/debezium-postgres.json`,
    );
  }
  const pattern = asString(module.locals.connector_placeholder_pattern);
  const vars = asRecord(module.locals.connector_template_vars);
  if (!pattern)
    return [...problems, 'connector-config.tf: local connector_placeholder_pattern is missing'];
  if (Object.keys(vars).length === 0)
    return [...problems, 'connector-config.tf: local connector_template_vars is missing'];
  const template = readConnectorTemplate(root);
  const ours = placeholders(template);
  const regex = new RegExp(pattern, 'g');
  const strings: [string, string][] = [['name', template.name], ...Object.entries(template.config)];
  const theirs = strings.flatMap(([key, text]) =>
    [...text.matchAll(regex)].map((m) => ({
      key,
      variable: m[1],
      fallback: m[2] ? m[2].replace(/^:-/, '') : undefined,
    })),
  );
  if (JSON.stringify(theirs) !== JSON.stringify(ours))
    problems.push(
      'connector-config.tf: the placeholder pattern does not find the placeholders our renderer finds',
    );
  for (const [key] of strings) {
    if (ours.filter((p) => p.key === key).length > 1)
      problems.push(
        `connectors/debezium-postgres.json ${key}: more than one placeholder, which connector-config.tf cannot render`,
      );
  }
  for (const placeholder of ours) {
    if (placeholder.fallback === undefined && !(placeholder.variable in vars)) {
      problems.push(
        `connector-config.tf: \${${placeholder.variable}} (${placeholder.key}) has no value and no default`,
      );
    }
  }
  const passwordKey = Object.entries(template.config).find(([key]) => key === 'database.password');
  const passwordVar = passwordKey ? /\$\{([A-Z0-9_]+)/.exec(passwordKey[1])?.[1] : undefined;
  const passwordValue = passwordVar ? text(vars[passwordVar]) : '';
  if (!/local\.database_password_reference|secretsmanager:/.test(passwordValue)) {
    problems.push(
      `connector-config.tf: ${String(passwordVar)} must be a Secrets Manager config-provider reference`,
    );
  }
  const reference = asString(module.locals.database_password_reference) ?? '';
  if (
    /database_password_reference/.test(passwordValue) &&
    !/^\$\$\{secretsmanager:\$\{urlencode\(var\.\w+\)\}:/.test(reference)
  ) {
    problems.push(
      'connector-config.tf: database_password_reference must be $${secretsmanager:<urlencoded secret ARN>:<key>}',
    );
  }
  return problems;
}

/** Every problem of the Terraform module. */
export function checkTerraform(root: string, module: TerraformModule): Problems {
  return [
    ...checkReferences(module),
    ...checkVariables(module),
    ...checkNoInlineSecrets(module),
    ...checkIam(module),
    ...checkRequiredResources(root, module),
  ];
}
