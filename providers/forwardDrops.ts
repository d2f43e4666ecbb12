/**
 * Other owners' drops, pure: the base chains of a namespace's nftables ruleset (`nft -j list
 * ruleset`) that drop what they do not accept, on the hooks a bridge network's traffic crosses
 * (forward; input, for the gateway; prerouting). In nftables every base chain on a hook sees each
 * packet and an accept in one table does not override a drop in another, so such a chain, in a
 * table that is not ours, breaks a bridge network whatever our own rules say (br_netfilter sends
 * bridged traffic through the forward hook too).
 *
 * A drop is *definite* when nothing in its chain can accept the network's traffic: no rule names
 * the bridge (or a wildcard that covers it) or the subnet, and none jumps elsewhere (a jump, goto
 * or verdict map, which firewalld's zones are made of). Definite drops fail a preview; the others
 * are left to the probe's pings, which are the proof.
 * @module
 */
import { type ListedChain, type ListedRule, OUR_TABLE, parseListing } from "./nftables/rules";

/** A base chain of another owner that drops what it does not accept. */
export interface ForwardDrop {
    family: string;
    table: string;
    chain: string;
    hook: string;
    priority: number;
    /** `policy drop`, or `a final drop rule`. */
    how: string;
    /** Nothing in the chain can accept the network's traffic (see the module's text). */
    definite: boolean;
    /** The chain is iptables' own (iptables-nft's `ip filter FORWARD`, Docker's), not native nftables. */
    iptables: boolean;
}

/** What the network is, for the judgement. */
export interface DropContext {
    /** The backend of the network's own rules: with iptables, its accepts sit in iptables' FORWARD, which is then no foreign drop. */
    backend?: "iptables" | "nftables";
    bridge?: string;
    subnets?: string[];
}

const HOOKS = ["forward", "input", "prerouting"];
const XTABLES = ["filter", "nat", "mangle", "raw", "security"];

/** The verdict a rule ends with when it has nothing else but counters or logging: `drop`, `reject`, or undefined. */
function bareVerdict(rule: ListedRule): string | undefined {
    const exprs = (rule.expr ?? []).filter((e) => !(typeof e === "object" && e !== null && ("counter" in e || "log" in e)));
    if (exprs.length !== 1 || typeof exprs[0] !== "object" || exprs[0] === null) return undefined;
    const key = Object.keys(exprs[0])[0];
    return key === "drop" || key === "reject" ? key : undefined;
}

/** Whether a rule may accept the network's traffic: it jumps elsewhere, or names its bridge or subnet. */
function mayAccept(rule: ListedRule, context: DropContext): boolean {
    const text = JSON.stringify(rule.expr ?? []);
    if (/"(jump|goto|vmap)"/.test(text)) return true;
    const strings = [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
    const bridge = context.bridge;
    if (bridge && strings.some((s) => s === bridge || (s.endsWith("*") && bridge.startsWith(s.slice(0, -1))))) return true;
    return (context.subnets ?? []).some((subnet) => strings.includes(subnet.split("/")[0]));
}

/** The base chains that drop the network's traffic, with whether it is certain. Pure. */
export function forwardDrops(ruleset: unknown, context: DropContext = {}): ForwardDrop[] {
    const { chains, rules } = parseListing(ruleset);
    const drops: ForwardDrop[] = [];
    for (const chain of chains as ListedChain[]) {
        if (!chain.hook || !HOOKS.includes(chain.hook) || (chain.type !== undefined && chain.type !== "filter")) continue;
        if (chain.family === OUR_TABLE.family && chain.table === OUR_TABLE.name) continue;
        const iptables = (chain.family === "ip" || chain.family === "ip6") && XTABLES.includes(chain.table);
        // iptables' FORWARD holds our own accepts when our rules are iptables ones.
        if (iptables && chain.hook === "forward" && context.backend !== "nftables") continue;
        const own = rules.filter((rule) => rule.family === chain.family && rule.table === chain.table && rule.chain === chain.name);
        const last = own[own.length - 1];
        const how = chain.policy === "drop" ? "policy drop" : last && bareVerdict(last) ? `a final ${bareVerdict(last)} rule` : undefined;
        if (!how) continue;
        drops.push({
            family: chain.family,
            table: chain.table,
            chain: chain.name,
            hook: chain.hook,
            priority: chain.prio ?? 0,
            how,
            definite: !own.some((rule) => mayAccept(rule, context)),
            iptables,
        });
    }
    return drops;
}

/** `inet hostfw forward`: a chain as `firewall.acceptIn` names it. */
export function chainName(drop: Pick<ForwardDrop, "family" | "table" | "chain">): string {
    return `${drop.family} ${drop.table} ${drop.chain}`;
}

/** What to tell the user about the drops, with the remedies, for the bridge `bridge`. */
export function dropDiagnosis(drops: ForwardDrop[], bridge: string): string {
    if (drops.length === 0) {
        return "no nftables chain of another owner drops forwarded traffic here: check the attachments' links and addresses (ip -n NS addr), and the bridge's ports (bridge link)";
    }
    const named = drops.map((d) => `"${chainName(d)}" (hook ${d.hook}, ${d.how})`).join(", ");
    const native = drops.filter((d) => !d.iptables);
    const parts: string[] = [];
    if (native.length > 0) {
        const first = chainName(native[0]);
        parts.push(
            [
                `let pulumi-overlay accept this network in that chain: firewall: { acceptIn: [${native.map((d) => JSON.stringify(chainName(d))).join(", ")}] }`,
                `or accept the bridge there yourself (nft insert rule ${first} iifname "${bridge}" accept; nft insert rule ${first} oifname "${bridge}" accept)`,
                `or put the bridge in a trusted firewalld zone (firewall-cmd --zone=trusted --add-interface=${bridge})`,
            ].join(", "),
        );
    }
    if (drops.some((d) => d.iptables)) {
        parts.push(
            `for iptables' own chain: use firewall: { backend: "iptables" }, whose chains accept the network in FORWARD, or accept the bridge in Docker's DOCKER-USER (iptables -I DOCKER-USER -i ${bridge} -j ACCEPT)`,
        );
    }
    return (
        `the host's chain ${named} drops the network's traffic, and an accept in another table cannot override it. ` +
        `Remedies: ${parts.join("; ")}; probe: false skips this check and leaves the network as it is`
    );
}
