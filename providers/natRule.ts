/**
 * The NatRule provider: one masquerade, SNAT or DNAT rule, through a {@link NatBackend}: iptables
 * (the `nat` table) or nftables (pulumi-overlay's own `inet pulumi_overlay` table), chosen by
 * `backend`. The rule carries a comment naming the resource, and only that rule is removed.
 * @module
 */
import { diffProperties, pick, type Props } from "./common";
import { type Backend, type BackendChoice, backendChanged, checkBackend, resolveBackend } from "./firewallBackend";
import { type MarkedInputs, defineProvider, markOf, markOfResource } from "./provider";
import {
    type CheckFailure,
    checkInteger,
    checkInterfaceName,
    checkNamespaceName,
    checkNetworkCidr,
    checkUnicastAddress,
    checkBoolean,
    checkOneOf,
    familyOf,
    isUnknown,
} from "./validate";
import type { NatBackend, NatRuleSpec } from "./nat/backend";
import { chainOf, iptablesBackend } from "./nat/iptables";
import { nftablesBackend } from "./nat/nftables";

/** Inputs after `check`: the rule, backend-neutral, without what create decides. */
export interface NatRuleInputs extends Omit<NatRuleSpec, "family" | "comment">, MarkedInputs {
    logicalName: string;
    /** The backend asked for; omitted: `auto`. */
    backend?: BackendChoice;
}

/** Outputs. */
export interface NatRuleOutputs extends NatRuleInputs {
    family: 4 | 6;
    table: "nat";
    chain: "POSTROUTING" | "PREROUTING" | "OUTPUT";
    /** The comment on the rule that marks it as this resource's. */
    comment: string;
    /** The backend the rule is in (what `auto` chose); omitted in states written before there were two: iptables. */
    activeBackend?: Backend;
}

const INPUT_KEYS = [
    "logicalName",
    "type",
    "source",
    "destination",
    "outInterface",
    "inInterface",
    "protocol",
    "port",
    "toAddress",
    "toPort",
    "destinationLocal",
    "chain",
    "netns",
    "mark",
    "backend",
] as const;
// `chain` is also an output (the chain the rule went to): left out of the program, it is the default.
// `backend` is compared by its own rule (`auto` that chose the backend in use is no change).
const rules = {
    replace: INPUT_KEYS.filter((key) => key !== "logicalName" && key !== "mark" && key !== "backend"),
    update: [],
    optional: ["chain"],
    deleteBeforeReplace: false,
};

/** The backend of a rule that exists: the one it was made with. */
function backendOf(outs: { activeBackend?: Backend }): NatBackend {
    return outs.activeBackend === "nftables" ? nftablesBackend : iptablesBackend;
}

/** The address family of the rule, from whichever addresses it names (IPv4 when none). */
function familyOfRule(rule: Partial<NatRuleInputs>): 4 | 6 {
    for (const value of [rule.source, rule.destination, rule.toAddress]) {
        if (typeof value === "string" && !isUnknown(value)) {
            const family = familyOf(value);
            if (family) return family;
        }
    }
    return 4;
}

function specOf(rule: NatRuleInputs, comment: string): NatRuleSpec {
    return { ...rule, family: familyOfRule(rule), comment };
}

/** Cross-field rules: what each type needs and refuses. Pure. */
export function checkNatRule(rule: Props): (CheckFailure | undefined)[] {
    const has = (key: string) => rule[key] !== undefined;
    const out: (CheckFailure | undefined)[] = [
        checkOneOf("type", rule.type, ["masquerade", "snat", "dnat"]),
        has("source") ? checkNetworkCidr("source", rule.source) : undefined,
        has("destination") ? checkNetworkCidr("destination", rule.destination) : undefined,
        has("outInterface") ? checkInterfaceName("outInterface", rule.outInterface) : undefined,
        has("inInterface") ? checkInterfaceName("inInterface", rule.inInterface) : undefined,
        has("protocol") ? checkOneOf("protocol", rule.protocol, ["tcp", "udp", "sctp"]) : undefined,
        has("port") ? checkInteger("port", rule.port, 1, 65535, "port") : undefined,
        has("toAddress") ? checkUnicastAddress("toAddress", rule.toAddress) : undefined,
        has("toPort") ? checkInteger("toPort", rule.toPort, 1, 65535, "port") : undefined,
        has("netns") ? checkNamespaceName("netns", rule.netns) : undefined,
        has("destinationLocal") ? checkBoolean("destinationLocal", rule.destinationLocal) : undefined,
        checkBackend("backend", rule.backend),
    ];
    if (has("chain") && !isUnknown(rule.type)) {
        const allowed = rule.type === "dnat" ? ["PREROUTING", "OUTPUT"] : ["POSTROUTING"];
        out.push(checkOneOf("chain", rule.chain, allowed));
        if (rule.chain === "OUTPUT" && has("inInterface")) {
            out.push({
                property: "inInterface",
                reason: "a dnat rule in OUTPUT sees the host's own packets, which arrive on no interface: leave inInterface out",
            });
        }
    }
    if ((has("port") || has("toPort")) && !has("protocol")) {
        out.push({ property: has("port") ? "port" : "toPort", reason: "a port needs a protocol: set protocol to 'tcp', 'udp' or 'sctp'" });
    }
    if (rule.type === "snat" || rule.type === "dnat") {
        if (!has("toAddress")) out.push({ property: "toAddress", reason: `a ${rule.type} rule needs toAddress, the address to rewrite to` });
    }
    if (rule.type === "masquerade" && has("toAddress")) {
        out.push({ property: "toAddress", reason: "a masquerade rule takes the outgoing interface's address; use type 'snat' to give toAddress" });
    }
    if (rule.type === "dnat" && has("outInterface") && rule.chain !== "OUTPUT") {
        out.push({ property: "outInterface", reason: "a dnat rule runs in PREROUTING, before routing: match inInterface instead of outInterface" });
    }
    if ((rule.type === "masquerade" || rule.type === "snat") && has("inInterface")) {
        out.push({ property: "inInterface", reason: `a ${rule.type} rule runs in POSTROUTING, after routing: match outInterface instead of inInterface` });
    }
    const families = ["source", "destination", "toAddress"]
        .filter((k) => typeof rule[k] === "string" && !isUnknown(rule[k]))
        .map((k) => [k, familyOf(rule[k])] as const)
        .filter(([, f]) => f !== undefined);
    const mixed = families.find(([, f]) => f !== families[0][1]);
    if (mixed) {
        out.push({ property: mixed[0], reason: `${mixed[0]} is IPv${mixed[1]} but ${families[0][0]} is IPv${families[0][1]}; a rule is of one family` });
    }
    return out;
}

export const provider = defineProvider<NatRuleInputs, NatRuleOutputs>({
    rules,
    marked: true,

    async diff(_id, olds, news) {
        const result = diffProperties(olds, news, rules);
        if (!backendChanged(olds, news)) return result;
        return { ...result, changes: true, replaces: [...(result.replaces ?? []), "backend"], deleteBeforeReplace: false };
    },

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as NatRuleInputs;
        // Outputs the inputs decide (the mark is chosen by check), given as inputs too.
        const failures = checkNatRule(inputs);
        if (!failures.some((f) => f !== undefined)) Object.assign(inputs, { family: familyOfRule(inputs), table: "nat", chain: chainOf(inputs) });
        return { inputs, failures };
    },

    /**
     * Equivalent to: `iptables -w -t nat -A POSTROUTING|PREROUTING <match> -m comment --comment $mark -j MASQUERADE|SNAT|DNAT`,
     * or with nftables `nft add rule inet pulumi_overlay nat.postrouting <match> masquerade comment $mark`.
     */
    async create(rule) {
        const comment = markOf(rule);
        const spec = specOf(rule, comment);
        const activeBackend = await resolveBackend(rule.netns, rule.backend);
        const backend = backendOf({ activeBackend });
        // Already there with this resource's mark: a create of it that was cut off added it.
        if ((await backend.state(spec)) === "absent") await backend.add(spec);
        return { id: comment, outs: { ...rule, family: spec.family, table: "nat", chain: chainOf(rule), comment, activeBackend } };
    },

    /** Equivalent to: `iptables -w -t nat -C CHAIN <rule>` (nftables: `nft -j list table inet pulumi_overlay`). */
    async read(id, props) {
        const comment = markOfResource(props)!;
        const spec = specOf(props, comment);
        if ((await backendOf(props).state(spec)) === "absent") return {};
        const outs: NatRuleOutputs = { ...props, family: spec.family, table: "nat", chain: chainOf(spec), comment };
        return { id: id || comment, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `iptables -w -t nat -D CHAIN <rule>` (nftables: `nft delete rule ... handle H`); a rule or namespace already gone is success. */
    async delete(_id, props) {
        const spec = specOf(props, markOfResource(props)!);
        await backendOf(props).remove(spec);
    },
});
