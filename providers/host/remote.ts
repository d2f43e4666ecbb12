/**
 * Remote hosts: where a resource's `connection` points, its commands run over SSH. One OpenSSH
 * master connection per host per provider process (`ControlMaster`), shared by every command and
 * file operation of every resource on that host; each command is a client of it (no new login).
 * Commands stay argument vectors: {@link shellQuote} is the one function that turns them into the
 * text the remote shell reads, and it quotes every word.
 *
 * The private key (a Pulumi secret) goes to an ssh-agent of this process on its stdin and lives only
 * in that agent's memory: never on disk, in a log or in an error. The expected host key, when
 * given, is the only one accepted; without it the user's known_hosts decides; an unknown host or a
 * mismatch is an error, never a silent accept (`StrictHostKeyChecking yes`, `BatchMode yes`).
 *
 * Why OpenSSH and not a JavaScript SSH library: the record files the providers keep are read and
 * written synchronously, which needs a client that `spawnSync` can run; OpenSSH's connection
 * sharing makes each such client a channel of the existing connection (see docs/multi-host.md for
 * the measurements).
 * @module
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import type { CommandOutput, HostCommand } from "./command";
import { HostCommandError } from "./errors";

/** Where a resource lives: another machine reached over SSH. */
export interface Connection {
    /** The host name or address. */
    host: string;
    /** The SSH port (default 22). */
    port?: number;
    /** The user (default: the SSH default, the local user). Root, or a user with CAP_NET_ADMIN. */
    user?: string;
    /** The private key (OpenSSH or PEM text). Kept in memory only. Omitted: the user's ssh-agent and keys. */
    privateKey?: string;
    /** The expected host public key as in known_hosts (`ssh-ed25519 AAAA...`). Omitted: the user's known_hosts decides. */
    hostKey?: string;
}

/** The host of the operation under way (no connection: this machine), and whether it may connect. */
const current = new AsyncLocalStorage<{ connection?: Connection; offline: boolean }>();

/**
 * Runs `work` with its commands and files on the connection's host (undefined: this machine).
 * `offline` (a check, which previews run) forbids opening a connection: a preview opens none.
 */
export function onHost<T>(connection: Connection | undefined, work: () => T, offline = false): T {
    const remote = connection && typeof connection === "object" && typeof connection.host === "string" ? connection : undefined;
    return current.run({ connection: remote, offline }, work);
}

/** The connection of the operation under way, if it is on a remote host. */
export function currentConnection(): Connection | undefined {
    return current.getStore()?.connection;
}

/** The error of a command or file operation on a remote host where none may connect (a check). */
function refuseOffline(connection: Connection): void {
    if (current.getStore()?.offline)
        throw new Error(
            `host "${connection.host}": no connection is opened while checking inputs (a preview opens none); this step reads the host only at create`,
        );
}

/** A key naming a host for caches and queues: `` for this machine, `user@host:port` for another. */
export function hostKey(connection: Connection | undefined = currentConnection()): string {
    return connection ? `${connection.user ?? ""}@${connection.host}:${connection.port ?? 22}` : "";
}

/** `on host "h"` for messages, or nothing for this machine. */
export function onHostWords(connection: Connection | undefined = currentConnection()): string {
    return connection ? ` on host "${connection.host}"` : "";
}

/**
 * Quotes an argument vector for a POSIX shell: every word in single quotes, a single quote as
 * `'\''`. The remote shell then hands the program exactly these words, whatever they hold. Pure.
 */
export function shellQuote(argv: readonly string[]): string {
    return argv.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(" ");
}

/** A remote command line: the C locale (our error mapping reads the tools' English), then the words. */
export function remoteCommandLine(argv: readonly string[]): string {
    return `LC_ALL=C LANG=C exec ${shellQuote(argv)}`;
}

/** One host's connection: the master, its control socket, and the agent holding the key. */
interface Session {
    dir: string;
    control: string;
    options: string[];
    target: string;
    master?: ChildProcess;
    agent?: ChildProcess;
    ready: Promise<void>;
}

const sessions = new Map<string, Session>();

/** The ssh options of a connection, without the control socket. */
function baseOptions(connection: Connection, dir: string, agentSocket: string | undefined): string[] {
    const options = [
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "LogLevel=ERROR",
    ];
    if (connection.port !== undefined) options.push("-p", String(connection.port));
    if (connection.user !== undefined) options.push("-l", connection.user);
    if (connection.hostKey !== undefined) {
        const known = path.join(dir, "known_hosts");
        const name = connection.port !== undefined && connection.port !== 22 ? `[${connection.host}]:${connection.port}` : connection.host;
        writeFileSync(known, `${name} ${connection.hostKey.trim()}\n`, { mode: 0o600 });
        options.push("-o", `UserKnownHostsFile=${known}`, "-o", "GlobalKnownHostsFile=/dev/null");
    }
    if (agentSocket) options.push("-o", `IdentityAgent=${agentSocket}`, "-o", "IdentitiesOnly=no", "-o", "IdentityFile=none");
    return options;
}

/** What SSH said, as a sentence naming the host. Pure. */
export function explainSshFailure(host: string, stderr: string): string {
    const at = `host "${host}"`;
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed.*|key for .* has changed/i.test(stderr) && /CHANGED|mismatch/i.test(stderr))
        return `${at}: its host key does not match the expected one (connection.hostKey or known_hosts): a different machine, or the host was reinstalled; check it, then update the key`;
    if (/No \S+ host key is known|Host key verification failed/i.test(stderr))
        return `${at}: its host key is not known: give connection.hostKey (ssh-keyscan ${host}, checked out of band) or add it to known_hosts`;
    if (/Permission denied/i.test(stderr))
        return `${at}: authentication failed: check connection.user and connection.privateKey (the public key must be in the user's authorized_keys)`;
    if (/Connection refused/i.test(stderr)) return `${at}: connection refused: is sshd running there, on connection.port?`;
    if (/timed out|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known/i.test(stderr))
        return `${at} is unreachable: ${stderr.split("\n").find((l) => l.trim()) ?? "no answer"}`;
    return `${at}: ssh failed: ${stderr.split("\n").find((l) => l.trim()) ?? "no message"}`;
}

/** Starts an ssh-agent for this session and gives it the key on stdin. Equivalent to: `ssh-agent -D -a SOCK; ssh-add - <<< KEY`. */
async function startAgent(session: Session, key: string): Promise<string> {
    const socket = path.join(session.dir, "agent");
    session.agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: ["ignore", "ignore", "pipe"] });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const add = () =>
        spawnSync("ssh-add", ["-q", "-"], {
            input: key.endsWith("\n") ? key : `${key}\n`,
            env: { ...process.env, SSH_AUTH_SOCK: socket },
            encoding: "utf8",
        });
    // The agent makes its socket file (bind) a moment before it listens: a connection in between
    // is refused. Such a refusal is retried for up to 2 s; it is never the key's fault.
    const unreachable = (r: { status: number | null; stderr: string }) => r.status !== 0 && /Error connecting to agent/.test(r.stderr ?? "");
    let added = add();
    for (let i = 0; i < 200 && unreachable(added); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        added = add();
    }
    const first = (added.stderr ?? "").trim().split("\n")[0];
    if (unreachable(added)) throw new Error(`the ssh-agent started for connection.privateKey could not be reached: ${first}`);
    if (added.status !== 0) throw new Error(`connection.privateKey was refused by ssh-add: it is not a private key in OpenSSH or PEM form (${first})`);
    return socket;
}

/**
 * The key of a connection's session: the host, and a digest of the credentials, so that another
 * key or host key for the same host never borrows a connection opened with the first.
 */
function sessionKey(connection: Connection): string {
    const credentials = createHash("sha256")
        .update(`${connection.privateKey ?? ""}\0${connection.hostKey ?? ""}`)
        .digest("hex")
        .slice(0, 16);
    return `${hostKey(connection)}#${credentials}`;
}

/** Opens (once per host and credentials) the master connection. */
function session(connection: Connection): Session {
    const key = sessionKey(connection);
    let s = sessions.get(key);
    if (s) return s;
    const dir = mkdtempSync(path.join(os.tmpdir(), "pulumi-overlay-ssh-"));
    s = { dir, control: path.join(dir, "control"), options: [], target: connection.host, ready: Promise.resolve() };
    const made = s;
    sessions.set(key, made);
    made.ready = (async () => {
        const agent = connection.privateKey ? await startAgent(made, connection.privateKey) : undefined;
        made.options = baseOptions(connection, dir, agent);
        const master = spawn("ssh", [...made.options, "-o", "ControlMaster=yes", "-o", `ControlPath=${made.control}`, "-N", made.target], {
            stdio: ["ignore", "ignore", "pipe"],
        });
        made.master = master;
        let stderr = "";
        master.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        await new Promise<void>((resolve, reject) => {
            const poll = setInterval(() => {
                if (existsSync(made.control)) {
                    clearInterval(poll);
                    resolve();
                }
            }, 10);
            // "close", not "exit": ssh's message may still be on its way through the pipe when it
            // exits (seen under load: "ssh failed: no message" where it had said "Connection refused").
            master.once("close", () => {
                clearInterval(poll);
                reject(new Error(explainSshFailure(connection.host, stderr)));
            });
        });
        master.unref();
    })();
    made.ready.catch(() => {
        sessions.delete(key);
        closeSession(made);
    });
    return made;
}

function closeSession(s: Session): void {
    s.master?.kill();
    s.agent?.kill();
    rmSync(s.dir, { recursive: true, force: true });
}

process.once("exit", () => {
    for (const s of sessions.values()) closeSession(s);
});

/** The ssh argument vector that runs `argv` on the host through the session's master. */
function sshArgv(s: Session, argv: readonly string[]): string[] {
    return [...s.options, "-o", "ControlMaster=no", "-o", `ControlPath=${s.control}`, s.target, "--", remoteCommandLine(argv)];
}

/** Classifies a remote failure: ssh's own (exit 255) names the host; the program's goes through the usual mapping. */
function failure(connection: Connection, cmd: HostCommand, code: number | null, stderr: string): HostCommandError {
    const text = stderr.trim();
    if (code === 255)
        return new HostCommandError({
            command: cmd.argv,
            netns: cmd.netns,
            exitCode: 255,
            stderr: text,
            subject: cmd.subject,
            host: connection.host,
            sshFailure: explainSshFailure(connection.host, text),
        });
    // The remote shell's "not found" (exit 127) is a missing program there.
    const missing = code === 127 && /not found/.test(text) ? `exec of "${cmd.argv[0]}" failed: No such file or directory` : text;
    return new HostCommandError({
        command: cmd.argv,
        netns: cmd.netns,
        exitCode: code ?? undefined,
        stderr: missing,
        subject: cmd.subject,
        host: connection.host,
    });
}

/** Runs a command on the connection's host. */
export async function runRemote(connection: Connection, cmd: HostCommand): Promise<CommandOutput> {
    refuseOffline(connection);
    const s = session(connection);
    await s.ready;
    return new Promise<CommandOutput>((resolve, reject) => {
        const child = spawn("ssh", sshArgv(s, cmd.argv), { stdio: [cmd.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout!.on("data", (d: Buffer) => out.push(d));
        child.stderr!.on("data", (d: Buffer) => err.push(d));
        child.once("error", (e) => reject(new HostCommandError({ command: cmd.argv, netns: cmd.netns, stderr: "", cause: e, subject: cmd.subject })));
        child.once("close", (code) => {
            const stderr = Buffer.concat(err).toString();
            if (code === 0) resolve({ stdout: Buffer.concat(out).toString().replace(/\n$/, ""), stderr });
            else reject(failure(connection, cmd, code, stderr));
        });
        if (cmd.input !== undefined) {
            child.stdin!.on("error", () => {});
            child.stdin!.end(cmd.input);
        }
    });
}

/**
 * A remote shell that stays open for the synchronous file operations of a session: one `ssh`
 * channel running a small `sh` loop, fed requests through a local FIFO and answering through
 * another, so that each operation costs a round trip (about a millisecond on a LAN) instead of a new
 * ssh client (about 90 ms, measured: bench/multihost.ts). A request is one line of base64 holding
 * a script; the answer is a header `STATUS OUTBYTES ERRBYTES` and the bytes of stdout and stderr.
 */
interface FileChannel {
    child: ChildProcess;
    request: number;
    answer: number;
}

const CHANNEL_SERVER = [
    "T=$(mktemp -d) || exit 1; trap 'rm -rf \"$T\"' EXIT",
    "while IFS= read -r line; do",
    '  printf "%s" "$line" | base64 -d > "$T/cmd" || exit 1',
    '  sh "$T/cmd" > "$T/out" 2> "$T/err" < /dev/null; st=$?',
    '  printf "%s %s %s\\n" "$st" "$(wc -c < "$T/out")" "$(wc -c < "$T/err")"; cat "$T/out" "$T/err"',
    "done",
].join("\n");

const channels = new Map<string, FileChannel>();

function fileChannel(connection: Connection, s: Session): FileChannel {
    const key = sessionKey(connection);
    const open = channels.get(key);
    if (open && open.child.exitCode === null && open.child.signalCode === null) return open;
    const requestPath = path.join(s.dir, `req-${channels.size}`);
    const answerPath = path.join(s.dir, `res-${channels.size}`);
    execFileSync("mkfifo", ["-m", "600", requestPath, answerPath]);
    // Opened read-write, a FIFO's open does not wait for the other end.
    const request = openSync(requestPath, constants.O_RDWR);
    const answerWrite = openSync(answerPath, constants.O_RDWR);
    const child = spawn("ssh", sshArgv(s, ["sh", "-c", CHANNEL_SERVER]), { stdio: [request, answerWrite, "ignore"] });
    child.unref();
    const answer = openSync(answerPath, constants.O_RDONLY | constants.O_NONBLOCK);
    closeSync(answerWrite); // the child's copy is the only writer now: its end is our EOF
    const channel = { child, request, answer };
    channels.set(key, channel);
    return channel;
}

/** Reads exactly `count` bytes (or a line when `count` is undefined) from the answer FIFO, waiting for them. */
function readAnswer(connection: Connection, channel: FileChannel, count?: number): Buffer {
    const chunks: Buffer[] = [];
    let got = 0;
    const deadline = Date.now() + 60_000;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
        if (count !== undefined && got >= count) return Buffer.concat(chunks);
        const buffer = Buffer.alloc(count === undefined ? 1 : Math.min(65536, count - got));
        let n: number;
        try {
            n = readSync(channel.answer, buffer);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
            if (Date.now() > deadline) throw new Error(`host "${connection.host}": no answer to a file operation in 60 s`);
            Atomics.wait(sleeper, 0, 0, 1); // a millisecond's sleep: this operation is synchronous
            continue;
        }
        if (n === 0) throw new Error(`host "${connection.host}": the connection closed during a file operation`);
        if (count === undefined) {
            if (buffer[0] === 0x0a) return Buffer.concat(chunks);
            chunks.push(buffer);
            continue;
        }
        chunks.push(buffer.subarray(0, n));
        got += n;
    }
}

/**
 * Runs a small shell script on the host, synchronously (for the record files), with `args` as its
 * positional parameters ($1, $2, ...), quoted, and `input` on its stdin. The master must be open
 * (an async command opens it first). Equivalent to: `ssh HOST -- sh -c 'SCRIPT' sh 'ARG1' 'ARG2'`.
 */
export function runRemoteScriptSync(
    connection: Connection,
    script: string,
    args: readonly string[],
    input?: string,
): { status: number; stdout: string; stderr: string } {
    refuseOffline(connection);
    const s = sessions.get(sessionKey(connection));
    if (!s?.master) throw new Error(`host "${connection.host}": no connection is open yet (a file operation came before any command)`);
    const channel = fileChannel(connection, s);
    const command = `${input === undefined ? "" : `printf '%s' ${shellQuote([input])} | `}${shellQuote(["sh", "-c", script, "sh", ...args])}\n`;
    writeSync(channel.request, `${Buffer.from(command).toString("base64")}\n`);
    try {
        const [status, outBytes, errBytes] = readAnswer(connection, channel).toString().trim().split(/\s+/).map(Number);
        const out = readAnswer(connection, channel, outBytes + errBytes);
        return { status, stdout: out.subarray(0, outBytes).toString(), stderr: out.subarray(outBytes).toString() };
    } catch (err) {
        channels.delete(sessionKey(connection));
        channel.child.kill();
        throw err;
    }
}

const sessionPids = new Map<string, Promise<number>>();

/**
 * The pid of the SSH server process that serves this host's connection: it lives in the host's
 * root network namespace as long as the connection does (every command is a channel of it), so
 * `ip link ... netns PID` can name that namespace there. Equivalent to: `ssh HOST -- sh -c 'echo $PPID'`.
 */
export function remoteSessionPid(connection: Connection | undefined = currentConnection()): Promise<number> {
    if (!connection) return Promise.resolve(process.pid);
    const key = sessionKey(connection);
    let pid = sessionPids.get(key);
    if (!pid) {
        pid = runRemote(connection, { argv: ["sh", "-c", "echo $PPID"], readOnly: true }).then((out) => Number(out.stdout.trim()));
        pid.catch(() => sessionPids.delete(key));
        sessionPids.set(key, pid);
    }
    return pid;
}

/** Opens the connection to the host of the operation under way, if it is remote and not open yet. */
export async function connect(connection: Connection | undefined = currentConnection()): Promise<void> {
    if (!connection) return;
    refuseOffline(connection);
    await session(connection).ready;
}
