/**
 * Benchmark: up plus destroy of an N-container tutorial overlay through the test engine, against
 * the same topology built and torn down by the tutorial's own commands (bench/tutorial-*.sh, one
 * `ip` process per step), in the same run, inside sandbox namespaces. Prints seconds and ratios.
 * Each N is measured three times: with every container declared as four resources (namespace, veth,
 * address, route), as one Endpoint, and as one resource of a do-nothing dynamic provider (Pulumi's
 * floor: what the engine and the SDK cost with no provider work at all). Not a test: CI does not run it.
 *
 *   sudo node -r ts-node/register/transpile-only bench/overlay.ts [N ...] [--repeat K]
 *
 * N defaults to 10 100 1000; with --repeat K every number is the median of K runs (the ratio is
 * the median of the runs' ratios).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus, totalmem } from "node:os";
import { existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { run, type Operation } from "../test/engine/engine";
import { netnsList } from "../providers/host";
import { REPO_ROOT, makeProject, packPackage, removeProject } from "../test/support/project";
import { createSandbox, removeNamespaces } from "../test/support/sandbox";

process.env.OVERLAY_TEST_RUN_ID ??= `pob${randomBytes(2).toString("hex")}`;

function seconds(start: bigint): number {
    return Number(process.hrtime.bigint() - start) / 1e9;
}

async function timed<T>(work: () => Promise<T> | T): Promise<[number, T]> {
    const start = process.hrtime.bigint();
    const value = await work();
    return [seconds(start), value];
}

function countLines(file: string): number {
    return existsSync(file)
        ? readFileSync(file, "utf8")
              .split("\n")
              .filter((l) => l !== "").length
        : 0;
}

/** How the program declares each container (bench/program/index.js); `noop`: Pulumi's floor, a do-nothing provider. */
type Shape = "resources" | "endpoints" | "noop";

/** The baseline: the tutorial's commands, one `ip` process per step. */
async function measureShell(n: number) {
    const shellBox = await createSandbox();
    const shellPrefix = `${shellBox.prefix}-`;
    const args = [String(n), shellBox.hostNs, shellPrefix, shellBox.uplink];
    try {
        const [shellUp] = await timed(() => execFileSync("bash", [path.join(__dirname, "tutorial-up.sh"), ...args]));
        const [shellDown] = await timed(() => execFileSync("bash", [path.join(__dirname, "tutorial-down.sh"), ...args]));
        return { shellUp, shellDown };
    } finally {
        await shellBox.destroy();
    }
}

/** Ours, through the test engine. */
async function measure(n: number, shape: Shape, project: string, shell: { shellUp: number; shellDown: number }) {
    const { shellUp, shellDown } = shell;
    const box = await createSandbox();
    const state = path.join(project, `state-${n}-${shape}.json`);
    const log = path.join(project, `commands-${n}-${shape}.log`);
    rmSync(log, { force: true }); // counted per run
    process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
    const config = { containers: String(n), hostNamespace: box.hostNs, prefix: `${box.prefix}-`, uplink: box.uplink, shape };
    const engine = async (operation: Operation) => {
        const result = await run({ operation, programDir: project, stack: `n${n}${shape[0]}`, stateFile: state, config, print: () => {}, skipPreview: true });
        if (!result.ok) throw new Error(`${operation} failed: ${result.errors.join("\n")}`);
        return result;
    };
    try {
        const [up, upResult] = await timed(() => engine("up"));
        const upCommands = countLines(log);
        const [preview] = await timed(() => engine("preview"));
        const previewCommands = countLines(log) - upCommands;
        const [refresh] = await timed(() => engine("refresh"));
        const [destroy, destroyResult] = await timed(() => engine("destroy"));
        return {
            n,
            shape,
            shellUp,
            shellDown,
            up,
            destroy,
            ratio: (up + destroy) / (shellUp + shellDown),
            preview,
            previewCommands,
            refresh,
            upCommands,
            shellCommands: 5 + 8 * n,
            peakMb: Math.max(upResult.providerPeakRssKb ?? 0, destroyResult.providerPeakRssKb ?? 0) / 1024,
            resources: upResult.summary.create,
        };
    } finally {
        delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
        await removeNamespaces(box.prefix);
        await box.destroy();
    }
}

/** The median of each numeric field over repeated measurements of one row. */
function median<T extends Record<string, unknown>>(runs: T[]): T {
    const mid = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    };
    return Object.fromEntries(Object.keys(runs[0]).map((k) => [k, typeof runs[0][k] === "number" ? mid(runs.map((r) => r[k] as number)) : runs[0][k]])) as T;
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const repeatAt = args.indexOf("--repeat");
    const repeat = repeatAt >= 0 ? Math.max(1, Number(args.splice(repeatAt, 2)[1]) || 1) : 1;
    const sizes = args.map(Number).filter((n) => n > 0);
    process.env.OVERLAY_TEST_TARBALL = packPackage();
    const project = makeProject({ copyFrom: path.join(REPO_ROOT, "bench/program") });
    const rows = [];
    try {
        for (const n of sizes.length ? sizes : [10, 100, 1000]) {
            // Each repetition measures the shell script and both shapes again, in turn, so that
            // a slow spell of the machine weighs on all three alike.
            const runs: Record<string, Awaited<ReturnType<typeof measure>>[]> = { resources: [], endpoints: [], noop: [] };
            for (let i = 0; i < repeat; i++) {
                const shell = await measureShell(n);
                for (const shape of ["resources", "endpoints", "noop"] as const) {
                    runs[shape].push(await measure(n, shape, project, shell));
                    console.error(`N=${n} ${shape} run ${i + 1}/${repeat} done`);
                }
            }
            rows.push(median(runs.resources), median(runs.endpoints), median(runs.noop));
        }
    } finally {
        removeProject(project);
        rmSync(process.env.OVERLAY_TEST_TARBALL, { force: true });
        await removeNamespaces(process.env.OVERLAY_TEST_RUN_ID!);
    }
    console.log(
        `machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${new Date().toISOString()}${repeat > 1 ? `; medians of ${repeat} runs` : ""}`,
    );
    console.log(
        "| N | declared as | resources | shell up s | shell down s | ours up s | ours destroy s | ratio (up+destroy) | preview s (% of up) | host cmds in preview | refresh s (% of up) | host cmds in up (shell) | provider peak MB |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of rows) {
        const pct = (x: number) => `${((100 * x) / r.up).toFixed(0)}%`;
        console.log(
            `| ${r.n} | ${r.shape} | ${r.resources} | ${r.shellUp.toFixed(2)} | ${r.shellDown.toFixed(2)} | ${r.up.toFixed(2)} | ${r.destroy.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.preview.toFixed(2)} (${pct(r.preview)}) | ${r.previewCommands} | ${r.refresh.toFixed(2)} (${pct(r.refresh)}) | ${r.upCommands} (${r.shellCommands}) | ${r.peakMb.toFixed(0)} |`,
        );
    }
    if (netnsList().some((name) => name.startsWith(process.env.OVERLAY_TEST_RUN_ID!))) throw new Error("the benchmark left namespaces behind");
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
