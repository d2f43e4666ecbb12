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

/**
 * Quotes one argument for `ip -batch`. ip's batch parser (makeargs) splits on spaces and tabs,
 * groups double-quoted text, knows no escapes, and drops everything after a `#` (even inside
 * quotes); a newline would start a new command. So an argument holding a double quote, a
 * backslash, a `#` or a line break cannot be passed safely and is refused.
 */
export function quoteBatchArg(arg: string): string {
    if (/["#\n\r\0\\]/.test(arg)) {
        throw new Error(`argument ${JSON.stringify(arg)} cannot be passed to ip -batch (it holds a quote, backslash, #, line break or NUL)`);
    }
    return arg === "" || /\s/.test(arg) ? `"${arg}"` : arg;
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
    logCommand(cmd.argv);
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
 * Appends each command to the file named by `$PULUMI_OVERLAY_COMMAND_LOG`, one JSON argument vector
 * a line: an audit of what ran on the host (the benchmark counts them; a preview must add none).
 */
function logCommand(argv: readonly string[]): void {
    const file = process.env.PULUMI_OVERLAY_COMMAND_LOG;
    if (file) appendFileSync(file, `${JSON.stringify(argv)}\n`);
}

/**
 * Parses the output of `ip -j -batch -`: one JSON array per line, one line per `show` step.
 */
export function parseJsonLines<T>(stdout: string): T[] {
    return stdout
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as T);
}

/** Runs a command and parses its stdout as JSON (for `ip -j`); empty output reads as `[]`. */
export async function runJson<T>(cmd: HostCommand): Promise<T> {
    const { stdout } = await runCommand(cmd);
    return (stdout.trim() === "" ? [] : JSON.parse(stdout)) as T;
}
