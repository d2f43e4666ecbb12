/**
 * Which packet-filter backend a rule uses: iptables or nftables. Every kind that writes rules
 * (NatRule, FirewallChain, and BridgeNetwork through them) takes `backend: "auto" | "iptables" |
 * "nftables"`; `auto` reads the namespace and chooses, the same way for every rule there.
 * @module
 */
import { isHostError, parseIpJson, runRead, SharedReads, toolCommand } from "./host";
import { OUR_TABLE, parseListing } from "./nftables/rules";
import { type CheckFailure, checkOneOf } from "./validate";

/** A backend in use. */
export type Backend = "iptables" | "nftables";

/** A backend as asked for. */
export type BackendChoice = "auto" | Backend;

/** The values `backend` takes. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "iptables", "nftables"];

/** Checks a `backend` property (omitted is `auto`). */
export function checkBackend(property: string, value: unknown): CheckFailure | undefined {
    return value === undefined ? undefined : checkOneOf(property, value, BACKEND_CHOICES);
}

/** The tables iptables-nft (and ebtables-nft, arptables-nft) make: theirs, not native nftables. */
const XTABLES_TABLES = ["filter", "nat", "mangle", "raw", "security", "broute"];

/** What `auto` looks at in a namespace. */
export interface BackendFacts {
    /** `iptables` can be run. */
    iptables: boolean;
    /** `nft` can be run. */
    nft: boolean;
    /** The tables of `nft -j list ruleset` (family and name), when nft could list them. */
    tables: { family: string; name: string }[];
}

/**
 * The choice of `auto`, with the reason. Pure:
 * - our table is already there: nftables (the namespace's other rules of ours are in it);
 * - iptables is missing: nftables; nft is missing: iptables;
 * - the namespace has native nftables tables (firewalld, an nftables.conf): nftables;
 * - otherwise (no rules, or iptables' own, e.g. Docker's chains): iptables.
 */
export function chooseBackend(facts: BackendFacts): { backend: Backend; reason: string } {
    const tables = facts.tables.filter((t) => !(t.family === OUR_TABLE.family && t.name === OUR_TABLE.name));
    if (tables.length < facts.tables.length) return { backend: "nftables", reason: "table inet pulumi_overlay is already there" };
    if (!facts.iptables) return { backend: "nftables", reason: "iptables is not installed" };
    if (!facts.nft) return { backend: "iptables", reason: "nft is not installed" };
    const native = tables.filter((t) => !XTABLES_TABLES.includes(t.name) || !["ip", "ip6", "bridge", "arp"].includes(t.family));
    if (native.length > 0) return { backend: "nftables", reason: `the host's rules are native nftables (table ${native[0].family} ${native[0].name})` };
    return { backend: "iptables", reason: "the host has no native nftables rules" };
}

/** Whether a program can be run in the namespace (`PROGRAM --version`). */
async function installed(netns: string | undefined, program: string): Promise<boolean> {
    try {
        await runRead(toolCommand(netns, program, ["--version"]));
        return true;
    } catch (err) {
        if (isHostError(err, "missingBinary")) return false;
        throw err;
    }
}

const factReads = new SharedReads<BackendFacts>(2000);
const rulesetReads = new SharedReads<{ nft: boolean; ruleset?: unknown }>(2000);

/**
 * A namespace's whole nftables ruleset as `nft -j` prints it, shared by the readers of one moment
 * (the backend's choice and the probe's look for other owners' drops read it once); `nft: false`
 * when nft is not installed, no `ruleset` when the namespace is not there.
 * Equivalent to: `nft -j list ruleset`.
 */
export function hostRuleset(netns: string | undefined): Promise<{ nft: boolean; ruleset?: unknown }> {
    return rulesetReads.get(netns ?? "", async () => {
        try {
            const output = await runRead(toolCommand(netns, "nft", ["-j", "list", "ruleset"]));
            return { nft: true, ruleset: output ? parseIpJson<unknown>(output.stdout || "{}") : undefined };
        } catch (err) {
            if (isHostError(err, "missingBinary")) return { nft: false };
            throw err;
        }
    });
}

/**
 * The facts of a namespace, shared by the rules asking within a moment of each other.
 * Equivalent to: `iptables --version; nft -j list ruleset`.
 */
export function backendFacts(netns: string | undefined): Promise<BackendFacts> {
    return factReads.get(netns ?? "", async () => {
        const [iptables, read] = await Promise.all([installed(netns, "iptables"), hostRuleset(netns)]);
        return { iptables, nft: read.nft, tables: parseListing(read.ruleset).tables };
    });
}

/** The backend a rule uses: the one asked for, or for `auto` the one {@link chooseBackend} picks here. */
export async function resolveBackend(netns: string | undefined, asked: BackendChoice | undefined): Promise<Backend> {
    if (asked === "iptables" || asked === "nftables") return asked;
    return chooseBackend(await backendFacts(netns)).backend;
}

/**
 * Whether a change of `backend` replaces the rule: not when the new choice is the backend the rule
 * is in (`auto` resolved to it, or the same name), nor from omitted to `auto`.
 */
export function backendChanged(olds: { backend?: string; activeBackend?: string }, news: { backend?: string }): boolean {
    const before = olds.backend ?? "auto";
    const after = news.backend ?? "auto";
    if (before === after) return false;
    return after !== olds.activeBackend;
}
