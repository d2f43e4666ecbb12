/**
 * nftables rules as JSON objects (the schema of `nft -j`, libnftables-json(5)), for every kind that
 * writes packet-filter rules through the nftables backend. Pure: no process is started here.
 *
 * Rules are built as data and handed to `nft -j -f -`, never assembled as rule text, so no name,
 * address or comment can be read as syntax.
 * @module
 */
import { createHash } from "node:crypto";
import type { RuleMatch } from "../iptablesRule";
import type { NatRuleSpec } from "../nat/backend";
import { parseCidr } from "../validate";

/** pulumi-overlay's own table, one per namespace: `table inet pulumi_overlay`. */
export const OUR_TABLE = { family: "inet", name: "pulumi_overlay" } as const;

/** A base chain of our table: its hook, type and explicit priority. */
export interface BaseChain {
    name: string;
    type: "filter" | "nat";
    hook: "prerouting" | "input" | "forward" | "output" | "postrouting";
    prio: number;
}

/**
 * Our base chains, by the iptables chain they stand for. Their names hold a dot, which a
 * FirewallChain's name cannot, so a user chain never takes one. Priorities are nftables' standard
 * ones (`filter` 0, `dstnat` -100, `srcnat` 100), the ones iptables-nft uses too.
 */
export const BASE_CHAINS = {
    FORWARD: { name: "filter.forward", type: "filter", hook: "forward", prio: 0 },
    INPUT: { name: "filter.input", type: "filter", hook: "input", prio: 0 },
    OUTPUT: { name: "filter.output", type: "filter", hook: "output", prio: 0 },
    "nat:PREROUTING": { name: "nat.prerouting", type: "nat", hook: "prerouting", prio: -100 },
    "nat:OUTPUT": { name: "nat.output", type: "nat", hook: "output", prio: -100 },
    "nat:POSTROUTING": { name: "nat.postrouting", type: "nat", hook: "postrouting", prio: 100 },
} as const satisfies Record<string, BaseChain>;

/** The names of our base chains. */
export const BASE_CHAIN_NAMES: readonly string[] = Object.values(BASE_CHAINS).map((chain) => chain.name);

/** An nftables JSON expression or statement. */
export type Expr = Record<string, unknown>;

/** nftables keeps at most 128 bytes of a comment. */
const COMMENT_MAX = 128;

/**
 * The comment that carries a mark: the mark itself, or, for a mark longer than nftables keeps
 * (a very long logical name), its first 100 characters and a digest of the whole. Pure.
 */
export function nftComment(mark: string): string {
    if (Buffer.byteLength(mark) <= COMMENT_MAX) return mark;
    const digest = createHash("sha256").update(mark).digest("hex").slice(0, 12);
    return `${Buffer.from(mark)
        .subarray(0, 100)
        .toString()
        .replace(/\uFFFD+$/, "")}~${digest}`;
}

function match(left: Expr, right: unknown, op = "=="): Expr {
    return { match: { op, left, right } };
}

/** An address or network as the right side of a match: `10.0.0.0/24` as a prefix, a host address as itself. */
function network(text: string): unknown {
    const cidr = parseCidr(text);
    if (cidr && text.includes("/")) return { prefix: { addr: cidr.address.toString(), len: cidr.prefixLength } };
    return text;
}

/** The layer-4 protocol name nftables uses for a family: ICMP is `ipv6-icmp` in IPv6. */
function l4proto(protocol: string, family: 4 | 6): string {
    return protocol === "icmp" && family === 6 ? "ipv6-icmp" : protocol;
}

/**
 * The matches of a rule, without its connection-tracking states.
 * Equivalent to: `meta nfproto ipv4 ip saddr S ip daddr D iifname I oifname O meta l4proto P tcp dport N`.
 */
export function matchExprs(rule: Omit<RuleMatch, "state">, family: 4 | 6, withFamily = true): Expr[] {
    const ip = family === 6 ? "ip6" : "ip";
    const out: Expr[] = [];
    if (withFamily) out.push(match({ meta: { key: "nfproto" } }, family === 6 ? "ipv6" : "ipv4"));
    if (rule.source !== undefined) out.push(match({ payload: { protocol: ip, field: "saddr" } }, network(rule.source)));
    if (rule.destination !== undefined) out.push(match({ payload: { protocol: ip, field: "daddr" } }, network(rule.destination)));
    if (rule.inInterface !== undefined) out.push(match({ meta: { key: "iifname" } }, rule.inInterface));
    if (rule.outInterface !== undefined) out.push(match({ meta: { key: "oifname" } }, rule.outInterface));
    if (rule.protocol !== undefined) {
        if (rule.port !== undefined) out.push(match({ payload: { protocol: rule.protocol, field: "dport" } }, rule.port));
        else out.push(match({ meta: { key: "l4proto" } }, l4proto(rule.protocol, family)));
    }
    return out;
}

/**
 * The connection-tracking matches of a rule, one list per rule to write: iptables' `--ctstate`
 * ORs its states, and nftables keeps the DNAT "state" (`ct status dnat`) apart from the others
 * (`ct state new,established`), so a rule naming both becomes two rules. `[[]]` for none.
 */
export function stateExprs(state: readonly string[] | undefined): Expr[][] {
    if (!state?.length) return [[]];
    const plain = state.filter((s) => s !== "dnat");
    const out: Expr[][] = [];
    if (plain.length > 0) out.push([match({ ct: { key: "state" } }, plain.length === 1 ? plain[0] : [...plain], "in")]);
    if (state.includes("dnat")) out.push([match({ ct: { key: "status" } }, "dnat", "in")]);
    return out;
}

/** The verdicts a FirewallChain rule may take. */
export const VERDICTS = { accept: { accept: null }, drop: { drop: null }, reject: { reject: null }, return: { return: null } } as const;

/** The base chain a NAT rule goes to. */
export function natBaseChain(chain: "POSTROUTING" | "PREROUTING" | "OUTPUT"): BaseChain {
    return BASE_CHAINS[`nat:${chain}`];
}

/**
 * A NAT rule's expressions, mark aside.
 * Equivalent to: `meta nfproto ipv4 ip saddr S oifname O masquerade` (or `snat ip to A:P`, `dnat ip to A:P`,
 * with `fib daddr type local` for `destinationLocal`).
 */
export function natExprs(rule: NatRuleSpec): Expr[] {
    const { source, destination, inInterface, outInterface, protocol, port } = rule;
    const out = matchExprs({ source, destination, inInterface, outInterface, protocol, port }, rule.family);
    if (rule.destinationLocal) out.push(match({ fib: { result: "type", flags: ["daddr"] } }, "local"));
    const to = (field: "snat" | "dnat"): Expr => ({
        [field]: { family: rule.family === 6 ? "ip6" : "ip", addr: rule.toAddress, ...(rule.toPort !== undefined ? { port: rule.toPort } : {}) },
    });
    if (rule.type === "masquerade") out.push({ masquerade: rule.toPort !== undefined ? { port: rule.toPort } : null });
    else out.push(to(rule.type));
    return out;
}

/** A rule object of a chain of our table. */
export function ourRule(chain: string, comment: string, expr: Expr[]): Expr {
    return { family: OUR_TABLE.family, table: OUR_TABLE.name, chain, comment, expr };
}

/** A rule as `nft -j list` prints it. */
export interface ListedRule {
    family: string;
    table: string;
    chain: string;
    handle: number;
    comment?: string;
    expr?: unknown[];
}

/** A chain as `nft -j list` prints it. */
export interface ListedChain {
    family: string;
    table: string;
    name: string;
    handle: number;
    type?: string;
    hook?: string;
    prio?: number;
    policy?: string;
}

/** A listing split into its chains and rules (`nft -j list table|chain|ruleset`). Pure. */
export interface Listing {
    tables: { family: string; name: string }[];
    chains: ListedChain[];
    rules: ListedRule[];
}

/** Splits `nft -j` output into chains and rules. Pure. */
export function parseListing(json: unknown): Listing {
    const items = (json as { nftables?: Record<string, unknown>[] } | undefined)?.nftables ?? [];
    return {
        tables: items.flatMap((item) => (item.table ? [item.table as { family: string; name: string }] : [])),
        chains: items.flatMap((item) => (item.chain ? [item.chain as ListedChain] : [])),
        rules: items.flatMap((item) => (item.rule ? [item.rule as ListedRule] : [])),
    };
}

/** A chain named as the user names it: `inet hostfw forward` (family, table, chain). */
export interface ChainRef {
    family: "inet" | "ip" | "ip6";
    table: string;
    chain: string;
}

/** Parses `FAMILY TABLE CHAIN`; undefined when it is not one. Pure. */
export function parseChainRef(text: unknown): ChainRef | undefined {
    if (typeof text !== "string") return undefined;
    const m = /^(inet|ip|ip6) ([A-Za-z_][A-Za-z0-9_.-]{0,63}) ([A-Za-z_][A-Za-z0-9_.-]{0,63})$/.exec(text);
    return m ? { family: m[1] as ChainRef["family"], table: m[2], chain: m[3] } : undefined;
}
