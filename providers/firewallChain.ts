/**
 * The FirewallChain provider: a user chain with its ordered rules, and the one rule that jumps to
 * it from a built-in chain (FORWARD, INPUT, OUTPUT), at the top or the bottom. With iptables it is
 * a chain of the filter table, written with one `iptables-restore --noflush` per change; with
 * nftables a chain of pulumi-overlay's own table, written with one `nft -j -f -` transaction
 * (./nftables/chain.ts). Every change is atomic; every rule carries the chain's mark as its comment.
 * @module
 */
import { diffProperties, identityDigits, inNetns, pick, type Props } from "./common";
import { type Backend, type BackendChoice, backendChanged, checkBackend, resolveBackend } from "./firewallBackend";
import { runCommand, runRead, toolCommand } from "./host";
import { chainRuleExprs, deleteChainCommands, jumpBase, nftChainState, writeChainCommands } from "./nftables/chain";
import { nftComment } from "./nftables/rules";
import { changeOurTable, sharedOurTable } from "./nftables/table";
import { iptablesProgram, matchArgs } from "./iptablesRule";
import { type MarkedInputs, defineProvider, markOf, markOfResource } from "./provider";
import { type CheckFailure, checkInteger, checkInterfaceName, checkNamespaceName, checkNetworkCidr, checkOneOf, familyOf, isUnknown } from "./validate";

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
export interface FirewallChainInputs extends MarkedInputs {
    logicalName: string;
    /** The chain's name, at most 28 characters. */
    name: string;
    family: 4 | 6;
    netns?: string;
    jump: FirewallJumpSpec;
    rules: FirewallRuleSpec[];
    /** The backend asked for; omitted: `auto`. */
    backend?: BackendChoice;
}

/** Outputs. */
export interface FirewallChainOutputs extends FirewallChainInputs {
    /** The comment on every rule of this chain, and on its jump. */
    comment: string;
    /** False when a read found the rules or the jump changed out of band; the next update rewrites them. */
    inSync: boolean;
    /** The backend the chain is in (what `auto` chose); omitted in states written before there were two: iptables. */
    activeBackend?: Backend;
}

const INPUT_KEYS = ["logicalName", "name", "family", "netns", "jump", "rules", "mark", "backend"] as const;

/**
 * Names a user chain may not take: iptables' built-in chains and its targets, which a rule would
 * read as the target instead of the chain (`-j DROP`), whatever their case.
 */
const RESERVED_CHAIN_NAMES = [
    "INPUT",
    "OUTPUT",
    "FORWARD",
    "PREROUTING",
    "POSTROUTING",
    "ACCEPT",
    "DROP",
    "REJECT",
    "RETURN",
    "QUEUE",
    "NFQUEUE",
    "LOG",
    "NFLOG",
    "MASQUERADE",
    "SNAT",
    "DNAT",
    "REDIRECT",
    "MARK",
    "CONNMARK",
    "CT",
    "NOTRACK",
    "TRACE",
    "CHECKSUM",
    "TCPMSS",
    "CLASSIFY",
    "TPROXY",
    "AUDIT",
    "TEE",
];
const DIFF_RULES = { replace: ["name", "family", "netns", "jump"], update: ["rules"], deleteBeforeReplace: true };
const ACTION = { accept: "ACCEPT", drop: "DROP", reject: "REJECT", return: "RETURN" } as const;

/** The `iptables-restore --noflush` text that (re)writes the chain, and adds the jump if asked. Pure. */
export function restoreText(chain: FirewallChainInputs, comment: string, withJump: boolean): string {
    const mark = ["-m", "comment", "--comment", comment];
    const lines = ["*filter", `:${chain.name} - [0:0]`]; // declaring a chain with --noflush empties it
    for (const rule of chain.rules) lines.push(["-A", chain.name, ...matchArgs(rule), ...mark, "-j", ACTION[rule.action]].join(" "));
    if (withJump) lines.push(jumpLine(chain, comment, chain.jump.position === "first" ? "-I" : "-A"));
    lines.push("COMMIT", "");
    return lines.join("\n");
}

function jumpLine(chain: FirewallChainInputs, comment: string, op: "-I" | "-A" | "-D"): string {
    return [op, chain.jump.from, ...(op === "-I" ? ["1"] : []), ...matchArgs(chain.jump), "-m", "comment", "--comment", comment, "-j", chain.name].join(" ");
}

/** The filter table as `iptables -S` prints it; empty when the namespace is gone. */
async function listFilter(chain: Pick<FirewallChainInputs, "family" | "netns">): Promise<string[]> {
    const output = await runRead(toolCommand(chain.netns, iptablesProgram(chain.family), ["-w", "-t", "filter", "-S"]));
    return output ? output.stdout.split("\n") : [];
}

async function restore(chain: FirewallChainInputs, text: string): Promise<void> {
    await runCommand({
        ...toolCommand(chain.netns, iptablesProgram(chain.family, "-restore"), ["-w", "--noflush"], `firewall chain "${chain.name}"`),
        input: text,
    });
}

/** What the kernel holds of this chain: whether it exists, its rules, and whether the jump is there. */
function stateOf(lines: string[], chain: FirewallChainInputs, comment: string) {
    const exists = lines.includes(`-N ${chain.name}`);
    const ruleLines = lines.filter((line) => line.startsWith(`-A ${chain.name} `));
    const jump = lines.find((line) => line.startsWith(`-A ${chain.jump.from} `) && line.endsWith(`-j ${chain.name}`) && line.includes(comment));
    return { exists, ruleLines, jump };
}

/**
 * Refuses to rewrite or remove a chain that holds rules someone else added (rewriting it would
 * erase them), naming them and what to do.
 */
function refuseForeignRules(chain: FirewallChainInputs, foreign: string[]): void {
    if (foreign.length === 0) return;
    throw new Error(
        `firewall chain "${chain.name}" ${inNetns(chain.netns)} holds ${foreign.length} rule(s) that are not this resource's (${foreign.join("; ")}); ` +
            "pulumi-overlay does not erase them: remove them by hand (or move them to a chain of your own), then run again",
    );
}

export const provider = defineProvider<FirewallChainInputs, FirewallChainOutputs>({
    rules: DIFF_RULES,
    marked: true,

    async check(olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        inputs.name ??= olds.name ?? `OVL-${identityDigits(news.identity, "name", 8).toUpperCase()}`;
        inputs.family ??= 4;
        const failures: (CheckFailure | undefined)[] = [
            checkOneOf("family", String(inputs.family), ["4", "6"]),
            checkBackend("backend", inputs.backend),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
        ];
        if (!isUnknown(inputs.name) && (typeof inputs.name !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_-]{0,27}$/.test(inputs.name))) {
            failures.push({
                property: "name",
                reason: `name '${inputs.name}' is not a chain name: 1 to 28 ASCII letters, digits, '_' or '-', not starting with '-'`,
            });
        } else if (typeof inputs.name === "string" && RESERVED_CHAIN_NAMES.includes(inputs.name.toUpperCase())) {
            failures.push({ property: "name", reason: `name '${inputs.name}' is the name of a built-in chain or target of iptables; choose another name` });
        }
        const checkMatch = (prefix: string, match: Props) => [
            match.source === undefined ? undefined : checkNetworkCidr(`${prefix}.source`, match.source),
            match.destination === undefined ? undefined : checkNetworkCidr(`${prefix}.destination`, match.destination),
            match.inInterface === undefined ? undefined : checkInterfaceName(`${prefix}.inInterface`, match.inInterface),
            match.outInterface === undefined ? undefined : checkInterfaceName(`${prefix}.outInterface`, match.outInterface),
        ];
        const jump: Props = inputs.jump ?? {};
        if (inputs.jump === undefined) failures.push({ property: "jump", reason: "jump is required: the built-in chain (and match) that sends packets here" });
        else {
            failures.push(
                checkOneOf("jump.from", jump.from, ["FORWARD", "INPUT", "OUTPUT"]),
                checkOneOf("jump.position", jump.position, ["first", "last"]),
                ...checkMatch("jump", jump),
            );
        }
        (Array.isArray(inputs.rules) ? inputs.rules : []).forEach((rule: Props, i: number) => {
            const at = `rules[${i}]`;
            failures.push(checkOneOf(`${at}.action`, rule.action, Object.keys(ACTION)), ...checkMatch(at, rule));
            if (rule.protocol !== undefined) failures.push(checkOneOf(`${at}.protocol`, rule.protocol, ["tcp", "udp", "sctp", "icmp"]));
            if (rule.port !== undefined) {
                failures.push(checkInteger(`${at}.port`, rule.port, 1, 65535, "port"));
                if (!["tcp", "udp", "sctp"].includes(rule.protocol))
                    failures.push({ property: `${at}.port`, reason: `${at}.port needs protocol 'tcp', 'udp' or 'sctp'` });
            }
            if (rule.state !== undefined && !Array.isArray(rule.state))
                failures.push({ property: `${at}.state`, reason: `${at}.state must be a list, e.g. ["established", "related"]` });
            else
                failures.push(
                    ...(rule.state ?? []).map((state: unknown, j: number) => checkOneOf(`${at}.state[${j}]`, state, ["new", "established", "related", "dnat"])),
                );
            for (const key of ["source", "destination"]) {
                const family = typeof rule[key] === "string" && !isUnknown(rule[key]) ? familyOf(rule[key]) : undefined;
                if (family && family !== Number(inputs.family))
                    failures.push({ property: `${at}.${key}`, reason: `${at}.${key} is IPv${family} but the chain is IPv${inputs.family}` });
            }
        });
        if (!Array.isArray(inputs.rules) && !isUnknown(inputs.rules)) failures.push({ property: "rules", reason: "rules must be a list" });
        return { inputs: inputs as FirewallChainInputs, failures };
    },

    async diff(_id, olds, news) {
        const result = diffProperties(olds, news, DIFF_RULES);
        if (backendChanged(olds, news)) return { ...result, changes: true, replaces: [...(result.replaces ?? []), "backend"], deleteBeforeReplace: true };
        if (olds.inSync === false && !result.changes) return { changes: true, replaces: [], deleteBeforeReplace: false };
        return result;
    },

    /** Equivalent to: `iptables-restore --noflush` of `:CHAIN`, its rules, and `-I FORWARD 1 <match> -j CHAIN` (or `-A`). */
    async create(chain) {
        const comment = markOf(chain);
        const activeBackend = await resolveBackend(chain.netns, chain.backend);
        if (activeBackend === "nftables") {
            await nftWrite(chain, comment, true);
            return { id: `${chain.netns ?? ""}/${chain.name}`, outs: { ...chain, comment, inSync: true, activeBackend } };
        }
        const now = stateOf(await listFilter(chain), chain, comment);
        if (now.exists) {
            // Ours when our jump leads to it or its rules carry our mark: a create of this resource
            // that was cut off made it (a restore is all or nothing). Taken over and rewritten.
            const ours = now.jump !== undefined || now.ruleLines.some((line) => line.includes(comment));
            if (!ours) {
                throw new Error(
                    `firewall chain "${chain.name}" already exists in the filter table ${inNetns(chain.netns)} and is not this resource's; choose another name`,
                );
            }
            refuseForeignRules(
                chain,
                now.ruleLines.filter((line) => !line.includes(comment)),
            );
            await restore(chain, restoreText(chain, comment, now.jump === undefined));
            return { id: `${chain.netns ?? ""}/${chain.name}`, outs: { ...chain, comment, inSync: true, activeBackend } };
        }
        await restore(chain, restoreText(chain, comment, true));
        return { id: `${chain.netns ?? ""}/${chain.name}`, outs: { ...chain, comment, inSync: true, activeBackend } };
    },

    /** Equivalent to: `iptables -S`: gone when the chain is gone; out of sync when its rules or jump changed. */
    async read(id, props) {
        const chain = { ...props, comment: markOfResource(props)! };
        if (props.activeBackend === "nftables") {
            const state = nftChainState(await sharedOurTable(chain.netns), chain.name, chain.comment);
            if (!state.exists) return {};
            const ours = state.rules.filter((rule) => rule.comment === nftComment(chain.comment));
            const outs: FirewallChainOutputs = { ...chain, inSync: state.jumps.length > 0 && ours.length === chainRuleExprs(chain).length };
            return { id: id || `${chain.netns ?? ""}/${chain.name}`, props: outs, inputs: pick(outs, INPUT_KEYS) };
        }
        const now = stateOf(await listFilter(chain), chain, chain.comment);
        if (!now.exists) return {};
        // Compare our rules by count (rules someone else added to the chain are theirs, not drift:
        // update and delete refuse to go on while they are there, rather than erase them).
        const ours = now.ruleLines.filter((line) => line.includes(chain.comment));
        const inSync = now.jump !== undefined && ours.length === chain.rules.length;
        const outs: FirewallChainOutputs = { ...chain, inSync };
        return { id: id || `${chain.netns ?? ""}/${chain.name}`, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Rewrites the chain's rules in one `iptables-restore --noflush`, putting the jump back if it went missing. */
    async update(_id, olds, chain) {
        if (olds.activeBackend === "nftables") {
            await nftWrite(chain, olds.comment, false);
            return { outs: { ...chain, comment: olds.comment, inSync: true, activeBackend: olds.activeBackend } };
        }
        const now = stateOf(await listFilter(chain), chain, olds.comment);
        refuseForeignRules(
            chain,
            now.ruleLines.filter((line) => !line.includes(olds.comment)),
        );
        await restore(chain, restoreText(chain, olds.comment, now.jump === undefined));
        return { outs: { ...chain, comment: olds.comment, inSync: true, activeBackend: olds.activeBackend } };
    },

    /** Equivalent to: `iptables -D FORWARD <jump>; iptables -F CHAIN; iptables -X CHAIN`, in one restore; gone is success. */
    async delete(_id, props) {
        const chain = { ...props, comment: markOfResource(props)! };
        if (props.activeBackend === "nftables") {
            await changeOurTable(chain.netns, {
                subject: `firewall chain "${chain.name}"`,
                baseChains: [],
                commands: (table) => {
                    const state = nftChainState(table, chain.name, chain.comment);
                    const comment = nftComment(chain.comment);
                    // Ours: our jump leads to it, or it holds rules and all carry our mark.
                    const marked = state.rules.length > 0 && state.rules.every((rule) => rule.comment === comment);
                    if (state.jumps.length === 0 && !marked) return [];
                    refuseForeignRules(chain, foreignRules(state.rules, comment));
                    return deleteChainCommands(chain.name, state);
                },
            });
            return;
        }
        const now = stateOf(await listFilter(chain), chain, chain.comment);
        if (!now.exists) return;
        // Ours: our jump leads to it, or it holds rules and all carry our mark. An empty chain that
        // nothing of ours points at may be someone else's, and is left alone.
        const marked = now.ruleLines.length > 0 && now.ruleLines.every((line) => line.includes(chain.comment));
        if (!now.jump && !marked) return;
        refuseForeignRules(
            chain,
            now.ruleLines.filter((line) => !line.includes(chain.comment)),
        );
        const lines = ["*filter"];
        if (now.jump) lines.push(jumpLine(chain, chain.comment, "-D"));
        lines.push(`-F ${chain.name}`, `-X ${chain.name}`, "COMMIT", "");
        await restore(chain, lines.join("\n"));
    },
});

/** Rules of a chain in our table that do not carry the mark, described for the refusal. */
function foreignRules(rules: { handle: number; comment?: string }[], comment: string): string[] {
    return rules.filter((rule) => rule.comment !== comment).map((rule) => `rule handle ${rule.handle}${rule.comment ? ` comment "${rule.comment}"` : ""}`);
}

/**
 * Writes the chain in our nftables table: made (or taken over, when a cut-off create of this
 * resource made it) or rewritten, and its jump put back when missing. Refuses a chain of that
 * name that is not this resource's, and one holding rules of someone else.
 */
async function nftWrite(chain: FirewallChainInputs, mark: string, creating: boolean): Promise<void> {
    await changeOurTable(chain.netns, {
        subject: `firewall chain "${chain.name}"`,
        baseChains: [jumpBase(chain.jump)],
        commands: (table) => {
            const state = nftChainState(table, chain.name, mark);
            const comment = nftComment(mark);
            if (creating && state.exists && state.jumps.length === 0 && !state.rules.some((rule) => rule.comment === comment)) {
                throw new Error(
                    `firewall chain "${chain.name}" already exists in table inet pulumi_overlay ${inNetns(chain.netns)} and is not this resource's; choose another name`,
                );
            }
            refuseForeignRules(chain, foreignRules(state.rules, comment));
            return writeChainCommands(chain, mark, state);
        },
    });
}
