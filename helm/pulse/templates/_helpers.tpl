{{/*
Names and labels.
*/}}
{{- define "pulse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pulse.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pulse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of a component's resources. Call with (dict "root" $ "name" "gateway"). */}}
{{- define "pulse.componentFullname" -}}
{{- printf "%s-%s" (include "pulse.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of a component (stable across upgrades). */}}
{{- define "pulse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pulse.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* All labels of a component's resources. */}}
{{- define "pulse.labels" -}}
helm.sh/chart: {{ include "pulse.chart" .root }}
{{ include "pulse.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: pulse
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/*
A component's effective settings as YAML: the shared values overridden by its own block under
`components`. Maps merge key by key; a list or a scalar in the component replaces the shared
one. Use: $c := fromYaml (include "pulse.component" (dict "root" $ "name" "gateway")).
*/}}
{{- define "pulse.component" -}}
{{- $v := .root.Values -}}
{{- $own := index $v.components .name | default dict -}}
{{- $shared := dict
      "image" $v.image
      "env" $v.env
      "resources" $v.resources
      "probes" $v.probes
      "podSecurityContext" $v.podSecurityContext
      "securityContext" $v.securityContext
      "tmpVolume" $v.tmpVolume
      "terminationGracePeriodSeconds" $v.terminationGracePeriodSeconds
      "podAnnotations" $v.podAnnotations
      "podLabels" $v.podLabels
      "nodeSelector" $v.nodeSelector
      "tolerations" $v.tolerations
      "affinity" $v.affinity
-}}
{{- toYaml (mergeOverwrite (deepCopy $shared) (deepCopy $own)) -}}
{{- end -}}

{{/*
A component's image reference. `<image.repository>/<name>` unless the component sets its own
repository; the tag falls back to the chart's appVersion.
*/}}
{{- define "pulse.image" -}}
{{- $v := .root.Values -}}
{{- $own := (index $v.components .name).image | default dict -}}
{{- $repository := $own.repository | default (printf "%s/%s" $v.image.repository .name) -}}
{{- $tag := $own.tag | default $v.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository (toString $tag) -}}
{{- end -}}

{{/* Pull policy of a component's image. */}}
{{- define "pulse.imagePullPolicy" -}}
{{- $own := (index .root.Values.components .name).image | default dict -}}
{{- $own.pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end -}}

{{/* Name of the Secret holding the credentials. */}}
{{- define "pulse.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "pulse.fullname" .) -}}
{{- end -}}

{{/*
The container environment of a component. Call with
(dict "root" $ "name" "archiver" "component" $c "secretName" "...").
*/}}
{{- define "pulse.env" -}}
{{- $root := .root -}}
{{- $c := .component -}}
{{- $secretName := .secretName -}}
{{- $managed := list "PULSE_NATS_URL" "PULSE_HTTP_PORT" "OTEL_EXPORTER_OTLP_ENDPOINT" "OTEL_EXPORTER_OTLP_PROTOCOL" -}}
- name: PULSE_NATS_URL
  value: {{ required "nats.url is required: the NATS server every component connects to" $root.Values.nats.url | quote }}
- name: PULSE_HTTP_PORT
  value: {{ $c.port | int | toString | quote }}
{{- with $root.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $root.Values.otel.protocol }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- range $envName, $secret := $c.secretEnv }}
{{- $key := index $root.Values.secrets.keys $secret | default "" }}
{{- if not $key }}
{{- fail (printf "components.%s.secretEnv.%s: secrets.keys has no entry %q" $.name $envName $secret) }}
{{- end }}
{{- if and (not $root.Values.secrets.existingSecret) (not (index $root.Values.secrets $secret)) }}
{{- fail (printf "component %s needs secrets.%s (for %s), or secrets.existingSecret naming a Secret with the key %q" $.name $secret $envName $key) }}
{{- end }}
{{- $managed = append $managed $envName }}
- name: {{ $envName }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $key }}
{{- end }}
{{- range $envName, $value := $c.env }}
{{- if has $envName $managed }}
{{- fail (printf "env %s of component %s is set by the chart; use the dedicated value (nats.url, components.<name>.port, otel.*, secrets.*)" $envName $.name) }}
{{- end }}
- name: {{ $envName }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* The writable /tmp every container gets (the root filesystem is read-only). */}}
{{- define "pulse.tmpVolume" -}}
- name: tmp
  {{- with .tmpVolume.sizeLimit }}
  emptyDir:
    sizeLimit: {{ . }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end -}}

{{/* Non-empty when the migrations hook Job is rendered (archiver and migrations enabled). */}}
{{- define "pulse.migrationsEnabled" -}}
{{- $archiver := .Values.components.archiver | default dict -}}
{{- if and .Values.migrations.enabled $archiver.enabled -}}true{{- end -}}
{{- end -}}

{{/* Secret the migrations Job reads: the hook copy, or the existing Secret. */}}
{{- define "pulse.migrationsSecretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-migrations" (include "pulse.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
