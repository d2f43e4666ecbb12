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
import { HostCommandError } from "./errors";

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
 * Builds a command for a tool without its own namespace flag (iptables, sysctl, nft).
 * Equivalent to: `ip netns exec $netns $program $args` (or `$program $args` in the root namespace).
 */
export function toolCommand(
    netns: string | undefined,
    program: string,
    args: readonly string[],
    subject?: string,
): HostCommand {
    const argv = netns === undefined ? [program, ...args] : ["ip", "netns", "exec", netns, program, ...args];
    return { argv, netns, subject };
}

/**
 * Builds one `ip -batch -` process that runs several `ip` steps in order and stops at the first
 * failure. Each step is an argument vector (without the leading `ip`); arguments are quoted for
 * ip's batch parser, which splits on whitespace and honours double quotes. `globalOptions` go
 * before `-batch` (e.g. `["-j", "-d"]` so that `show` steps print JSON).
 * Equivalent to: `ip -n $netns -batch - <<< "$steps"`.
 */
export function ipBatchCommand(
    netns: string | undefined,
    steps: readonly (readonly string[])[],
    subject?: string,
    globalOptions: readonly string[] = [],
): HostCommand {
    return { ...ipCommand(netns, [...globalOptions, "-batch", "-"], subject), input: batchText(steps) };
}

/** The batch steps as ip's batch parser reads them, one line each (see {@link quoteBatchArg}). */
export function batchText(steps: readonly (readonly string[])[]): string {
    return steps.map((step) => step.map(quoteBatchArg).join(" ")).join("\n") + "\n";
}

/** An argument that no quoting can carry through `ip -batch` exactly as it is. */
export class BatchQuoteError extends Error {
    constructor(readonly argument: string, why: string) {
        super(`argument ${JSON.stringify(argument)} cannot be passed to ip -batch: ${why}`);
        this.name = "BatchQuoteError";
    }
}

/**
 * Quotes one argument so that ip's batch parser reads it back exactly, or refuses it. The parser
 * (iproute2's getcmdline and makeargs) cuts each line at its first `#`, joins a line ending in a
 * backslash to the next, splits words on space, tab, CR and LF, and reads a word that STARTS with
 * `'` or `"` up to the next same quote, with no escapes. So: `#`, CR, LF and NUL can never be
 * carried; an argument that is empty, holds a space or a tab, starts with a quote, or ends with a
 * backslash (which, last on its line, would join the next line to it: found by the property
 * test) is wrapped in a quote character it does not contain (refused when it holds both);
 * anything else goes bare.
 * Equivalent to what `ip -batch` reads: `link add name "a b" type bridge`.
 */
export function quoteBatchArg(arg: string): string {
    const unsafe = /[#\r\n\0]/.exec(arg);
    if (unsafe) {
        const what = unsafe[0] === "#" ? "'#' starts a comment" : "a line break or NUL ends the command";
        throw new BatchQuoteError(arg, `${what} in the batch parser`);
    }
    if (arg !== "" && !/[ \t]/.test(arg) && arg[0] !== '"' && arg[0] !== "'" && !arg.endsWith("\\")) return arg;
    if (!arg.includes('"')) return `"${arg}"`;
    if (!arg.includes("'")) return `'${arg}'`;
    throw new BatchQuoteError(arg, "it needs quoting and holds both quote characters");
}

/**
 * Runs a host command. Resolves with its output when it exits 0; otherwise rejects with a
 * {@link HostCommandError} whose message says what to do. The C locale keeps the tools' messages
 * in the English that the error mapping recognises.
 */
export async function runCommand(cmd: HostCommand): Promise<CommandOutput> {
    await slots.acquire();
    try {
        return await runNow(cmd);
    } finally {
        slots.release();
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
        if (next) next(); // the slot passes straight to the next waiter
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

    /** The shared read of `key`, made with `read` when there is none that may still be used. */
    get(key: string, read: () => Promise<T>): Promise<T> {
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

async function runNow(cmd: HostCommand): Promise<CommandOutput> {
    if (!cmd.readOnly) writeGeneration += 1;
    logCommand(cmd);
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
            reject(new HostCommandError({ command: cmd.argv, netns: cmd.netns, exitCode, stderr: Buffer.concat(stderr).toString().trim(), cause, subject: cmd.subject }));
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
function logCommand(cmd: HostCommand): void {
    const file = process.env.PULUMI_OVERLAY_COMMAND_LOG;
    if (!file) return;
    const entry: { argv: readonly string[]; input?: string; files?: Record<string, string> } = { argv: cmd.argv };
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
