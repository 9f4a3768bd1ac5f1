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
tenant-network-namespace: only namespaces listed in the chart value policy.tenantNetworkNamespaces may write a whole CNI network in a claim; use a DeviceClass of an admin network, or ask the cluster admin to add this namespace
claim-override: a claim may set on an admin network only what the network's claimOverrides allow (interfaceName, mac, ips); ask the cluster admin to allow it
address-range: addresses in a claim must lie inside the CIDRs the cluster admin allows (policy.allowedCIDRs, or the admin network's claimOverrides.ips)
reserved-address: link-local, loopback, multicast, unspecified and the cluster's pod and service addresses (policy.clusterCIDRs) are never allowed in a claim
plugin-type: a claim may use only the CNI plugin types in policy.allowedPluginTypes, each as a bare name (IPAM types only as IPAM); use a DeviceClass of an admin network for anything else
parent-link: a claim may attach only to host links the cluster admin allows (policy.allowedParentLinks, policy.allowedBridges) or to the host interface allocated to it; a parent must always be named
host-flag: settings that change the node itself (isGateway, isDefaultGateway, ipMasq, ipMasqBackend, forceAddress, hairpinMode, promiscMode, firewall, portmap) are only for admin networks
sysctl: a claim may set only the tuning sysctls listed in policy.allowedSysctls
forbidden-key: keys that make a plugin open node files or sockets (policy.forbiddenKeys, compared as the plugins compare keys) may not appear in a claim
key-spelling: CNI plugins read JSON keys case-insensitively; write the keys the policy checks exactly as documented (e.g. "ipam", "type", "master")
duplicate-key: two keys of one object that a CNI plugin would read as the same key (case-insensitively) are not allowed; keep one
limits: the CNIConfig of a claim must stay within the size limits of policy.limits (maxDepth, maxNodes, maxBytes)
cni-version: cniVersion must be a CNI version the driver and the network's plugins support (e.g. "1.0.0")
cni-args: cniArgs keys and values may not contain ";" or "=", and may not set keys the driver or the plugins reserve (K8S_*, IgnoreUnknown, IP, MAC, GATEWAY, NDRA_*); cniArgs in claims need a namespace in policy.tenantNetworkNamespaces
unreferenced-claim: list the claim in the resources.claims of every container that needs the interface; a claim no container references would leave the pod without its network
interface-name: interfaceName must be 1-15 printable ASCII characters without "/", ":" or spaces, and not a name every pod already has (lo, eth0)
network-name: a network name in a claim must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$ (the driver derives the name the plugins see from it and the namespace)
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
{{- $src := index . 0 }}{{ $m := int (index . 1) }}{{ $inner := index . 2 }}{{ $fn := index . 3 }}{{ $tail := index . 4 }}{{ $outerTail := index . 5 -}}
{{- $expr := $inner }}{{ $var := "n" -}}
{{- range $j := until (int (sub $m 1)) }}
{{- $i := sub (sub $m 1) $j }}
{{- $expr = printf "a%d.%s(%s, %s)%s" $i $fn $var $expr $tail }}
{{- $var = printf "a%d" $i }}
{{- end }}
{{- printf "%s.%s(%s, %s)%s" $src $fn $var $expr $outerTail }}
{{- end }}
{{/* nestMap prunes empty lists below the outermost layer (whose positions match the entries), so a
level costs what its nodes cost, not what every earlier level held. */}}
{{- define "network-dra.nestMap" -}}
{{- include "network-dra.nestWrap" (list (index . 0) (index . 1) (index . 2) "map" ".filter(x, size(x) > 0)" "") }}
{{- end }}
{{- define "network-dra.nestExists" -}}
{{- include "network-dra.nestWrap" (list (index . 0) (index . 1) (index . 2) "exists" "" "") }}
{{- end }}
{{- define "network-dra.nestJoin" -}}
{{- include "network-dra.nestWrap" (list (index . 0) (index . 1) (index . 2) "map" ".filter(s, s != '').join('; ')" ".filter(s, s != '').join('; ')") }}
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

{{/* Keys the policy relies on (src/claims/json-keys.ts POLICY_KEYS): their canonical spellings. */}}
{{- define "network-dra.policyKeys" -}}
{{- list "cniVersion" "cniVersions" "name" "plugins" "disableCheck" "disableGC" "type" "ipam" "master" "device" "hwaddr" "pciBusID" "bridge" "vlanId" "linkInContainer" "mode" "mac" "ips" "ranges" "subnet" "rangeStart" "rangeEnd" "gateway" "addresses" "address" "routes" "dst" "gw" "sysctl" "capabilities" "args" "cni" "isGateway" "isDefaultGateway" "ipMasq" "ipMasqBackend" "forceAddress" "hairpinMode" "promiscMode" | toJson }}
{{- end }}

{{/*
A key k as Go's encoding/json compares it, as far as it can meet an ASCII key: "ſ" (U+017F) reads
as "s", the Kelvin sign (U+212A) as "k", ASCII letters case-insensitively. (No other rune folds to
ASCII; keys differing only in other runes are not told apart here, the daemon folds them all.)
*/}}
{{- define "network-dra.celFold" -}}
{{ . }}.replace('\u017f', 's').replace('\u212a', 'k').lowerAscii()
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

{{/* Reserved address blocks (src/claims/addresses.ts ALWAYS_RESERVED) and policy.clusterCIDRs. */}}
{{- define "network-dra.reservedCIDRs" -}}
{{- concat (list "0.0.0.0/8" "127.0.0.0/8" "169.254.0.0/16" "224.0.0.0/4" "255.255.255.255/32" "::/128" "::1/128" "fe80::/10" "ff00::/8") (default list .Values.policy.clusterCIDRs) | toJson }}
{{- end }}

{{/* CNI spec versions the driver implements (src/cni/version.ts KNOWN_CNI_VERSIONS). */}}
{{- define "network-dra.knownCniVersions" -}}
["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
{{- end }}

{{/* CNI_ARGS keys and key prefixes a claim may not set (src/claims/claim-rules.ts). */}}
{{- define "network-dra.reservedCniArgs" -}}
["IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID", "IP", "MAC", "GATEWAY"]
{{- end }}
{{- define "network-dra.reservedCniArgPrefixes" -}}
["K8S_", "NDRA_"]
{{- end }}

{{/* Plugin types that are never IPAM plugins (src/claims/network-rules.ts NON_IPAM_TYPES). */}}
{{- define "network-dra.nonIpamTypes" -}}
["bridge", "macvlan", "ipvlan", "vlan", "ptp", "host-device", "tuning", "bandwidth", "sbr", "loopback", "firewall", "portmap", "vrf", "dummy", "tap"]
{{- end }}

{{/* Keys that select a host NIC (src/claims/network-rules.ts DEVICE_SELECTORS). */}}
{{- define "network-dra.deviceSelectors" -}}
["device", "hwaddr", "pciBusID"]
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
