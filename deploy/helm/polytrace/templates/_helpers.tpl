{{/* Labels of every object; `component` is the one name used everywhere (compose, folder, OTEL_SERVICE_NAME). */}}
{{- define "polytrace.labels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/part-of: polytrace
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "polytrace.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "polytrace.secretName" -}}
{{- .Values.secrets.existingSecret | default "polytrace-db" -}}
{{- end -}}

{{/* Image of one of the four services or the gateway. */}}
{{- define "polytrace.serviceImage" -}}
{{- $svc := index .root.Values.services .component -}}
{{- $tag := $svc.tag | default .root.Values.images.tag | default .root.Chart.AppVersion -}}
{{- printf "%s%s:%s" .root.Values.images.registry $svc.repository $tag -}}
{{- end -}}

{{/*
The environment of one service: exactly the variables `polytrace up` sets (docs/CONVENTIONS.md,
polytrace/components.py), with in-cluster addresses. tests/deploy compares the two.
*/}}
{{- define "polytrace.serviceEnv" -}}
{{- $root := .root -}}
{{- $name := .component -}}
{{- $svc := index $root.Values.services $name -}}
- name: OTEL_SERVICE_NAME
  value: {{ $name | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ $root.Values.otlp.resourceAttributes | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.otlp.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: "http/protobuf"
- name: OTEL_TRACES_EXPORTER
  value: "otlp"
- name: OTEL_METRICS_EXPORTER
  value: "none"
- name: OTEL_LOGS_EXPORTER
  value: "none"
- name: OTEL_PROPAGATORS
  {{- /* catalog: the agent extension's propagator reads repeated headers as W3C requires */}}
  value: {{ ternary "tracecontext-multiheader,baggage" "tracecontext,baggage" (eq $name "catalog") | quote }}
- name: OTEL_BSP_SCHEDULE_DELAY
  value: "500"
- name: OTEL_SEMCONV_STABILITY_OPT_IN
  value: {{ ternary "http,database,code" "http,database" (eq $name "catalog") | quote }}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ $svc.port | quote }}
{{- if ne $name "gateway" }}
- name: PGHOST
  value: "postgres"
- name: PGPORT
  value: "5432"
- name: PGDATABASE
  value: "polytrace"
- name: PGUSER
  value: {{ $name | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "polytrace.secretName" $root }}
      key: {{ printf "%s-password" $name }}
{{- end }}
{{- if has $name (list "catalog" "analytics") }}
- name: MQTT_HOST
  value: "mosquitto"
- name: MQTT_PORT
  value: "1883"
- name: MQTT_TOPIC
  value: "analytics"
- name: MQTT_CLIENT_ID
  value: {{ $name | quote }}
{{- end }}
{{- if ne $name "gateway" }}
- name: FLAGD_RESOLVER
  value: "file"
- name: FLAGD_OFFLINE_FLAG_SOURCE_PATH
  value: "/etc/polytrace/flags/flags.json"
{{- end }}
{{- if eq $name "catalog" }}
- name: OTEL_JAVAAGENT_EXTENSIONS
  value: "/app/catalog-agent-extension.jar"
- name: PRICING_URL
  value: {{ printf "http://pricing:%v" $root.Values.services.pricing.port | quote }}
- name: STOCK_URL
  value: {{ printf "http://stock:%v" $root.Values.services.stock.port | quote }}
- name: OTEL_JAVA_EXPERIMENTAL_SPAN_ATTRIBUTES_COPY_FROM_BAGGAGE_INCLUDE
  value: "app.session"
- name: OTEL_INSTRUMENTATION_REACTOR_ENABLED
  value: "false"
{{- end }}
{{- if eq $name "pricing" }}
- name: OTEL_PYTHON_FLASK_EXCLUDED_URLS
  value: "^https?://[^/]+/health"
{{- end }}
{{- if eq $name "gateway" }}
- name: CATALOG_URL
  value: {{ printf "http://catalog:%v" $root.Values.services.catalog.port | quote }}
{{- /* Jaeger's read API (/api/traces/{id}); Zipkin's v2 API is local mode's viewer. */}}
- name: VIEWER_URL
  value: "http://jaeger:16686"
- name: FRONTEND_DIR
  value: "/srv/frontend"
- name: VIEWER_TRACE_URL
  value: "http://127.0.0.1:16686/trace/"
- name: VIEWER_TRACE_API
  value: ""
{{- end }}
{{- end -}}

{{/* Hardened container defaults for the four services and the gateway (their images run as a numeric non-root user). */}}
{{- define "polytrace.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
