/**
 * The shape every NAT backend has. The NatRule provider plans a {@link NatRuleSpec} and hands it to
 * a backend; iptables is the one there is today, and an nftables backend can be added beside it
 * without changing the resource's API.
 * @module
 */

/** The kinds of NAT rule. */
export type NatType = "masquerade" | "snat" | "dnat";

/** A NAT rule, backend-neutral: what to match and what to rewrite. */
export interface NatRuleSpec {
    type: NatType;
    family: 4 | 6;
    source?: string;
    destination?: string;
    outInterface?: string;
    inInterface?: string;
    protocol?: "tcp" | "udp" | "sctp";
    port?: number;
    toAddress?: string;
    toPort?: number;
    /** Match only packets addressed to one of the host's own addresses (`-m addrtype --dst-type LOCAL`). */
    destinationLocal?: boolean;
    /** For DNAT: PREROUTING (packets arriving, the default) or OUTPUT (packets the host itself sends). */
    chain?: "PREROUTING" | "OUTPUT" | "POSTROUTING";
    netns?: string;
    /** The ownership mark the backend attaches to the rule. */
    comment: string;
}

/** Where a rule stands on the host. */
export type RuleState = "present" | "absent";

/** A NAT backend: each method is idempotent and touches only the rule it is given. */
export interface NatBackend {
    /** Adds the rule; refuses when an identical rule without our mark is already there. */
    add(rule: NatRuleSpec): Promise<void>;
    /** Whether the rule, with our mark, is on the host (a missing namespace means absent). */
    state(rule: NatRuleSpec): Promise<RuleState>;
    /** Removes exactly this rule, with our mark; absent is success. */
    remove(rule: NatRuleSpec): Promise<void>;
}
