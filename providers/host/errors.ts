/**
 * The one error type of the host command layer, and the translation of the kernel's and the
 * tools' terse answers into messages a person can act on.
 * @module
 */

import { currentConnection } from "./remote";

/** What kind of failure a host command met; callers branch on this, never on message text. */
export type HostErrorKind =
    /** The caller lacks CAP_NET_ADMIN (or root). */
    | "permission"
    /** The object being created is already on the host. */
    | "exists"
    /** A named network device does not exist in the namespace. */
    | "noDevice"
    /** A named network namespace does not exist. */
    | "noNamespace"
    /** The address, route or rule to delete or check is not there. */
    | "notFound"
    /** The program (`ip`, `iptables`, ...) is not installed. */
    | "missingBinary"
    /** The SSH connection to a remote host failed: unreachable, refused, authentication, host key. */
    | "connection"
    /** Anything else: the message carries the tool's own words. */
    | "failed";

/** The Debian package that ships each program the host layer runs. */
export const PACKAGE_OF_TOOL: Readonly<Record<string, string>> = {
    ip: "iproute2",
    iptables: "iptables",
    "iptables-save": "iptables",
    "iptables-restore": "iptables",
    ip6tables: "iptables",
    "ip6tables-save": "iptables",
    "ip6tables-restore": "iptables",
    nft: "nftables",
    nsenter: "util-linux",
    tc: "iproute2",
    bridge: "iproute2",
    ping: "iputils-ping",
    sysctl: "procps",
};

/** Fields of a {@link HostCommandError}. */
export interface HostCommandErrorFields {
    /** The argument vector that ran, program first (e.g. `["ip", "-n", "lab", "link", "add", ...]`). */
    command: readonly string[];
    /** The network namespace the command targeted; undefined for the root namespace. */
    netns?: string;
    /** The program's exit code; undefined when it could not be started. */
    exitCode?: number;
    /** What the program wrote to stderr, trimmed. */
    stderr: string;
    /** The underlying error (the spawn error, or the exit), kept whole rather than flattened into the message. */
    cause?: unknown;
    /** Words naming the object the command worked on, e.g. `bridge "br0"`, used in messages. */
    subject?: string;
    /** The remote host the command ran on; undefined for this machine. */
    host?: string;
    /** For a failure of the SSH connection itself: what went wrong, naming the host. */
    sshFailure?: string;
}

/**
 * A host command failed. `message` says what failed, on which object, in which namespace and what
 * to do; `kind` classifies it; `command`, `exitCode`, `stderr` and `cause` keep the raw facts.
 */
export class HostCommandError extends Error {
    /** The argument vector that ran, program first. */
    readonly command: readonly string[];
    /** The targeted network namespace (undefined: root namespace). */
    readonly netns?: string;
    /** The program's exit code, if it ran. */
    readonly exitCode?: number;
    /** The program's stderr, trimmed. */
    readonly stderr: string;
    /** The classified failure. */
    readonly kind: HostErrorKind;
    /** For `ip -batch`: the 1-based step that failed (the steps before it took effect). */
    readonly batchLine?: number;
    /** The remote host the command ran on; undefined for this machine. */
    readonly host?: string;

    constructor(fields: HostCommandErrorFields) {
        const { kind, summary } = explainFailure(fields);
        super(`${summary}\n  command: ${formatCommand(fields.command)}${fields.stderr ? `\n  stderr: ${fields.stderr}` : ""}`, {
            cause: fields.cause,
        });
        this.name = "HostCommandError";
        this.command = fields.command;
        this.netns = fields.netns;
        this.exitCode = fields.exitCode;
        this.stderr = fields.stderr;
        this.kind = kind;
        this.host = fields.host;
        const line = /Command failed -:(\d+)/.exec(fields.stderr);
        this.batchLine = line ? Number(line[1]) : undefined;
    }
}

/** True when `err` is a {@link HostCommandError} of one of the given kinds. */
export function isHostError(err: unknown, ...kinds: HostErrorKind[]): err is HostCommandError {
    return err instanceof HostCommandError && (kinds.length === 0 || kinds.includes(err.kind));
}

/** Quotes an argument vector for display only; commands never run through a shell. */
export function formatCommand(argv: readonly string[]): string {
    return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** `network namespace "x"` (or the root one), and `on host "h"` for a remote host. */
function where(netns: string | undefined, host: string | undefined): string {
    const place = netns === undefined ? "the root network namespace" : `network namespace "${netns}"`;
    return host === undefined ? place : `${place} on host "${host}"`;
}

/** `in network namespace "x"`, or `in the root network namespace`, for messages. */
export function inNetnsWords(netns: string | undefined, host: string | undefined = currentConnection()?.host): string {
    return `in ${where(netns, host)}`;
}

/** The program that actually ran: for `ip netns exec NS prog ...` and `nsenter --net=FILE prog ...` that is `prog`. */
export function programOf(argv: readonly string[]): string {
    if (argv[0] === "ip" && argv[1] === "netns" && argv[2] === "exec" && argv.length > 4) return argv[4];
    if (argv[0] === "nsenter") return argv.slice(1).find((arg) => !arg.startsWith("-")) ?? argv[0];
    return argv[0];
}

/**
 * Classifies a failure from its stderr and the spawn error, and writes the sentence a person
 * reads. Pure: unit-tested on the kernel's real answers.
 */
export function explainFailure(fields: HostCommandErrorFields): { kind: HostErrorKind; summary: string } {
    const { stderr, netns, subject, host } = fields;
    const program = programOf(fields.command);
    if (fields.sshFailure) return { kind: "connection", summary: fields.sshFailure };
    const causeCode = (fields.cause as { code?: unknown } | undefined)?.code;
    // `ip netns exec` and nsenter say so when the program they were to start is missing.
    const execFailed = /exec of "([^"]+)" failed: No such file or directory|nsenter: failed to execute (\S+): No such file or directory/.exec(stderr);
    if (causeCode === "ENOENT" || execFailed) {
        const missing = execFailed ? (execFailed[1] ?? execFailed[2]) : fields.command[0];
        const pkg = PACKAGE_OF_TOOL[missing] ?? missing;
        return {
            kind: "missingBinary",
            summary: `"${missing}" is not installed ${host === undefined ? "on this host" : `on host "${host}"`}: install the Debian package ${pkg} (apt-get install ${pkg})`,
        };
    }
    const noNs = /Cannot open network namespace "([^"]+)"|nsenter: cannot open \/run\/netns\/(.+): No such file or directory/.exec(stderr);
    if (noNs) {
        const name = noNs[1] ?? noNs[2];
        return {
            kind: "noNamespace",
            summary: `network namespace "${name}" does not exist${host === undefined ? "" : ` on host "${host}"`}: create it first (ip netns add ${name}) or fix the netns property`,
        };
    }
    if (/Operation not permitted|Permission denied|must be run as root/i.test(stderr) || causeCode === "EPERM") {
        return {
            kind: "permission",
            summary: `${program} was refused by the kernel in ${where(netns, host)}: it needs CAP_NET_ADMIN; run as root (sudo) or grant the capability`,
        };
    }
    const noKey = /cannot stat \/proc\/sys\/(\S+): No such file or directory/.exec(stderr);
    if (noKey) {
        // The subject names the key as it was written; the path is sysctl's reading of it.
        const key = subject ?? `sysctl "${noKey[1].replace(/\//g, ".")}"`;
        return { kind: "failed", summary: `${key} does not exist in ${where(netns, host)}: check the key (sysctl -a lists them)` };
    }
    const noDev = /Cannot find device "([^"]*)"|Device "([^"]*)" does not exist|argument "([^"]*)" is wrong: Device does not exist/.exec(stderr);
    if (noDev) {
        const dev = noDev[1] ?? noDev[2] ?? noDev[3];
        return {
            kind: "noDevice",
            summary: `device "${dev}" does not exist in ${where(netns, host)}: create it first, or check the device name and netns`,
        };
    }
    if (
        /Address not found|Cannot assign requested address|No such process|Bad rule \(does a matching rule exist|does a matching rule exist in that chain/.test(
            stderr,
        )
    ) {
        return { kind: "notFound", summary: `${subject ?? "the object"} is not there ${inNetnsWords(netns, host)}` };
    }
    // nft names a missing table, chain or rule handle this way.
    if (program === "nft" && /^Error: No such file or directory/m.test(stderr)) {
        return { kind: "notFound", summary: `${subject ?? "the object"} is not there ${inNetnsWords(netns, host)}` };
    }
    if (/File exists|Address already assigned/.test(stderr)) {
        const what = subject ?? "the object";
        return {
            kind: "exists",
            summary: `${what} already exists in ${where(netns, host)} and was not made by this resource: choose another name, or remove or import the existing one`,
        };
    }
    const firstLine = stderr.split("\n").find((l) => l.trim() !== "") ?? `exit code ${fields.exitCode}`;
    return {
        kind: "failed",
        summary: `${program} failed${subject ? ` on ${subject}` : ""} in ${where(netns, host)}: ${firstLine.trim()}`,
    };
}
