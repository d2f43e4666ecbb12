/**
 * Runs host programs. Every kernel call of pulumi-overlay goes through {@link runCommand}; no
 * other module starts a process. Commands are argument vectors, never shell strings.
 *
 * Programs are started with node:child_process directly, not execa: measured here, 2000 `ip`
 * commands took 6.0 s and peaked at 234 MB through execa, 2.9 s and 80 MB through spawn, and
 * process starts are the providers' main cost (docs/performance.md).
 * @module
 */
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { HostCommandError, isHostError } from "./errors";
import { currentConnection, hostKey, runRemote } from "./remote";
import { helperEnabled, spawnThroughHelper } from "./spawner";

/** A program to run, already built as an argument vector. */
export interface HostCommand {
    /** Program first, then its arguments, e.g. `["ip", "-n", "lab", "link", "show"]`. */
    argv: readonly string[];
    /** The namespace the command targets (for messages); undefined means the root namespace. */
    netns?: string;
    /** Text written to the program's stdin (used by `ip -batch -` and `iptables-restore`). */
    input?: string;
    /** Words naming the object worked on, e.g. `bridge "br0"`, for error messages. */
    subject?: string;
    /** True for commands that only read; any other command may change the kernel's state. */
    readOnly?: boolean;
    /** Batch files the command runs (`ip -batch FILE` nested in it), by path, for the command log. */
    files?: Record<string, string>;
}

/** What a successful command printed. */
export interface CommandOutput {
    stdout: string;
    stderr: string;
}

/**
 * Builds `ip [-n NETNS] ARGS...`.
 * Equivalent to: `ip -n $netns $args` (or `ip $args` in the root namespace).
 */
export function ipCommand(netns: string | undefined, args: readonly string[], subject?: string): HostCommand {
    return { argv: ["ip", ...(netns === undefined ? [] : ["-n", netns]), ...args], netns, subject };
}

/**
 * Builds `tc [-n NETNS] ARGS...`.
 * Equivalent to: `tc -n $netns $args` (or `tc $args` in the root namespace).
 */
export function tcCommand(netns: string | undefined, args: readonly string[], subject?: string): HostCommand {
    return { argv: ["tc", ...(netns === undefined ? [] : ["-n", netns]), ...args], netns, subject };
}

/**
 * Builds `bridge [-n NETNS] ARGS...` (iproute2's bridge tool: FDB entries, ports).
 * Equivalent to: `bridge -n $netns $args` (or `bridge $args` in the root namespace).
 */
export function bridgeCommand(netns: string | undefined, args: readonly string[], subject?: string): HostCommand {
    return { argv: ["bridge", ...(netns === undefined ? [] : ["-n", netns]), ...args], netns, subject };
}

/**
 * Builds a command for a tool without its own namespace flag (iptables, sysctl, nft).
 * Equivalent to: `ip netns exec $netns $program $args` (or `$program $args` in the root namespace).
 */
export function toolCommand(netns: string | undefined, program: string, args: readonly string[], subject?: string): HostCommand {
    const argv = netns === undefined ? [program, ...args] : ["ip", "netns", "exec", netns, program, ...args];
    return { argv, netns, subject };
}

/**
 * Where commands run. Providers never choose: they build argument vectors and call
 * {@link runCommand}, and the host layer hands them to the executor. The local one (spawn on this
 * machine) is the only one today; a remote one (over SSH) fits beside it.
 */
export interface Executor {
    /** Runs one command; resolves with its output on exit 0, rejects with a {@link HostCommandError} otherwise. */
    run(cmd: HostCommand): Promise<CommandOutput>;
}

/** Runs commands on this machine with `child_process.spawn`, no shell. */
export const localExecutor: Executor = { run: (cmd) => runHere(cmd) };

/**
 * Runs a host command, on the host of the operation under way: this machine, or the remote host
 * of the resource's `connection` (over SSH, ./remote.ts). Resolves with its output when it exits
 * 0; otherwise rejects with a {@link HostCommandError} whose message says what to do. The C locale
 * keeps the tools' messages in the English that the error mapping recognises.
 */
export async function runCommand(cmd: HostCommand): Promise<CommandOutput> {
    await slots.acquire();
    try {
        if (!cmd.readOnly) writeGeneration += 1;
        const connection = currentConnection();
        logCommand(cmd, connection?.host);
        return await (connection ? runRemote(connection, cmd) : localExecutor.run(cmd));
    } finally {
        slots.release();
    }
}

/**
 * Runs a command that only reads. Resolves with undefined when the namespace it reads is gone:
 * the host layer's typed "gone", so that no provider matches on a missing namespace itself.
 */
export async function runRead(cmd: HostCommand): Promise<CommandOutput | undefined> {
    try {
        return await runCommand({ ...cmd, readOnly: true });
    } catch (err) {
        if (isHostError(err, "noNamespace")) return undefined;
        throw err;
    }
}

/**
 * Runs a command that removes something. Resolves `gone` when there was nothing to remove: the
 * object, its device or its namespace was already gone (deletes are idempotent).
 */
export async function runDelete(cmd: HostCommand): Promise<"deleted" | "gone"> {
    try {
        await runCommand(cmd);
        return "deleted";
    } catch (err) {
        if (isHostError(err, "notFound", "noDevice", "noNamespace")) return "gone";
        throw err;
    }
}

/**
 * At most this many host programs run at once (`$PULUMI_OVERLAY_MAX_PROCESSES`, default 16): a
 * large stack registers thousands of resources at once, and unbounded spawns would exhaust
 * processes and file descriptors without finishing any sooner on a few cores.
 */
class Slots {
    private running = 0;
    private readonly waiting: (() => void)[] = [];

    private get limit(): number {
        return Math.max(1, Number(process.env.PULUMI_OVERLAY_MAX_PROCESSES) || 16);
    }

    async acquire(): Promise<void> {
        if (this.running < this.limit) {
            this.running += 1;
            return;
        }
        await new Promise<void>((resolve) => this.waiting.push(resolve));
    }

    release(): void {
        const next = this.waiting.shift();
        if (next)
            next(); // the slot passes straight to the next waiter
        else this.running -= 1;
    }
}

const slots = new Slots();

/** Counts commands that may have changed the kernel's state; shared reads are good only within one count. */
let writeGeneration = 0;

/**
 * Reads shared by the callers that ask within a second of each other and before the next command
 * that may change the kernel (a failed read is not kept): a refresh of many resources in one
 * namespace costs one process, not one per resource. At most 64 keys are kept; older reads are
 * dropped when they could no longer be used.
 */
export class SharedReads<T> {
    private readonly reads = new Map<string, { generation: number; at: number; value: Promise<T> }>();

    constructor(private readonly ttlMs = 1000) {}

    /** The shared read of `key` on the host of the operation under way, made with `read` when there is none that may still be used. */
    get(hostLocalKey: string, read: () => Promise<T>): Promise<T> {
        const key = `${hostKey()}|${hostLocalKey}`;
        const generation = writeGeneration;
        const usable = (r: { generation: number; at: number }) => r.generation === generation && Date.now() - r.at < this.ttlMs;
        const cached = this.reads.get(key);
        if (cached && usable(cached)) return cached.value;
        if (this.reads.size >= 64) for (const [k, r] of this.reads) if (!usable(r)) this.reads.delete(k);
        const value = read();
        this.reads.set(key, { generation, at: Date.now(), value });
        value.catch(() => this.reads.delete(key));
        return value;
    }
}

/** Runs a program on this machine: through the helper process (./spawner.ts), or spawned here. */
async function runHere(cmd: HostCommand): Promise<CommandOutput> {
    if (!helperEnabled()) return spawnHere(cmd);
    const reply = await spawnThroughHelper(cmd.argv, cmd.input, { ...process.env, LC_ALL: "C", LANG: "C" });
    if (reply.code === 0) return { stdout: reply.stdout.replace(/\n$/, ""), stderr: reply.stderr };
    const cause = reply.error
        ? Object.assign(new Error(reply.error.message), { code: reply.error.code })
        : new Error(`${cmd.argv[0]} exited with ${reply.code ?? reply.signal}`);
    throw new HostCommandError({
        command: cmd.argv,
        netns: cmd.netns,
        exitCode: reply.code ?? undefined,
        stderr: reply.stderr.trim(),
        cause,
        subject: cmd.subject,
    });
}

function spawnHere(cmd: HostCommand): Promise<CommandOutput> {
    const [file, ...args] = cmd.argv;
    return new Promise<CommandOutput>((resolve, reject) => {
        // No shell: the program gets exactly these arguments.
        const child = spawn(file, args, {
            env: { ...process.env, LC_ALL: "C", LANG: "C" },
            stdio: [cmd.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk));
        child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
        let settled = false;
        const fail = (exitCode: number | undefined, cause: unknown) => {
            if (settled) return;
            settled = true;
            reject(
                new HostCommandError({
                    command: cmd.argv,
                    netns: cmd.netns,
                    exitCode,
                    stderr: Buffer.concat(stderr).toString().trim(),
                    cause,
                    subject: cmd.subject,
                }),
            );
        };
        child.once("error", (err) => fail(undefined, err)); // not started: ENOENT, EACCES
        child.once("close", (code, signal) => {
            if (code === 0) {
                if (settled) return;
                settled = true;
                resolve({ stdout: Buffer.concat(stdout).toString().replace(/\n$/, ""), stderr: Buffer.concat(stderr).toString() });
            } else fail(code ?? undefined, new Error(`${file} exited with ${code ?? signal}`));
        });
        if (cmd.input !== undefined) {
            child.stdin!.on("error", () => {}); // a program that exits without reading its input
            child.stdin!.end(cmd.input);
        }
    });
}

/**
 * Appends each command to the file named by `$PULUMI_OVERLAY_COMMAND_LOG`, one JSON object a line:
 * `{"argv": [...]}`, with `"input"` for what the program reads on stdin (the steps of
 * `ip -batch -`, the rules of `iptables-restore`) and `"files"` for batch files it runs. An audit
 * of what ran on the host (the benchmark counts the lines; a preview must add none). Values
 * registered with {@link redactInLog} never reach it.
 */
function logCommand(cmd: HostCommand, host: string | undefined): void {
    const file = process.env.PULUMI_OVERLAY_COMMAND_LOG;
    if (!file) return;
    const entry: { host?: string; argv: readonly string[]; input?: string; files?: Record<string, string> } = { argv: cmd.argv };
    if (host !== undefined) entry.host = host;
    if (cmd.input !== undefined) entry.input = cmd.input;
    if (cmd.files) entry.files = cmd.files;
    appendFileSync(file, `${redacted(JSON.stringify(entry))}\n`);
}

const secrets = new Set<string>();

/** Keeps a value (a key, a password) out of the command log: it is written as `[secret]`. */
export function redactInLog(value: string): void {
    if (value.length >= 4) secrets.add(JSON.stringify(value).slice(1, -1));
}

function redacted(line: string): string {
    let out = line;
    for (const secret of secrets) out = out.split(secret).join("[secret]");
    return out;
}

/**
 * Parses JSON as `ip -j` prints it. iproute2 writes control characters in names raw (a link
 * named with \x01, made by anyone), which is not valid JSON; they are escaped before a second
 * try, so one odd link cannot make a whole namespace unreadable.
 */
export function parseIpJson<T>(text: string): T {
    try {
        return JSON.parse(text) as T;
    } catch (err) {
        // `ip -j` prints compact JSON: no raw control character stands outside a string.
        // biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters is the point
        const escaped = text.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
        if (escaped === text) throw err;
        return JSON.parse(escaped) as T;
    }
}

/**
 * Parses the output of `ip -j -batch -`: one JSON array per line, one line per `show` step.
 */
export function parseJsonLines<T>(stdout: string): T[] {
    return stdout
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => parseIpJson<T>(line));
}

/** Runs a command and parses its stdout as JSON (for `ip -j`); empty output reads as `[]`. */
export async function runJson<T>(cmd: HostCommand): Promise<T> {
    const { stdout } = await runCommand(cmd);
    return (stdout.trim() === "" ? [] : parseIpJson<T>(stdout)) as T;
}
