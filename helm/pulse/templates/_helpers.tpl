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
Deep merge as YAML: `over` on top of `base`. Maps merge key by key; anything else set in
`over` wins, false, 0, "" and [] included (sprig's mergeOverwrite would skip those). A null
in `over` keeps the base value.
*/}}
{{- define "pulse.deepMerge" -}}
{{- $out := deepCopy (.base | default dict) -}}
{{- range $key, $value := (.over | default dict) -}}
{{- $current := get $out $key -}}
{{- if and (kindIs "map" $value) (kindIs "map" $current) -}}
{{- $_ := set $out $key (fromYaml (include "pulse.deepMerge" (dict "base" $current "over" $value))) -}}
{{- else if not (kindIs "invalid" $value) -}}
{{- $_ := set $out $key (deepCopy $value) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
A component's effective settings as YAML: the shared values overridden by its own block
under `components`. Use: $c := fromYaml (include "pulse.component" (dict "root" $ "name" "gateway")).
*/}}
{{- define "pulse.component" -}}
{{- $v := .root.Values -}}
{{- $own := index $v.components .name | default dict -}}
{{- $shared := dict -}}
{{- range $key := list "image" "env" "resources" "probes" "podSecurityContext" "securityContext" "tmpVolume" "terminationGracePeriodSeconds" "strategy" "minReadySeconds" "revisionHistoryLimit" "topologySpread" "autoscaling" "keda" "podDisruptionBudget" "podAnnotations" "podLabels" "priorityClassName" "nodeSelector" "tolerations" "affinity" -}}
{{- $_ := set $shared $key (get $v $key) -}}
{{- end -}}
{{- include "pulse.deepMerge" (dict "base" $shared "over" $own) -}}
{{- end -}}

{{/*
A component's image reference: `<image.repository>/<name>` unless the component sets its
own repository; the tag falls back to the chart's appVersion; a digest wins over the tag.
*/}}
{{- define "pulse.image" -}}
{{- $v := .root.Values -}}
{{- $own := (index $v.components .name).image | default dict -}}
{{- $repository := $own.repository | default (printf "%s/%s" $v.image.repository .name) -}}
{{- if $own.digest -}}
{{- printf "%s@%s" $repository $own.digest -}}
{{- else -}}
{{- $tag := $own.tag | default $v.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository (toString $tag) -}}
{{- end -}}
{{- end -}}

{{/* Pull policy of a component's image. */}}
{{- define "pulse.imagePullPolicy" -}}
{{- $own := (index .root.Values.components .name).image | default dict -}}
{{- $own.pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end -}}

{{/*
Secret, ConfigMap and dependency names.
*/}}
{{- define "pulse.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "pulse.fullname" .) -}}
{{- end -}}

{{- define "pulse.providersSecretName" -}}
{{- .Values.secrets.existingProviderSecret | default (printf "%s-providers" (include "pulse.fullname" .) | trunc 63 | trimSuffix "-") -}}
{{- end -}}

{{/* Non-empty when there are provider keys to hand to the provider-facing components. */}}
{{- define "pulse.hasProviderKeys" -}}
{{- if or .Values.secrets.existingProviderSecret .Values.secrets.providerKeys -}}true{{- end -}}
{{- end -}}

{{- define "pulse.agentsConfigMapName" -}}
{{- .Values.agents.existingConfigMap | default (printf "%s-agents" (include "pulse.fullname" .) | trunc 63 | trimSuffix "-") -}}
{{- end -}}

{{/* The agent/price files mounted into component .name, as a list in YAML ([] if none). */}}
{{- define "pulse.agentFiles" -}}
{{- $a := .root.Values.agents -}}
{{- $files := list -}}
{{- if has .name $a.components -}}
{{- if or $a.existingConfigMap $a.profiles -}}
{{- $files = append $files (dict "key" "agents.yaml" "env" "PULSE_AGENTS_FILE") -}}
{{- end -}}
{{- if or $a.existingConfigMap $a.prices -}}
{{- $files = append $files (dict "key" "prices.yaml" "env" "PULSE_PRICES_FILE") -}}
{{- end -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{- define "pulse.natsAuthSecretName" -}}
{{- .Values.natsAuth.configSecretName | default (printf "%s-nats-auth" (include "pulse.fullname" .) | trunc 63 | trimSuffix "-") -}}
{{- end -}}

{{/* Secret with one component's NATS credentials. Call with (dict "root" $ "name" ...). */}}
{{- define "pulse.natsUserSecretName" -}}
{{- printf "%s-nats-%s" (include "pulse.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Hook Secret of the setup Job (it runs before the release's own Secrets exist). */}}
{{- define "pulse.setupSecretName" -}}
{{- printf "%s-setup" (include "pulse.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fullname of a dependency chart, the way it computes its own. Call with (dict "root" $ "chart" "nats"). */}}
{{- define "pulse.dependencyFullname" -}}
{{- $values := index .root.Values .chart | default dict -}}
{{- if $values.fullnameOverride -}}
{{- $values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .chart $values.nameOverride -}}
{{- if contains $name .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod labels of a bundled dependency, for NetworkPolicy peers. */}}
{{- define "pulse.dependencyPodLabels" -}}
{{- $values := index .root.Values .chart | default dict -}}
app.kubernetes.io/name: {{ default .chart $values.nameOverride }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* PULSE_NATS_URL without credentials: the bundled NATS or externalNats.url. */}}
{{- define "pulse.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s.%s.svc:4222" (include "pulse.dependencyFullname" (dict "root" . "chart" "nats")) .Release.Namespace -}}
{{- else -}}
{{- required "externalNats.url is required: the NATS server every component connects to (or set nats.enabled)" .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{/* host:port of the NATS monitoring endpoint KEDA reads. */}}
{{- define "pulse.natsMonitoringEndpoint" -}}
{{- if .Values.nats.enabled -}}
{{- printf "%s-headless.%s.svc:8222" (include "pulse.dependencyFullname" (dict "root" . "chart" "nats")) .Release.Namespace -}}
{{- else -}}
{{- .Values.externalNats.monitoringEndpoint -}}
{{- end -}}
{{- end -}}

{{/* Every server of the NATS URL with user and password. Call with (dict "root" $ "user" ... "password" ...). */}}
{{- define "pulse.natsUrlWithCredentials" -}}
{{- $servers := list -}}
{{- range $server := splitList "," (include "pulse.natsUrl" .root) -}}
{{- $server = trim $server -}}
{{- if $server -}}
{{- $parsed := urlParse $server -}}
{{- $servers = append $servers (printf "%s://%s:%s@%s" $parsed.scheme $.user $.password $parsed.host) -}}
{{- end -}}
{{- end -}}
{{- join "," $servers -}}
{{- end -}}

{{/* A NATS user's name. Call with (dict "root" $ "name" "gateway"); "setup" is the Job's. */}}
{{- define "pulse.natsUser" -}}
{{- printf "%s%s" .root.Values.natsAuth.userPrefix .name -}}
{{- end -}}

{{/*
A NATS user's password: natsAuth.passwords.<name>, else the one already in the cluster,
else a new random one. Call once per render and keep the result.
*/}}
{{- define "pulse.natsPassword" -}}
{{- $given := index .root.Values.natsAuth.passwords .name | default "" -}}
{{- if $given -}}
{{- $given -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace (include "pulse.natsUserSecretName" .) -}}
{{- if and $existing $existing.data (hasKey $existing.data "password") -}}
{{- index $existing.data "password" | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The reply-inbox prefix of component .name. */}}
{{- define "pulse.inboxPrefix" -}}
{{- $inbox := .root.Values.natsAuth.inbox -}}
{{- if $inbox.perService -}}
{{- printf "%s.%s" $inbox.prefix .name -}}
{{- else -}}
{{- $inbox.prefix -}}
{{- end -}}
{{- end -}}

{{/*
The NATS permissions of component .name, derived from its `bus` block, as YAML
({publish: {allow: [...]}, subscribe: {allow: [...]}}). JetStream is driven through
`$JS.API.*` request subjects; every consumer gets exactly its own consumer's API, acks and
dead-letter subject, every bucket its own `$KV` subjects.
*/}}
{{- define "pulse.natsPermissions" -}}
{{- $v := .root.Values -}}
{{- $bus := .bus -}}
{{- $pub := list "$JS.API.INFO" -}}
{{- $sub := list (printf "%s.>" (include "pulse.inboxPrefix" .)) -}}
{{- range $bus.publish -}}
{{- $pub = append $pub . -}}
{{- end -}}
{{- range $bus.subscribe -}}
{{- $sub = append $sub . -}}
{{- end -}}
{{- if $v.natsAuth.servicesManageStreams -}}
{{- range $v.bus.streams -}}
{{- $pub = concat $pub (list (printf "$JS.API.STREAM.CREATE.%s" .) (printf "$JS.API.STREAM.UPDATE.%s" .) (printf "$JS.API.STREAM.INFO.%s" .)) -}}
{{- end -}}
{{- range $bus.kv -}}
{{- $pub = append $pub (printf "$JS.API.STREAM.CREATE.KV_%s" .) -}}
{{- end -}}
{{- end -}}
{{- range $consumer := $bus.consumers -}}
{{- $s := $consumer.stream -}}
{{- $d := $consumer.durable -}}
{{- $pub = concat $pub (list (printf "$JS.API.CONSUMER.INFO.%s.%s" $s $d) (printf "$JS.API.CONSUMER.CREATE.%s.%s" $s $d) (printf "$JS.API.CONSUMER.CREATE.%s.%s.>" $s $d) (printf "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s" $s $d) (printf "$JS.API.CONSUMER.MSG.NEXT.%s.%s" $s $d) (printf "$JS.ACK.%s.%s.>" $s $d) (printf "%s.%s" $v.bus.dlqPrefix $d)) -}}
{{- /* Dead-lettering a message JetStream gave up on reads it from its stream, then removes it. */ -}}
{{- $pub = concat $pub (list (printf "$JS.API.STREAM.INFO.%s" $s) (printf "$JS.API.STREAM.MSG.GET.%s" $s) (printf "$JS.API.DIRECT.GET.%s" $s) (printf "$JS.API.DIRECT.GET.%s.>" $s) (printf "$JS.API.STREAM.MSG.DELETE.%s" $s)) -}}
{{- end -}}
{{- /* Purging a stream by subject (the executor withdraws timers it made moot). */ -}}
{{- range ($bus.purge | default list) -}}
{{- $pub = append $pub (printf "$JS.API.STREAM.PURGE.%s" .) -}}
{{- end -}}
{{- /* Every broker watches max-deliveries advisories and counts its dead letters. */ -}}
{{- $sub = append $sub "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.*.*" -}}
{{- $pub = append $pub (printf "$JS.API.STREAM.INFO.%s" $v.bus.dlqStream) -}}
{{- range $bus.kv -}}
{{- $pub = concat $pub (list (printf "$KV.%s.>" .) (printf "$JS.API.STREAM.INFO.KV_%s" .) (printf "$JS.API.DIRECT.GET.KV_%s" .) (printf "$JS.API.DIRECT.GET.KV_%s.>" .) (printf "$JS.API.STREAM.MSG.GET.KV_%s" .) (printf "$JS.API.CONSUMER.CREATE.KV_%s" .) (printf "$JS.API.CONSUMER.CREATE.KV_%s.>" .) (printf "$JS.API.CONSUMER.DELETE.KV_%s.>" .)) -}}
{{- end -}}
{{- /* Object stores hold outputs too large for a message: put, get, watch chunks. */ -}}
{{- range ($bus.objectStores | default list) -}}
{{- $pub = concat $pub (list (printf "$O.%s.>" .) (printf "$JS.API.STREAM.INFO.OBJ_%s" .) (printf "$JS.API.STREAM.MSG.GET.OBJ_%s" .) (printf "$JS.API.DIRECT.GET.OBJ_%s" .) (printf "$JS.API.DIRECT.GET.OBJ_%s.>" .) (printf "$JS.API.CONSUMER.CREATE.OBJ_%s" .) (printf "$JS.API.CONSUMER.CREATE.OBJ_%s.>" .) (printf "$JS.API.CONSUMER.DELETE.OBJ_%s.>" .)) -}}
{{- if $v.natsAuth.servicesManageStreams -}}
{{- $pub = append $pub (printf "$JS.API.STREAM.CREATE.OBJ_%s" .) -}}
{{- end -}}
{{- end -}}
{{- /* Read-only views (the gateway): ephemeral ordered consumers following a stream's
subjects (created without a name, so no durable can be taken over; their flow-control
replies), and with consumerLag every consumer's info, for health and back-pressure. */ -}}
{{- with $bus.observe -}}
{{- range (.streams | default list) -}}
{{- $pub = concat $pub (list (printf "$JS.API.CONSUMER.CREATE.%s" .) (printf "$JS.API.CONSUMER.INFO.%s.*" .) (printf "$JS.FC.%s.>" .)) -}}
{{- end -}}
{{- if .consumerLag -}}
{{- range $v.bus.streams -}}
{{- $pub = concat $pub (list (printf "$JS.API.CONSUMER.LIST.%s" .) (printf "$JS.API.CONSUMER.INFO.%s.*" .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $permissions := dict "publish" (dict "allow" (uniq $pub)) "subscribe" (dict "allow" (uniq $sub)) -}}
{{- /* Answering requests (the adapter's LLM endpoint) publishes to the requester's inbox. */ -}}
{{- if $bus.respond -}}
{{- $_ := set $permissions "allow_responses" true -}}
{{- end -}}
{{- toYaml $permissions -}}
{{- end -}}

{{/* The setup Job's NATS permissions: create, update and inspect the streams and buckets. */}}
{{- define "pulse.setupNatsPermissions" -}}
{{- $v := .root.Values -}}
{{- $pub := list "$JS.API.INFO" -}}
{{- $streams := $v.bus.streams -}}
{{- range $v.bus.kvBuckets -}}
{{- $streams = append $streams (printf "KV_%s" .) -}}
{{- end -}}
{{- range ($v.bus.objectStores | default list) -}}
{{- $streams = append $streams (printf "OBJ_%s" .) -}}
{{- end -}}
{{- range $streams -}}
{{- $pub = concat $pub (list (printf "$JS.API.STREAM.CREATE.%s" .) (printf "$JS.API.STREAM.UPDATE.%s" .) (printf "$JS.API.STREAM.INFO.%s" .)) -}}
{{- end -}}
{{- $sub := list (printf "%s.>" (include "pulse.inboxPrefix" .)) -}}
{{- toYaml (dict "publish" (dict "allow" $pub) "subscribe" (dict "allow" $sub)) -}}
{{- end -}}

{{/*
PULSE_NATS_URL for component (or "setup") .name: a plain value, or with natsAuth a
reference to the Secret holding its URL with credentials. .secretName/.secretKey point at
that Secret when the caller knows better (the setup Job's hook Secret).
*/}}
{{- define "pulse.natsUrlEnv" -}}
{{- $auth := .root.Values.natsAuth -}}
- name: PULSE_NATS_URL
{{- if not $auth.enabled }}
  value: {{ include "pulse.natsUrl" .root | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      {{- if $auth.existingSecret }}
      name: {{ $auth.existingSecret }}
      key: {{ .name }}
      {{- else }}
      name: {{ .secretName | default (include "pulse.natsUserSecretName" .) }}
      key: {{ .secretKey | default "url" }}
      {{- end }}
{{- if $auth.inbox.perService }}
- name: PULSE_NATS_INBOX_PREFIX
  value: {{ include "pulse.inboxPrefix" . | quote }}
{{- end }}
{{- if not $auth.servicesManageStreams }}
- name: PULSE_PROVISION_STREAMS
  value: "false"
{{- end }}
{{- end }}
{{- end -}}

{{/*
An environment variable holding the database URL: from the credentials Secret, or put
together from the bundled PostgreSQL's Secret. Call with
(dict "root" $ "envName" "PULSE_DATABASE_URL" "secretName" ... "secretKey" ...).
*/}}
{{- define "pulse.databaseUrlEnv" -}}
{{- $pg := .root.Values.postgresql -}}
{{- if $pg.enabled }}
{{- $host := include "pulse.dependencyFullname" (dict "root" .root "chart" "postgresql") }}
- name: PULSE_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $pg.auth.existingSecret | default $host }}
      key: {{ $pg.auth.secretKeys.userPasswordKey | default "password" }}
- name: {{ .envName }}
  value: {{ printf "postgresql://%s:$(PULSE_DATABASE_PASSWORD)@%s.%s.svc:5432/%s" $pg.auth.username $host .root.Release.Namespace $pg.auth.database | quote }}
{{- else }}
- name: {{ .envName }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .secretKey }}
{{- end }}
{{- end -}}

{{/* Fails the render when the database URL has no source. */}}
{{- define "pulse.requireDatabaseUrl" -}}
{{- $v := .root.Values -}}
{{- if and (not $v.postgresql.enabled) (not $v.secrets.existingSecret) (not $v.secrets.databaseUrl) -}}
{{- fail (printf "%s needs secrets.databaseUrl (for PULSE_DATABASE_URL), secrets.existingSecret naming a Secret with the key %q, or postgresql.enabled" .who $v.secrets.keys.databaseUrl) -}}
{{- end -}}
{{- if and $v.postgresql.enabled $v.secrets.databaseUrl -}}
{{- fail "secrets.databaseUrl and postgresql.enabled are both set: choose the external or the bundled PostgreSQL" -}}
{{- end -}}
{{- end -}}

{{/* OTLP variables from otel.*. */}}
{{- define "pulse.otelEnv" -}}
{{- with .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.otel.protocol }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Variables the chart sets itself; `env` may not repeat them. */}}
{{- define "pulse.managedEnv" -}}
{{- toYaml (list "PULSE_NATS_URL" "PULSE_NATS_INBOX_PREFIX" "PULSE_PROVISION_STREAMS" "PULSE_HTTP_PORT" "OTEL_EXPORTER_OTLP_ENDPOINT" "OTEL_EXPORTER_OTLP_PROTOCOL" "PULSE_DATABASE_PASSWORD" "PULSE_AGENTS_FILE" "PULSE_PRICES_FILE") -}}
{{- end -}}

{{/* The plain `env` map of a component as a list, refusing chart-managed names. */}}
{{- define "pulse.plainEnv" -}}
{{- $managed := concat (fromYamlArray (include "pulse.managedEnv" .)) (keys (.component.secretEnv | default dict)) -}}
{{- range $envName, $value := .component.env }}
{{- if has $envName $managed }}
{{- fail (printf "env %s of %s is set by the chart; use the dedicated value (externalNats.url, components.<name>.port, otel.*, secrets.*, agents.*)" $envName $.name) }}
{{- end }}
- name: {{ $envName }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
The container environment of a component. Call with
(dict "root" $ "name" "archiver" "component" $c).
*/}}
{{- define "pulse.env" -}}
{{- $root := .root -}}
{{- $c := .component -}}
{{- include "pulse.natsUrlEnv" (dict "root" $root "name" .name) }}
- name: PULSE_HTTP_PORT
  value: {{ $c.port | int | toString | quote }}
{{- include "pulse.otelEnv" $root }}
{{- range $envName, $field := $c.secretEnv }}
{{- $key := index $root.Values.secrets.keys $field | default "" }}
{{- if not $key }}
{{- fail (printf "components.%s.secretEnv.%s: secrets.keys has no entry %q" $.name $envName $field) }}
{{- end }}
{{- if eq $field "databaseUrl" }}
{{- include "pulse.requireDatabaseUrl" (dict "root" $root "who" (printf "component %s" $.name)) }}
{{- include "pulse.databaseUrlEnv" (dict "root" $root "envName" $envName "secretName" (include "pulse.secretName" $root) "secretKey" $key) }}
{{- else }}
{{- if and (not $root.Values.secrets.existingSecret) (not (index $root.Values.secrets $field)) }}
{{- fail (printf "component %s needs secrets.%s (for %s), or secrets.existingSecret naming a Secret with the key %q" $.name $field $envName $key) }}
{{- end }}
- name: {{ $envName }}
  valueFrom:
    secretKeyRef:
      name: {{ include "pulse.secretName" $root }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- range (fromYamlArray (include "pulse.agentFiles" .)) }}
- name: {{ .env }}
  value: {{ printf "%s/%s" $root.Values.agents.mountPath .key | quote }}
{{- end }}
{{- include "pulse.plainEnv" . }}
{{- end -}}

{{/*
What a component's pods read from Secrets and ConfigMaps, hashed: a change rolls its pods.
*/}}
{{- define "pulse.configChecksum" -}}
{{- $v := .root.Values -}}
{{- $inputs := dict -}}
{{- range $envName, $field := .component.secretEnv -}}
{{- $_ := set $inputs $envName (index $v.secrets $field | default "") -}}
{{- end -}}
{{- if .component.egress.providers -}}
{{- $_ := set $inputs "providers" $v.secrets.providerKeys -}}
{{- end -}}
{{- if and $v.natsAuth.enabled (not $v.natsAuth.existingSecret) -}}
{{- $_ := set $inputs "nats" (include "pulse.natsPassword" .) -}}
{{- end -}}
{{- if has .name $v.agents.components -}}
{{- $_ := set $inputs "agents" (dict "profiles" $v.agents.profiles "prices" $v.agents.prices) -}}
{{- end -}}
{{- toJson $inputs | sha256sum -}}
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

{{/* Non-empty when component .name is autoscaled (HPA or KEDA): the Deployment leaves replicas alone. */}}
{{- define "pulse.autoscaled" -}}
{{- if or .component.autoscaling.enabled .component.keda.enabled -}}true{{- end -}}
{{- end -}}

{{/*
The setup Job: what it does and when. Non-empty "pulse.setupEnabled" when it is rendered.
*/}}
{{- define "pulse.setupMigrates" -}}
{{- $archiver := .Values.components.archiver | default dict -}}
{{- if and .Values.setup.enabled .Values.setup.migrate $archiver.enabled -}}true{{- end -}}
{{- end -}}

{{- define "pulse.setupProvisions" -}}
{{- if and .Values.setup.enabled .Values.setup.provision -}}true{{- end -}}
{{- end -}}

{{- define "pulse.setupEnabled" -}}
{{- if or (include "pulse.setupMigrates" .) (include "pulse.setupProvisions" .) -}}true{{- end -}}
{{- end -}}

{{/* Hook phases: before the release when its servers are elsewhere, after it when bundled. */}}
{{- define "pulse.setupHooks" -}}
{{- if .Values.setup.hooks -}}
{{- .Values.setup.hooks -}}
{{- else if or .Values.nats.enabled .Values.postgresql.enabled -}}
post-install,pre-upgrade
{{- else -}}
pre-install,pre-upgrade
{{- end -}}
{{- end -}}

{{/* Keys of the setup Job's hook Secret, as YAML: {database-url: ..., nats-url: ...}. */}}
{{- define "pulse.setupSecretNeeds" -}}
{{- $v := .Values -}}
{{- $needs := dict -}}
{{- if and (include "pulse.setupMigrates" .) (not $v.secrets.existingSecret) (not $v.postgresql.enabled) -}}
{{- $_ := set $needs "database-url" true -}}
{{- end -}}
{{- if and (include "pulse.setupProvisions" .) $v.natsAuth.enabled (not $v.natsAuth.existingSecret) -}}
{{- $_ := set $needs "nats-url" true -}}
{{- end -}}
{{- toYaml $needs -}}
{{- end -}}

{{/*
NetworkPolicy egress rules every Pulse pod needs: DNS and NATS.
*/}}
{{- define "pulse.baseEgress" -}}
{{- $np := .Values.networkPolicy -}}
- to:
    {{- toYaml $np.dns.to | nindent 4 }}
  ports:
    {{- toYaml $np.dns.ports | nindent 4 }}
{{- if .Values.nats.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "pulse.dependencyPodLabels" (dict "root" . "chart" "nats") | nindent 10 }}
  ports:
    - port: 4222
      protocol: TCP
{{- else }}
- ports:
    {{- toYaml $np.nats.ports | nindent 4 }}
  {{- with $np.nats.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if .Values.otel.endpoint }}
- ports:
    {{- toYaml $np.otel.ports | nindent 4 }}
  {{- with $np.otel.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Egress to PostgreSQL, bundled or not. */}}
{{- define "pulse.databaseEgress" -}}
{{- $np := .Values.networkPolicy -}}
{{- if .Values.postgresql.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "pulse.dependencyPodLabels" (dict "root" . "chart" "postgresql") | nindent 10 }}
  ports:
    - port: 5432
      protocol: TCP
{{- else }}
- ports:
    {{- toYaml $np.database.ports | nindent 4 }}
  {{- with $np.database.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* PULSE_DATABASE_URL of the setup Job: the hook Secret, an existing Secret or the bundled PostgreSQL. */}}
{{- define "pulse.setupDatabaseEnv" -}}
{{- include "pulse.requireDatabaseUrl" (dict "root" . "who" "the setup Job (migrations)") -}}
{{- $secretName := .Values.secrets.existingSecret | default (include "pulse.setupSecretName" .) -}}
{{- $secretKey := ternary .Values.secrets.keys.databaseUrl "database-url" (not (empty .Values.secrets.existingSecret)) -}}
{{- include "pulse.databaseUrlEnv" (dict "root" . "envName" "PULSE_DATABASE_URL" "secretName" $secretName "secretKey" $secretKey) -}}
{{- end -}}

{{/*
One container of the setup Job. Call with (dict "root" $ "name" ... "command" [...]
"container" {image, pullPolicy, resources, securityContext} "env" [rendered env lists]).
*/}}
{{- define "pulse.setupContainer" -}}
- name: {{ .name }}
  image: {{ .container.image | quote }}
  imagePullPolicy: {{ .container.pullPolicy }}
  command:
    {{- toYaml .command | nindent 4 }}
  env:
    {{- range (append .env (include "pulse.otelEnv" .root)) }}
    {{- with trim . }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- end }}
  resources:
    {{- toYaml .container.resources | nindent 4 }}
  securityContext:
    {{- toYaml .container.securityContext | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* The NATS config variable holding a user's password when you manage the credentials. */}}
{{- define "pulse.natsPasswordVariable" -}}
{{- printf "$PULSE_NATS_%s_PASSWORD" (.name | upper | replace "-" "_") -}}
{{- end -}}
