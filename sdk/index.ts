/**
 * pulumi-overlay: Linux overlay networks (network namespaces, veth pairs, bridges, addresses,
 * routes, NAT rules, sysctls) as typed Pulumi resources.
 * @packageDocumentation
 */
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
export { renderDiagram, type Diagram, type DiagramAttachment, type DiagramModel } from "./diagram";
export * from "./sandbox";
export type { FirewallRuleSpec } from "../providers/firewallChain";
