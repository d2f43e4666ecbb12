/**
 * The iptables NAT backend: one rule in the `nat` table, POSTROUTING for masquerade and SNAT,
 * PREROUTING (or OUTPUT, for the host's own packets) for DNAT, carrying `-m comment --comment <mark>`. `-w` waits for the xtables lock,
 * so parallel steps never fail on it.
 * @module
 */
import { runCommand, toolCommand } from "../host/command";
import { isHostError } from "../host/errors";
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
    const args: string[] = [];
    if (rule.source !== undefined) args.push("-s", rule.source);
    if (rule.destination !== undefined) args.push("-d", rule.destination);
    if (rule.inInterface !== undefined) args.push("-i", rule.inInterface);
    if (rule.outInterface !== undefined) args.push("-o", rule.outInterface);
    if (rule.protocol !== undefined) args.push("-p", rule.protocol);
    if (rule.port !== undefined) args.push("-m", rule.protocol!, "--dport", String(rule.port));
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
    const program = rule.family === 6 ? "ip6tables" : "iptables";
    return {
        ...toolCommand(rule.netns, program, ["-w", "-t", "nat", op, chainOf(rule), ...iptablesRuleArgs(rule, withComment)]),
        subject: `${rule.type} rule "${rule.comment}"`,
    };
}

/** `iptables -C` answers "Bad rule" when there is no such rule; other failures are real errors. */
async function ruleExists(rule: NatRuleSpec, withComment: boolean): Promise<boolean> {
    try {
        await runCommand(iptables(rule, "-C", withComment));
        return true;
    } catch (err) {
        if (isHostError(err, "notFound", "noNamespace")) return false;
        throw err;
    }
}

/** The iptables backend. */
export const iptablesBackend: NatBackend = {
    /** Equivalent to: `iptables -w -t nat -C CHAIN <rule without mark>` (refuse if found), then `-A CHAIN <rule>`. */
    async add(rule) {
        if (await ruleExists(rule, false)) {
            throw new Error(
                `an identical ${rule.type} rule without a pulumi-overlay mark already exists in the nat table's ${chainOf(rule)} chain ` +
                    `(${rule.netns === undefined ? "root namespace" : `network namespace "${rule.netns}"`}); it is not ours: remove it, or leave this NatRule out`,
            );
        }
        await runCommand(iptables(rule, "-A"));
    },

    /** Equivalent to: `iptables -w -t nat -C CHAIN <rule>`. */
    async state(rule): Promise<RuleState> {
        return (await ruleExists(rule, true)) ? "present" : "absent";
    },

    /** Equivalent to: `iptables -w -t nat -D CHAIN <rule>`. */
    async remove(rule) {
        try {
            await runCommand(iptables(rule, "-D"));
        } catch (err) {
            if (isHostError(err, "notFound", "noNamespace")) return;
            throw err;
        }
    },
};
