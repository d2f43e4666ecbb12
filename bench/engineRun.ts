/**
 * One test-engine operation in a process of its own, for `bench/overlay.ts --also host`: started
 * inside the sandbox's host namespace (`nsenter --net`), it runs the engine, the program and the
 * provider server there, as the CLI runs on a host whose bridge is in its root namespace. Prints
 * one JSON line: the operation's seconds (this process's start not counted) and the engine's result.
 * Usage: engineRun.ts HOST_NAMESPACE '<EngineOptions as JSON, without print>'
 */
import { statSync } from "node:fs";
import { type EngineOptions, run } from "../test/engine/engine";

async function main(): Promise<void> {
    // Only inside the namespace it is given, never the machine's own: the stack makes a bridge,
    // NAT rules and sysctls in whatever namespace this process is in.
    const [hostNs, json] = process.argv.slice(2);
    if (statSync("/proc/self/ns/net").ino !== statSync(`/run/netns/${hostNs}`).ino) {
        throw new Error(`engineRun.ts runs only inside network namespace "${hostNs}" (nsenter --net=/run/netns/${hostNs})`);
    }
    const options = JSON.parse(json) as EngineOptions;
    const start = process.hrtime.bigint();
    const result = await run({ ...options, print: () => {} });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(`${JSON.stringify({ seconds, result })}\n`);
}

main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
});
