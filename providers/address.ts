/**
 * The Address provider: an IPv4 or IPv6 address on a device (`ip addr add CIDR dev DEV`). It owns
 * exactly the address and prefix it added, on the very link it added it to: the link's identity
 * (namespace and ifindex) is kept, and once a link of that name is another one (the bridge was
 * deleted and made again by hand, say), the address there is not this resource's and is never
 * read as it nor deleted. An address has no mark of its own: one deleted and added again by hand
 * on the same link cannot be told from ours (iproute2 before 6.3 cannot set an address's protocol).
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, definedResults, diffProperties, inNetns, leftBehind, pick, type Props } from "./common";
import { ipCommand, runCommand } from "./host/command";
import { isHostError } from "./host/errors";
import { type LinkAddrs, linkBatchShow, linkIdentity, namespaceState } from "./host/ip";
import { checkInterfaceCidr, checkInterfaceName, checkNamespaceName, isUnknown, parseCidr, sameAddress } from "./host/validate";

/** Inputs after `check`. */
export interface AddressInputs {
    logicalName: string;
    device: string;
    /** The address with its prefix length, e.g. `10.0.0.2/24`. */
    address: string;
    netns?: string;
}

/** Outputs. */
export interface AddressOutputs extends AddressInputs {
    family: 4 | 6;
    /** The address without its prefix length. */
    ip: string;
    prefixLength: number;
    /** The link the address was added to (see {@link linkIdentity}); absent in stacks made before 0.2. */
    deviceIdentity?: string;
}

const rules = { replace: ["device", "address", "netns"], update: [], deleteBeforeReplace: true } as const;
const INPUT_KEYS = ["logicalName", "device", "address", "netns"] as const;

/** The resource id: `netns/device/address`. */
function idOf(a: AddressInputs): string {
    return `${a.netns ?? ""}/${a.device}/${a.address}`;
}

/** The outputs: the inputs and the address taken apart. */
function outputsOf(a: AddressInputs, deviceIdentity: string | undefined): AddressOutputs {
    const cidr = parseCidr(a.address)!;
    return { ...a, family: cidr.family, ip: cidr.address.toString(), prefixLength: cidr.prefixLength, deviceIdentity };
}

function subject(a: AddressInputs): string {
    return `address ${a.address} on device "${a.device}"`;
}

/** Normalises an address as the kernel prints it (`fd00::0002/64` -> `fd00::2/64`). */
function canonical(address: string): string {
    const cidr = parseCidr(address);
    return cidr ? `${cidr.address.toString()}/${cidr.prefixLength}` : address;
}

/**
 * What is on the host of this address: `ours` (on the link it was added to), `gone` (the
 * address, its device or its namespace is gone), or `otherLink` (a link of that name that is not
 * the one it was added to: whatever it holds is someone else's).
 */
async function presence(a: AddressOutputs): Promise<"ours" | "gone" | "otherLink"> {
    const state = await namespaceState(a.netns).catch((err) => {
        if (isHostError(err, "noNamespace")) return undefined;
        throw err;
    });
    const link: LinkAddrs | undefined = state?.links.find((l) => l.ifname === a.device) as LinkAddrs | undefined;
    if (!link) return "gone";
    if (a.deviceIdentity !== undefined && linkIdentity(a.netns, link) !== a.deviceIdentity) return "otherLink";
    const cidr = parseCidr(a.address)!;
    return (link.addr_info ?? []).some((x) => sameAddress(x.local, cidr.address.toString()) && x.prefixlen === cidr.prefixLength) ? "ours" : "gone";
}

export const provider: pulumi.dynamic.ResourceProvider = definedResults({
    async check(_olds: Props, news: Props) {
        const inputs = pick(news, INPUT_KEYS);
        if (typeof inputs.address === "string" && !isUnknown(inputs.address)) inputs.address = canonical(inputs.address);
        return checkResult(inputs, [
            checkInterfaceName("device", inputs.device),
            checkInterfaceCidr("address", inputs.address),
            inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
        ]);
    },

    async diff(_id: string, olds: Props, news: Props) {
        return diffProperties(olds, news, rules);
    },

    /**
     * Equivalent to: `ip -n $netns addr add $address dev $device` (IPv6 with `nodad`, so the
     * address is usable at once), and `ip -n $netns link show dev $device` for the link's
     * identity, in one `ip -batch` process. An address already on the device is refused ("File exists").
     */
    async create(props: Props) {
        const a = props as AddressInputs;
        const cidr = parseCidr(a.address)!;
        const add = ["addr", "add", a.address, "dev", a.device, ...(cidr.family === 6 ? ["nodad"] : [])];
        const [link] = await linkBatchShow(a.netns, [add], [a.device], subject(a));
        return { id: idOf(a), outs: outputsOf(a, linkIdentity(a.netns, link)) };
    },

    /** Equivalent to: `ip -n $netns -j addr show dev $device`, looking for exactly this address on the same link. */
    async read(id: string, props: Props) {
        const a = props as AddressOutputs;
        if ((await presence(a)) !== "ours") return {};
        return { id: id || idOf(a), props: outputsOf(a, a.deviceIdentity), inputs: pick(props, INPUT_KEYS) };
    },

    /**
     * Equivalent to: `ip -n $netns addr del $address dev $device`; gone (or device gone) is
     * success, and an address on another link of that name is left alone.
     */
    async delete(_id: string, props: Props) {
        const a = props as AddressOutputs;
        const now = await presence(a);
        if (now === "otherLink") leftBehind(subject(a), `device "${a.device}" ${inNetns(a.netns)} is not the link it was added to (it was deleted and made again)`);
        if (now !== "ours") return;
        try {
            await runCommand({ ...ipCommand(a.netns, ["addr", "del", a.address, "dev", a.device]), subject: subject(a) });
        } catch (err) {
            // Not there, or its device or namespace is gone and took it along: nothing left to delete.
            if (isHostError(err, "notFound", "noDevice", "noNamespace")) return;
            throw err;
        }
    },
});
