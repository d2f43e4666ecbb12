/**
 * Benchmark: N containers on an OverlayNetwork, `up` (with its preview, as `pulumi up --yes`) and
 * `destroy` through the test engine, in three shapes measured in the same run: one host that is
 * this machine (a namespace of it, no SSH), one remote host over SSH, and two remote hosts (N/2
 * each). The remote hosts are the e2e tests' (test/support/sshHost.ts): namespaces on a TEST-NET
 * underlay running their own sshd. Prints seconds, ratios against the local shape, the commands run
 * (the command log) and the SSH logins each host accepted. Not a test: CI does not run it.
 *
 *   sudo node -r ts-node/register/transpile-only bench/multihost.ts [N ...]      (default: 50)
 *
 * Run `npm run build` first: the projects install the packed package, which is dist/ as it is.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import * as path from "node:path";
import { netnsAdd } from "../providers/host";
import { REPO_ROOT, makeProject, packPackage, removeProject } from "../test/support/project";
import { removeNamespaces } from "../test/support/sandbox";
import { type SshHost, createUnderlay, engineArgs, makeClientKey, runEngineIn, startSshHost } from "../test/support/sshHost";

process.env.OVERLAY_TEST_RUN_ID ??= `pob${randomBytes(2).toString("hex")}`;
const prefix = `${process.env.OVERLAY_TEST_RUN_ID}m`;

function seconds(start: bigint): number {
    return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Row {
    shape: string;
    n: number;
    up: number;
    destroy: number;
    commands: number;
    logins: number[];
}

async function measure(shape: string, n: number, hosts: Record<string, unknown>, remote: SshHost[], underlay: string, project: string): Promise<Row> {
    const log = path.join(project, `commands-${shape}-${n}.log`);
    rmSync(log, { force: true });
    const loginsBefore = remote.map((h) => h.logins());
    const config = { hosts: JSON.stringify(hosts), containers: String(n), prefix: `${prefix}-${shape}-` };
    const args = (op: string) => engineArgs(op, project, `${shape}${n}`, config);
    const env = { PULUMI_OVERLAY_COMMAND_LOG: log };
    let start = process.hrtime.bigint();
    const where = remote.length === 0 ? undefined : underlay;
    const up = await runEngineIn(where, args("up"), env);
    const upSeconds = seconds(start);
    if (up.code !== 0) throw new Error(`${shape} up failed:\n${up.lines.slice(-20).join("\n")}`);
    start = process.hrtime.bigint();
    const destroy = await runEngineIn(where, args("destroy"), env);
    const destroySeconds = seconds(start);
    if (destroy.code !== 0) throw new Error(`${shape} destroy failed:\n${destroy.lines.slice(-20).join("\n")}`);
    const commands = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0;
    await new Promise((resolve) => setTimeout(resolve, 200)); // sshd's log lines
    return { shape, n, up: upSeconds, destroy: destroySeconds, commands, logins: remote.map((h, i) => h.logins() - loginsBefore[i]) };
}

async function main(): Promise<void> {
    const sizes = process.argv
        .slice(2)
        .map(Number)
        .filter((n) => n > 0);
    process.env.OVERLAY_TEST_TARBALL = packPackage();
    const project = makeProject({ copyFrom: path.join(REPO_ROOT, "bench/multihost") });
    const underlay = `${prefix}-u`;
    const hosts: SshHost[] = [];
    const rows: Row[] = [];
    try {
        await createUnderlay(underlay);
        const localNs = `${prefix}-local`;
        await netnsAdd(localNs);
        const client = makeClientKey();
        hosts.push(await startSshHost(underlay, `${prefix}-a`, "a", "192.0.2.11", 0, client));
        hosts.push(await startSshHost(underlay, `${prefix}-b`, "b", "192.0.2.12", 1, client));
        const remote = (h: SshHost) => ({ connection: h.connection, underlay: h.address });
        for (const n of sizes.length ? sizes : [50]) {
            rows.push(await measure("local", n, { a: { underlay: "192.0.2.1", netns: localNs } }, [], underlay, project));
            rows.push(await measure("one-remote", n, { a: remote(hosts[0]) }, [hosts[0]], underlay, project));
            rows.push(await measure("two-remote", n, { a: remote(hosts[0]), b: remote(hosts[1]) }, hosts, underlay, project));
        }
    } finally {
        for (const h of hosts) await h.remove();
        removeProject(project);
        rmSync(process.env.OVERLAY_TEST_TARBALL, { force: true });
        await removeNamespaces(process.env.OVERLAY_TEST_RUN_ID!);
    }
    console.log(`OverlayNetwork across hosts; ${new Date().toISOString()}; ${cpus().length} cores`);
    console.log("| N | shape | up s (preview included) | destroy s | up + destroy vs local | host commands | SSH logins per host |");
    console.log("| --- | --- | --- | --- | --- | --- | --- |");
    for (const r of rows) {
        const local = rows.find((x) => x.n === r.n && x.shape === "local")!;
        const ratio = (r.up + r.destroy) / (local.up + local.destroy);
        console.log(
            `| ${r.n} | ${r.shape} | ${r.up.toFixed(2)} | ${r.destroy.toFixed(2)} | ${ratio.toFixed(2)} | ${r.commands} | ${r.logins.join(" / ") || "-"} |`,
        );
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
