/**
 * A small TCP server inside a namespace and a client in another, for published-port tests. Both
 * are Node processes started with `ip netns exec`, so traffic only flows between namespaces the
 * test made.
 */
import { type ChildProcess, spawn } from "node:child_process";

/** Starts a server in `netns` that answers every connection with `greeting` and closes. */
export async function startTcpServer(netns: string, port: number, greeting: string): Promise<{ stop(): Promise<void> }> {
    const code = `require("net").createServer((s) => s.end(${JSON.stringify(greeting)})).listen(${port}, () => console.log("listening"));`;
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
