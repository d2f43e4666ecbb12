/**
 * The Sysctl provider: one kernel parameter, set within a namespace (`net.*` keys are per
 * namespace). It remembers the value it found and puts it back on delete, unless someone has
 * changed the value since (then the newer value is theirs and is left alone).
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, definedResults, diffProperties, pick, type Props } from "./common";
import { runCommand, toolCommand } from "./host/command";
import { isHostError } from "./host/errors";
import { netnsExists } from "./host/ip";
import { checkNamespaceName, checkSysctlKey, checkSysctlValue, isUnknown } from "./host/validate";

/** Inputs after `check`: the value is kept as the kernel prints it (a string, single spaces). */
export interface SysctlInputs {
    logicalName: string;
    key: string;
    value: string;
    netns?: string;
}

/** Outputs. */
export interface SysctlOutputs extends SysctlInputs {
    /** The value found before the first write; restored on delete. */
    previousValue: string;
}

const rules = { replace: ["key", "netns"], update: ["value"], deleteBeforeReplace: true } as const;
const INPUT_KEYS = ["logicalName", "key", "value", "netns"] as const;

/** Values compare as the kernel prints them: tabs and runs of spaces are one space. */
export function normalizeSysctlValue(value: unknown): string {
    return String(value).trim().split(/\s+/).join(" ");
}

/** Equivalent to: `ip netns exec $netns sysctl -n $key`. */
async function sysctlGet(netns: string | undefined, key: string): Promise<string> {
    const { stdout } = await runCommand(toolCommand(netns, "sysctl", ["-n", key], `sysctl "${key}"`));
    return normalizeSysctlValue(stdout);
}

/** Equivalent to: `ip netns exec $netns sysctl -q -w $key=$value`. */
async function sysctlSet(netns: string | undefined, key: string, value: string): Promise<void> {
    await runCommand(toolCommand(netns, "sysctl", ["-q", "-w", `${key}=${value}`], `sysctl "${key}"`));
}

/** Writes and reads back; the kernel may refuse or clamp a value, and that must not pass silently. */
async function writeVerified(netns: string | undefined, key: string, value: string): Promise<void> {
    await sysctlSet(netns, key, value);
    const now = await sysctlGet(netns, key);
    if (now !== value) {
        throw new Error(`sysctl "${key}" reads '${now}' after writing '${value}': the kernel did not take the value; check its allowed range`);
    }
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(_olds: Props, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        const valueFailure = checkSysctlValue("value", inputs.value);
        if (!valueFailure && inputs.value !== undefined && !isUnknown(inputs.value)) inputs.value = normalizeSysctlValue(inputs.value);
        return checkResult(inputs, [
            checkSysctlKey("key", inputs.key),
            inputs.value === undefined ? { property: "value", reason: "value is required, e.g. 1" } : valueFailure,
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
        ]);
    },

    async diff(_id: string, olds: Props, news: Props) {
        return diffProperties(olds, news, rules);
    },

    /** Equivalent to: `sysctl -n $key` (remembered), then `sysctl -w $key=$value`, read back. */
    async create(props: Props) {
        const s = props as SysctlInputs;
        const previousValue = await sysctlGet(s.netns, s.key);
        try {
            await writeVerified(s.netns, s.key, s.value);
        } catch (err) {
            await sysctlSet(s.netns, s.key, previousValue).catch(() => undefined);
            throw err;
        }
        const outs: SysctlOutputs = { ...s, previousValue };
        return { id: `${s.netns ?? ""}/${s.key}`, outs };
    },

    /** Equivalent to: `sysctl -n $key`; a changed value is reported, a gone namespace means gone. */
    async read(id: string, props: Props) {
        const old = props as SysctlOutputs;
        if (old.netns !== undefined && !netnsExists(old.netns)) return {};
        const value = await sysctlGet(old.netns, old.key);
        const outs: SysctlOutputs = { ...old, value };
        return { id, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `sysctl -w $key=$value`. */
    async update(_id: string, olds: Props, news: Props) {
        const s = news as SysctlInputs;
        await writeVerified(s.netns, s.key, s.value);
        return { outs: { ...s, previousValue: olds.previousValue } };
    },

    /** Equivalent to: `sysctl -w $key=$previousValue`, when the value is still ours; a gone namespace is success. */
    async delete(_id: string, props: Props) {
        const s = props as SysctlOutputs;
        if (s.netns !== undefined && !netnsExists(s.netns)) return;
        try {
            const now = await sysctlGet(s.netns, s.key);
            if (now === s.value && now !== s.previousValue) await sysctlSet(s.netns, s.key, s.previousValue);
        } catch (err) {
            if (isHostError(err, "noNamespace")) return;
            throw err;
        }
    },
});
