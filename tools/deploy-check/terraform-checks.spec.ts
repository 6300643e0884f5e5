import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from './repo-paths';
import { EXAMPLE_TFVARS, TERRAFORM_DIR, checkTerraform, loadTerraform } from './terraform-checks';

const root = findRepoRoot(__dirname);
const dir = join(root, TERRAFORM_DIR);
const files = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => f.endsWith('.tf') || f === EXAMPLE_TFVARS)
    .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
);

/** Problems of the module with one file's text changed (the replaced text must be there). */
async function problemsAfter(
  file: string,
  from: string | RegExp,
  to: string,
  base = root,
): Promise<string> {
  const text = files[file];
  const changed = text.replace(from, to);
  expect(changed).not.toBe(text);
  const { module, problems } = await loadTerraform(base, { ...files, [file]: changed });
  return [...problems, ...checkTerraform(base, module)].join('\n');
}

describe('Terraform deploy/msk', () => {
  it('parses and passes every check', async () => {
    const { module, problems } = await loadTerraform(root);
    expect(problems).toEqual([]);
    expect(checkTerraform(root, module)).toEqual([]);
    for (const type of [
      'aws_msk_cluster',
      'aws_mskconnect_custom_plugin',
      'aws_mskconnect_worker_configuration',
      'aws_mskconnect_connector',
      'aws_iam_role',
      'aws_db_parameter_group',
      'aws_opensearch_domain',
      'aws_cloudwatch_log_group',
    ]) {
      expect(Object.keys(module.resource[type] ?? {})).not.toHaveLength(0);
    }
  });

  it('reports an HCL syntax error with its file', async () => {
    expect(
      await problemsAfter(
        'msk.tf',
        'number_of_broker_nodes = var.broker_count',
        'number_of_broker_nodes = ',
      ),
    ).toMatch(/deploy\/msk\/msk\.tf: .*Invalid expression/);
  });

  it.each<[string, string, string | RegExp, string, RegExp]>([
    [
      'the OpenSearch domain',
      'opensearch.tf',
      /resource "aws_opensearch_domain" "this" \{[\s\S]*$/,
      '',
      /missing aws_opensearch_domain/,
    ],
    [
      'rds.logical_replication',
      'rds.tf',
      '"rds.logical_replication"',
      '"rds.force_ssl"',
      /rds\.logical_replication=1/,
    ],
    [
      'the custom plugin',
      'connect.tf',
      /resource "aws_mskconnect_custom_plugin"[\s\S]*?\n\}\n/,
      '',
      /missing aws_mskconnect_custom_plugin|aws_mskconnect_custom_plugin\.debezium is not declared/,
    ],
    [
      'the worker configuration',
      'connect.tf',
      /resource "aws_mskconnect_worker_configuration"[\s\S]*?\n\}\n/,
      '',
      /missing aws_mskconnect_worker_configuration/,
    ],
    [
      'connector autoscaling',
      'connect.tf',
      / {2}capacity \{[\s\S]*?\n {2}\}\n/,
      '',
      /capacity must autoscale/,
    ],
    [
      'connector logs',
      'connect.tf',
      / {2}log_delivery \{[\s\S]*?\n {2}\}\n/,
      '',
      /worker logs must go to CloudWatch/,
    ],
    [
      'the JSON schemas of the workers',
      'connect.tf',
      'value.converter.schemas.enable=true',
      'value.converter.schemas.enable=false',
      /value\.converter\.schemas\.enable must be true/,
    ],
    [
      'the Secrets Manager config provider',
      'connect.tf',
      /config\.providers=secretsmanager\n/,
      '',
      /Secrets Manager config provider/,
    ],
    [
      'a variable description',
      'variables.tf',
      'description = "MSK broker instance type."',
      '',
      /variable broker_instance_type: no description/,
    ],
    [
      'a variable type',
      'variables.tf',
      /(variable "broker_count" \{\n) {2}type {8}= number\n/,
      '$1',
      /variable broker_count: no type/,
    ],
    [
      'a variable that is still used',
      'variables.tf',
      /variable "topic_prefix" \{[\s\S]*?\n\}\n/,
      '',
      /var\.topic_prefix is not declared/,
    ],
    [
      'an output description',
      'outputs.tf',
      'description = "ARN of the MSK cluster."',
      '',
      /output msk_cluster_arn: no description/,
    ],
    [
      'a required variable from the example tfvars',
      EXAMPLE_TFVARS,
      /database_host += .*\n/,
      '',
      /required variable database_host is not set/,
    ],
    [
      'the Secrets Manager read permission',
      'iam.tf',
      '"secretsmanager:GetSecretValue"',
      '"secretsmanager:DescribeSecret"',
      /secretsmanager:GetSecretValue is not granted/,
    ],
    [
      'the confused-deputy condition',
      'iam.tf',
      'variable = "aws:SourceAccount"\n      values   = [data.aws_caller_identity.current.account_id]\n    }\n\n    condition {',
      'variable = "aws:SourceArn"\n      values   = ["x"]\n    }\n\n    condition {',
      /aws:SourceAccount/,
    ],
  ])('fails without %s', async (_name, file, from, to, problem) => {
    expect(await problemsAfter(file, from, to)).toMatch(problem);
  });

  it.each<[string, string, string | RegExp, string, RegExp]>([
    [
      'IAM auth replaced by none',
      'connect.tf',
      'authentication_type = "IAM"',
      'authentication_type = "NONE"',
      /authentication must be IAM/,
    ],
    [
      'plaintext to the brokers',
      'msk.tf',
      'client_broker = "TLS"',
      'client_broker = "TLS_PLAINTEXT"',
      /client_broker must be TLS/,
    ],
    [
      'unauthenticated clients',
      'msk.tf',
      'unauthenticated = false',
      'unauthenticated = true',
      /unauthenticated must be false/,
    ],
    [
      'an inline database password in the connector',
      'connector-config.tf',
      'PGPASSWORD                   = local.database_password_reference',
      'PGPASSWORD                   = "hunter2"',
      /PGPASSWORD must be a Secrets Manager config-provider reference/,
    ],
    [
      'a password variable',
      'variables.tf',
      'variable "database_user" {',
      'variable "database_password" {\n  type        = string\n  description = "The password, inline."\n}\n\nvariable "database_user" {',
      /variable database_password: secrets are never Terraform variables/,
    ],
    [
      'a password in the example tfvars',
      EXAMPLE_TFVARS,
      'database_user                = "debezium"',
      'database_user                = "debezium"\ndatabase_password = "x"',
      /database_password is not a variable/,
    ],
    [
      'a secret attribute on a resource',
      'rds.tf',
      'family      = var.rds_parameter_group_family',
      'family      = var.rds_parameter_group_family\n  password    = "x"',
      /password: secrets are never set in Terraform/,
    ],
    [
      'a whole-service IAM action',
      'iam.tf',
      '"kafka-cluster:DescribeCluster",\n      "kafka-cluster:WriteDataIdempotently",',
      '"kafka-cluster:*",',
      /action kafka-cluster:\* grants a whole service/,
    ],
    [
      'a secret readable on "*"',
      'iam.tf',
      'resources = [var.database_password_secret_arn]',
      'resources = ["*"]',
      /resource "\*" for secretsmanager:GetSecretValue/,
    ],
    [
      'a reference to an undeclared variable',
      'msk.tf',
      'var.broker_instance_type',
      'var.broker_type',
      /var\.broker_type is not declared/,
    ],
    [
      'a reference to an undeclared resource',
      'connect.tf',
      'aws_iam_role.connector.arn',
      'aws_iam_role.worker.arn',
      /aws_iam_role\.worker is not declared/,
    ],
    [
      'a value of the wrong type in the example tfvars',
      EXAMPLE_TFVARS,
      'broker_count         = 3',
      'broker_count         = "three"',
      /broker_count is not a number/,
    ],
  ])('fails with %s', async (_name, file, from, to, problem) => {
    expect(await problemsAfter(file, from, to)).toMatch(problem);
  });

  describe('rendering of connectors/debezium-postgres.json', () => {
    let fake = '';
    beforeAll(() => {
      fake = mkdtempSync(join(tmpdir(), 'searchsync-tf-'));
      cpSync(join(root, 'connectors'), join(fake, 'connectors'), { recursive: true });
    });
    afterAll(() => rmSync(fake, { recursive: true, force: true }));

    function withTemplate(edit: (config: Record<string, string>) => void): void {
      const template = JSON.parse(
        readFileSync(join(root, 'connectors', 'debezium-postgres.json'), 'utf8'),
      ) as {
        config: Record<string, string>;
      };
      edit(template.config);
      writeFileSync(join(fake, 'connectors', 'debezium-postgres.json'), JSON.stringify(template));
    }

    it('passes with the real template', async () => {
      withTemplate(() => undefined);
      const { module } = await loadTerraform(fake, files);
      expect(
        checkTerraform(fake, module).filter((p) => /connector-config|debezium-postgres/.test(p)),
      ).toEqual([]);
    });

    it('notices a new placeholder that has neither a Terraform value nor a default', async () => {
      withTemplate((config) => (config['database.sslmode'] = '${PGSSLMODE}'));
      const { module } = await loadTerraform(fake, files);
      expect(checkTerraform(fake, module).join('\n')).toMatch(
        /\$\{PGSSLMODE\} \(database\.sslmode\) has no value and no default/,
      );
    });

    it('notices two placeholders in one value, which the Terraform rendering cannot do', async () => {
      withTemplate((config) => (config['database.hostname'] = '${PGHOST}.${PGDOMAIN:-local}'));
      const { module } = await loadTerraform(fake, files);
      expect(checkTerraform(fake, module).join('\n')).toMatch(
        /database\.hostname: more than one placeholder/,
      );
    });

    it('notices a placeholder pattern that misses placeholders', async () => {
      withTemplate(() => undefined);
      const changed = files['connector-config.tf'].replace('(:-[^}]*|)', '(|)');
      const { module } = await loadTerraform(fake, { ...files, 'connector-config.tf': changed });
      expect(checkTerraform(fake, module).join('\n')).toMatch(
        /placeholder pattern does not find the placeholders/,
      );
    });
  });
});
