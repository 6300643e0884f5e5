{{/*
Renders one string of connectors/debezium-postgres.json the way the apps' renderer does
(libs/connect-client/src/connector-template.ts): ${VAR} and ${VAR:-default}; a set, non-empty
variable wins, then the default; a variable with neither fails the render.
Input: (dict "text" "…" "vars" (dict …) "where" "config key").
*/}}
{{- define "searchsync.renderTemplateString" -}}
{{- $text := .text }}
{{- range $placeholder := regexFindAll `\$\{[A-Z0-9_]+(:-[^}]*)?\}` .text -1 }}
{{- $name := regexReplaceAll `^\$\{([A-Z0-9_]+).*\}$` $placeholder "${1}" }}
{{- $value := toString (get $.vars $name) }}
{{- if eq $value "" }}
{{- if contains ":-" $placeholder }}
{{- $value = regexReplaceAll `^\$\{[A-Z0-9_]+:-(.*)\}$` $placeholder "${1}" }}
{{- else }}
{{- fail (printf "connector template: %s needs ${%s}; set strimzi.connector.vars.%s" $.where $name $name) }}
{{- end }}
{{- end }}
{{- $text = replace $placeholder $value $text }}
{{- end }}
{{- $text }}
{{- end }}

{{/* Variables of the connector template, from the chart's values. The password stays a
reference resolved inside Connect by Strimzi's KubernetesSecretConfigProvider. */}}
{{- define "searchsync.strimzi.vars" -}}
{{- $s := .Values.strimzi }}
{{- $vars := dict
  "PGHOST" $s.connector.database.host
  "PGPORT" (toString $s.connector.database.port)
  "PGUSER" $s.connector.database.user
  "PGDATABASE" $s.connector.database.name
  "PGPASSWORD" (printf "${secrets:%s/%s:%s}" .Release.Namespace $s.connector.passwordSecret.name $s.connector.passwordSecret.key)
  "SEARCHSYNC_CONNECTOR_NAME" (default .Values.config.connectorName $s.connector.name)
  "SEARCHSYNC_TOPIC_PREFIX" .Values.config.topicPrefix
  "SEARCHSYNC_SCHEMAS" .Values.config.schemas
  "SEARCHSYNC_TOPIC_PARTITIONS" (toString .Values.config.topicPartitions)
  "SEARCHSYNC_TOPIC_REPLICATION" (toString .Values.config.topicReplicationFactor)
}}
{{- toYaml (merge (deepCopy $s.connector.vars) $vars) }}
{{- end }}

{{/* The rendered connector: name and config, as YAML. */}}
{{- define "searchsync.strimzi.connector" -}}
{{- $template := .Files.Get "files/debezium-postgres.json" | fromJson }}
{{- $vars := include "searchsync.strimzi.vars" . | fromYaml }}
{{- $config := dict }}
{{- range $key, $value := $template.config }}
{{- $_ := set $config $key (include "searchsync.renderTemplateString" (dict "text" (toString $value) "vars" $vars "where" $key)) }}
{{- end }}
name: {{ include "searchsync.renderTemplateString" (dict "text" $template.name "vars" $vars "where" "name") | quote }}
config:
  {{- toYaml $config | nindent 2 }}
{{- end }}
