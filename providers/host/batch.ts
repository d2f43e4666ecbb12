/**
 * `ip -batch`: several `ip` steps in one process, given on stdin or in a file that another batch
 * runs in a second namespace. Arguments are quoted here, by one function that follows iproute2's
 * batch parser exactly, and nowhere else.
 * @module
 */
import { hostFiles } from "./files";
import { currentConnection, hostKey } from "./remote";
import * as path from "node:path";
import { type HostCommand, ipCommand } from "./command";
import { inFolder, removeEmptyFolders, secureDir, stateDir, writeNewFile } from "./store";

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
    return `${steps.map((step) => step.map(quoteBatchArg).join(" ")).join("\n")}\n`;
}

/** An argument that no quoting can carry through `ip -batch` exactly as it is. */
export class BatchQuoteError extends Error {
    constructor(
        readonly argument: string,
        why: string,
    ) {
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

let batchFiles = 0;
let staleBatchFilesRemoved = false;

/** True when a process with this id runs. */
function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** A batch file written for a nested `ip -batch FILE`. */
export interface BatchFile {
    /** Its absolute path. */
    path: string;
    /** Its text, for the command log. */
    text: string;
    /** Removes it, and the batch folder when no other batch file is left in it. */
    remove(): void;
}

/** This process's batch files not removed yet, by host and folder. */
const outstanding = new Map<string, number>();

/**
 * Writes `ip` steps to a file, for an `ip -batch FILE` that another batch starts in a second
 * namespace (`netns exec NS ip -batch FILE`, see the Endpoint provider): one process serves
 * several namespaces. The files live in `<state dir>/batch/` (a safe folder, see
 * {@link secureDir}), named after this process, written exclusively, mode 0600; call `remove` once
 * the batch has run. Files left by a process that died mid-batch are removed the first time
 * another process writes one.
 */
export function writeBatchFile(steps: readonly (readonly string[])[]): BatchFile {
    const dir = path.join(stateDir(), "batch");
    secureDir(dir);
    // Process ids are this machine's: files on a remote host are not judged by them.
    if (!staleBatchFilesRemoved && !currentConnection()) {
        for (const name of hostFiles().list(dir)) {
            const pid = Number(name.split("-")[0]);
            if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) hostFiles().remove(path.join(dir, name));
        }
        staleBatchFilesRemoved = true;
    }
    batchFiles += 1;
    const file = path.join(dir, `${process.pid}-${batchFiles}.batch`);
    const text = batchText(steps);
    inFolder(dir, () => writeNewFile(file, text));
    const key = `${hostKey()}|${dir}`;
    outstanding.set(key, (outstanding.get(key) ?? 0) + 1);
    return {
        path: file,
        text,
        remove: () => {
            hostFiles().remove(file);
            const left = (outstanding.get(key) ?? 1) - 1;
            if (left > 0) outstanding.set(key, left);
            else {
                outstanding.delete(key);
                // Only once this process's last file there is gone: before that the folder is not
                // empty, and each try would fail (an exception per endpoint, at 1000 of them 0.36 s
                // of the provider's thread).
                removeEmptyFolders(dir);
            }
        },
    };
}
