{{- define "backend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "backend.fullname" -}}
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

{{- define "backend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of one component (api, consumer, worker, postgresql, ...): pass (list . "api"). */}}
{{- define "backend.selectorLabels" -}}
{{- $ := index . 0 }}
app.kubernetes.io/name: {{ include "backend.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "backend.labels" -}}
{{- $ := index . 0 }}
helm.sh/chart: {{ include "backend.chart" $ }}
{{ include "backend.selectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
substra.org/organization: {{ $.Values.organization.id | quote }}
{{- end }}

{{- define "backend.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "backend.channels" -}}
{{- .Values.channels | default (dict "mychannel" (dict)) | toJson }}
{{- end }}

{{/* BACKEND_URL_PREFIX, "/api" or "": urlPrefix, or /api when the frontend needs the API under a path. */}}
{{- define "backend.urlPrefix" -}}
{{- $prefix := trimAll "/" (.Values.urlPrefix | default (ternary "/api" "" .Values.frontend.enabled)) }}
{{- if and .Values.frontend.enabled (not $prefix) }}
{{- fail "frontend.enabled needs the API under a path: set urlPrefix (such as /api), not /" }}
{{- end }}
{{- with $prefix }}/{{ . }}{{ end }}
{{- end }}

{{- define "backend.generatedSecret" -}}
{{ include "backend.fullname" . }}-generated
{{- end }}

{{- define "backend.orchestratorTlsSecret" -}}
{{- if .Values.orchestrator.tls.create }}{{ include "backend.fullname" . }}-orchestrator-tls{{ else }}{{ .Values.orchestrator.tls.secretName }}{{ end }}
{{- end }}

{{/* A generated credential: the one already in the cluster, else a new one (kept across upgrades). */}}
{{- define "backend.generated" -}}
{{- $ := index . 0 }}
{{- $key := index . 1 }}
{{- $existing := lookup "v1" "Secret" $.Release.Namespace (include "backend.generatedSecret" $) }}
{{- if and $existing $existing.data (index $existing.data $key) }}
{{- index $existing.data $key | b64dec }}
{{- else }}
{{- randAlphaNum 40 }}
{{- end }}
{{- end }}

{{/* The database URL (BACKEND_DATABASE_URL): what the migrations need. */}}
{{- define "backend.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "backend.generatedSecret" . }}
      key: postgresql-password
- name: BACKEND_DATABASE_URL
  value: "postgres://{{ .Values.postgresql.username }}:$(DATABASE_PASSWORD)@{{ include "backend.fullname" . }}-postgresql:5432/{{ .Values.postgresql.database }}"
{{- else }}
- name: BACKEND_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.secretName }}
      key: {{ .Values.database.urlKey }}
{{- end }}
- name: BACKEND_DATA_DIR
  value: /var/lib/backend
- name: BACKEND_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/* Every setting of an organization's processes (docs/backend.md, docs/compute.md). */}}
{{- define "backend.env" -}}
{{ include "backend.databaseEnv" . }}
- name: BACKEND_ORG_ID
  value: {{ required "organization.id is required" .Values.organization.id | quote }}
{{- with .Values.organization.name }}
- name: BACKEND_ORG_NAME
  value: {{ . | quote }}
{{- end }}
- name: BACKEND_CHANNELS
  value: {{ include "backend.channels" . | quote }}
{{- with .Values.publicUrl }}
- name: BACKEND_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- with include "backend.urlPrefix" . }}
- name: BACKEND_URL_PREFIX
  value: {{ . | quote }}
{{- end }}
- name: BACKEND_SECRET_KEY
  valueFrom:
    secretKeyRef:
      {{- if .Values.secretKey.secretName }}
      name: {{ .Values.secretKey.secretName }}
      key: {{ .Values.secretKey.key }}
      {{- else }}
      name: {{ include "backend.generatedSecret" . }}
      key: secret-key
      {{- end }}
{{- if .Values.ingress.enabled }}
- name: BACKEND_USE_X_FORWARDED_HOST
  value: "true"
- name: BACKEND_TRUST_X_FORWARDED_PROTO
  value: "true"
{{- end }}
- name: BACKEND_S3_BUCKET
  value: {{ required "s3.bucket is required: every pod of the organization shares its files" .Values.s3.bucket | quote }}
{{- if .Values.minio.enabled }}
- name: BACKEND_S3_ENDPOINT_URL
  value: "http://{{ include "backend.fullname" . }}-minio:9000"
- name: BACKEND_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "backend.generatedSecret" . }}
      key: minio-user
- name: BACKEND_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "backend.generatedSecret" . }}
      key: minio-password
{{- else }}
{{- with .Values.s3.endpointUrl }}
- name: BACKEND_S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.s3.credentials.secretName }}
- name: BACKEND_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.s3.credentials.accessKeyKey }}
- name: BACKEND_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.s3.credentials.secretKeyKey }}
{{- end }}
{{- end }}
- name: BACKEND_S3_REGION
  value: {{ .Values.s3.region | quote }}
{{- with .Values.orchestrator.address }}
- name: ORCHESTRATOR_ADDRESS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.orchestrator.serverName }}
- name: ORCHESTRATOR_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
- name: ORCHESTRATOR_TLS_CA
  value: /etc/substra/orchestrator/ca.crt
- name: ORCHESTRATOR_TLS_CERT
  value: /etc/substra/orchestrator/tls.crt
- name: ORCHESTRATOR_TLS_KEY
  value: /etc/substra/orchestrator/tls.key
{{- if .Values.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "backend.generatedSecret" . }}
      key: redis-password
- name: CELERY_BROKER_URL
  value: "redis://:$(REDIS_PASSWORD)@{{ include "backend.fullname" . }}-redis:6379/0"
{{- else }}
- name: CELERY_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.broker.secretName }}
      key: {{ .Values.broker.urlKey }}
{{- end }}
- name: COMPUTE_QUEUE
  value: "{{ .Values.organization.id }}.compute"
- name: COMPUTE_BUILD_QUEUE
  value: "{{ .Values.organization.id }}.builds"
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* The organization's orchestrator identity, mounted where ORCHESTRATOR_TLS_* point. */}}
{{- define "backend.orchestratorTlsVolume" -}}
- name: orchestrator-tls
  secret:
    secretName: {{ include "backend.orchestratorTlsSecret" . }}
    defaultMode: 0440
    items:
      - key: {{ .Values.orchestrator.tls.certKey }}
        path: tls.crt
      - key: {{ .Values.orchestrator.tls.keyKey }}
        path: tls.key
      - key: {{ .Values.orchestrator.tls.caKey }}
        path: ca.crt
{{- end }}

{{/* Waits until the database schema is up to date (the migration hook Job's work). */}}
{{- define "backend.waitForMigrations" -}}
- name: wait-for-migrations
  image: {{ include "backend.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - sh
    - -c
    - until python manage.py migrate --check >/dev/null 2>&1; do echo "waiting for the database and its migrations"; sleep 5; done
  env:
    {{- include "backend.databaseEnv" . | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.jobs.resources | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: /var/lib/backend
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/* Pod-level settings shared by every pod of the organization's processes. */}}
{{- define "backend.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The Helm hooks of the migration Job (see the orchestrator chart's orchestrator.migrationHooks). */}}
{{- define "backend.migrationHooks" -}}
{{- if .Values.postgresql.enabled }}post-install,pre-upgrade{{ else }}pre-install,pre-upgrade{{ end }}
{{- end }}
