# The connector configuration is connectors/debezium-postgres.json — the same template the
# local stack, docker-compose and the Helm chart use — rendered here with the same rules as
# libs/connect-client/src/connector-template.ts: ${VAR} and ${VAR:-default}; a set, non-empty
# variable wins, then the default; a placeholder with neither stops the plan (precondition on
# aws_mskconnect_connector.debezium).
locals {
  connector_template = jsondecode(file("${path.module}/../../connectors/debezium-postgres.json"))

  # The password never appears here: only a reference that the workers resolve through the
  # Secrets Manager config provider (see the worker configuration). Kafka's config-variable
  # syntax splits on ":", so the ARN is URL-encoded (the provider decodes it).
  database_password_reference = "$${secretsmanager:${urlencode(var.database_password_secret_arn)}:${var.database_password_secret_key}}"

  connector_template_vars = {
    PGHOST                       = var.database_host
    PGPORT                       = tostring(var.database_port)
    PGUSER                       = var.database_user
    PGPASSWORD                   = local.database_password_reference
    PGDATABASE                   = var.database_name
    SEARCHSYNC_CONNECTOR_NAME    = var.connector_name
    SEARCHSYNC_TOPIC_PREFIX      = var.topic_prefix
    SEARCHSYNC_SCHEMAS           = join(",", var.schemas)
    SEARCHSYNC_TOPIC_PARTITIONS  = tostring(var.topic_partitions)
    SEARCHSYNC_TOPIC_REPLICATION = tostring(min(3, var.broker_count))
  }

  # Group 1: the variable; group 2: ":-default", or "" when there is no default.
  connector_placeholder_pattern = "\\$\\{([A-Z0-9_]+)(:-[^}]*|)\\}"

  # Every string of the template: the config values and the connector name.
  connector_template_strings = merge(local.connector_template.config, { "__name__" = local.connector_template.name })

  connector_template_matches = {
    for key, text in local.connector_template_strings : key => regexall(local.connector_placeholder_pattern, text)
  }

  # Each template string holds at most one placeholder (checked below), so one replace() each.
  connector_template_rendered = {
    for key, text in local.connector_template_strings : key => (
      length(local.connector_template_matches[key]) == 0 ? text : replace(
        text,
        "$${${local.connector_template_matches[key][0][0]}${local.connector_template_matches[key][0][1]}}",
        lookup(local.connector_template_vars, local.connector_template_matches[key][0][0], "") != ""
        ? local.connector_template_vars[local.connector_template_matches[key][0][0]]
        : trimprefix(local.connector_template_matches[key][0][1], ":-")
      )
    )
  }

  connector_template_problems = flatten([
    for key, matches in local.connector_template_matches : concat(
      length(matches) > 1 ? ["${key}: more than one placeholder in one value"] : [],
      [
        for match in matches : "${key}: $${${match[0]}} has no value and no default"
        if lookup(local.connector_template_vars, match[0], "") == "" && match[1] == ""
      ],
    )
  ])

  connector_name = local.connector_template_rendered["__name__"]

  connector_configuration = merge(
    { for key, value in local.connector_template_rendered : key => value if key != "__name__" },
    {
      # MSK Connect restarts connectors that use a config provider unless told not to.
      "config.action.reload" = "none"
    },
  )
}
