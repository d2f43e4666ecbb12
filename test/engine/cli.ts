/**
 * The test engine's command line:
 *
 *   npm run engine -- <preview|up|refresh|destroy> <program-dir> --stack NAME --state FILE [--config key=value ...] [--skip-preview]
 *
 * Prints each step as Pulumi does and, as its last line, a JSON summary; exits non-zero when a
 * step fails, with the provider's error text.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, realpathSync, statSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { type Operation, run } from "./engine";

const REPO_ROOT = path.resolve(__dirname, "../..");

const USAGE =
    "usage: npm run engine -- <preview|up|refresh|destroy> <program-dir> --stack NAME --state FILE [--config key=value ...] [--skip-preview] [--clear-pending-creates] [--parallel N] [--continue-on-error] [--fast-checkpoints]";

export function parseArgs(argv: string[]): {
    operation: Operation;
    programDir: string;
    stack: string;
    stateFile: string;
    config: Record<string, string>;
    skipPreview: boolean;
    clearPendingCreates: boolean;
    parallel?: number;
    continueOnError?: boolean;
    fastCheckpoints?: boolean;
} {
    const positional: string[] = [];
    let skipPreview = false;
    let clearPendingCreates = false;
    const flags: { parallel?: number; continueOnError?: boolean; fastCheckpoints?: boolean } = {};
    const config: Record<string, string> = {};
    let stack: string | undefined;
    let stateFile: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
            return v;
        };
        if (arg === "--stack") stack = value();
        else if (arg === "--skip-preview") skipPreview = true;
        else if (arg === "--clear-pending-creates") clearPendingCreates = true;
        else if (arg === "--continue-on-error") flags.continueOnError = true;
        else if (arg === "--fast-checkpoints") flags.fastCheckpoints = true;
        else if (arg === "--parallel" || arg === "-p") {
            const count = Number(value());
            if (!Number.isInteger(count) || count < 1) throw new Error(`--parallel takes a whole number of at least 1\n${USAGE}`);
            flags.parallel = count;
        } else if (arg === "--state") stateFile = value();
        else if (arg === "--config" || arg === "-c") {
            const pair = value();
            const eq = pair.indexOf("=");
            if (eq <= 0) throw new Error(`--config takes key=value, got '${pair}'`);
            config[pair.slice(0, eq)] = pair.slice(eq + 1);
        } else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}\n${USAGE}`);
        else positional.push(arg);
    }
    const [operation, programDir] = positional;
    if (!["preview", "up", "refresh", "destroy"].includes(operation) || !programDir || !stack || !stateFile || positional.length > 2) {
        throw new Error(USAGE);
    }
    return { operation: operation as Operation, programDir, stack, stateFile, config, skipPreview, clearPendingCreates, ...flags };
}

/** The newest modification time of the TypeScript sources under a folder. */
function newestSource(dir: string): number {
    let newest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
        else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(file).mtimeMs);
    }
    return newest;
}

/**
 * For a program inside this checkout (an example) that cannot resolve `pulumi-overlay`: builds the
 * checkout when its sources are newer than dist/, and links the checkout into the program's
 * node_modules (which git ignores), so that `npm run engine` works on an example without hand
 * steps and without rewriting a tracked file. The dynamic-provider server, whose cwd is the
 * program's folder, then loads the providers from the same link.
 */
export function useCheckout(programDir: string, print: (line: string) => void = console.log): void {
    const dir = path.resolve(programDir);
    if (!dir.startsWith(`${REPO_ROOT}${path.sep}`)) return;
    let resolved: string | undefined;
    try {
        resolved = realpathSync(require.resolve("pulumi-overlay", { paths: [dir] }));
    } catch {
        // not resolvable: the checkout is linked below
    }
    if (resolved !== undefined && !resolved.startsWith(`${REPO_ROOT}${path.sep}dist${path.sep}`)) return; // a copy installed by hand
    const built = path.join(REPO_ROOT, "dist", "sdk", "index.js");
    if (!existsSync(built) || Math.max(newestSource(path.join(REPO_ROOT, "sdk")), newestSource(path.join(REPO_ROOT, "providers"))) > statSync(built).mtimeMs) {
        print("building this checkout's pulumi-overlay (npm run build)");
        execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT, stdio: "inherit" });
    }
    if (resolved !== undefined) return;
    mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    symlinkSync(REPO_ROOT, path.join(dir, "node_modules", "pulumi-overlay"), "dir");
    print(`using this checkout's pulumi-overlay: linked into ${path.relative(REPO_ROOT, dir)}/node_modules (ignored by git)`);
}

/** Pulumi's reading of a boolean variable: `1` or `true`, in any case. */
function envTrue(value: string | undefined): boolean {
    return value === "1" || value?.toLowerCase() === "true";
}

/**
 * Whether the state is written only at the end, as the CLI decides it: `PULUMI_SKIP_CHECKPOINTS`,
 * which counts only with `PULUMI_EXPERIMENTAL` (sdk/go/common/env: `SkipCheckpoints`,
 * `env.Needs(Experimental)`).
 */
export function skipCheckpointsFromEnv(env: NodeJS.ProcessEnv): boolean {
    return envTrue(env.PULUMI_EXPERIMENTAL) && envTrue(env.PULUMI_SKIP_CHECKPOINTS);
}

async function main(): Promise<void> {
    let args: ReturnType<typeof parseArgs>;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(2);
    }
    useCheckout(args.programDir);
    const result = await run({ ...args, skipCheckpoints: skipCheckpointsFromEnv(process.env) });
    process.exit(result.ok ? 0 : 1);
}

if (require.main === module) {
    main().catch((err) => {
        process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
        process.exit(1);
    });
}
