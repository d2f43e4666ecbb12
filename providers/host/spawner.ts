/**
 * A small helper process that starts this machine's host programs for the provider. Starting a
 * program from Node.js copies the calling process's page tables (fork), and the provider's process
 * is large (its heap, @pulumi/pulumi, gRPC): measured here, a spawn held the provider's event loop
 * for 2.5 ms at 370 MB, against 1 ms in a bare Node.js process, and spawns were half of the
 * provider's time in a create and delete of 100 endpoints. The helper is a bare Node.js process
 * started once (`node -e`, its program below): it reads one request a line (an argument vector,
 * stdin text and, when it changed, the environment), starts the program without a shell, and
 * writes one reply a line when the program ends. Requests run concurrently; the caller limits how
 * many (command.ts).
 *
 * `PULUMI_OVERLAY_SPAWN_HELPER=0` starts every program from the provider's own process instead.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";

/** How a program ended: its exit code or signal, what it printed, or why it did not start (`error`). */
export interface SpawnReply {
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    /** Set when the program could not be started (`code` is then null): e.g. ENOENT. */
    error?: { code?: string; message: string };
}

/**
 * The helper's program. Plain JavaScript text rather than a function's source, so that no
 * compiler or test transform can change what runs.
 */
const HELPER_PROGRAM = String.raw`
const { spawn } = require("node:child_process");
let env = process.env;
const reply = (message) => process.stdout.write(JSON.stringify(message) + "\n");
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
    const request = JSON.parse(line);
    if (request.env) env = request.env;
    const out = [];
    const err = [];
    let child;
    try {
        child = spawn(request.argv[0], request.argv.slice(1), { env, stdio: [request.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    } catch (e) {
        reply({ id: request.id, code: null, signal: null, stdout: "", stderr: "", error: { code: e.code, message: e.message } });
        return;
    }
    let failed;
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => err.push(chunk));
    child.once("error", (e) => { failed = { code: e.code, message: e.message }; });
    child.once("close", (code, signal) => {
        reply({ id: request.id, code: failed ? null : code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), error: failed });
    });
    if (request.input !== undefined) {
        child.stdin.on("error", () => {});
        child.stdin.end(request.input);
    }
});
process.stdin.on("end", () => process.exit(0));
`;

/** The helper of this process, started on first use and again if it ever exits. */
class Spawner {
    private child: ChildProcess | undefined;
    private readonly pending = new Map<number, { resolve: (reply: SpawnReply) => void; reject: (err: Error) => void }>();
    private nextId = 1;
    private sentEnv = "";
    /** What the helper wrote after its last complete reply: chunks, joined only once a line is whole (replies can be megabytes). */
    private partial: string[] = [];

    get pid(): number | undefined {
        return this.child?.pid;
    }

    run(argv: readonly string[], input: string | undefined, env: NodeJS.ProcessEnv): Promise<SpawnReply> {
        const child = this.child ?? this.start();
        const id = this.nextId++;
        const request: { id: number; argv: readonly string[]; input?: string; env?: NodeJS.ProcessEnv } = { id, argv };
        if (input !== undefined) request.input = input;
        const envText = JSON.stringify(env);
        if (envText !== this.sentEnv) {
            request.env = env;
            this.sentEnv = envText;
        }
        return new Promise<SpawnReply>((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            if (this.pending.size === 1) this.hold(true);
            child.stdin!.write(`${JSON.stringify(request)}\n`);
        });
    }

    private start(): ChildProcess {
        const child = spawn(process.execPath, ["-e", HELPER_PROGRAM], {
            stdio: ["pipe", "pipe", "inherit"],
            env: { ...process.env, NODE_OPTIONS: "" },
        });
        this.child = child;
        this.sentEnv = "";
        this.partial = [];
        child.stdout!.setEncoding("utf8");
        child.stdout!.on("data", (text: string) => this.receive(text));
        child.stdin!.on("error", () => {}); // the helper's exit is handled below
        child.once("exit", () => this.lost(child));
        child.once("error", () => this.lost(child));
        // Idle, the helper does not keep this process alive.
        child.unref();
        this.hold(false);
        return child;
    }

    /** Keeps this process alive while a program runs, not while the helper idles. */
    private hold(on: boolean): void {
        for (const stream of [this.child?.stdout, this.child?.stdin] as (Socket | undefined)[]) {
            if (on) stream?.ref?.();
            else stream?.unref?.();
        }
    }

    private receive(text: string): void {
        let start = 0;
        let newline = text.indexOf("\n");
        while (newline >= 0) {
            this.partial.push(text.slice(start, newline));
            const reply = JSON.parse(this.partial.join("")) as SpawnReply & { id: number };
            this.partial = [];
            const waiter = this.pending.get(reply.id);
            this.pending.delete(reply.id);
            if (this.pending.size === 0) this.hold(false);
            waiter?.resolve(reply);
            start = newline + 1;
            newline = text.indexOf("\n", start);
        }
        if (start < text.length) this.partial.push(text.slice(start));
    }

    private lost(child: ChildProcess): void {
        if (this.child !== child) return;
        this.child = undefined;
        const waiting = [...this.pending.values()];
        this.pending.clear();
        for (const w of waiting) w.reject(new Error("the helper process that starts host programs exited"));
    }
}

const spawner = new Spawner();

/** Whether programs start through the helper (not when `PULUMI_OVERLAY_SPAWN_HELPER` is `0`). */
export function helperEnabled(): boolean {
    return process.env.PULUMI_OVERLAY_SPAWN_HELPER !== "0";
}

/** The helper's process id while it runs (for tests: they kill it to see it come back). */
export function helperPid(): number | undefined {
    return spawner.pid;
}

/** Runs one program through the helper: resolves with how it ended (never rejects for the program's own failure). */
export function spawnThroughHelper(argv: readonly string[], input: string | undefined, env: NodeJS.ProcessEnv): Promise<SpawnReply> {
    return spawner.run(argv, input, env);
}
