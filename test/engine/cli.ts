/**
 * The test engine's command line:
 *
 *   npm run engine -- <preview|up|refresh|destroy> <program-dir> --stack NAME --state FILE [--config key=value ...] [--skip-preview]
 *
 * Prints each step as Pulumi does and, as its last line, a JSON summary; exits non-zero when a
 * step fails, with the provider's error text.
 */
import { type Operation, run } from "./engine";

const USAGE = "usage: npm run engine -- <preview|up|refresh|destroy> <program-dir> --stack NAME --state FILE [--config key=value ...] [--skip-preview]";

export function parseArgs(argv: string[]): {
    operation: Operation;
    programDir: string;
    stack: string;
    stateFile: string;
    config: Record<string, string>;
    skipPreview: boolean;
} {
    const positional: string[] = [];
    let skipPreview = false;
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
        else if (arg === "--state") stateFile = value();
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
    return { operation: operation as Operation, programDir, stack, stateFile, config, skipPreview };
}

async function main(): Promise<void> {
    let args: ReturnType<typeof parseArgs>;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(2);
    }
    const result = await run(args);
    process.exit(result.ok ? 0 : 1);
}

if (require.main === module) {
    main().catch((err) => {
        process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
        process.exit(1);
    });
}
