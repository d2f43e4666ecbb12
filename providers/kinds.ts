/**
 * The one list of resource kinds. Each entry names the SDK class, the provider module under
 * `dist/providers/` that its serialized shim loads (a compatibility contract: see
 * docs/compatibility.md), and its page under docs/resources/. Tests check the serialization, the
 * compatibility doc and the resource pages against this list; adding a kind starts here
 * (docs/development.md, "Adding a resource kind").
 * @module
 */
/** Prefix of every mark this project leaves on the host (link aliases, rule comments, records). */
export const MARK_PREFIX = "pulumi-overlay";

export const PROVIDER_KINDS = [
    { kind: "NetworkNamespace", module: "namespace", page: "namespace.md" },
    { kind: "Bridge", module: "bridge", page: "bridge.md" },
    { kind: "VethPair", module: "veth", page: "veth.md" },
    { kind: "Address", module: "address", page: "address.md" },
    { kind: "Route", module: "route", page: "route.md" },
    { kind: "NatRule", module: "natRule", page: "nat-rule.md" },
    { kind: "Sysctl", module: "sysctl", page: "sysctl.md" },
    { kind: "IpLease", module: "ipLease", page: "ip-lease.md" },
    { kind: "FirewallChain", module: "firewallChain", page: "firewall-chain.md" },
    { kind: "Endpoint", module: "endpoint", page: "endpoint.md" },
    { kind: "TrafficControl", module: "trafficControl", page: "traffic-control.md" },
    { kind: "HostsFile", module: "hostsFile", page: "hosts-file.md" },
    { kind: "NetworkProbe", module: "networkProbe", page: "network-probe.md" },
    { kind: "AcceptIn", module: "acceptIn", page: "accept-in.md" },
    { kind: "Vxlan", module: "vxlan", page: "vxlan.md" },
] as const;

/** A provider module under `dist/providers/`. */
export type ProviderModule = (typeof PROVIDER_KINDS)[number]["module"];

/** The kind a Pulumi type token names (`overlay:Bridge`). */
export type ProviderKind = (typeof PROVIDER_KINDS)[number]["kind"];
