/**
 * The iptables NAT backend: one rule in the `nat` table, POSTROUTING for masquerade and SNAT,
 * PREROUTING (or OUTPUT, for the host's own packets) for DNAT, carrying `-m comment --comment <mark>`. `-w` waits for the xtables lock,
 * so parallel steps never fail on it.
 *
 * Rules of one namespace and family that are added or deleted at the same moment (the engine
 * runs independent steps in parallel) go in one `iptables-restore --noflush`, and reads share one
 * `iptables-save -t nat` until the next command that may change the kernel: K rules cost a few
 * processes, not one or two each.
 * @module
 */
import { hostKey, isHostError, runCommand, runDelete, runRead, SharedReads, toolCommand } from "../host";
import { parseAddress, parseCidr } from "../validate";
import { iptablesProgram, matchArgs } from "../iptablesRule";
import type { NatBackend, NatRuleSpec, RuleState } from "./backend";

/** The chain each kind of rule lives in. */
export function chainOf(rule: Pick<NatRuleSpec, "type" | "chain">): "POSTROUTING" | "PREROUTING" | "OUTPUT" {
    return rule.chain ?? (rule.type === "dnat" ? "PREROUTING" : "POSTROUTING");
}

function withPort(address: string, port: number | undefined, family: 4 | 6): string {
    if (port === undefined) return address;
    return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The match-and-target arguments of a rule, after `-A CHAIN`. Pure; `withComment: false` gives
 * the same rule without our mark, to find an identical rule someone else made.
 * Equivalent to: `-s $source -d $destination -i $in -o $out -p $proto --dport $port -m comment --comment $mark -j TARGET`.
 */
export function iptablesRuleArgs(rule: NatRuleSpec, withComment = true): string[] {
    const { source, destination, inInterface, outInterface, protocol, port } = rule;
    const args = matchArgs({ source, destination, inInterface, outInterface, protocol, port });
    if (rule.destinationLocal) args.push("-m", "addrtype", "--dst-type", "LOCAL");
    if (withComment) args.push("-m", "comment", "--comment", rule.comment);
    switch (rule.type) {
        case "masquerade":
            args.push("-j", "MASQUERADE", ...(rule.toPort !== undefined ? ["--to-ports", String(rule.toPort)] : []));
            break;
        case "snat":
            args.push("-j", "SNAT", "--to-source", withPort(rule.toAddress!, rule.toPort, rule.family));
            break;
        case "dnat":
            args.push("-j", "DNAT", "--to-destination", withPort(rule.toAddress!, rule.toPort, rule.family));
            break;
    }
    return args;
}

function iptables(rule: NatRuleSpec, op: "-A" | "-C" | "-D", withComment = true) {
    return {
        ...toolCommand(rule.netns, iptablesProgram(rule.family), ["-w", "-t", "nat", op, chainOf(rule), ...iptablesRuleArgs(rule, withComment)]),
        subject: `${rule.type} rule "${rule.comment}"`,
    };
}

/** `iptables -C` answers "Bad rule" when there is no such rule; other failures are real errors. */
async function ruleExists(rule: NatRuleSpec, withComment: boolean): Promise<boolean> {
    try {
        return (await runRead(iptables(rule, "-C", withComment))) !== undefined;
    } catch (err) {
        if (isHostError(err, "notFound")) return false;
        throw err;
    }
}

/** An address or network as iptables-save prints it: with its prefix length, IPv6 compressed. */
function savedNetwork(text: string): string {
    const cidr = parseCidr(text);
    if (cidr) return `${cidr.address.toString()}/${cidr.prefixLength}`;
    const address = parseAddress(text);
    return address ? `${address.toString()}/${address.kind() === "ipv4" ? 32 : 128}` : text;
}

/** `ADDR[:PORT]` of a SNAT or DNAT target as iptables-save prints it (`[v6]:port`). */
function savedTarget(text: string): string {
    const v6 = /^\[(.+)\](:\d+)?$/.exec(text);
    if (v6) return `[${parseAddress(v6[1])?.toString() ?? v6[1]}]${v6[2] ?? ""}`;
    return parseAddress(text)?.toString() ?? text;
}

/**
 * The rule as `iptables-save` prints it (`-A CHAIN ...`), without `-A CHAIN` when `withChain` is
 * false: the same arguments, with host addresses as /32 or /128, IPv6 compressed and the comment
 * quoted. Also the line `iptables-restore` reads. Pure.
 */
export function savedRule(rule: NatRuleSpec, withComment = true): string {
    const args = iptablesRuleArgs(rule, withComment);
    const out = args.map((arg, i) => {
        const option = args[i - 1];
        if (option === "-s" || option === "-d") return savedNetwork(arg);
        if (option === "--comment") return `"${arg}"`;
        if (option === "--to-destination" || option === "--to-source") return savedTarget(arg);
        return arg;
    });
    return `-A ${chainOf(rule)} ${out.join(" ")}`;
}

/** One namespace's nat table, by family. */
function key(rule: Pick<NatRuleSpec, "netns" | "family">): string {
    return `${hostKey()}|${rule.family}:${rule.netns ?? ""}`;
}

const tables = new SharedReads<string[] | undefined>();

/**
 * The `-A` lines of a namespace's nat table (`iptables-save -t nat`), shared by the reads that
 * come within a second and before any command that may change the kernel; undefined when the
 * namespace does not exist.
 */
function natTable(rule: Pick<NatRuleSpec, "netns" | "family">): Promise<string[] | undefined> {
    return tables.get(key(rule), async () => {
        const output = await runRead(toolCommand(rule.netns, iptablesProgram(rule.family, "-save"), ["-t", "nat"]));
        return output?.stdout.split("\n").filter((line) => line.startsWith("-A "));
    });
}

/** A rule's target (`-j MASQUERADE`, ...) and chain, to find rules that could be the same as it. */
function sameKind(line: string, rule: NatRuleSpec): boolean {
    return line.startsWith(`-A ${chainOf(rule)} `) && line.includes(` -j ${rule.type.toUpperCase()}`);
}

/** A change waiting to go in the next `iptables-restore` of its namespace and family. */
interface Pending {
    rule: NatRuleSpec;
    op: "-A" | "-D";
    done: (err?: unknown) => void;
}

const queues = new Map<string, Pending[]>();

/**
 * Queues a change; the changes queued in the same turn of the event loop for one namespace and
 * family go in one `iptables-restore -w --noflush` (all or nothing). When that fails, each is
 * run on its own, so that each gets its own answer (a rule already gone is then success).
 * Equivalent to: `iptables-restore -w --noflush <<< "*nat\n-A ...\n-D ...\nCOMMIT"`.
 */
function change(rule: NatRuleSpec, op: "-A" | "-D"): Promise<void> {
    const k = key(rule);
    return new Promise<void>((resolve, reject) => {
        const done = (err?: unknown) => (err === undefined ? resolve() : reject(err));
        const queue = queues.get(k);
        if (queue) {
            queue.push({ rule, op, done });
            return;
        }
        queues.set(k, [{ rule, op, done }]);
        setImmediate(() => {
            const batch = queues.get(k)!;
            queues.delete(k);
            void flush(batch);
        });
    });
}

async function flush(batch: Pending[]): Promise<void> {
    const { family, netns } = batch[0].rule;
    if (batch.length > 1) {
        const text = ["*nat", ...batch.map((change) => `${change.op} ${savedRule(change.rule).slice(3)}`), "COMMIT", ""].join("\n");
        try {
            await runCommand({ ...toolCommand(netns, iptablesProgram(family, "-restore"), ["-w", "--noflush"], `${batch.length} nat rules`), input: text });
            for (const change of batch) change.done();
            return;
        } catch {
            // One of them was refused (or already gone): the table is as it was; ask one by one.
        }
    }
    await Promise.all(
        batch.map(async (change) =>
            change.done(
                await one(change).then(
                    () => undefined,
                    (err: unknown) => err ?? new Error("failed"),
                ),
            ),
        ),
    );
}

/** One change on its own. Equivalent to: `iptables -w -t nat -A|-D CHAIN <rule>`; deleting a rule that is gone is success. */
async function one(change: Pending): Promise<void> {
    if (change.op === "-D") await runDelete(iptables(change.rule, change.op));
    else await runCommand(iptables(change.rule, change.op));
}

/** The iptables backend. */
export const iptablesBackend: NatBackend = {
    /**
     * Refuses when an identical rule without our mark is there (read from the shared
     * `iptables-save`; asked of `iptables -C` when a rule of the same kind is there but reads
     * differently), then appends. Equivalent to: `iptables -w -t nat -C CHAIN <rule without
     * mark>`, then `-A CHAIN <rule>`.
     */
    async add(rule) {
        const lines = await natTable(rule);
        const bare = savedRule(rule, false);
        const others = (lines ?? []).filter((line) => sameKind(line, rule) && !line.includes(`--comment "${rule.comment}"`));
        const identical = others.includes(bare) || (others.some((line) => !line.includes("--comment")) && (await ruleExists(rule, false)));
        if (identical) {
            throw new Error(
                `an identical ${rule.type} rule without a pulumi-overlay mark already exists in the nat table's ${chainOf(rule)} chain ` +
                    `(${rule.netns === undefined ? "root namespace" : `network namespace "${rule.netns}"`}); it is not ours: remove it, or leave this NatRule out`,
            );
        }
        await change(rule, "-A");
    },

    /**
     * Present when the shared `iptables-save` holds exactly this rule with our mark; asked of
     * `iptables -C` when a line carries our mark but reads differently.
     * Equivalent to: `iptables -w -t nat -C CHAIN <rule>`.
     */
    async state(rule): Promise<RuleState> {
        const lines = await natTable(rule);
        if (lines === undefined) return "absent";
        const ours = lines.filter((line) => line.includes(`--comment "${rule.comment}"`));
        if (ours.length === 0) return "absent";
        if (ours.includes(savedRule(rule))) return "present";
        return (await ruleExists(rule, true)) ? "present" : "absent";
    },

    /** Equivalent to: `iptables -w -t nat -D CHAIN <rule>`; a rule or namespace already gone is success. */
    async remove(rule) {
        await change(rule, "-D");
    },
};
