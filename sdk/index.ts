/**
 * pulumi-overlay: Linux overlay networks as typed Pulumi resources: network namespaces, veth
 * pairs, bridges, addresses, routes, NAT rules, sysctls, IP leases, firewall chains, endpoints
 * (a namespace plugged into a bridge), traffic control (rate and impairment), hosts files,
 * network probes, accept rules in a host firewall's chains and VXLAN devices,
 * and the components BridgeNetwork (a whole network) and
 * SandboxHost (a host side of its own, for trying things out).
 * @packageDocumentation
 */
import { assertNodeVersion } from "./nodeVersion";

assertNodeVersion(process.versions.node);
export * from "./namespace";
export * from "./bridge";
export * from "./veth";
export * from "./address";
export * from "./route";
export * from "./natRule";
export * from "./sysctl";
export { HostCommandError, type HostCommandErrorFields, type HostErrorKind } from "../providers/host/errors";
export { UNKNOWN, type CheckFailure } from "../providers/validate";
export * from "./ipLease";
export * from "./endpoint";
export * from "./firewallChain";
export * from "./bridgeNetwork";
export * from "./trafficControl";
export * from "./hostsFile";
export * from "./networkProbe";
export * from "./acceptIn";
export * from "./vxlan";
export * from "./overlayNetwork";
export type { ConnectionArgs } from "./connection";
export { renderDiagram, type Diagram, type DiagramAttachment, type DiagramModel } from "./diagram";
export * from "./sandbox";
export type { FirewallRuleSpec } from "../providers/firewallChain";
