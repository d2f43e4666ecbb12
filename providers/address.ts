/**
 * The Address provider: an IPv4 or IPv6 address on a device (`ip addr add CIDR dev DEV`). It owns
 * exactly the address and prefix it added on that device, and deletes only that.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkResult, definedResults, diffProperties, pick, type Props } from "./common";
import { ipCommand, runCommand } from "./host/command";
import { isHostError } from "./host/errors";
import { addrList } from "./host/ip";
import { checkInterfaceCidr, checkInterfaceName, checkNamespaceName, isUnknown, parseCidr } from "./host/validate";

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
}

const rules = { replace: ["device", "address", "netns"], update: [], deleteBeforeReplace: true } as const;
const INPUT_KEYS = ["logicalName", "device", "address", "netns"] as const;

/** The resource id: `netns/device/address`. */
function idOf(a: AddressInputs): string {
    return `${a.netns ?? ""}/${a.device}/${a.address}`;
}

/** The outputs: the inputs and the address taken apart. */
function outputsOf(a: AddressInputs): AddressOutputs {
    const cidr = parseCidr(a.address)!;
    return { ...a, family: cidr.family, ip: cidr.address.toString(), prefixLength: cidr.prefixLength };
}

function subject(a: AddressInputs): string {
    return `address ${a.address} on device "${a.device}"`;
}

/** Normalises an address as the kernel prints it (`fd00::0002/64` -> `fd00::2/64`). */
function canonical(address: string): string {
    const cidr = parseCidr(address);
    return cidr ? `${cidr.address.toString()}/${cidr.prefixLength}` : address;
}

/** Whether the device carries exactly this address; undefined when the device or namespace is gone. */
async function present(a: AddressInputs): Promise<boolean> {
    const cidr = parseCidr(a.address)!;
    const addrs = await addrList(a.netns, a.device).catch((err) => {
        if (isHostError(err, "noNamespace")) return undefined;
        throw err;
    });
    return (addrs ?? []).some((x) => x.local === cidr.address.toString() && x.prefixlen === cidr.prefixLength);
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
     * address is usable at once). An address already on the device is refused ("File exists").
     */
    async create(props: Props) {
        const a = props as AddressInputs;
        const cidr = parseCidr(a.address)!;
        const args = ["addr", "add", a.address, "dev", a.device, ...(cidr.family === 6 ? ["nodad"] : [])];
        await runCommand({ ...ipCommand(a.netns, args), subject: subject(a) });
        return { id: idOf(a), outs: outputsOf(a) };
    },

    /** Equivalent to: `ip -n $netns -j addr show dev $device`, looking for exactly this address. */
    async read(id: string, props: Props) {
        if (!(await present(props as AddressInputs))) return {};
        return { id: id || idOf(props as AddressInputs), props: outputsOf(props as AddressInputs), inputs: pick(props, INPUT_KEYS) };
    },

    /** Equivalent to: `ip -n $netns addr del $address dev $device`; gone (or device gone) is success. */
    async delete(_id: string, props: Props) {
        const a = props as AddressInputs;
        try {
            await runCommand({ ...ipCommand(a.netns, ["addr", "del", a.address, "dev", a.device]), subject: subject(a) });
        } catch (err) {
            // Not there, or its device or namespace is gone and took it along: nothing left to delete.
            if (isHostError(err, "notFound", "noDevice", "noNamespace")) return;
            throw err;
        }
    },
});

