/**
 * Benchmark: K NAT rules (DNAT of K published ports, the rules a BridgeNetwork writes for
 * `publish`) through the test engine, on each backend, against the same rules added and deleted by
 * a shell loop of `iptables` (or `nft`) commands, in the same run, inside a sandbox namespace.
 * Prints seconds, ratios and host process counts. Not a test: CI does not run it.
 *
 *   sudo node -r ts-node/register/transpile-only bench/nat.ts [K ...]      (default: 10 100)
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { run, type Operation } from "../test/engine/engine";
import { REPO_ROOT, makeProject, packPackage, removeProject } from "../test/support/project";
import { createSandbox, removeNamespaces } from "../test/support/sandbox";

process.env.OVERLAY_TEST_RUN_ID ??= `pob${randomBytes(2).toString("hex")}`;

function seconds(start: bigint): number {
    return Number(process.hrtime.bigint() - start) / 1e9;
}

type Backend = "iptables" | "nftables";

function rules(k: number, hostNs: string, backend: Backend) {
    return Array.from({ length: k }, (_, i) => ({
        kind: "NatRule",
        name: `port${i}`,
        args: {
            type: "dnat",
            protocol: "tcp",
            port: 10000 + i,
            toAddress: `10.0.${Math.floor(i / 250)}.${(i % 250) + 2}`,
            toPort: 80,
            destinationLocal: true,
            netns: hostNs,
            backend,
        },
    }));
}

/** The baseline: one `iptables` (or `nft`) process per rule, added then deleted. */
function shell(k: number, hostNs: string, backend: Backend): { up: number; down: number } {
    if (backend === "nftables") {
        const table = "inet bench";
        const timed = (script: string) => {
            const start = process.hrtime.bigint();
            execFileSync("bash", ["-e", "-c", script]);
            return seconds(start);
        };
        const add = [
            `ip netns exec ${hostNs} nft add table ${table}`,
            `ip netns exec ${hostNs} nft 'add chain ${table} pre { type nat hook prerouting priority -100; }'`,
            ...Array.from(
                { length: k },
                (_, i) =>
                    `ip netns exec ${hostNs} nft add rule ${table} pre tcp dport ${10000 + i} fib daddr type local dnat ip to 10.0.${Math.floor(i / 250)}.${(i % 250) + 2}:80 comment r${i}`,
            ),
        ];
        // Deleting a rule takes its handle: one listing, then one process per rule.
        const del = `for h in $(ip netns exec ${hostNs} nft -a list chain ${table} pre | awk '/dnat .*# handle/ { print $NF }'); do ip netns exec ${hostNs} nft delete rule ${table} pre handle $h; done; ip netns exec ${hostNs} nft delete table ${table}`;
        return { up: timed(add.join("\n")), down: timed(del) };
    }
    const spec = (i: number) => [
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        String(10000 + i),
        "-m",
        "addrtype",
        "--dst-type",
        "LOCAL",
        "-j",
        "DNAT",
        "--to-destination",
        `10.0.${Math.floor(i / 250)}.${(i % 250) + 2}:80`,
    ];
    const loop = (op: string) => {
        const script = Array.from({ length: k }, (_, i) => `ip netns exec ${hostNs} iptables -w -t nat ${op} PREROUTING ${spec(i).join(" ")}`).join("\n");
        const start = process.hrtime.bigint();
        execFileSync("bash", ["-e", "-c", script]);
        return seconds(start);
    };
    return { up: loop("-A"), down: loop("-D") };
}

async function measure(k: number, project: string, backend: Backend) {
    const box = await createSandbox();
    try {
        const baseline = shell(k, box.hostNs, backend);
        const log = path.join(project, `commands-${k}.log`);
        rmSync(log, { force: true });
        process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
        const count = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0);
        const config = { cases: JSON.stringify(rules(k, box.hostNs, backend)) };
        const times: Record<string, number> = {};
        const cmds: Record<string, number> = {};
        for (const operation of ["up", "refresh", "destroy"] as Operation[]) {
            const before = count();
            const start = process.hrtime.bigint();
            const result = await run({
                operation,
                programDir: project,
                stack: `k${k}${backend}`,
                stateFile: path.join(project, `state-${k}-${backend}.json`),
                config,
                print: () => {},
                skipPreview: true,
            });
            times[operation] = seconds(start);
            cmds[operation] = count() - before;
            if (!result.ok) throw new Error(`${operation} failed: ${result.errors.join("\n")}`);
        }
        return { k, backend, ...baseline, times, cmds };
    } finally {
        delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
        await box.destroy();
    }
}

async function main(): Promise<void> {
    const sizes = process.argv
        .slice(2)
        .map(Number)
        .filter((n) => n > 0);
    process.env.OVERLAY_TEST_TARBALL = packPackage();
    const project = makeProject({ copyFrom: path.join(REPO_ROOT, "test/e2e/programs/cases") });
    const rows = [];
    try {
        for (const k of sizes.length ? sizes : [10, 100])
            for (const backend of ["iptables", "nftables"] as const) rows.push(await measure(k, project, backend));
    } finally {
        removeProject(project);
        rmSync(process.env.OVERLAY_TEST_TARBALL, { force: true });
        await removeNamespaces(process.env.OVERLAY_TEST_RUN_ID!);
    }
    console.log(`NAT rules; ${new Date().toISOString()}`);
    console.log(
        "| K | backend | shell add s | shell delete s | ours up s | ours refresh s | ours destroy s | ratio (up+destroy) | host cmds up / refresh / destroy (shell: K each way) |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of rows) {
        const ratio = (r.times.up + r.times.destroy) / (r.up + r.down);
        console.log(
            `| ${r.k} | ${r.backend} | ${r.up.toFixed(2)} | ${r.down.toFixed(2)} | ${r.times.up.toFixed(2)} | ${r.times.refresh.toFixed(2)} | ${r.times.destroy.toFixed(2)} | ${ratio.toFixed(2)} | ${r.cmds.up} / ${r.cmds.refresh} / ${r.cmds.destroy} |`,
        );
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
