{{/*
CEL building blocks of the claim admission policy (vap-claim-config.yaml), rendered from the same
`policy` and `networks` values as the daemon's policy file. CEL has no recursion, so the walks over a
claim's JSON are unrolled one level at a time, down to the depth limit (deeper is refused by the
limits rule): level variables hold nested lists (no list flattening before Kubernetes 1.35's
compatibility version), and the helpers below wrap an expression into as many nested map/exists/sum
calls as a level has list layers.
*/}}

{{/* The rule messages of src/claims/policy-rules.ts (POLICY_RULES); a unit test keeps them equal. */}}
{{- define "network-dra.ruleMessages" -}}
tenant-network-namespace: only namespaces the cluster admin lists in the chart value policy.tenantNetworkNamespaces may carry a CNI network in a claim; name an admin network's DeviceClass instead, or ask the cluster admin to grant this namespace
claim-override: a claim naming an admin network may set only the fields its claimOverrides allow (the cluster admin sets them in the chart value networks[].claimOverrides)
address-range: addresses and ranges must fall inside the CIDRs the cluster admin allows (chart value policy.allowedCIDRs, or the admin network's claimOverrides.ips)
reserved-address: link-local, loopback, multicast, unspecified and cluster (pod/service) addresses are never allowed
plugin-type: the plugin type is not allowed for claims (chart value policy.allowedPluginTypes); a type is a plugin name, never a path
parent-link: parent links, bridges and devices must be ones the cluster admin allows (chart values policy.allowedParentLinks, policy.allowedBridges) or the allocated host interface
host-flag: host-changing settings (isGateway, isDefaultGateway, ipMasq, ipMasqBackend, forceAddress, hairpinMode, promiscMode) and the firewall and portmap plugins are reserved for the cluster admin
sysctl: only the sysctls the cluster admin allows (chart value policy.allowedSysctls) may be set
forbidden-key: host paths, sockets and runtime fields may not be set in a claim (chart value policy.forbiddenKeys)
key-spelling: keys the policy relies on must use their canonical spelling (CNI plugins match keys case-insensitively)
duplicate-key: two keys of one object name the same field (CNI plugins match keys case-insensitively)
limits: the claim's parameters exceed a size limit (chart value policy.limits)
cni-version: the cniVersion is not supported by the driver and the network's plugins
cni-args: CNI_ARGS keys and values may not contain ';' or '=' and may not set the driver's own keys
{{- end }}

{{/* The message of one rule: include "network-dra.ruleText" (list $ "id"). */}}
{{- define "network-dra.ruleText" -}}
{{- $root := index . 0 }}{{ $id := index . 1 -}}
{{- $msgs := dict -}}
{{- range splitList "\n" (include "network-dra.ruleMessages" $root) }}
{{- $kv := regexSplit ": " . 2 }}
{{- $_ := set $msgs (index $kv 0) (index $kv 1) }}
{{- end }}
{{- if not (hasKey $msgs $id) }}{{ fail (printf "no rule message for %s" $id) }}{{ end }}
{{- index $msgs $id }}
{{- end }}

{{/* The message of one rule as a CEL string literal. */}}
{{- define "network-dra.ruleMessage" -}}
{{- include "network-dra.ruleText" . | toJson }}
{{- end }}

{{/* A validation's messageExpression: prefix, the problems of variable .var joined, the rule message. */}}
{{- define "network-dra.ruleMessageExpr" -}}
{{- $root := index . 0 }}{{ $id := index . 1 }}{{ $var := index . 2 -}}
'network-dra policy [{{ $id }}] ' + variables.{{ $var }}.join('; ') + '; ' + {{ include "network-dra.ruleMessage" (list $root $id) }}
{{- end }}

{{/* CEL children of node n: a map's values, a list's items, nothing for a scalar. */}}
{{- define "network-dra.celChildren" -}}
(type(n) == map ? n.map(k, n[k]) : (type(n) == list ? n : []))
{{- end }}

{{/*
Nested walks. A source SRC has M >= 1 list layers above its nodes (M = 1: a list of nodes). Each helper
takes (list SRC M INNER) where INNER is an expression of the node variable n.
- nestMap: the same nesting with each node replaced by INNER;
- nestExists: whether INNER holds for some node;
- nestJoin: the non-empty strings INNER gives, joined with "; ";
- nestCount (list SRC M): the number of nodes.
*/}}
{{- define "network-dra.nestWrap" -}}
{{- $src := index . 0 }}{{ $m := int (index . 1) }}{{ $inner := index . 2 }}{{ $fn := index . 3 }}{{ $tail := index . 4 -}}
{{- $expr := $inner }}{{ $var := "n" -}}
{{- range $j := until (int (sub $m 1)) }}
{{- $i := sub (sub $m 1) $j }}
{{- $expr = printf "a%d.%s(%s, %s)%s" $i $fn $var $expr $tail }}
{{- $var = printf "a%d" $i }}
{{- end }}
{{- printf "%s.%s(%s, %s)%s" $src $fn $var $expr $tail }}
{{- end }}
{{- define "network-dra.nestMap" -}}
{{- include "network-dra.nestWrap" (list (index . 0) (index . 1) (index . 2) "map" "") }}
{{- end }}
{{- define "network-dra.nestExists" -}}
{{- include "network-dra.nestWrap" (list (index . 0) (index . 1) (index . 2) "exists" "") }}
{{- end }}
{{- define "network-dra.nestJoin" -}}
{{- include "network-dra.nestWrap" (list (index . 0) (index . 1) (index . 2) "map" ".filter(s, s != '').join('; ')") }}
{{- end }}
{{- define "network-dra.nestCount" -}}
{{- $src := index . 0 }}{{ $m := int (index . 1) -}}
{{- if eq $m 1 }}size({{ $src }})
{{- else }}
{{- $expr := printf "size(a%d)" (sub $m 1) }}
{{- range $j := until (int (sub $m 2)) }}
{{- $i := sub (sub $m 2) $j }}
{{- $expr = printf "a%d.map(a%d, %s).sum()" $i (add $i 1) $expr }}
{{- end }}
{{- printf "%s.map(a1, %s).sum()" $src $expr }}
{{- end }}
{{- end }}

{{/* Keys the policy relies on (src/claims/policy-keys, contract §3): their canonical spellings. */}}
{{- define "network-dra.policyKeys" -}}
{{- list "type" "ipam" "master" "device" "bridge" "ips" "ranges" "subnet" "addresses" "address" "gateway" "rangeStart" "rangeEnd" "sysctl" "capabilities" "name" "cniVersion" "cniVersions" "plugins" "args" "cni" "isGateway" "isDefaultGateway" "ipMasq" "ipMasqBackend" "forceAddress" "hairpinMode" "promiscMode" "hwaddr" "pciBusID" "linkInContainer" "vlanId" "runtimeConfig" "routes" "dst" "gw" | toJson }}
{{- end }}

{{/* Host-changing plugin flags (contract §1) and the plugin types that change the host's firewall. */}}
{{- define "network-dra.hostFlags" -}}
["isGateway", "isDefaultGateway", "ipMasq", "ipMasqBackend", "forceAddress", "hairpinMode", "promiscMode"]
{{- end }}
{{- define "network-dra.hostPluginTypes" -}}
["firewall", "portmap"]
{{- end }}

{{/* Plugins that take a host link as parent in `master`. */}}
{{- define "network-dra.masterPluginTypes" -}}
["macvlan", "ipvlan", "vlan"]
{{- end }}

{{/* Always-reserved address blocks: unspecified, loopback, link-local, multicast, broadcast. */}}
{{- define "network-dra.reservedCIDRs" -}}
{{- concat (list "0.0.0.0/32" "127.0.0.0/8" "169.254.0.0/16" "224.0.0.0/4" "255.255.255.255/32" "::/128" "::1/128" "fe80::/10" "ff00::/8") (default list .Values.policy.clusterCIDRs) | toJson }}
{{- end }}

{{/* CNI spec versions the driver implements (src/cni/version.ts KNOWN_CNI_VERSIONS). */}}
{{- define "network-dra.knownCniVersions" -}}
["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
{{- end }}

{{/* CNI_ARGS keys the driver sets itself (src/claims/cni-config.ts RESERVED_CNI_ARGS). */}}
{{- define "network-dra.reservedCniArgs" -}}
["IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"]
{{- end }}

{{/*
Effective claimOverrides of every admin network, keyed by DeviceClass name:
{"<class>": {"interfaceName": bool, "mac": bool, "ips": [CIDR...]}}. Defaults (contract §2):
interfaceName and mac true; ips = the subnets of the network's IPAM (host-local ranges[][].subnet and
a legacy ipam.subnet, static addresses[].address).
*/}}
{{- define "network-dra.adminOverrides" -}}
{{- $driver := include "network-dra.driverName" . -}}
{{- $out := dict -}}
{{- range .Values.networks }}
{{- $o := default dict .claimOverrides }}
{{- $ips := list }}
{{- if hasKey $o "ips" }}
{{- $ips = default list $o.ips }}
{{- else }}
{{- range (default list .network.plugins) }}
{{- $ipam := default dict .ipam }}
{{- if $ipam.subnet }}{{ $ips = append $ips $ipam.subnet }}{{ end }}
{{- range (default list $ipam.ranges) }}
{{- range . }}{{ if .subnet }}{{ $ips = append $ips .subnet }}{{ end }}{{ end }}
{{- end }}
{{- range (default list $ipam.addresses) }}{{ if .address }}{{ $ips = append $ips .address }}{{ end }}{{ end }}
{{- end }}
{{- end }}
{{- $_ := set $out (printf "%s.%s" .name $driver) (dict "interfaceName" (ternary $o.interfaceName true (hasKey $o "interfaceName")) "mac" (ternary $o.mac true (hasKey $o "mac")) "ips" (uniq $ips)) }}
{{- end }}
{{- toJson $out }}
{{- end }}
