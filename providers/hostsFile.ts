/**
 * The HostsFile provider: names that resolve inside network namespaces. For each namespace listed,
 * /etc/netns/<namespace>/hosts (and resolv.conf when nameservers are given), which `ip netns exec`
 * bind-mounts over /etc/hosts: `ip netns exec c1 ping c2` finds c2. The host's own /etc/hosts is
 * never touched. Ours is a file whose first line carries the mark; any other is refused and left.
 * @module
 */
import { leftBehind, pick, type Props } from "./common";
import { readNetnsFile, removeNetnsFile, writeNetnsFile } from "./host";
import { type MarkedInputs, defineProvider, markOf } from "./provider";
import { type CheckFailure, checkAddress, checkNamespaceName, isUnknown } from "./validate";

/** One line of the hosts files: an address and its names. */
export interface HostsEntry {
    address: string;
    names: string[];
}

/** Inputs after `check`. */
export interface HostsFileInputs extends MarkedInputs {
    logicalName: string;
    /** The namespaces whose files hold the entries. */
    namespaces: string[];
    entries: HostsEntry[];
    /** Nameservers for the namespaces' resolv.conf; omitted: the host's resolv.conf is used. */
    nameservers?: string[];
}

/** Outputs. */
export interface HostsFileOutputs extends HostsFileInputs {
    /** What refresh found changed out of band, in words; the next up writes the files again. */
    drift: string[];
}

const INPUT_KEYS = ["logicalName", "mark", "namespaces", "entries", "nameservers"] as const;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function header(mark: string): string {
    return `# ${mark}: written by pulumi-overlay, which changes and removes it`;
}

/** The hosts file of the entries. Pure. */
export function hostsText(mark: string, entries: HostsEntry[]): string {
    const lines = [
        header(mark),
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        ...entries.map((e) => `${e.address}\t${e.names.join(" ")}`),
    ];
    return `${lines.join("\n")}\n`;
}

/** The resolv.conf of the nameservers. Pure. */
export function resolvText(mark: string, nameservers: string[]): string {
    return `${[header(mark), ...nameservers.map((n) => `nameserver ${n}`)].join("\n")}\n`;
}

function ours(text: string | undefined, mark: string): boolean {
    return text !== undefined && text.startsWith(`${header(mark)}\n`);
}

/** Writes every namespace's files, refusing one that is there and not ours. */
function writeAll(files: HostsFileInputs, mark: string): void {
    for (const namespace of files.namespaces) {
        const existing = readNetnsFile(namespace, "hosts");
        if (existing !== undefined && !ours(existing, mark)) {
            throw new Error(`/etc/netns/${namespace}/hosts exists and was not written by this resource; remove it, or leave names out for that namespace`);
        }
        writeNetnsFile(namespace, "hosts", hostsText(mark, files.entries));
        if (files.nameservers?.length) writeNetnsFile(namespace, "resolv.conf", resolvText(mark, files.nameservers));
    }
}

/** Removes a namespace's files when they are ours. */
function removeFrom(namespace: string, mark: string): void {
    for (const name of ["hosts", "resolv.conf"] as const) {
        const text = readNetnsFile(namespace, name);
        if (ours(text, mark)) removeNetnsFile(namespace, name);
        else if (text !== undefined && name === "hosts") leftBehind(`/etc/netns/${namespace}/hosts`, "it was not written by this resource");
    }
}

/** Check of one entry; its unknown parts (at preview) pass. */
function checkEntry(entry: unknown, i: number): (CheckFailure | undefined)[] {
    if (isUnknown(entry)) return [];
    const { address, names } = (entry ?? {}) as Partial<HostsEntry>;
    const failures: (CheckFailure | undefined)[] = [checkAddress(`entries[${i}].address`, address)];
    if (isUnknown(names)) return failures;
    (Array.isArray(names) ? names : [undefined]).forEach((name, j) => {
        if (!isUnknown(name) && (typeof name !== "string" || !HOSTNAME.test(name))) {
            failures.push({
                property: `entries[${i}].names[${j}]`,
                reason: `entries[${i}].names[${j}] ${JSON.stringify(name)} is not a host name (letters, digits, '-' and '.')`,
            });
        }
    });
    return failures;
}

export const provider = defineProvider<HostsFileInputs, HostsFileOutputs>({
    rules: { replace: [], update: ["namespaces", "entries", "nameservers"], deleteBeforeReplace: false },
    marked: true,

    async check(_olds, news: Props) {
        const inputs = pick(news, INPUT_KEYS) as HostsFileInputs;
        const failures: (CheckFailure | undefined)[] = [];
        // At preview, lists and their elements may be unknown (addresses not leased yet): checked when known.
        if (!isUnknown(inputs.namespaces)) {
            if (!Array.isArray(inputs.namespaces)) failures.push({ property: "namespaces", reason: "namespaces must be a list of namespace names" });
            else failures.push(...inputs.namespaces.map((ns, i) => (isUnknown(ns) ? undefined : checkNamespaceName(`namespaces[${i}]`, ns))));
        }
        if (!isUnknown(inputs.entries)) {
            if (!Array.isArray(inputs.entries)) failures.push({ property: "entries", reason: "entries must be a list of { address, names }" });
            else failures.push(...inputs.entries.flatMap((entry, i) => checkEntry(entry, i)));
        }
        if (inputs.nameservers !== undefined && !isUnknown(inputs.nameservers)) {
            if (!Array.isArray(inputs.nameservers)) failures.push({ property: "nameservers", reason: "nameservers must be a list of addresses" });
            else failures.push(...inputs.nameservers.map((server, i) => checkAddress(`nameservers[${i}]`, server)));
        }
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const changed = ["namespaces", "entries", "nameservers"].filter(
            (key) => JSON.stringify(olds[key as keyof HostsFileInputs]) !== JSON.stringify(news[key as keyof HostsFileInputs]),
        );
        return { changes: changed.length > 0 || (Array.isArray(olds.drift) && olds.drift.length > 0), replaces: [], deleteBeforeReplace: false };
    },

    /** Equivalent to: writing /etc/netns/<namespace>/hosts (and resolv.conf) for each namespace. */
    async create(files) {
        const mark = markOf(files);
        writeAll(files, mark);
        return { id: files.namespaces.join(","), outs: { ...files, mark, drift: [] } };
    },

    /** Reads the files back: gone when none is ours any more; drift when one is missing or changed. */
    async read(id, props) {
        const mark = props.mark!;
        const texts = props.namespaces.map((ns) => readNetnsFile(ns, "hosts"));
        if (!texts.some((text) => ours(text, mark))) return {};
        const expected = hostsText(mark, props.entries);
        const drift = props.namespaces.filter((_ns, i) => texts[i] !== expected).map((ns) => `/etc/netns/${ns}/hosts is missing or changed`);
        const outs: HostsFileOutputs = { ...props, drift };
        return { id, props: outs, inputs: pick(outs, INPUT_KEYS) };
    },

    /** Writes the files again; namespaces no longer listed lose theirs. */
    async update(_id, olds, news) {
        const mark = olds.mark!;
        for (const namespace of olds.namespaces.filter((ns) => !news.namespaces.includes(ns))) removeFrom(namespace, mark);
        if (olds.nameservers?.length && !news.nameservers?.length) {
            for (const namespace of news.namespaces) if (ours(readNetnsFile(namespace, "resolv.conf"), mark)) removeNetnsFile(namespace, "resolv.conf");
        }
        writeAll(news, mark);
        return { outs: { ...news, mark, drift: [] } };
    },

    /** Removes the files that are ours (and their folders, when left empty). */
    async delete(_id, props) {
        for (const namespace of props.namespaces) removeFrom(namespace, props.mark!);
    },
});
