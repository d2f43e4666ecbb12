/**
 * The FirewallChain provider: a user chain in iptables' filter table with its ordered rules, and
 * the one rule that jumps to it from a built-in chain (FORWARD, INPUT, OUTPUT), at the top or the
 * bottom. Created, rewritten and removed with one `iptables-restore --noflush` each, so every
 * change is atomic. Every rule carries the chain's mark as its comment.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, definedResults, diffProperties, inNetns, markOf, ownerMark, pick, type Props } from "./common";
import { runCommand, toolCommand } from "./host/command";
import { isHostError } from "./host/errors";
import { netnsExists } from "./host/ip";
import {
    type CheckFailure,
    checkInteger,
    checkInterfaceName,
    checkNamespaceName,
    checkNetworkCidr,
    checkOneOf,
    familyOf,
    isUnknown,
} from "./host/validate";

/** One rule of a firewall chain: what it matches and what it does (the SDK's `FirewallRuleArgs`). */
export interface FirewallRuleSpec {
    /** Match packets from this network (CIDR). */
    source?: string;
    /** Match packets to this network (CIDR). */
    destination?: string;
    /** Match packets arriving on this interface. */
    inInterface?: string;
    /** Match packets leaving through this interface. */
    outInterface?: string;
    /** Match this protocol. */
    protocol?: "tcp" | "udp" | "sctp" | "icmp";
    /** Match this destination port (needs protocol tcp, udp or sctp). */
    port?: number;
    /** Match these connection-tracking states; `dnat` is a flow a DNAT rule rewrote (a published port). */
    state?: ("new" | "established" | "related" | "dnat")[];
    /** What to do with a matching packet. */
    action: "accept" | "drop" | "reject" | "return";
}

/** The rule in a built-in chain that sends packets to this chain. */
export interface FirewallJumpSpec {
    from: "FORWARD" | "INPUT" | "OUTPUT";
    /** `first`: inserted at the top of the built-in chain; `last`: appended. */
    position: "first" | "last";
    inInterface?: string;
    outInterface?: string;
    source?: string;
    destination?: string;
}

/** Inputs after `check`. */
export interface FirewallChainInputs {
    logicalName: string;
    /** The ownership mark, chosen by check (see common.ts: definedResults). */
    mark?: string;
    /** The chain's name, at most 28 characters. */
    name: string;
    family: 4 | 6;
    netns?: string;
    jump: FirewallJumpSpec;
    rules: FirewallRuleSpec[];
}

/** Outputs. */
export interface FirewallChainOutputs extends FirewallChainInputs {
    /** The comment on every rule of this chain, and on its jump. */
    comment: string;
    /** False when a read found the rules or the jump changed out of band; the next update rewrites them. */
    inSync: boolean;
}

const INPUT_KEYS = ["logicalName", "name", "family", "netns", "jump", "rules", "mark"] as const;

/**
 * Names a user chain may not take: iptables' built-in chains and its targets, which a rule would
 * read as the target instead of the chain (`-j DROP`), whatever their case.
 */
const RESERVED_CHAIN_NAMES = [
    "INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING",
    "ACCEPT", "DROP", "REJECT", "RETURN", "QUEUE", "NFQUEUE", "LOG", "NFLOG", "MASQUERADE", "SNAT", "DNAT", "REDIRECT",
    "MARK", "CONNMARK", "CT", "NOTRACK", "TRACE", "CHECKSUM", "TCPMSS", "CLASSIFY", "TPROXY", "AUDIT", "TEE",
];
const rules = { replace: ["name", "family", "netns", "jump"], update: ["rules"], deleteBeforeReplace: true } as const;
const ACTION = { accept: "ACCEPT", drop: "DROP", reject: "REJECT", return: "RETURN" } as const;

/** The match arguments of a rule or a jump. Pure. */
export function matchArgs(spec: Partial<FirewallRuleSpec>): string[] {
    const args: string[] = [];
    if (spec.source !== undefined) args.push("-s", spec.source);
    if (spec.destination !== undefined) args.push("-d", spec.destination);
    if (spec.inInterface !== undefined) args.push("-i", spec.inInterface);
    if (spec.outInterface !== undefined) args.push("-o", spec.outInterface);
    if (spec.protocol !== undefined) args.push("-p", spec.protocol);
    if (spec.port !== undefined) args.push("-m", spec.protocol!, "--dport", String(spec.port));
    if (spec.state?.length) args.push("-m", "conntrack", "--ctstate", spec.state.map((s) => s.toUpperCase()).join(","));
    return args;
}

/** The `iptables-restore --noflush` text that (re)writes the chain, and adds the jump if asked. Pure. */
export function restoreText(c: FirewallChainInputs, comment: string, withJump: boolean): string {
    const mark = ["-m", "comment", "--comment", comment];
    const lines = ["*filter", `:${c.name} - [0:0]`]; // declaring a chain with --noflush empties it
    for (const rule of c.rules) lines.push(["-A", c.name, ...matchArgs(rule), ...mark, "-j", ACTION[rule.action]].join(" "));
    if (withJump) lines.push(jumpLine(c, comment, c.jump.position === "first" ? "-I" : "-A"));
    lines.push("COMMIT", "");
    return lines.join("\n");
}

function jumpLine(c: FirewallChainInputs, comment: string, op: "-I" | "-A" | "-D"): string {
    return [op, c.jump.from, ...(op === "-I" ? ["1"] : []), ...matchArgs(c.jump), "-m", "comment", "--comment", comment, "-j", c.name].join(" ");
}

function tools(family: 4 | 6) {
    return family === 6 ? { list: "ip6tables", restore: "ip6tables-restore" } : { list: "iptables", restore: "iptables-restore" };
}

/** The filter table as `iptables -S` prints it; empty when the namespace is gone. */
async function listFilter(c: Pick<FirewallChainInputs, "family" | "netns">): Promise<string[]> {
    if (c.netns !== undefined && !netnsExists(c.netns)) return [];
    try {
        const { stdout } = await runCommand(toolCommand(c.netns, tools(c.family).list, ["-w", "-t", "filter", "-S"]));
        return stdout.split("\n");
    } catch (err) {
        if (isHostError(err, "noNamespace")) return [];
        throw err;
    }
}

async function restore(c: FirewallChainInputs, text: string): Promise<void> {
    await runCommand({ ...toolCommand(c.netns, tools(c.family).restore, ["-w", "--noflush"], `firewall chain "${c.name}"`), input: text });
}

/** What the kernel holds of this chain: whether it exists, its rules, and whether the jump is there. */
function stateOf(lines: string[], c: FirewallChainInputs, comment: string) {
    const exists = lines.includes(`-N ${c.name}`);
    const ruleLines = lines.filter((l) => l.startsWith(`-A ${c.name} `));
    const jump = lines.find((l) => l.startsWith(`-A ${c.jump.from} `) && l.endsWith(`-j ${c.name}`) && l.includes(comment));
    return { exists, ruleLines, jump };
}

/**
 * Refuses to rewrite or remove a chain that holds rules someone else added (rewriting it would
 * erase them), naming them and what to do.
 */
function refuseForeignRules(c: FirewallChainInputs, ruleLines: string[], comment: string): void {
    const foreign = ruleLines.filter((l) => !l.includes(comment));
    if (foreign.length === 0) return;
    throw new Error(
        `firewall chain "${c.name}" ${inNetns(c.netns)} holds ${foreign.length} rule(s) that are not this resource's (${foreign.join("; ")}); ` +
            "pulumi-overlay does not erase them: remove them by hand (or move them to a chain of your own), then run again",
    );
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(olds: Props, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        inputs.name ??= olds.name ?? `OVL-${ownerMark("x").slice(-8).toUpperCase()}`;
        inputs.family ??= 4;
        const failures: (CheckFailure | undefined)[] = [
            checkOneOf("family", String(inputs.family), ["4", "6"]),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
        ];
        if (!isUnknown(inputs.name) && (typeof inputs.name !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_-]{0,27}$/.test(inputs.name))) {
            failures.push({ property: "name", reason: `name '${inputs.name}' is not a chain name: 1 to 28 ASCII letters, digits, '_' or '-', not starting with '-'` });
        } else if (typeof inputs.name === "string" && RESERVED_CHAIN_NAMES.includes(inputs.name.toUpperCase())) {
            failures.push({ property: "name", reason: `name '${inputs.name}' is the name of a built-in chain or target of iptables; choose another name` });
        }
        const checkMatch = (prefix: string, m: Props) => [
            m.source === undefined ? undefined : checkNetworkCidr(`${prefix}.source`, m.source),
            m.destination === undefined ? undefined : checkNetworkCidr(`${prefix}.destination`, m.destination),
            m.inInterface === undefined ? undefined : checkInterfaceName(`${prefix}.inInterface`, m.inInterface),
            m.outInterface === undefined ? undefined : checkInterfaceName(`${prefix}.outInterface`, m.outInterface),
        ];
        const jump: Props = inputs.jump ?? {};
        if (inputs.jump === undefined) failures.push({ property: "jump", reason: "jump is required: the built-in chain (and match) that sends packets here" });
        else {
            failures.push(checkOneOf("jump.from", jump.from, ["FORWARD", "INPUT", "OUTPUT"]), checkOneOf("jump.position", jump.position, ["first", "last"]), ...checkMatch("jump", jump));
        }
        (Array.isArray(inputs.rules) ? inputs.rules : []).forEach((rule: Props, i: number) => {
            const at = `rules[${i}]`;
            failures.push(checkOneOf(`${at}.action`, rule.action, Object.keys(ACTION)), ...checkMatch(at, rule));
            if (rule.protocol !== undefined) failures.push(checkOneOf(`${at}.protocol`, rule.protocol, ["tcp", "udp", "sctp", "icmp"]));
            if (rule.port !== undefined) {
                failures.push(checkInteger(`${at}.port`, rule.port, 1, 65535, "port"));
                if (!["tcp", "udp", "sctp"].includes(rule.protocol)) failures.push({ property: `${at}.port`, reason: `${at}.port needs protocol 'tcp', 'udp' or 'sctp'` });
            }
            if (rule.state !== undefined && !Array.isArray(rule.state)) failures.push({ property: `${at}.state`, reason: `${at}.state must be a list, e.g. ["established", "related"]` });
            else (rule.state ?? []).forEach((state: unknown, j: number) => failures.push(checkOneOf(`${at}.state[${j}]`, state, ["new", "established", "related", "dnat"])));
            for (const key of ["source", "destination"]) {
                const family = typeof rule[key] === "string" && !isUnknown(rule[key]) ? familyOf(rule[key]) : undefined;
                if (family && family !== Number(inputs.family)) failures.push({ property: `${at}.${key}`, reason: `${at}.${key} is IPv${family} but the chain is IPv${inputs.family}` });
            }
        });
        if (!Array.isArray(inputs.rules) && !isUnknown(inputs.rules)) failures.push({ property: "rules", reason: "rules must be a list" });
        return checkResult(inputs, failures);
    },

    async diff(_id: string, olds: Props, news: Props) {
        const result = diffProperties(olds, news, rules);
        if (olds.inSync === false && !result.changes) return { changes: true, replaces: [], deleteBeforeReplace: false };
        return result;
    },

    /** Equivalent to: `iptables-restore --noflush` of `:CHAIN`, its rules, and `-I FORWARD 1 <match> -j CHAIN` (or `-A`). */
    async create(props: Props) {
        const c = props as FirewallChainInputs;
        if ((await listFilter(c)).includes(`-N ${c.name}`)) {
            throw new Error(`firewall chain "${c.name}" already exists in the filter table ${inNetns(c.netns)} and is not this resource's; choose another name`);
        }
        const comment = markOf(c);
        await restore(c, restoreText(c, comment, true));
        const outs: FirewallChainOutputs = { ...c, comment, inSync: true };
        return { id: `${c.netns ?? ""}/${c.name}`, outs };
    },

    /** Equivalent to: `iptables -S`: gone when the chain is gone; out of sync when its rules or jump changed. */
    async read(id: string, props: Props) {
        const c = { ...(props as FirewallChainOutputs), comment: props.comment ?? props.mark };
        const lines = await listFilter(c);
        const now = stateOf(lines, c, c.comment);
        if (!now.exists) return {};
        // Compare our rules by count (rules someone else added to the chain are theirs, not drift:
        // update and delete refuse to go on while they are there, rather than erase them).
        const ours = now.ruleLines.filter((l) => l.includes(c.comment));
        const inSync = now.jump !== undefined && ours.length === c.rules.length;
        const outs: FirewallChainOutputs = { ...c, inSync };
        return { id: id || `${c.netns ?? ""}/${c.name}`, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Rewrites the chain's rules in one `iptables-restore --noflush`, putting the jump back if it went missing. */
    async update(_id: string, olds: Props, news: Props) {
        const c = news as FirewallChainInputs;
        const now = stateOf(await listFilter(c), c, olds.comment);
        refuseForeignRules(c, now.ruleLines, olds.comment);
        await restore(c, restoreText(c, olds.comment, now.jump === undefined));
        return { outs: { ...c, comment: olds.comment, inSync: true } };
    },

    /** Equivalent to: `iptables -D FORWARD <jump>; iptables -F CHAIN; iptables -X CHAIN`, in one restore; gone is success. */
    async delete(_id: string, props: Props) {
        const c = { ...(props as FirewallChainOutputs), comment: props.comment ?? props.mark };
        const now = stateOf(await listFilter(c), c, c.comment);
        if (!now.exists) return;
        // Ours: our jump leads to it, or it holds rules and all carry our mark. An empty chain that
        // nothing of ours points at may be someone else's, and is left alone.
        const marked = now.ruleLines.length > 0 && now.ruleLines.every((l) => l.includes(c.comment));
        if (!now.jump && !marked) return;
        refuseForeignRules(c, now.ruleLines, c.comment);
        const lines = ["*filter"];
        if (now.jump) lines.push(jumpLine(c, c.comment, "-D"));
        lines.push(`-F ${c.name}`, `-X ${c.name}`, "COMMIT", "");
        await restore(c, lines.join("\n"));
    },
}, { marked: true });
