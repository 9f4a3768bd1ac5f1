{{/*
Shared helpers: names, labels, image, the driver name and the daemon defaults the chart must know.

The daemon's defaults live in the binary (src/config.ts). The chart passes an env var only when the
user set the value. The few defaults the chart needs for itself (host paths it mounts, the port it
probes, the names it gives DeviceClasses and RBAC rules) are mirrored here, in one place, and must
stay equal to the daemon's built-in defaults.
*/}}

{{- define "network-dra.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "network-dra.fullname" -}}
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

{{- define "network-dra.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "network-dra.selectorLabels" -}}
app.kubernetes.io/name: {{ include "network-dra.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "network-dra.labels" -}}
helm.sh/chart: {{ include "network-dra.chart" . }}
{{ include "network-dra.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: network-dra
{{- end }}

{{- define "network-dra.serviceAccountName" -}}
{{- default (include "network-dra.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* Image reference: repository:tag, or repository@digest when a digest is given. */}}
{{- define "network-dra.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* DRA driver name (ResourceSlice spec.driver). Mirrors the daemon default network-dra.dev. */}}
{{- define "network-dra.driverName" -}}
{{- default "network-dra.dev" .Values.driverName }}
{{- end }}

{{/* apiVersion of the opaque CNIConfig parameters (the project's config API, independent of the driver name). */}}
{{- define "network-dra.configApiVersion" -}}
network-dra.dev/v1alpha1
{{- end }}

{{/* Cluster-scoped object names carry the release's fullname and namespace so two releases never clash. */}}
{{- define "network-dra.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "network-dra.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Host paths (mirrors of the daemon defaults; see FLAGS in the README). */}}
{{- define "network-dra.kubeletDir" -}}
{{- default "/var/lib/kubelet" .Values.paths.kubeletDir | trimSuffix "/" }}
{{- end }}
{{- define "network-dra.cdiRoot" -}}
{{- default "/var/run/cdi" .Values.paths.cdiRoot }}
{{- end }}
{{- define "network-dra.stateDir" -}}
{{- default "/var/lib/network-dra" .Values.paths.stateDir }}
{{- end }}
{{- define "network-dra.hookSocket" -}}
{{- default "/run/network-dra/hook.sock" .Values.paths.hookSocket }}
{{- end }}
{{- define "network-dra.hookPath" -}}
{{- default "/opt/network-dra/bin/network-dra-hook" .Values.paths.hookPath }}
{{- end }}
{{- define "network-dra.cniCacheDir" -}}
{{- default "/var/lib/cni" .Values.paths.cniCacheDir }}
{{- end }}
{{- define "network-dra.cniBinDirs" -}}
{{- if .Values.plugin.cniBinDirs }}{{ join ":" .Values.plugin.cniBinDirs }}{{ else }}/opt/cni/bin:/usr/lib/cni{{ end }}
{{- end }}
{{- /* Mount point of the node's root filesystem in the plugin container (cniExecution chroot). */ -}}
{{- define "network-dra.hostRootMount" -}}
/host
{{- end }}
{{- define "network-dra.httpPort" -}}
{{- if kindIs "invalid" .Values.http.port }}9465{{ else }}{{ int .Values.http.port }}{{ end }}
{{- end }}

{{/*
The plugin pod's own health socket, in its private /tmp (emptyDir): each pod of a rolling update has
its own, so an exec probe always reaches the instance of its own pod.
*/}}
{{- define "network-dra.healthSocket" -}}
/tmp/network-dra-health.sock
{{- end }}
{{/* Exec probe command: (list $ "/healthz"). */}}
{{- define "network-dra.probeCommand" -}}
{{- $ctx := index . 0 -}}
{{- $path := index . 1 -}}
["/usr/local/bin/node", "/app/dist/src/probe.js", {{ include "network-dra.healthSocket" $ctx | quote }}, {{ $path | quote }}, {{ mul (int $ctx.Values.probes.timeoutSeconds) 1000 | toString | quote }}]
{{- end }}

{{/* Where the image carries the hook executable; the init container copies it to the host. */}}
{{- define "network-dra.imageHookPath" -}}
/opt/network-dra/bin/network-dra-hook
{{- end }}

{{/* Where the policy ConfigMap is mounted in the plugin container. */}}
{{- define "network-dra.policyFile" -}}
/etc/network-dra/policy/policy.json
{{- end }}

{{/*
The policy document (issue 7 contract §1, v2) read by the daemon (POLICY_FILE). The claim admission
policies render their CEL from the same values. Every key is written, so the file says exactly what
the chart enforces at admission.
*/}}
{{- define "network-dra.policy" -}}
{{- $p := .Values.policy -}}
{{- $l := $p.limits -}}
{{- dict
  "tenantNetworkNamespaces" (default list $p.tenantNetworkNamespaces)
  "allowedPluginTypes" (default list $p.allowedPluginTypes)
  "allowedParentLinks" (default list $p.allowedParentLinks)
  "allowedBridges" (default list $p.allowedBridges)
  "allowedCIDRs" (default list $p.allowedCIDRs)
  "clusterCIDRs" (default list $p.clusterCIDRs)
  "allowedSysctls" (default list $p.allowedSysctls)
  "forbiddenKeys" (default list $p.forbiddenKeys)
  "limits" (dict "maxDepth" (int $l.maxDepth) "maxNodes" (int $l.maxNodes) "maxBytes" (int $l.maxBytes))
  | toPrettyJson }}
{{- end }}

{{/* DeviceClass names. */}}
{{- define "network-dra.attachmentClassName" -}}
{{- default (printf "attachment.%s" (include "network-dra.driverName" .)) .Values.deviceClasses.attachment.name }}
{{- end }}
{{- define "network-dra.hostInterfaceClassName" -}}
{{- default (printf "host-interface.%s" (include "network-dra.driverName" .)) .Values.deviceClasses.hostInterface.name }}
{{- end }}

{{- define "network-dra.sharedHostLinkClassName" -}}
{{- default (printf "shared-host-link.%s" (include "network-dra.driverName" .)) .Values.deviceClasses.sharedHostLink.name }}
{{- end }}

{{/* CEL selecting this driver's devices of one kind ("attachment", "host-interface" or "shared-host-link"). */}}
{{- define "network-dra.kindSelector" -}}
{{- $driver := index . 0 }}{{ $kind := index . 1 -}}
device.driver == {{ $driver | quote }} && device.attributes[{{ $driver | quote }}].kind == {{ $kind | quote }}
{{- end }}
