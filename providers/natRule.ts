/**
 * The NatRule provider: one masquerade, SNAT or DNAT rule, through a {@link NatBackend}
 * (iptables today). The rule carries a comment naming the resource, and only that rule is removed.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, definedResults, diffProperties, markOf, pick, type Props } from "./common";
import {
    type CheckFailure,
    checkInteger,
    checkInterfaceName,
    checkNamespaceName,
    checkNetworkCidr,
    checkAddress,
    checkBoolean,
    checkOneOf,
    familyOf,
    isUnknown,
} from "./host/validate";
import type { NatBackend, NatRuleSpec, NatType } from "./nat/backend";
import { chainOf, iptablesBackend } from "./nat/iptables";

/** Inputs after `check`: the rule, backend-neutral, without what create decides. */
export interface NatRuleInputs extends Omit<NatRuleSpec, "family" | "comment"> {
    logicalName: string;
    /** The ownership mark, chosen by check (see common.ts: definedResults). */
    mark?: string;
}

/** Outputs. */
export interface NatRuleOutputs extends NatRuleInputs {
    family: 4 | 6;
    table: "nat";
    chain: "POSTROUTING" | "PREROUTING" | "OUTPUT";
    /** The comment on the rule that marks it as this resource's. */
    comment: string;
}

const INPUT_KEYS = ["logicalName", "type", "source", "destination", "outInterface", "inInterface", "protocol", "port", "toAddress", "toPort", "destinationLocal", "chain", "netns", "mark"] as const;
// `chain` is also an output (the chain the rule went to): left out of the program, it is the default.
const rules = { replace: INPUT_KEYS.filter((k) => k !== "logicalName" && k !== "mark"), update: [], optional: ["chain"], deleteBeforeReplace: false } as const;

/** The backend in use. One today; the choice lives here so that the resource's API does not change. */
function backendFor(_rule: NatRuleSpec): NatBackend {
    return iptablesBackend;
}

/** The address family of the rule, from whichever addresses it names (IPv4 when none). */
function familyOfRule(r: Partial<NatRuleInputs>): 4 | 6 {
    for (const value of [r.source, r.destination, r.toAddress]) {
        if (typeof value === "string" && !isUnknown(value)) {
            const family = familyOf(value);
            if (family) return family;
        }
    }
    return 4;
}

function specOf(r: NatRuleInputs, comment: string): NatRuleSpec {
    return { ...r, family: familyOfRule(r), comment };
}

/** Cross-field rules: what each type needs and refuses. Pure. */
export function checkNatRule(r: Props): (CheckFailure | undefined)[] {
    const has = (key: string) => r[key] !== undefined;
    const out: (CheckFailure | undefined)[] = [
        checkOneOf("type", r.type, ["masquerade", "snat", "dnat"]),
        has("source") ? checkNetworkCidr("source", r.source) : undefined,
        has("destination") ? checkNetworkCidr("destination", r.destination) : undefined,
        has("outInterface") ? checkInterfaceName("outInterface", r.outInterface) : undefined,
        has("inInterface") ? checkInterfaceName("inInterface", r.inInterface) : undefined,
        has("protocol") ? checkOneOf("protocol", r.protocol, ["tcp", "udp", "sctp"]) : undefined,
        has("port") ? checkInteger("port", r.port, 1, 65535, "port") : undefined,
        has("toAddress") ? checkAddress("toAddress", r.toAddress) : undefined,
        has("toPort") ? checkInteger("toPort", r.toPort, 1, 65535, "port") : undefined,
        has("netns") ? checkNamespaceName("netns", r.netns) : undefined,
        has("destinationLocal") ? checkBoolean("destinationLocal", r.destinationLocal) : undefined,
    ];
    if (has("chain") && !isUnknown(r.type)) {
        const allowed = r.type === "dnat" ? ["PREROUTING", "OUTPUT"] : ["POSTROUTING"];
        out.push(checkOneOf("chain", r.chain, allowed));
        if (r.chain === "OUTPUT" && has("inInterface")) {
            out.push({ property: "inInterface", reason: "a dnat rule in OUTPUT sees the host's own packets, which arrive on no interface: leave inInterface out" });
        }
    }
    if ((has("port") || has("toPort")) && !has("protocol")) {
        out.push({ property: has("port") ? "port" : "toPort", reason: "a port needs a protocol: set protocol to 'tcp', 'udp' or 'sctp'" });
    }
    if (r.type === "snat" || r.type === "dnat") {
        if (!has("toAddress")) out.push({ property: "toAddress", reason: `a ${r.type} rule needs toAddress, the address to rewrite to` });
    }
    if (r.type === "masquerade" && has("toAddress")) {
        out.push({ property: "toAddress", reason: "a masquerade rule takes the outgoing interface's address; use type 'snat' to give toAddress" });
    }
    if (r.type === "dnat" && has("outInterface") && r.chain !== "OUTPUT") {
        out.push({ property: "outInterface", reason: "a dnat rule runs in PREROUTING, before routing: match inInterface instead of outInterface" });
    }
    if ((r.type === "masquerade" || r.type === "snat") && has("inInterface")) {
        out.push({ property: "inInterface", reason: `a ${r.type} rule runs in POSTROUTING, after routing: match outInterface instead of inInterface` });
    }
    const families = ["source", "destination", "toAddress"]
        .filter((k) => typeof r[k] === "string" && !isUnknown(r[k]))
        .map((k) => [k, familyOf(r[k])] as const)
        .filter(([, f]) => f !== undefined);
    const mixed = families.find(([, f]) => f !== families[0][1]);
    if (mixed) {
        out.push({ property: mixed[0], reason: `${mixed[0]} is IPv${mixed[1]} but ${families[0][0]} is IPv${families[0][1]}; a rule is of one family` });
    }
    return out;
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(_olds: Props, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        return checkResult(inputs, checkNatRule(inputs));
    },

    async diff(_id: string, olds: Props, news: Props) {
        return diffProperties(olds, news, rules);
    },

    /** Equivalent to: `iptables -w -t nat -A POSTROUTING|PREROUTING <match> -m comment --comment $mark -j MASQUERADE|SNAT|DNAT`. */
    async create(props: Props) {
        const r = props as NatRuleInputs;
        const comment = markOf(r);
        const spec = specOf(r, comment);
        await backendFor(spec).add(spec);
        const outs: NatRuleOutputs = { ...r, family: spec.family, table: "nat", chain: chainOf(r), comment };
        return { id: comment, outs };
    },

    /** Equivalent to: `iptables -w -t nat -C CHAIN <rule>`. */
    async read(id: string, props: Props) {
        const comment = props.comment ?? props.mark;
        const spec = specOf(props as NatRuleInputs, comment);
        if ((await backendFor(spec).state(spec)) === "absent") return {};
        const outs: NatRuleOutputs = { ...(props as NatRuleInputs), family: spec.family, table: "nat", chain: chainOf(spec), comment };
        return { id: id || comment, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `iptables -w -t nat -D CHAIN <rule>`; a rule or namespace already gone is success. */
    async delete(_id: string, props: Props) {
        const spec = specOf(props as NatRuleInputs, props.comment ?? props.mark);
        await backendFor(spec).remove(spec);
    },
}, { marked: true });
