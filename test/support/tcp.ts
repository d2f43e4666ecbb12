/**
 * A small TCP server inside a namespace and a client in another, for published-port tests. Both
 * are Node processes started with `ip netns exec`, so traffic only flows between namespaces the
 * test made.
 */
import { type ChildProcess, spawn } from "node:child_process";

/**
 * Starts a server in `netns` that answers every connection with `greeting` and closes; with
 * `greeting` null it answers with the address the connection came from (what NAT rewrote it to).
 */
export async function startTcpServer(netns: string, port: number, greeting: string | null): Promise<{ stop(): Promise<void> }> {
    const answer = greeting === null ? "s.remoteAddress.replace(/^::ffff:/, '')" : JSON.stringify(greeting);
    const code = `require("net").createServer((s) => s.end(${answer})).listen(${port}, () => console.log("listening"));`;
    const child: ChildProcess = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
        let err = "";
        child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
        child.stdout!.once("data", () => resolve());
        child.once("exit", (c) => reject(new Error(`the TCP server in ${netns} exited (${c}): ${err}`)));
    });
    return {
        stop: async () => {
            if (child.exitCode !== null) return;
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGTERM");
            await exited;
        },
    };
}

/** Connects from `netns` to address:port and returns what the server sent, or the error's code. */
export async function tcpRequest(netns: string, address: string, port: number, timeoutMs = 2000): Promise<string> {
    const code = `const s = require("net").connect(${port}, ${JSON.stringify(address)}); let got = "";
s.on("data", (d) => (got += d)); s.on("end", () => { process.stdout.write(got); process.exit(0); });
s.on("error", (e) => { process.stdout.write("error:" + e.code); process.exit(0); });
setTimeout(() => { process.stdout.write("error:TIMEOUT"); process.exit(0); }, ${timeoutMs});`;
    return new Promise((resolve, reject) => {
        const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.once("exit", () => resolve(out));
        child.once("error", reject);
    });
}

/**
 * Sends `bytes` from a server in `serverNs` (at `address`) to a client in `clientNs` and returns the seconds the
 * client took from connecting to the last byte (the server sends at once; the link sets the pace).
 */
export async function timedTransfer(serverNs: string, clientNs: string, address: string, port: number, bytes: number): Promise<number> {
    const server = `require("net").createServer((s) => s.end(Buffer.alloc(${bytes}, 120))).listen(${port}, () => console.log("listening"));`;
    const child: ChildProcess = spawn("ip", ["netns", "exec", serverNs, process.execPath, "-e", server], { stdio: ["ignore", "pipe", "pipe"] });
    try {
        await new Promise<void>((resolve, reject) => {
            child.stdout!.once("data", () => resolve());
            child.once("exit", (c) => reject(new Error(`the transfer server in ${serverNs} exited (${c})`)));
        });
        const client = `const t = process.hrtime.bigint(); let n = 0; const s = require("net").connect(${port}, ${JSON.stringify(address)});
s.on("data", (d) => (n += d.length)); s.on("end", () => { process.stdout.write(JSON.stringify({ n, s: Number(process.hrtime.bigint() - t) / 1e9 })); process.exit(0); });
s.on("error", (e) => { process.stdout.write(JSON.stringify({ error: e.code })); process.exit(0); });`;
        const out = await new Promise<string>((resolve, reject) => {
            const c = spawn("ip", ["netns", "exec", clientNs, process.execPath, "-e", client], { stdio: ["ignore", "pipe", "pipe"] });
            let text = "";
            c.stdout.on("data", (d: Buffer) => (text += d.toString()));
            c.once("exit", () => resolve(text));
            c.once("error", reject);
        });
        const result = JSON.parse(out) as { n?: number; s?: number; error?: string };
        if (result.n !== bytes) throw new Error(`transfer from ${serverNs} to ${clientNs}: got ${result.n ?? result.error} of ${bytes} bytes`);
        return result.s!;
    } finally {
        if (child.exitCode === null) {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGTERM");
            await exited;
        }
    }
}
