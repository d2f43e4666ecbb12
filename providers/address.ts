/**
 * The Address provider: an IPv4 or IPv6 address on a device (`ip addr add CIDR dev DEV`). It owns
 * exactly the address and prefix it added, on the very link it added it to: the link's identity
 * (namespace and ifindex) is kept, and once a link of that name is another one (the bridge was
 * deleted and made again by hand, say), the address there is not this resource's and is never
 * read as it nor deleted. An address has no mark of its own: one deleted and added again by hand
 * on the same link cannot be told from ours (iproute2 before 6.3 cannot set an address's protocol).
 * @module
 */
import { inNetns, leftBehind, pick, type Props } from "./common";
import { ipCommand, type LinkAddrs, linkBatchShow, linkIdentity, namespaceState, netnsIdentity, RecordDir, runDelete } from "./host";
import { type MarkedInputs, defineProvider, markOf } from "./provider";
import { checkInterfaceCidr, checkInterfaceName, checkNamespaceName, isUnknown, parseCidr, sameAddress } from "./validate";

/** Inputs after `check`. */
export interface AddressInputs extends MarkedInputs {
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

const INPUT_KEYS = ["logicalName", "device", "address", "netns", "mark"] as const;

/**
 * The records of the addresses this project added in a namespace, one per address, holding the
 * adding resource's mark: written before the add, so that a create cut off by a crash is
 * recognised by its repeat (same mark) and taken over, never refused as someone else's.
 */
function addressRecords(address: Pick<AddressInputs, "netns">): RecordDir {
    return new RecordDir("addresses", netnsIdentity(address.netns));
}

function recordName(address: Pick<AddressInputs, "device" | "address">): string {
    return `${address.device} ${canonical(address.address)}`;
}

/** Forgets this resource's record of the address (it is gone, or not ours any more). */
function forget(address: AddressInputs & { mark?: string }): void {
    const records = addressRecords(address);
    if (address.mark !== undefined && records.read(recordName(address)) === address.mark) records.release(recordName(address));
}

/** The resource id: `netns/device/address`. */
function idOf(address: AddressInputs): string {
    return `${address.netns ?? ""}/${address.device}/${address.address}`;
}

/** The outputs: the inputs and the address taken apart. */
function outputsOf(address: AddressInputs, deviceIdentity: string | undefined): AddressOutputs {
    const cidr = parseCidr(address.address)!;
    return { ...address, family: cidr.family, ip: cidr.address.toString(), prefixLength: cidr.prefixLength, deviceIdentity };
}

function subject(address: AddressInputs): string {
    return `address ${address.address} on device "${address.device}"`;
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
async function presence(address: AddressOutputs): Promise<"ours" | "gone" | "otherLink"> {
    const state = await namespaceState(address.netns);
    const link = state.links.find((l) => l.ifname === address.device) as LinkAddrs | undefined;
    if (!link) return "gone";
    if (address.deviceIdentity !== undefined && linkIdentity(address.netns, link) !== address.deviceIdentity) return "otherLink";
    const cidr = parseCidr(address.address)!;
    return (link.addr_info ?? []).some((x) => sameAddress(x.local, cidr.address.toString()) && x.prefixlen === cidr.prefixLength) ? "ours" : "gone";
}

export const provider = defineProvider<AddressInputs, AddressOutputs>({
    rules: { replace: ["device", "address", "netns"], update: [], deleteBeforeReplace: true },
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as AddressInputs;
        if (typeof inputs.address === "string" && !isUnknown(inputs.address)) inputs.address = canonical(inputs.address);
        // Outputs the address decides, given as inputs too, so that a preview of an update knows them.
        const cidr = typeof inputs.address === "string" ? parseCidr(inputs.address) : undefined;
        if (cidr) Object.assign(inputs, { family: cidr.family, ip: cidr.address.toString(), prefixLength: cidr.prefixLength });
        return {
            inputs,
            failures: [
                checkInterfaceName("device", inputs.device),
                checkInterfaceCidr("address", inputs.address),
                inputs.netns === undefined ? undefined : checkNamespaceName("netns", inputs.netns),
            ],
        };
    },

    /**
     * Equivalent to: `ip -n $netns addr add $address dev $device` (IPv6 with `nodad`, so the
     * address is usable at once), and `ip -n $netns link show dev $device` for the link's
     * identity, in one `ip -batch` process. An address already on the device is refused ("File exists").
     */
    async create(inputs) {
        const mark = markOf(inputs);
        const records = addressRecords(inputs);
        if (records.read(recordName(inputs)) === mark) {
            // A create of this resource (same mark) that was cut off: taken over if the address is there.
            const link = (await namespaceState(inputs.netns)).links.find((l) => l.ifname === inputs.device);
            const cidr = parseCidr(inputs.address)!;
            if (link?.addr_info?.some((a) => sameAddress(a.local, cidr.address.toString()) && a.prefixlen === cidr.prefixLength)) {
                return { id: idOf(inputs), outs: outputsOf(inputs, linkIdentity(inputs.netns, link)) };
            }
        }
        records.write(recordName(inputs), mark);
        const cidr = parseCidr(inputs.address)!;
        const add = ["addr", "add", inputs.address, "dev", inputs.device, ...(cidr.family === 6 ? ["nodad"] : [])];
        try {
            const [link] = await linkBatchShow(inputs.netns, [add], [inputs.device], subject(inputs));
            return { id: idOf(inputs), outs: outputsOf(inputs, linkIdentity(inputs.netns, link)) };
        } catch (err) {
            forget({ ...inputs, mark });
            throw err;
        }
    },

    /** Equivalent to: `ip -n $netns -j addr show dev $device`, looking for exactly this address on the same link. */
    async read(id, props) {
        if ((await presence(props)) !== "ours") return {};
        return { id: id || idOf(props), props: outputsOf(props, props.deviceIdentity), inputs: pick(props, INPUT_KEYS) };
    },

    /**
     * Equivalent to: `ip -n $netns addr del $address dev $device`; gone (or device gone) is
     * success, and an address on another link of that name is left alone.
     */
    async delete(_id, props) {
        const now = await presence(props);
        if (now === "otherLink")
            leftBehind(subject(props), `device "${props.device}" ${inNetns(props.netns)} is not the link it was added to (it was deleted and made again)`);
        if (now === "ours") await runDelete({ ...ipCommand(props.netns, ["addr", "del", props.address, "dev", props.device]), subject: subject(props) });
        forget(props);
    },
});
