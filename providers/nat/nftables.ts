/**
 * The nftables NAT backend: one rule in a NAT base chain of pulumi-overlay's own table
 * (`table inet pulumi_overlay`: `nat.postrouting` for masquerade and SNAT, `nat.prerouting` or
 * `nat.output` for DNAT), carrying the owner's mark as its comment. Written as JSON through
 * `nft -j -f -`, batched per namespace (see ../nftables/table.ts).
 * @module
 */
import { changeOurTable, sharedOurTable } from "../nftables/table";
import { type Listing, natBaseChain, natExprs, nftComment, OUR_TABLE, ourRule } from "../nftables/rules";
import type { NatBackend, NatRuleSpec, RuleState } from "./backend";
import { chainOf } from "./iptables";

/** Our rules for this NAT rule in the table (normally one). */
function ours(table: Listing | undefined, rule: NatRuleSpec) {
    const chain = natBaseChain(chainOf(rule)).name;
    const comment = nftComment(rule.comment);
    return (table?.rules ?? []).filter((r) => r.chain === chain && r.comment === comment);
}

/** The nftables backend. */
export const nftablesBackend: NatBackend = {
    /** Equivalent to: `nft add rule inet pulumi_overlay nat.postrouting <match> masquerade comment MARK` (table and chain made if missing). */
    async add(rule) {
        const base = natBaseChain(chainOf(rule));
        await changeOurTable(rule.netns, {
            subject: `${rule.type} rule "${rule.comment}"`,
            baseChains: [base],
            commands: () => [{ add: { rule: ourRule(base.name, nftComment(rule.comment), natExprs(rule)) } }],
        });
    },

    /** Present when our table holds a rule with this mark in the rule's chain. Equivalent to: `nft -j list table inet pulumi_overlay`. */
    async state(rule): Promise<RuleState> {
        return ours(await sharedOurTable(rule.netns), rule).length > 0 ? "present" : "absent";
    },

    /** Equivalent to: `nft delete rule inet pulumi_overlay CHAIN handle H`; the table goes with its last rule; gone is success. */
    async remove(rule) {
        await changeOurTable(rule.netns, {
            subject: `${rule.type} rule "${rule.comment}"`,
            baseChains: [],
            commands: (table) =>
                ours(table, rule).map((r) => ({ delete: { rule: { family: OUR_TABLE.family, table: OUR_TABLE.name, chain: r.chain, handle: r.handle } } })),
        });
    },
};
