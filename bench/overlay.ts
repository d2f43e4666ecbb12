/**
 * Benchmark (`npm run bench`): N containers on one bridge with egress (a gateway address,
 * forwarding, MASQUERADE; each container a namespace with a veth into the bridge, an address and a
 * default route), made and removed by five tools in the same run, each inside its own sandbox:
 *
 * - shell:   the tutorial's commands, one `ip` process per step (bench/tutorial-*.sh);
 * - batch:   one `ip -batch` process per namespace, the kernel's floor (bench/batch-*.sh);
 * - mininet: Mininet's Python API, N hosts on a LinuxBridge switch with a NAT node (bench/mininet_lab.py);
 * - noop:    what our program registers, through a dynamic provider that does nothing: Pulumi's floor;
 * - ours:    the N containers as attachments of one BridgeNetwork.
 *
 * The two Pulumi stacks go through the test engine as the CLI runs them: `up` is a preview and then
 * the update (`pulumi up --yes`), `refresh` previews first, then `destroy`. Each repetition measures
 * all five again, in a rotated order, so that a slow spell of the machine weighs on all alike;
 * printed numbers are medians. Not a test: CI does not run it.
 *
 *   sudo npm run bench -- [N ...] [--repeat K] [--svg FILE] [--json FILE] [--also noop-sized,endpoints,resources,no-helper,host,noop-host,floors,skip-checkpoints,noop-skip-checkpoints]
 *
 * N defaults to 10 100 1000; `--only shell,ours` measures only the tools named. `--also` adds the program's other shapes (bench/program/index.js):
 * `noop-sized` is the do-nothing stack whose attachments carry an attachment's properties (Pulumi's
 * cost for our contract, with no host work),
 * `no-helper`: ours with every host program spawned from the provider's own process
 * (`PULUMI_OVERLAY_SPAWN_HELPER=0`), to measure what the helper process saves, and `host` /
 * `noop-host`: ours / the do-nothing stack with the engine running inside the sandbox's host
 * namespace (bench/engineRun.ts), the host side being the provider's own namespace, as on a host
 * whose bridge is in its root namespace (Mininet runs in that namespace too). `floors`: the two
 * floors at once on the same cores, the sized do-nothing stack while the kernel's floor
 * (bench/batch-*.sh) makes the same topology alongside its update and removes it alongside its
 * destroy, each operation timed until both are done: what any provider of this many resources
 * costs at least on this machine, its host work done with the fewest processes.
 * `skip-checkpoints` / `noop-skip-checkpoints`: ours / the do-nothing stack with the state written
 * once per operation, as the CLI writes it under its experimental `PULUMI_SKIP_CHECKPOINTS`.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import * as path from "node:path";
import { netnsList } from "../providers/host";
import { type EngineOptions, type Operation, type Result, run } from "../test/engine/engine";
import { REPO_ROOT, makeProject, packPackage, removeProject } from "../test/support/project";
import { createSandbox, removeNamespaces, type Sandbox } from "../test/support/sandbox";
import { type Series, plotSvg } from "./plot";

process.env.OVERLAY_TEST_RUN_ID ??= `pob${randomBytes(2).toString("hex")}`;

/** One tool's numbers for one N (seconds, MB, bytes). */
interface Row {
    tool: string;
    n: number;
    up: number;
    down: number;
    /** Of `up`, the preview's share (Pulumi stacks only). */
    preview?: number;
    refresh?: number;
    programMb?: number;
    providerMb?: number;
    /** The provider server's peak in each operation (up: preview and update). */
    providerByOperation?: { up: number; refresh: number; destroy: number };
    stateBytesPerResource?: number;
    resources?: number;
    hostCommands?: number;
}

const PYTHON = "/usr/bin/python3"; // Debian's, which has the mininet package

function seconds(start: bigint): number {
    return Number(process.hrtime.bigint() - start) / 1e9;
}

async function timed<T>(work: () => Promise<T> | T): Promise<[number, T]> {
    const start = process.hrtime.bigint();
    const value = await work();
    return [seconds(start), value];
}

/** Throws unless the first container reaches the gateway: every tool's result is checked, untimed. */
function checkPing(namespace: string, gateway: string, tool: string): void {
    try {
        execFileSync("ip", ["netns", "exec", namespace, "ping", "-c", "3", "-i", "0.2", "-W", "1", gateway], { stdio: "pipe" });
    } catch {
        throw new Error(`${tool}: ${namespace} cannot reach ${gateway}: the measured network does not work`);
    }
}

/** shell or batch: a pair of scripts, one to make the network and one to remove it. */
async function measureScripts(tool: "shell" | "batch", n: number): Promise<Row> {
    const box = await createSandbox();
    const prefix = `${box.prefix}-`;
    const args = [String(n), box.hostNs, prefix, box.uplink];
    const script = (verb: string) => path.join(__dirname, `${tool === "shell" ? "tutorial" : "batch"}-${verb}.sh`);
    try {
        const [up] = await timed(() => execFileSync("bash", [script("up"), ...args]));
        checkPing(`${prefix}c1`, "10.0.0.1", tool);
        const [down] = await timed(() => execFileSync("bash", [script("down"), ...args]));
        return { tool, n, up, down, hostCommands: tool === "shell" ? 5 + 8 * n : 5 + n };
    } finally {
        await box.destroy();
    }
}

/** Why Mininet cannot be measured here, or undefined when it can. */
function mininetMissing(): string | undefined {
    try {
        execFileSync(PYTHON, ["-c", "import mininet.net"], { stdio: "pipe" });
        execFileSync("sh", ["-c", "command -v brctl && command -v ifconfig && command -v mnexec"], { stdio: "pipe" });
        return undefined;
    } catch {
        return "Mininet is not installed (apt-get install mininet bridge-utils net-tools): its row is left out";
    }
}

/** Mininet inside the sandbox's host namespace and a private mount namespace (see bench/mininet_lab.py). */
async function measureMininet(n: number): Promise<Row> {
    const box = await createSandbox();
    try {
        const script = path.join(__dirname, "mininet_lab.py");
        const out = execFileSync(
            "ip",
            [
                "netns",
                "exec",
                box.hostNs,
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                'mount -t tmpfs none /etc/network && exec "$0" "$@"',
                PYTHON,
                script,
                String(n),
            ],
            { encoding: "utf8", maxBuffer: 1 << 24 },
        );
        const result = JSON.parse(out.trim().split("\n").at(-1)!) as { up: number; down: number; ping: boolean };
        if (!result.ping) throw new Error("mininet: the first host cannot reach the NAT node: the measured network does not work");
        return { tool: "mininet", n, up: result.up, down: result.down };
    } finally {
        await box.destroy();
    }
}

function countLines(file: string): number {
    return existsSync(file)
        ? readFileSync(file, "utf8")
              .split("\n")
              .filter((l) => l !== "").length
        : 0;
}

/**
 * One engine operation inside the sandbox's host namespace, in a process of its own
 * (bench/engineRun.ts): its seconds, and the engine's result.
 */
function runOnHost(hostNs: string, options: EngineOptions): Promise<[number, Result]> {
    const argv = [
        `--net=/run/netns/${hostNs}`,
        "--",
        process.execPath,
        "-r",
        "ts-node/register/transpile-only",
        path.join(REPO_ROOT, "bench/engineRun.ts"),
        hostNs,
        JSON.stringify(options),
    ];
    return new Promise((resolve, reject) => {
        execFile("nsenter", argv, { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
            if (err) return reject(new Error(`engine on the host: ${stderr.trim() || err.message}`));
            const { seconds, result } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { seconds: number; result: Result };
            resolve([seconds, result]);
        });
    });
}

/**
 * A Pulumi stack of the given shape through the test engine, the CLI's way. With `onHost`, the
 * engine (and so the program and the provider server) runs inside the sandbox's host namespace
 * and the stack's host side is the provider's own namespace, as on a host whose bridge is in its
 * root namespace; otherwise the provider runs in the machine's namespace and reaches the
 * sandbox's host namespace by name (`netns`).
 */
/** How a stack is measured besides its shape. */
interface StackWay {
    /** Environment of the provider (e.g. PULUMI_OVERLAY_SPAWN_HELPER). */
    env?: Record<string, string>;
    /** The engine inside the sandbox's host namespace (see above). */
    onHost?: boolean;
    /** The kernel's floor run alongside (`floors`). */
    kernelAlongside?: boolean;
    /** The state written once per operation (`PULUMI_EXPERIMENTAL=true PULUMI_SKIP_CHECKPOINTS=true`). */
    skipCheckpoints?: boolean;
}

async function measureStack(tool: string, shape: string, n: number, project: string, way: StackWay = {}): Promise<Row> {
    const { env = {}, onHost = false, kernelAlongside = false, skipCheckpoints = false } = way;
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const box: Sandbox = await createSandbox();
    const state = path.join(project, `state-${n}-${shape}.json`);
    const log = path.join(project, `commands-${n}-${shape}.log`);
    rmSync(log, { force: true });
    rmSync(state, { force: true });
    process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
    const config: Record<string, string> = { containers: String(n), prefix: `${box.prefix}-`, uplink: box.uplink, shape };
    if (!onHost) config.hostNamespace = box.hostNs;
    const engine = async (operation: Operation, skipPreview = true): Promise<[number, Result]> => {
        const options = { operation, programDir: project, stack: `n${n}${shape.replace(/\W/g, "")}`, stateFile: state, config, skipPreview, skipCheckpoints };
        // The kernel's floor alongside (`floors`): the batch scripts, in their own namespaces, with the update and the destroy.
        const script =
            kernelAlongside && (operation === "up" || operation === "destroy")
                ? path.join(__dirname, `batch-${operation === "up" ? "up" : "down"}.sh`)
                : undefined;
        const [seconds, result] = onHost
            ? await runOnHost(box.hostNs, options)
            : await timed(async () => {
                  const alongside = script ? runScript(script, [String(n), box.hostNs, `${box.prefix}-k`, box.uplink]) : undefined;
                  const stack = await run({ ...options, print: () => {} });
                  await alongside;
                  return stack;
              });
        if (!result.ok) throw new Error(`${tool} ${operation} failed: ${result.errors.join("\n")}`);
        return [seconds, result];
    };
    try {
        // `pulumi up --yes`: the preview, then the update (the engine's `up` without skipPreview
        // does exactly these two runs; they are timed apart to show the preview's share).
        const [preview, previewResult] = await engine("preview");
        const [apply, upResult] = await engine("up");
        const hostCommands = countLines(log);
        const resources = upResult.summary.create;
        const stateBytesPerResource = statSync(state).size / resources;
        if (!shape.startsWith("noop")) checkPing(`${box.prefix}-c1`, "10.0.0.1", tool);
        const [refresh, refreshResult] = await engine("refresh", false);
        const [down, destroyResult] = await engine("destroy");
        const kb = (values: (number | undefined)[]) => Math.max(...values.map((v) => v ?? 0)) / 1024;
        return {
            tool,
            n,
            up: preview + apply,
            down,
            preview,
            refresh,
            programMb: kb([previewResult.programPeakRssKb, upResult.programPeakRssKb]),
            providerMb: kb([previewResult.providerPeakRssKb, upResult.providerPeakRssKb, refreshResult.providerPeakRssKb, destroyResult.providerPeakRssKb]),
            providerByOperation: {
                up: kb([previewResult.providerPeakRssKb, upResult.providerPeakRssKb]),
                refresh: kb([refreshResult.providerPeakRssKb]),
                destroy: kb([destroyResult.providerPeakRssKb]),
            },
            stateBytesPerResource,
            resources,
            hostCommands,
        };
    } finally {
        delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        await removeNamespaces(box.prefix);
        await box.destroy();
    }
}

/** Runs a bench script without holding this process's event loop. */
function runScript(script: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) =>
        execFile("bash", [script, ...args], { maxBuffer: 1 << 26 }, (err, _stdout, stderr) =>
            err ? reject(new Error(`${script}: ${stderr || err.message}`)) : resolve(),
        ),
    );
}

/** The median of each numeric field over repeated measurements of one row. */
function median(runs: Row[]): Row {
    const mid = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    };
    const keys = Object.keys(runs[0]) as (keyof Row)[];
    const row = Object.fromEntries(keys.map((k) => [k, typeof runs[0][k] === "number" ? mid(runs.map((r) => r[k] as number)) : runs[0][k]])) as unknown as Row;
    const byOperation = runs.map((r) => r.providerByOperation).filter((m) => m !== undefined);
    if (byOperation.length > 0) {
        const of = (op: "up" | "refresh" | "destroy") => mid(byOperation.map((m) => m[op]));
        row.providerByOperation = { up: of("up"), refresh: of("refresh"), destroy: of("destroy") };
    }
    return row;
}

function option(args: string[], name: string): string | undefined {
    const at = args.indexOf(name);
    return at >= 0 ? args.splice(at, 2)[1] : undefined;
}

const f2 = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(2));
const f0 = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(0));

function printTables(rows: Row[]): void {
    console.log(
        "| N | tool | up s | destroy s | up+destroy s | vs shell | vs mininet | preview s | refresh s | host cmds | program MB | provider MB | state B/resource |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of rows) {
        const same = (tool: string) => rows.find((x) => x.n === r.n && x.tool === tool);
        const total = r.up + r.down;
        const shell = same("shell");
        const mininet = same("mininet");
        const vs = (base: Row | undefined) => (base ? (total / (base.up + base.down)).toFixed(2) : "-");
        console.log(
            `| ${r.n} | ${r.tool} | ${f2(r.up)} | ${f2(r.down)} | ${f2(total)} | ${vs(shell)} | ${vs(mininet)} | ${f2(r.preview)} | ${f2(r.refresh)} | ${f0(r.hostCommands)} | ${f0(r.programMb)} | ${f0(r.providerMb)} | ${f0(r.stateBytesPerResource)} |`,
        );
    }
    // The provider server's peak by operation: which one sets the peak above.
    const stacks = rows.filter((r) => r.providerByOperation);
    if (stacks.length > 0) {
        console.log("\n| N | tool | provider MB in up | in refresh | in destroy |");
        console.log("| --- | --- | --- | --- | --- |");
        for (const r of stacks) {
            const m = r.providerByOperation!;
            console.log(`| ${r.n} | ${r.tool} | ${f0(m.up)} | ${f0(m.refresh)} | ${f0(m.destroy)} |`);
        }
    }
    // The issue's targets, each against its baseline from the same run.
    console.log("\n| N | target | value | met |");
    console.log("| --- | --- | --- | --- |");
    for (const n of [...new Set(rows.map((r) => r.n))]) {
        const get = (tool: string) => rows.find((x) => x.n === n && x.tool === tool);
        const [ours, shell, noop, mininet] = [get("ours"), get("shell"), get("noop"), get("mininet")];
        if (!ours) continue;
        const total = (r: Row) => r.up + r.down;
        const line = (target: string, value: string, met: boolean) => console.log(`| ${n} | ${target} | ${value} | ${met ? "yes" : "**no**"} |`);
        if (shell) {
            const ratio = total(ours) / total(shell);
            line(`up+destroy <= ${n >= 1000 ? "1.0" : "2.0"} x shell`, ratio.toFixed(2), ratio <= (n >= 1000 ? 1.0 : 2.0));
            // What no provider of this many resources goes below here (`--also floors`).
            const floors = get("floors");
            if (floors) console.log(`| ${n} | (floor) the two floors at once vs shell | ${(total(floors) / total(shell)).toFixed(2)} | - |`);
            // Not the default: the CLI's experimental flag (`--also skip-checkpoints`).
            const skipping = get("skip-checkpoints");
            if (skipping) console.log(`| ${n} | (PULUMI_SKIP_CHECKPOINTS) up+destroy vs shell | ${(total(skipping) / total(shell)).toFixed(2)} | - |`);
        }
        if (mininet) line("faster than Mininet", `${f2(total(ours))} s vs ${f2(total(mininet))} s`, total(ours) < total(mininet));
        if (noop) {
            const above = total(ours) / total(noop) - 1;
            line("at most 10% above the do-nothing provider", `${(100 * above).toFixed(0)}%`, above <= 0.1);
            const memory = (ours.providerMb ?? 0) / (noop.providerMb ?? 1);
            line("provider peak memory <= 1.15 x the do-nothing provider's", memory.toFixed(2), memory <= 1.15);
            if (shell) {
                const budget = 1.5 * (shell.down + noop.down);
                line("destroy <= 1.5 x (shell teardown + Pulumi's floor)", `${f2(ours.down)} s vs ${f2(budget)} s`, ours.down <= budget);
            }
        }
    }
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const repeat = Math.max(1, Number(option(args, "--repeat") ?? 1) || 1);
    const svg = option(args, "--svg");
    const json = option(args, "--json");
    const also = (option(args, "--also") ?? "").split(",").filter(Boolean);
    const only = (option(args, "--only") ?? "").split(",").filter(Boolean);
    const sizes = args.map(Number).filter((n) => n > 0);
    const missing = only.length > 0 && !only.includes("mininet") ? undefined : mininetMissing();
    if (missing) console.error(missing);
    process.env.OVERLAY_TEST_TARBALL = packPackage();
    const project = makeProject({ copyFrom: path.join(REPO_ROOT, "bench/program") });
    type Measure = { tool: string; measure: (n: number) => Promise<Row> };
    const allTools: Measure[] = [
        { tool: "shell", measure: (n) => measureScripts("shell", n) },
        { tool: "batch", measure: (n) => measureScripts("batch", n) },
        ...(missing ? [] : [{ tool: "mininet", measure: measureMininet }]),
        { tool: "noop", measure: (n) => measureStack("noop", "noop-network", n, project) },
        { tool: "ours", measure: (n) => measureStack("ours", "network", n, project) },
        ...also.map((shape) => ({
            tool: shape,
            measure: (n: number) =>
                shape === "no-helper"
                    ? measureStack(shape, "network", n, project, { env: { PULUMI_OVERLAY_SPAWN_HELPER: "0" } })
                    : shape === "host" || shape === "noop-host"
                      ? measureStack(shape, shape === "host" ? "network" : "noop-network", n, project, { onHost: true })
                      : shape === "floors"
                        ? measureStack(shape, "noop-sized", n, project, { kernelAlongside: true })
                        : shape === "skip-checkpoints" || shape === "noop-skip-checkpoints"
                          ? measureStack(shape, shape === "skip-checkpoints" ? "network" : "noop-network", n, project, { skipCheckpoints: true })
                          : measureStack(shape, shape, n, project),
        })),
    ];
    const tools = only.length > 0 ? allTools.filter((t) => only.includes(t.tool)) : allTools;
    const rows: Row[] = [];
    try {
        for (const n of sizes.length ? sizes : [10, 100, 1000]) {
            const runs = new Map<string, Row[]>(tools.map((t) => [t.tool, []]));
            for (let i = 0; i < repeat; i++) {
                // Rotated each repetition: no tool always runs first (a cold cache) or last.
                const order = tools.map((_, k) => tools[(k + i) % tools.length]);
                for (const t of order) {
                    runs.get(t.tool)!.push(await t.measure(n));
                    console.error(`N=${n} ${t.tool} run ${i + 1}/${repeat} done`);
                }
            }
            for (const t of tools) rows.push(median(runs.get(t.tool)!));
        }
    } finally {
        removeProject(project);
        rmSync(process.env.OVERLAY_TEST_TARBALL, { force: true });
        await removeNamespaces(process.env.OVERLAY_TEST_RUN_ID!);
    }
    const machine = `${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.versions.node}`;
    const when = new Date().toISOString();
    console.log(`machine: ${machine}; ${when}${repeat > 1 ? `; medians of ${repeat} runs` : ""}\n`);
    printTables(rows);
    if (json) writeFileSync(json, `${JSON.stringify({ machine, when, repeat, rows }, null, 2)}\n`);
    if (svg) {
        const series: Series[] = tools.map((t) => ({
            name: t.tool,
            points: rows.filter((r) => r.tool === t.tool).map((r) => [r.n, r.up + r.down] as [number, number]),
        }));
        const title = "up + destroy of N containers on a bridge with egress (Pulumi stacks: up with its preview)";
        writeFileSync(svg, plotSvg(series, title, `${machine}; ${when.slice(0, 10)}${repeat > 1 ? `; medians of ${repeat} runs` : ""}`));
        console.error(`plot written to ${svg}`);
    }
    if (netnsList().some((name) => name.startsWith(process.env.OVERLAY_TEST_RUN_ID!))) throw new Error("the benchmark left namespaces behind");
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
