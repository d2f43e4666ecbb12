/**
 * The Sysctl provider: one kernel parameter, set within a namespace (`net.*` keys are per
 * namespace). It remembers the value it found and puts it back on delete, unless someone has
 * changed the value since (then the newer value is theirs and is left alone). Resources that set
 * the same key to the same value share it: a record on the host (see host/store.ts) lists them,
 * and the last one deleted restores the original value.
 * @module
 */
import { inNetns, pick, type Props } from "./common";
import { netnsExists, netnsIdentity, RecordDir, runCommand, runRead, toolCommand } from "./host";
import { type MarkedInputs, defineProvider, markOf } from "./provider";
import { checkNamespaceName, checkSysctlKey, checkSysctlValue, isUnknown } from "./validate";

/** Inputs after `check`: the value is kept as the kernel prints it (a string, single spaces). */
export interface SysctlInputs extends MarkedInputs {
    logicalName: string;
    key: string;
    value: string;
    netns?: string;
}

/** Outputs. */
export interface SysctlOutputs extends SysctlInputs {
    /** The value found before the first write; restored on delete. */
    previousValue: string;
    /** The folder on the host that records who set keys in this namespace. */
    claimScope?: string;
    /** This resource's mark in that record. */
    claimToken?: string;
}

const INPUT_KEYS = ["logicalName", "key", "value", "netns", "mark"] as const;

/** Values compare as the kernel prints them: tabs and runs of spaces are one space. */
export function normalizeSysctlValue(value: unknown): string {
    return String(value).trim().split(/\s+/).join(" ");
}

/**
 * Equivalent to: `ip netns exec $netns sysctl -n -- $key` (`--`: a key is never read as an
 * option); undefined when the namespace is gone.
 */
async function sysctlRead(netns: string | undefined, key: string): Promise<string | undefined> {
    const output = await runRead(toolCommand(netns, "sysctl", ["-n", "--", key], `sysctl "${key}"`));
    return output && normalizeSysctlValue(output.stdout);
}

/** {@link sysctlRead} where the namespace must exist. */
async function sysctlGet(netns: string | undefined, key: string): Promise<string> {
    const value = await sysctlRead(netns, key);
    if (value === undefined) throw new Error(`network namespace "${netns}" does not exist: create it first, or fix the netns property`);
    return value;
}

/** Equivalent to: `ip netns exec $netns sysctl -q -w -- $key=$value`. */
async function sysctlSet(netns: string | undefined, key: string, value: string): Promise<void> {
    await runCommand(toolCommand(netns, "sysctl", ["-q", "-w", "--", `${key}=${value}`], `sysctl "${key}"`));
}

/** Writes and reads back; the kernel may refuse or clamp a value, and that must not pass silently. */
async function writeVerified(netns: string | undefined, key: string, value: string): Promise<void> {
    await sysctlSet(netns, key, value);
    const now = await sysctlGet(netns, key);
    if (now !== value) {
        throw new Error(`sysctl "${key}" reads '${now}' after writing '${value}': the kernel did not take the value; check its allowed range`);
    }
}

export const provider = defineProvider<SysctlInputs, SysctlOutputs>({
    rules: { replace: ["key", "netns"], update: ["value"], deleteBeforeReplace: true },
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as SysctlInputs;
        const valueFailure = checkSysctlValue("value", inputs.value);
        if (!valueFailure && inputs.value !== undefined && !isUnknown(inputs.value)) inputs.value = normalizeSysctlValue(inputs.value);
        return {
            inputs,
            failures: [
                checkSysctlKey("key", inputs.key, inputs.netns),
                inputs.value === undefined ? { property: "value", reason: "value is required, e.g. 1" } : valueFailure,
                inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            ],
        };
    },

    /**
     * Equivalent to: `sysctl -n $key` (remembered), then `sysctl -w $key=$value`, read back.
     * Several resources may set one key to the same value (two networks that both need
     * forwarding): the first remembers the original value, and the last one deleted restores it.
     */
    async create(setting) {
        const claimToken = markOf(setting);
        const claims = new RecordDir("sysctl", netnsIdentity(setting.netns));
        const claimScope = claims.dir;
        const previousValue = await claims.locked(async () => {
            const shared = readClaim(claims, setting.key);
            // Already an owner: a create of this resource that was cut off got this far.
            if (shared?.owners.includes(claimToken) && shared.value === setting.value) {
                if ((await sysctlGet(setting.netns, setting.key)) !== setting.value) await writeVerified(setting.netns, setting.key, setting.value);
                return shared.original;
            }
            if (shared && shared.value !== setting.value) {
                throw new Error(
                    `sysctl "${setting.key}" ${inNetns(setting.netns)} is already set to '${shared.value}' by ${shared.owners.join(", ")}; ` +
                        "two resources cannot set different values: give both the same value, or remove one",
                );
            }
            const original = shared ? shared.original : await sysctlGet(setting.netns, setting.key);
            try {
                if ((await sysctlGet(setting.netns, setting.key)) !== setting.value) await writeVerified(setting.netns, setting.key, setting.value);
            } catch (err) {
                if (!shared) await sysctlSet(setting.netns, setting.key, original).catch(() => undefined);
                throw err;
            }
            writeClaim(claims, setting.key, { original, value: setting.value, owners: [...(shared?.owners ?? []), claimToken] });
            return original;
        });
        const outs: SysctlOutputs = { ...setting, previousValue, claimScope, claimToken };
        return { id: `${setting.netns ?? ""}/${setting.key}`, outs };
    },

    /** Equivalent to: `sysctl -n $key`; a changed value is reported, a gone namespace means gone. */
    async read(id, props) {
        const old = { ...props };
        if (old.netns !== undefined && !netnsExists(old.netns)) return {};
        if (old.previousValue === undefined) {
            // Only the inputs (an engine that lost a create's result): the host's record tells
            // whether the create got through, and what the value was before.
            const claims = new RecordDir("sysctl", netnsIdentity(old.netns));
            const claim = readClaim(claims, old.key);
            if (!claim || !old.mark || !claim.owners.includes(old.mark)) return {};
            Object.assign(old, { previousValue: claim.original, claimScope: claims.dir, claimToken: old.mark });
        }
        const value = await sysctlRead(old.netns, old.key);
        if (value === undefined) return {};
        const outs: SysctlOutputs = { ...old, value };
        return { id: id || `${old.netns ?? ""}/${old.key}`, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Equivalent to: `sysctl -w $key=$value`; refused while other resources share the key. */
    async update(_id, olds, setting) {
        const claims = olds.claimScope ? RecordDir.at(olds.claimScope) : new RecordDir("sysctl", netnsIdentity(setting.netns));
        await claims.locked(async () => {
            const shared = readClaim(claims, setting.key);
            const others = (shared?.owners ?? []).filter((owner) => owner !== olds.claimToken);
            if (others.length > 0) {
                throw new Error(
                    `sysctl "${setting.key}" ${inNetns(setting.netns)} is shared with ${others.join(", ")}; change the value of every resource that sets it, or remove them first`,
                );
            }
            await writeVerified(setting.netns, setting.key, setting.value);
            if (shared) writeClaim(claims, setting.key, { ...shared, value: setting.value });
        });
        return { outs: { ...setting, previousValue: olds.previousValue, claimScope: olds.claimScope, claimToken: olds.claimToken } };
    },

    /**
     * Equivalent to: `sysctl -w $key=$previousValue`, by the last resource that set the key, and
     * only while the value is still the one set; a gone namespace is success.
     */
    async delete(_id, setting) {
        const claims = setting.claimScope ? RecordDir.at(setting.claimScope) : new RecordDir("sysctl", netnsIdentity(setting.netns));
        await claims.locked(async () => {
            const shared = readClaim(claims, setting.key);
            const others = (shared?.owners ?? []).filter((owner) => owner !== setting.claimToken);
            if (shared && others.length > 0) {
                writeClaim(claims, setting.key, { ...shared, owners: others });
                return;
            }
            claims.release(claimName(setting.key));
            // A namespace gone is success: its settings went with it.
            const now = await sysctlRead(setting.netns, setting.key);
            if (now !== undefined && now === setting.value && now !== setting.previousValue) await sysctlSet(setting.netns, setting.key, setting.previousValue);
        });
    },
});

/** What the host keeps for a key that one or more resources set. */
interface SysctlClaim {
    /** The value before the first resource set it. */
    original: string;
    value: string;
    /** The marks of the resources that set it. */
    owners: string[];
}

function claimName(key: string): string {
    return key.replace(/\//g, ".");
}

function readClaim(claims: RecordDir, key: string): SysctlClaim | undefined {
    const text = claims.read(claimName(key));
    return text ? (JSON.parse(text) as SysctlClaim) : undefined;
}

function writeClaim(claims: RecordDir, key: string, claim: SysctlClaim): void {
    claims.write(claimName(key), JSON.stringify(claim));
}
