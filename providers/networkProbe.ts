/**
 * The NetworkProbe provider: proves that a bridge network passes traffic once its attachments
 * exist. Each attachment pings its gateway and the next attachment (addresses of the lab only,
 * never anything outside it); when one cannot, the create or update fails with the pairs that
 * failed and a diagnosis: the nftables chains of other owners that drop forwarded traffic, and
 * the remedies. It leaves nothing on the host: nothing to mark, read back or delete.
 *
 * Its check already reads the host's ruleset, at preview too (a read changes nothing): a chain
 * of another owner that certainly drops the network's traffic (see ./forwardDrops.ts) and is not
 * listed in `acceptIn` fails the check, so that a preview says so and the up makes nothing.
 * @module
 */
import { pick, type Props } from "./common";
import { type BackendChoice, checkBackend, hostRuleset, resolveBackend } from "./firewallBackend";
import { chainName, dropDiagnosis, forwardDrops } from "./forwardDrops";
import { isHostError, runCommand, runRead, toolCommand } from "./host";
import { type MarkedInputs, defineProvider, markOf } from "./provider";
import { type CheckFailure, checkAddress, checkInterfaceName, checkNamespaceName, isUnknown } from "./validate";

/** One attachment to probe from. */
export interface ProbeMember {
    name: string;
    namespace: string;
    address: string;
}

/** Inputs after `check`. */
export interface NetworkProbeInputs extends MarkedInputs {
    logicalName: string;
    /** The host side's namespace (where the bridge and the firewall are). */
    netns?: string;
    bridge: string;
    gateway: string;
    members: ProbeMember[];
    /** The network's subnet, to tell the host's rules that name it. */
    subnet?: string;
    /** The backend of the network's own rules (`auto` when omitted). */
    backend?: BackendChoice;
    /** Chains of the host's firewall the network's accept rules go into (`inet hostfw forward`): their drops are remedied. */
    acceptIn?: string[];
}

/** Outputs: the inputs, and the pairs that were proved. */
export interface NetworkProbeOutputs extends NetworkProbeInputs {
    /** `c1 -> 10.0.0.1` for every ping that was answered. */
    proved: string[];
}

const INPUT_KEYS = ["logicalName", "mark", "netns", "bridge", "gateway", "members", "subnet", "backend", "acceptIn"] as const;
/** Pings run at once, at most. */
const CONCURRENCY = 16;

/** One probe: two echo requests 0.2 s apart, a second to answer. Equivalent to: `ip netns exec NS ping -n -c 2 -i 0.2 -W 1 ADDRESS`. */
async function reaches(namespace: string, address: string): Promise<boolean> {
    try {
        await runCommand(toolCommand(namespace, "ping", ["-n", "-q", "-c", "2", "-i", "0.2", "-W", "1", "--", address]));
        return true;
    } catch (err) {
        if (isHostError(err, "missingBinary")) throw err;
        return false;
    }
}

/** The pairs to try: every member to the gateway, and to the next member. */
export function probePairs(probe: Pick<NetworkProbeInputs, "gateway" | "members">): { from: ProbeMember; to: string; label: string }[] {
    const pairs = probe.members.map((from) => ({ from, to: probe.gateway, label: `${from.name} (${from.address}) -> gateway ${probe.gateway}` }));
    if (probe.members.length > 1) {
        probe.members.forEach((from, i) => {
            const to = probe.members[(i + 1) % probe.members.length];
            if (probe.members.length > 2 || i === 0)
                pairs.push({ from, to: to.address, label: `${from.name} (${from.address}) -> ${to.name} (${to.address})` });
        });
    }
    return pairs;
}

/** Runs the pairs; throws with the failures and the diagnosis when any fails. */
async function prove(probe: NetworkProbeInputs): Promise<string[]> {
    const pairs = probePairs(probe);
    let waiting = pairs;
    // A pair that fails is tried again twice, half a second apart: an IPv6 address may still be in
    // duplicate address detection, a bridge port still learning, just after the create.
    for (let attempt = 0; attempt < 3 && waiting.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
        const results: boolean[] = [];
        for (let i = 0; i < waiting.length; i += CONCURRENCY) {
            results.push(...(await Promise.all(waiting.slice(i, i + CONCURRENCY).map((p) => reaches(p.from.namespace, p.to)))));
        }
        waiting = waiting.filter((_p, i) => !results[i]);
    }
    const failed = waiting.map((p) => p.label);
    if (failed.length > 0) {
        const drops = (await hostDrops(probe).catch(() => undefined)) ?? [];
        const note = await bridgeNetfilterNote(probe.netns);
        throw new Error(
            `the network on bridge "${probe.bridge}" does not pass traffic: ${failed.join("; ")} failed. ${dropDiagnosis(drops, probe.bridge)}${note}`,
        );
    }
    return pairs.map((p) => p.label);
}

/**
 * The drops of other owners' chains in the host side's namespace; undefined when the namespace is
 * not there yet or its ruleset cannot be read. Equivalent to: `nft -j list ruleset`.
 */
async function hostDrops(probe: Pick<NetworkProbeInputs, "netns" | "bridge" | "subnet" | "backend">) {
    // One read of the ruleset serves both this look and `auto`'s choice of backend.
    const { ruleset } = await hostRuleset(probe.netns);
    if (ruleset === undefined) return undefined;
    const backend = await resolveBackend(probe.netns, probe.backend);
    return forwardDrops(ruleset, { backend, bridge: probe.bridge, subnets: probe.subnet ? [probe.subnet] : [] });
}

/**
 * A sentence saying that br_netfilter is on, when it is: then traffic between two ports of the
 * same bridge crosses the forward hook too, and a forward drop cuts the attachments off from each
 * other, not only from the outside. Equivalent to: `sysctl -n net.bridge.bridge-nf-call-iptables`.
 */
async function bridgeNetfilterNote(netns: string | undefined): Promise<string> {
    const value = await runRead({ ...toolCommand(netns, "sysctl", ["-n", "net.bridge.bridge-nf-call-iptables"]) }).catch(() => undefined);
    return value?.stdout.trim() === "1"
        ? " (br_netfilter is on here, bridge-nf-call-iptables = 1: traffic between the bridge's own ports crosses the forward hook too)"
        : "";
}

/**
 * The check's reading of the host: a failure naming the chains that certainly drop the network's
 * traffic and are not remedied by `acceptIn`, with the remedies. Nothing when the inputs it needs
 * are unknown (a preview) or the host cannot be read (no nft, no namespace yet): the pings decide.
 */
async function foreignDropFailure(probe: NetworkProbeInputs): Promise<CheckFailure | undefined> {
    if ([probe.netns, probe.bridge, probe.subnet, probe.backend, probe.acceptIn].some(isUnknown)) return undefined;
    if (Array.isArray(probe.acceptIn) && probe.acceptIn.some(isUnknown)) return undefined;
    const drops = await hostDrops(probe).catch(() => undefined);
    const remedied = new Set(probe.acceptIn ?? []);
    const open = (drops ?? []).filter((drop) => drop.definite && !remedied.has(chainName(drop)));
    if (open.length === 0) return undefined;
    const note = await bridgeNetfilterNote(probe.netns);
    return { property: "acceptIn", reason: `the network on bridge "${probe.bridge}" would not pass traffic: ${dropDiagnosis(open, probe.bridge)}${note}` };
}

export const provider = defineProvider<NetworkProbeInputs, NetworkProbeOutputs>({
    rules: { replace: [], update: ["netns", "bridge", "gateway", "members"], deleteBeforeReplace: false },
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as NetworkProbeInputs;
        const failures: (CheckFailure | undefined)[] = [
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            checkInterfaceName("bridge", inputs.bridge),
            checkAddress("gateway", inputs.gateway),
            checkBackend("backend", inputs.backend),
        ];
        if (inputs.acceptIn !== undefined && !isUnknown(inputs.acceptIn) && !Array.isArray(inputs.acceptIn))
            failures.push({ property: "acceptIn", reason: 'acceptIn must be a list of chains, e.g. ["inet hostfw forward"]' });
        if (!failures.some((f) => f !== undefined)) failures.push(await foreignDropFailure(inputs));
        // At preview a list built from outputs may be unknown as a whole: checked when known.
        if (isUnknown(inputs.members)) return { inputs, failures };
        if (!Array.isArray(inputs.members)) failures.push({ property: "members", reason: "members must be a list of { name, namespace, address }" });
        else {
            inputs.members.forEach((member, i) => {
                if (isUnknown(member)) return;
                failures.push(checkNamespaceName(`members[${i}].namespace`, member?.namespace), checkAddress(`members[${i}].address`, member?.address));
            });
        }
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const changed = INPUT_KEYS.filter(
            (key) => !["mark", "logicalName", "backend", "acceptIn", "subnet"].includes(key) && JSON.stringify(olds[key]) !== JSON.stringify(news[key]),
        );
        return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
    },

    /** Equivalent to: `ip netns exec NS ping -c 2 GATEWAY` and `... ping -c 2 NEXT` for each attachment. */
    async create(probe) {
        const mark = markOf(probe);
        return { id: `${probe.netns ?? ""}/${probe.bridge}`, outs: { ...probe, mark, proved: await prove(probe) } };
    },

    /** Nothing on the host to read: the proof stands until the inputs change. */
    async read(id, props) {
        return { id, props, inputs: pick(props, INPUT_KEYS) };
    },

    /** Proves the network again, with its new attachments. */
    async update(_id, olds, news) {
        return { outs: { ...news, mark: olds.mark, proved: await prove(news) } };
    },

    /** Nothing to remove. */
    async delete() {},
});
