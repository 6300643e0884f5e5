{{/*
File names: the manifests are *.tpl rather than *.yaml because the repository formats every
*.yaml with Prettier, which cannot parse Go templates; Helm renders every file under templates/
whose name does not start with "_" whatever its extension, and `helm lint` accepts .tpl.
*/}}
{{/* Chart name, possibly overridden. */}}
{{- define "searchsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped full name (63 characters at most, the DNS label limit). */}}
{{- define "searchsync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "searchsync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "searchsync.labels" -}}
helm.sh/chart: {{ include "searchsync.chart" . }}
app.kubernetes.io/name: {{ include "searchsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: searchsync
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "api"). */}}
{{- define "searchsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "searchsync.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Name of one component's objects: (dict "root" $ "component" "api"). */}}
{{- define "searchsync.componentName" -}}
{{- printf "%s-%s" (include "searchsync.fullname" .root | trunc 47 | trimSuffix "-") .component }}
{{- end }}

{{- define "searchsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "searchsync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The ConfigMap holding values.tableConfig, and where the pods see it. */}}
{{- define "searchsync.tableConfigName" -}}
{{- printf "%s-table-config" (include "searchsync.fullname" .) }}
{{- end }}

{{- define "searchsync.tableConfigDir" -}}
/etc/searchsync
{{- end }}

{{/* The pod volume of the table configuration (deployments and the database-setup Job). */}}
{{- define "searchsync.tableConfigVolume" -}}
- name: table-config
  configMap:
    name: {{ include "searchsync.tableConfigName" . }}
{{- end }}

{{- define "searchsync.tableConfigMount" -}}
- name: table-config
  mountPath: {{ include "searchsync.tableConfigDir" . }}
  readOnly: true
{{- end }}

{{- define "searchsync.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The three apps: values key, component name (also the directory under apps/), and the
variables that set each one's listen address.
*/}}
{{- define "searchsync.components" -}}
api:
  key: api
  entry: dist/apps/api/src/main.js
  hostEnv: API_HOST
  portEnv: API_PORT
connector-admin:
  key: connectorAdmin
  entry: dist/apps/connector-admin/src/main.js
  hostEnv: ADMIN_HOST
  portEnv: ADMIN_PORT
indexer:
  key: indexer
  entry: dist/apps/indexer/src/main.js
  hostEnv: INDEXER_METRICS_HOST
  portEnv: INDEXER_METRICS_PORT
{{- end }}

{{/* Environment shared by the three apps. Secrets only by secretKeyRef. */}}
{{- define "searchsync.sharedEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret | quote }}
      key: {{ .Values.secrets.databaseUrlKey | quote }}
- name: KAFKA_BROKERS
  value: {{ .Values.config.kafkaBrokers | quote }}
{{- if .Values.secrets.searchUrlKey }}
- name: SEARCH_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret | quote }}
      key: {{ .Values.secrets.searchUrlKey | quote }}
{{- else }}
- name: SEARCH_URL
  value: {{ .Values.config.searchUrl | quote }}
{{- end }}
- name: SEARCH_ENGINE
  value: {{ .Values.config.searchEngine | quote }}
- name: SEARCH_AUTH
  value: {{ .Values.config.searchAuth | quote }}
{{- if eq .Values.config.searchAuth "aws-sigv4" }}
- name: SEARCH_AWS_SERVICE
  value: {{ .Values.config.searchAwsService | quote }}
{{- with .Values.config.searchAwsRegion }}
- name: SEARCH_AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- range $name, $key := dict "SEARCH_USERNAME" .Values.secrets.searchUsernameKey "SEARCH_PASSWORD" .Values.secrets.searchPasswordKey "SEARCH_API_KEY" .Values.secrets.searchApiKeyKey }}
{{- if $key }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.existingSecret | quote }}
      key: {{ $key | quote }}
{{- end }}
{{- end }}
- name: CONNECT_URL
  value: {{ .Values.config.connectUrl | quote }}
- name: CONNECT_OFFSET_TOPIC
  value: {{ .Values.config.connectOffsetTopic | quote }}
- name: INDEXER_GROUP_ID
  value: {{ .Values.indexer.groupId | quote }}
- name: SEARCHSYNC_TOPIC_PREFIX
  value: {{ .Values.config.topicPrefix | quote }}
- name: SEARCHSYNC_SCHEMAS
  value: {{ .Values.config.schemas | quote }}
- name: SEARCHSYNC_INDEX_PREFIX
  value: {{ .Values.config.indexPrefix | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: SEARCHSYNC_CONFIG
  value: {{ include "searchsync.tableConfigDir" . | quote }}
{{- end }}

{{/* Render-time checks that the schema cannot express. */}}
{{- define "searchsync.validate" -}}
{{- $partitions := int .Values.config.topicPartitions }}
{{- if .Values.indexer.enabled }}
{{- if and .Values.indexer.autoscaling.enabled (gt (int .Values.indexer.autoscaling.maxReplicas) $partitions) }}
{{- fail (printf "indexer.autoscaling.maxReplicas (%d) exceeds config.topicPartitions (%d): a Kafka partition is consumed by one indexer replica at a time, the extra replicas would sit idle. Raise the partitions first." (int .Values.indexer.autoscaling.maxReplicas) $partitions) }}
{{- end }}
{{- if and (not .Values.indexer.autoscaling.enabled) (gt (int .Values.indexer.replicaCount) $partitions) }}
{{- fail (printf "indexer.replicaCount (%d) exceeds config.topicPartitions (%d): the extra replicas would sit idle." (int .Values.indexer.replicaCount) $partitions) }}
{{- end }}
{{- end }}
{{- range $name, $c := include "searchsync.components" . | fromYaml }}
{{- $v := index $.Values $c.key }}
{{- if and $v.enabled $v.autoscaling }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail (printf "%s.autoscaling.minReplicas exceeds %s.autoscaling.maxReplicas" $c.key $c.key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.tableConfig }}
{{- $tables := fromYaml .Values.tableConfig }}
{{- if hasKey $tables "Error" }}
{{- fail (printf "tableConfig is not a YAML mapping (%s): give the content of a searchsync.yaml as a string, e.g. tableConfig: |\n  tables:\n    staff:\n      exclude: [password]" (get $tables "Error")) }}
{{- end }}
{{- end }}
{{- if .Values.strimzi.enabled }}
{{- if and (not .Values.strimzi.connect.image) (not .Values.strimzi.connect.build.outputImage) }}
{{- fail "strimzi.enabled needs strimzi.connect.image (a Connect image with the Debezium plugin) or strimzi.connect.build.outputImage (where Strimzi pushes the image it builds)" }}
{{- end }}
{{- end }}
{{- end }}
