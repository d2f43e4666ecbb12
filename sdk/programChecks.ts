/**
 * Checks across the resources of one program, made as they are declared: what `up` would
 * certainly refuse (or get silently wrong) because of two resources together fails the program at
 * preview, before anything is created. Each provider's check sees one resource; these see them all.
 *
 * Only values known when the program declares them (plain strings, not outputs) take part: an
 * output is not known until the resources before it exist.
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Subnet } from "../providers/ipam";

/**
 * A namespace (or name) on a host, for these checks: itself on this machine, `NAME@HOST` on a host
 * reached over SSH, and an output (not known yet) when the host is not known.
 */
export function onHostKey(connection: unknown, name: pulumi.Input<string> | undefined): pulumi.Input<string> | undefined {
    if (connection === undefined) return name;
    const host = (connection as { host?: unknown }).host;
    if (typeof host !== "string" || (name !== undefined && typeof name !== "string")) return {} as pulumi.Input<string>;
    return `${name ?? ""}@${host}`;
}

/** A namespace as a key: the root namespace is "", an output (not known yet) is undefined. */
export function namespaceKey(netns: pulumi.Input<string> | undefined): string | undefined {
    if (netns === undefined) return "";
    return typeof netns === "string" ? netns : undefined;
}

function where(key: string): string {
    return key === "" ? "the root network namespace" : `network namespace "${key}"`;
}

/** What one program has declared so far. */
class ProgramChecks {
    private readonly networks: { who: string; key: string; subnet: Subnet }[] = [];
    private readonly bridges = new Map<string, string>();
    private readonly namespaces = new Map<string, string>();
    private readonly ports = new Map<string, string>();
    private readonly sysctls = new Map<string, { who: string; value: string }>();

    /** A network's subnet: no other network's in the same namespace may overlap it (one would lose its gateway). */
    subnet(who: string, netns: pulumi.Input<string> | undefined, subnet: Subnet): void {
        const key = namespaceKey(netns);
        if (key === undefined) return;
        const overlapping = this.networks.find((n) => n.key === key && overlap(n.subnet, subnet));
        if (overlapping) {
            throw new Error(
                `${who}: subnet ${subnet.text} overlaps ${overlapping.subnet.text} of ${overlapping.who} in ${where(key)}; give each network a subnet of its own`,
            );
        }
        this.networks.push({ who, key, subnet });
    }

    /** A bridge's name, unique per namespace. */
    bridge(who: string, netns: pulumi.Input<string> | undefined, name: pulumi.Input<string> | undefined): void {
        this.unique(this.bridges, namespaceKey(netns), name, who, "bridge");
    }

    /** A network namespace's name, made by one resource only. */
    namespace(who: string, name: pulumi.Input<string> | undefined): void {
        if (typeof name !== "string") return;
        const other = this.namespaces.get(name);
        if (other) throw new Error(`${who}: network namespace "${name}" is already made by ${other}; give each its own namespace`);
        this.namespaces.set(name, who);
    }

    /** A host port published in a namespace, once per protocol. */
    hostPort(who: string, netns: pulumi.Input<string> | undefined, protocol: string, port: number): void {
        this.unique(this.ports, namespaceKey(netns), `${protocol}/${port}`, who, "host port");
    }

    /** A sysctl's value: two resources may share a key only with the same value. */
    sysctl(who: string, netns: pulumi.Input<string> | undefined, key: pulumi.Input<string>, value: pulumi.Input<string | number>): void {
        const space = namespaceKey(netns);
        if (space === undefined || typeof key !== "string" || (typeof value !== "string" && typeof value !== "number")) return;
        const id = `${space}\n${key.replace(/\//g, ".")}`;
        const text = String(value).trim().split(/\s+/).join(" ");
        const other = this.sysctls.get(id);
        if (other && other.value !== text) {
            throw new Error(
                `${who}: sets ${key} to '${text}' in ${where(space)}, but ${other.who} sets it to '${other.value}'; two resources cannot set different values`,
            );
        }
        this.sysctls.set(id, other ?? { who, value: text });
    }

    private unique(seen: Map<string, string>, key: string | undefined, name: pulumi.Input<string> | undefined, who: string, what: string): void {
        if (key === undefined || typeof name !== "string") return;
        const id = `${key}\n${name}`;
        const other = seen.get(id);
        if (other) throw new Error(`${who}: ${what} ${name} in ${where(key)} is already taken by ${other}`);
        seen.set(id, who);
    }
}

function overlap(a: Subnet, b: Subnet): boolean {
    return a.family === b.family && a.network < b.network + b.size && b.network < a.network + a.size;
}

let current = new ProgramChecks();

/** The checks of the program being run. */
export function programChecks(): ProgramChecks {
    return current;
}

/** Forgets what was declared (for tests that declare several programs in one process). */
export function resetProgramChecks(): void {
    current = new ProgramChecks();
}

/** How many attachments a subnet has room for: its host addresses, the gateway aside. */
export function attachmentRoom(subnet: Subnet): bigint {
    const hosts = subnet.family === 4 ? subnet.size - 2n : subnet.size - 1n;
    return hosts - 1n;
}
