{{- define "orchestrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "orchestrator.fullname" -}}
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

{{- define "orchestrator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "orchestrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orchestrator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "orchestrator.labels" -}}
helm.sh/chart: {{ include "orchestrator.chart" . }}
{{ include "orchestrator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "orchestrator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "orchestrator.channels" -}}
{{- .Values.channels | default (dict "mychannel" (list "MyOrg1MSP" "MyOrg2MSP")) | toJson }}
{{- end }}

{{- define "orchestrator.tlsSecretName" -}}
{{- if .Values.tls.create }}{{ include "orchestrator.fullname" . }}-tls{{ else }}{{ .Values.tls.secretName }}{{ end }}
{{- end }}

{{- define "orchestrator.postgresqlName" -}}
{{ include "orchestrator.fullname" . }}-postgresql
{{- end }}

{{/* The in-chart database's password: the value, else the one already in the cluster, else a new one. */}}
{{- define "orchestrator.postgresqlPassword" -}}
{{- if .Values.postgresql.password }}
{{- .Values.postgresql.password }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "orchestrator.postgresqlName" .) }}
{{- if and $existing $existing.data (index $existing.data "password") }}
{{- index $existing.data "password" | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment shared by the server, the migration Job and the wait for migrations. */}}
{{- define "orchestrator.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "orchestrator.postgresqlName" . }}
      key: password
- name: ORCHESTRATOR_DATABASE_URL
  value: "postgres://{{ .Values.postgresql.username }}:$(DATABASE_PASSWORD)@{{ include "orchestrator.postgresqlName" . }}:5432/{{ .Values.postgresql.database }}"
{{- else }}
- name: ORCHESTRATOR_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.secretName }}
      key: {{ .Values.database.urlKey }}
{{- end }}
- name: ORCHESTRATOR_DATA_DIR
  value: /var/lib/orchestrator
- name: ORCHESTRATOR_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/* The Helm hooks of the migration Job. With an external database (its Secret made beforehand)
the migrations run before anything else is installed or upgraded. With the in-chart PostgreSQL they
run after the install, once its pod exists (the Job retries until it answers): the servers wait
for them in an init container. */}}
{{- define "orchestrator.migrationHooks" -}}
{{- if .Values.postgresql.enabled }}post-install,pre-upgrade{{ else }}pre-install,pre-upgrade{{ end }}
{{- end }}
