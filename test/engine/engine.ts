/**
 * A small stand-in for the Pulumi engine, for tests: it runs a real Pulumi program through
 * @pulumi/pulumi's own language runtime (`@pulumi/pulumi/cmd/run`), answers its ResourceMonitor
 * and Engine calls, drives @pulumi/pulumi's real dynamic-provider server for every step, and
 * keeps the state in a JSON file. It is test infrastructure, not a replacement for Pulumi: it
 * follows the engine's documented rules where this project depends on them (see README.md here).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Monitor, type Registration, type SourcePosition } from "./monitor";
import { ProviderHost, providerErrorText } from "./providerHost";
import { InFlight, Slots, defaultParallel } from "./schedule";
import { type Decision, changedKeys, decide, inputsFrom, keepsObject, pendingWarning, withIgnoredChanges } from "./decide";
import { type Props, UNKNOWN } from "./rpc";
import { type ResourceState, type StackState, StateStore, loadState } from "./state";

export { loadState, type ResourceState, type StackState } from "./state";
export { changedKeys } from "./decide";

/** The operations, as `pulumi <operation>`. */
export type Operation = "preview" | "up" | "refresh" | "destroy";

/** Counts of steps, as the summary line prints them. */
export interface Summary {
    create: number;
    update: number;
    replace: number;
    delete: number;
    same: number;
}

/** One step taken (or planned, in preview). */
export interface Step {
    op: "create" | "update" | "replace" | "delete" | "same" | "refresh";
    urn: string;
    type: string;
    name: string;
    /** Properties that changed (update, replace, refresh drift). */
    keys?: string[];
}

/** What an operation reports. */
export interface Result {
    ok: boolean;
    summary: Summary;
    steps: Step[];
    /** The stack outputs after the operation. */
    outputs: Props;
    /** Error texts, the provider's own words first. */
    errors: string[];
    /** Warnings the provider wrote to its stderr (`warning: ...` lines), as Pulumi shows them. */
    warnings: string[];
    /** The dynamic-provider server's peak memory (VmHWM), in KiB, where /proc tells it. */
    providerPeakRssKb?: number;
    /** The program's peak memory (its process's maxRSS at exit), in KiB; not for destroy and refresh, which run no program. */
    programPeakRssKb?: number;
}

/** Options of one run. */
export interface EngineOptions {
    operation: Operation;
    programDir: string;
    stack: string;
    stateFile: string;
    /** Config values, as `--config key=value` (the project name is prefixed). */
    config?: Record<string, string>;
    /** Where progress lines go (default: stdout). */
    print?: (line: string) => void;
    /** For `up` and `refresh`: no preview first (`--skip-preview`). */
    skipPreview?: boolean;
    /** For `refresh`: forget the creates a crash cut off (`pulumi refresh --clear-pending-creates`). */
    clearPendingCreates?: boolean;
    /** At most this many steps at once (`--parallel`; default 4 x CPUs, as Pulumi's). */
    parallel?: number;
    /** Go on starting steps after one failed (`--continue-on-error`); the operation still fails. */
    continueOnError?: boolean;
    /**
     * Write the state as a journal of steps, rewritten whole only at the end, instead of rewriting
     * the whole checkpoint at the start and end of every step as Pulumi's file backend does.
     * Faster for large stacks; never for numbers that are published.
     */
    fastCheckpoints?: boolean;
    /**
     * Write the state only once, at the end, as the CLI does with `PULUMI_EXPERIMENTAL=true
     * PULUMI_SKIP_CHECKPOINTS=true` (its experimental flag, `pkg/backend/snapshot.go`:
     * `unsafeServiceLoop`): no checkpoint per step, and a crash leaves the state the operation
     * started from. Published timings may use it only in a row that says so.
     */
    skipCheckpoints?: boolean;
    /** Run the operation without changing the state (the preview pass of `refresh`). */
    dryRun?: boolean;
}

/** A registration that is not started because an earlier step failed (not an error of its own). */
class NotStarted extends Error {}

const STACK_TYPE = "pulumi:pulumi:Stack";
const SYMBOL: Record<Step["op"], string> = { create: "+", update: "~", replace: "+-", delete: "-", same: " ", refresh: "~" };

/** Whether Pulumi.yaml leaves TypeScript on (the nodejs runtime's `typescript` option, default true). */
export function usesTypeScript(programDir: string): boolean {
    const yaml = readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8");
    return !/^\s+typescript:\s*false\b/m.test(yaml);
}

/** The project name from Pulumi.yaml. */
export function projectName(programDir: string): string {
    const yaml = readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8");
    const match = /^name:\s*["']?([^"'\s#]+)/m.exec(yaml);
    if (!match) throw new Error(`no name: in ${path.join(programDir, "Pulumi.yaml")}`);
    return match[1];
}

/** The URN the engine gives a resource: its parent's type chain, its type and its name. */
export function urnOf(project: string, stack: string, type: string, name: string, parentUrn: string): string {
    let qualified = type;
    if (parentUrn) {
        const parentType = parentUrn.split("::")[2];
        if (parentType !== STACK_TYPE) qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * A source position as the CLI stores it: `project:///<file relative to the project's folder>#<line>,<column>`
 * (source_eval.go: parseSourcePosition); "" for a frame it cannot place.
 */
export function projectPosition(root: string, pos: SourcePosition | undefined): string {
    if (!pos?.uri.startsWith("file://")) return "";
    let absolute: string;
    try {
        absolute = fileURLToPath(pos.uri);
    } catch {
        return ""; // a file URL with a host: not this machine's path
    }
    const file = path.relative(root, absolute).split(path.sep).join("/");
    return `project:///${file}#${pos.line}${pos.column ? `,${pos.column}` : ""}`;
}

/** Now, as the CLI writes a time in its state (Go's RFC 3339 with nanoseconds). */
function timestamp(): string {
    const nanos = String(process.hrtime.bigint() % 1_000_000n).padStart(6, "0");
    return new Date().toISOString().replace("Z", `${nanos}Z`);
}

/**
 * What the CLI's state holds for a registration besides its properties (apitype.ResourceV3): the
 * default provider's reference for a custom resource, its source position and its stack. Kept so
 * that each checkpoint is as large as the CLI's, the CLI rewriting it whole after every step.
 */
function registrationRecord(programDir: string, project: string, stack: string, reg: Registration): Partial<ResourceState> {
    const sourcePosition = projectPosition(programDir, reg.sourcePosition);
    return {
        provider: reg.custom ? defaultProviderReference(project, stack) : undefined,
        sourcePosition: sourcePosition || undefined,
        stackTrace:
            reg.stackTrace.length > 0
                ? reg.stackTrace.map((pos) => {
                      const at = projectPosition(programDir, pos);
                      return at ? { sourcePosition: at } : {};
                  })
                : undefined,
    };
}

/** The default `pulumi-nodejs` provider's reference (its URN and id, a UUID the CLI draws once per stack). */
function defaultProviderReference(project: string, stack: string): string {
    const hex = createHash("sha256").update(`${project}\0${stack}`).digest("hex");
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    return `urn:pulumi:${stack}::${project}::pulumi:providers:pulumi-nodejs::default::${uuid}`;
}

/**
 * Deletes resources in reverse dependency order: a resource goes only when nothing left depends
 * on it; resources with no dependents left go in parallel.
 */
async function deleteInOrder(resources: ResourceState[], remove: (r: ResourceState) => Promise<void>): Promise<void> {
    let left = [...resources];
    while (left.length > 0) {
        const needed = new Set(left.flatMap((r) => r.dependencies));
        const wave = left.filter((r) => !needed.has(r.urn));
        if (wave.length === 0) throw new Error(`dependency cycle among ${left.map((r) => r.urn).join(", ")}`);
        await Promise.all(wave.map(remove));
        left = left.filter((r) => !wave.includes(r));
    }
}

/**
 * Runs one operation. Never throws for a failed step: `ok` is false and `errors` say why. Like
 * the CLI, `up` previews first and stops there if the preview fails (a check refused an input),
 * so that bad input creates nothing; `skipPreview` goes straight to the update.
 */
export async function run(options: EngineOptions): Promise<Result> {
    // `pulumi refresh` previews first too: a pass of Reads that changes nothing (refresh.go).
    if (options.operation === "refresh" && !options.skipPreview) {
        const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
        print("Previewing refresh:");
        const preview = await runOnce({ ...options, dryRun: true, print: () => {} });
        if (!preview.ok) return preview;
        print("Refreshing:");
    }
    if (options.operation === "up" && !options.skipPreview) {
        const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
        print("Previewing update:");
        const preview = await runOnce({ ...options, operation: "preview" });
        if (!preview.ok) return preview;
        print("Updating:");
    }
    return runOnce(options);
}

async function runOnce(options: EngineOptions): Promise<Result> {
    const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
    const programDir = path.resolve(options.programDir);
    const project = projectName(programDir);
    const old = loadState(options.stateFile, project, options.stack);
    const preview = options.operation === "preview" || options.dryRun === true;
    const steps: Step[] = [];
    const errors: string[] = [];
    const summary: Summary = { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
    const record = (step: Step) => {
        steps.push(step);
        if (step.op !== "refresh") summary[step.op] += 1;
        if (step.op !== "same") print(`${SYMBOL[step.op]} ${step.op} ${step.type} ${step.name}${step.keys?.length ? ` [${step.keys.join(", ")}]` : ""}`);
    };
    const fail = (text: string) => {
        errors.push(text);
        print(`error: ${text}`);
    };

    // The new state is built as steps finish: the whole checkpoint written at the start and end of
    // every step, as Pulumi's file backend does (or, with fastCheckpoints, each step journaled),
    // so a crash loses at most the steps in flight; with skipCheckpoints, only at the end, so a
    // crash loses the operation's every step, as under the CLI's PULUMI_SKIP_CHECKPOINTS.
    const state = new StateStore(options.stateFile, old, !preview, options.skipCheckpoints ? "final" : options.fastCheckpoints ? "journal" : "checkpoint");
    let stepFailed = false;
    const schedule: Schedule = {
        checks: new Slots(1),
        steps: new Slots(options.parallel ?? defaultParallel()),
        inFlight: new InFlight(),
        stopped: () => (stepFailed || errors.length > 0) && !options.continueOnError,
        failed: (err) => {
            stepFailed = true;
            throw err;
        },
    };

    const warnings: string[] = [];
    // Pulumi shows what a dynamic provider writes to stderr as diagnostics of the operation.
    const onDiagnostic = (line: string) => {
        if (!line.startsWith("warning: ")) return;
        warnings.push(line.slice("warning: ".length));
        print(line);
    };
    const hostReady = ProviderHost.start(programDir, undefined, onDiagnostic).then(async (h) => {
        await h.configure({});
        return h;
    });
    hostReady.catch(() => {}); // awaited where it is needed; this keeps an early failure from going unhandled
    let host: ProviderHost | undefined;
    let providerPeakRssKb: number | undefined;
    let programPeakRssKb: number | undefined;
    try {
        // The program starts while the provider server does (its first step waits for it); other
        // operations need the server first.
        if (options.operation !== "up" && options.operation !== "preview") host = await hostReady;
        // Creates a crash cut off stay pending, as the CLI keeps them (snapshot.go): never read (they
        // have no id), warned about on every operation, created again when the program declares
        // them, and forgotten only by `refresh --clear-pending-creates` (refresh.go).
        if (options.operation === "refresh" && options.clearPendingCreates) await state.clearPending();
        const pending = state.pendingCreates;
        if (pending.length > 0) onDiagnostic(pendingWarning(pending.map((r) => r.urn)));
        const deleting = new Set<string>();
        const deleteResource = async (r: ResourceState) => {
            if (r.protect) throw new Error(`${r.urn}: the resource is protected; to delete it, set protect to false and run up first`);
            const provider = await hostReady;
            // A pending replacement's object was deleted already.
            const skip = keepsObject(r, deleting) || r.pendingReplacement === true;
            if (r.custom && !preview && !skip) await deleteStep(schedule, state, provider, r, () => state.drop(r.urn));
            else await state.drop(r.urn);
            if (r.type !== STACK_TYPE) record({ op: "delete", urn: r.urn, type: r.type, name: r.name });
        };
        const deleteAll = (resources: ResourceState[], remove = deleteResource) => {
            for (const r of resources) deleting.add(r.urn);
            return deleteInOrder(resources, remove);
        };

        if (options.operation === "destroy") {
            // Old halves of replacements an earlier operation left go first; then the rest.
            for (const half of old.condemned ?? []) {
                const provider = await hostReady;
                await provider.delete(half.urn, half.id ?? "", half.outputs).catch((err) => fail(providerErrorText(err)));
                await state.forgetCondemned(half);
            }
            await deleteAll(old.resources).catch((err) => fail(providerErrorText(err)));
            if (errors.length === 0) await state.setOutputs({});
        } else if (options.operation === "refresh") {
            await refreshAll({ old, state, schedule, host: await hostReady, record, fail, summary });
        } else {
            programPeakRssKb = await updateAll({ options, project, preview, old, state, schedule, hostReady, record, fail, errors, deleteAll, deleteResource });
        }
    } finally {
        // The provider server is never stopped while a step is in flight.
        await schedule.inFlight.settled();
        await state.flush();
        host ??= await hostReady.catch(() => undefined);
        providerPeakRssKb = peakRssKb(host?.pid);
        await host?.stop();
    }
    const outputs = state.outputs;
    if (Object.keys(outputs).length > 0 && options.operation !== "destroy") {
        print("Outputs:");
        for (const [k, v] of Object.entries(outputs)) print(`    ${k}: ${JSON.stringify(v)}`);
    }
    print(JSON.stringify(summary));
    return { ok: errors.length === 0, summary, steps, outputs, errors, warnings, providerPeakRssKb, programPeakRssKb };
}

/** A module as the program's folder resolves it (the CLI's way), else as the engine does. */
export function resolveFromProgram(request: string, programDir: string): string {
    try {
        return require.resolve(request, { paths: [path.resolve(programDir)] });
    } catch {
        return require.resolve(request);
    }
}

/** What a refresh or an update needs of the operation that runs it. */
interface OperationParts {
    old: StackState;
    state: StateStore;
    schedule: Schedule;
    record(step: Step): void;
    fail(text: string): void;
}

/**
 * Refresh: Read every resource of the state (never a pending create: it has no id); gone ones
 * leave the state; the outputs are replaced, and the inputs when Read returns them; a change is
 * reported only where the provider's Diff finds one (step.go: RefreshStep.Apply).
 */
async function refreshAll({
    old,
    state,
    schedule,
    record,
    fail,
    summary,
    host: provider,
}: OperationParts & { host: ProviderHost; summary: Summary }): Promise<void> {
    await Promise.all(
        old.resources
            // A pending replacement has no object to read (step.go: RefreshStep.Apply).
            .filter((r) => r.custom && !r.pendingReplacement)
            .map(async (r) => {
                try {
                    // Written as the step ends, within its slot (snapshot.go: refreshSnapshotMutation).
                    const read = await schedule.steps.run(async () => {
                        const found = await provider.read(r.urn, r.id ?? "", r.outputs, r.inputs);
                        if (!found.id) await state.drop(r.urn);
                        else await state.put({ ...r, id: found.id, outputs: found.outputs, inputs: found.inputs ?? r.inputs });
                        return found;
                    });
                    if (!read.id) {
                        record({ op: "delete", urn: r.urn, type: r.type, name: r.name });
                        return;
                    }
                    const inputs = read.inputs ?? r.inputs;
                    // A change is what the provider's Diff finds between what was read (as the
                    // old state) and the old inputs (as the program): the diff an `up` with no
                    // change to the program would see (step.go: RefreshStep.Apply). Outputs that
                    // change alone are recorded silently.
                    const diff = await schedule.checks.run(() => provider.diff(r.urn, read.id, read.outputs, r.inputs, inputs));
                    const drifted = diff.changes !== "none";
                    const keys = drifted ? changedKeys(r.outputs, read.outputs) : [];
                    record(drifted ? { op: "refresh", urn: r.urn, type: r.type, name: r.name, keys } : { op: "same", urn: r.urn, type: r.type, name: r.name });
                    if (drifted) summary.update += 1;
                } catch (err) {
                    fail(`${r.urn}: ${providerErrorText(err)}`);
                }
            }),
    );
}

/**
 * Preview or up: runs the program, a step per registration (runProgram), then deletes what the
 * program no longer declares and the old halves of create-before-delete replacements, in reverse
 * dependency order (step_generator.go: GenerateDeletes).
 */
async function updateAll(
    parts: OperationParts & {
        options: EngineOptions;
        project: string;
        preview: boolean;
        hostReady: Promise<ProviderHost>;
        errors: string[];
        deleteAll(resources: ResourceState[], remove?: (r: ResourceState) => Promise<void>): Promise<void>;
        deleteResource(r: ResourceState): Promise<void>;
    },
): Promise<number | undefined> {
    const { options, project, preview, old, state, schedule, hostReady, record, fail, errors, deleteAll, deleteResource } = parts;
    const { registered, replaced, programPeakRssKb } = await runProgram({ options, project, preview, host: hostReady, old, state, record, fail, schedule });
    if (errors.length === 0) {
        // Resources the program no longer declares, and the old halves of replacements.
        // Old halves an earlier operation left (it stopped before deleting them) go too.
        const dropped = old.resources.filter((r) => !registered.has(r.urn));
        const oldHalves = [...(old.condemned ?? []), ...replaced];
        await deleteAll([...dropped, ...oldHalves], async (r) => {
            if (oldHalves.includes(r)) {
                if (!preview && !r.retainOnDelete) await deleteStep(schedule, state, await hostReady, r, () => state.forgetCondemned(r));
                else if (!preview) await state.forgetCondemned(r);
                return;
            }
            await deleteResource(r);
        }).catch((err) => fail(providerErrorText(err)));
    }
    return programPeakRssKb;
}

/**
 * A delete step as the CLI runs it (snapshot.go: doDelete): within one `--parallel` slot, the
 * checkpoint written as it begins, the provider's Delete, then `recorded` (the write as it ends).
 */
function deleteStep(schedule: Schedule, state: StateStore, provider: ProviderHost, r: ResourceState, recorded: () => Promise<void>): Promise<void> {
    return schedule.steps.run(() =>
        schedule.inFlight.track(
            (async () => {
                await state.touch();
                await provider.delete(r.urn, r.id ?? "", r.outputs);
                await recorded();
            })(),
        ),
    );
}

/** A process's peak resident memory from /proc, in KiB. */
function peakRssKb(pid: number | undefined): number | undefined {
    try {
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
        return match ? Number(match[1]) : undefined;
    } catch {
        return undefined;
    }
}

interface ProgramRun {
    options: EngineOptions;
    project: string;
    preview: boolean;
    host: Promise<ProviderHost>;
    old: StackState;
    state: StateStore;
    record(step: Step): void;
    fail(text: string): void;
    schedule: Schedule;
}

/** The engine's queues (schedule.ts) and whether a failure has stopped new steps. */
interface Schedule {
    /** Check and Diff, one at a time. */
    checks: Slots;
    /** Applied steps (create, update, delete, read), at most `--parallel` at once. */
    steps: Slots;
    inFlight: InFlight;
    stopped(): boolean;
    /** Notes a failed step (new steps stop) and rethrows its error. */
    failed(err: unknown): never;
}

/**
 * Runs the program and takes a step for each registration as it arrives. Returns the URNs the
 * program declared and the old halves of create-before-delete replacements, to delete after.
 */
async function runProgram(ctx: ProgramRun): Promise<{ registered: Set<string>; replaced: ResourceState[]; programPeakRssKb?: number }> {
    const { options, project, preview, old, state, record, fail } = ctx;
    let programPeakRssKb: number | undefined;
    const stack = options.stack;
    const programDir = path.resolve(options.programDir);
    const byUrn = new Map(old.resources.map((r) => [r.urn, r]));
    const registered = new Set<string>();
    const replaced: ResourceState[] = [];
    /** Dependents deleted along with a delete-before-replace: when they register, they are made again. */
    const replacedDependents = new Set<string>();

    /**
     * Before a resource is deleted to be replaced, each resource whose inputs came from it through
     * a property dependency is asked (Diff, those inputs unknown) whether it must be replaced too;
     * if so it is deleted first, its own dependents before it, and made again when the program
     * registers it (step_generator.go: calculateDependentReplacements).
     */
    const replaceDependents = async (condemned: ResourceState, host: ProviderHost): Promise<void> => {
        const dependents = [...byUrn.values()].filter(
            (d) => d.custom && !registered.has(d.urn) && Object.values(d.propertyDependencies ?? {}).some((urns) => urns.includes(condemned.urn)),
        );
        for (const dependent of dependents) {
            const unknown = inputsFrom(dependent, condemned.urn);
            const news = { ...dependent.inputs, ...Object.fromEntries(unknown.map((key) => [key, UNKNOWN])) };
            const diff = await ctx.schedule.checks.run(() => host.diff(dependent.urn, dependent.id ?? "", dependent.outputs, news, dependent.inputs));
            if (diff.replaces.length === 0) continue;
            await replaceDependents(dependent, host);
            if (!preview && !dependent.retainOnDelete) await deleteStep(ctx.schedule, state, host, dependent, () => state.drop(dependent.urn));
            else if (!preview) await state.drop(dependent.urn);
            byUrn.delete(dependent.urn);
            replacedDependents.add(dependent.urn);
        }
    };

    const step = async (reg: Registration): Promise<{ urn: string; id: string; outputs: Props }> => {
        const urn = urnOf(project, stack, reg.type, reg.name, reg.parent);
        // As generateURN: a second registration of one URN fails the deployment.
        if (registered.has(urn)) throw new Error(`Duplicate resource URN '${urn}'; try giving it a unique name`);
        registered.add(urn);
        // No new step after the first failure (step_executor.go: cancelDueToError), unless --continue-on-error.
        if (ctx.schedule.stopped()) throw new NotStarted(`${urn}: not started: an earlier step failed`);
        // A resource known by an alias before: the old state is found under the alias, and moves.
        const alias = reg.aliases.find((a) => !byUrn.has(urn) && byUrn.has(a) && !registered.has(a));
        if (alias) registered.add(alias);
        const base = {
            urn,
            type: reg.type,
            name: reg.name,
            custom: reg.custom,
            parent: reg.parent || undefined,
            dependencies: [...new Set([...reg.dependencies, ...(reg.parent ? [reg.parent] : [])])],
            propertyDependencies: Object.keys(reg.propertyDependencies).length > 0 ? reg.propertyDependencies : undefined,
            // Always set, so that a resource's options are the program's, not a previous run's.
            protect: reg.protect || undefined,
            retainOnDelete: reg.retainOnDelete || undefined,
            deletedWith: reg.deletedWith || undefined,
            ...registrationRecord(programDir, project, stack, reg),
        };
        const prior = byUrn.get(urn) ?? (alias ? byUrn.get(alias) : undefined);
        // Made now (created and modified), or changed now (modified), as the CLI stamps them.
        const madeNow = () => {
            const now = timestamp();
            return { created: now, modified: now };
        };
        const changedNow = () => ({ created: prior?.created, modified: timestamp() });
        if (alias) await state.drop(alias);
        // A step that waited for a slot does not start if a step failed meanwhile.
        const apply = <T>(work: () => Promise<T>) =>
            ctx.schedule.steps.run(() => {
                if (ctx.schedule.stopped()) throw new NotStarted(`${urn}: not started: an earlier step failed`);
                // The failure is known before the slot goes to the next step.
                return ctx.schedule.inFlight.track(work().catch((err) => ctx.schedule.failed(err)));
            });
        const serially = <T>(work: () => Promise<T>) => ctx.schedule.checks.run(work);
        const host = await ctx.host;
        if (!reg.custom) {
            const outputs = prior && !prior.custom ? prior.outputs : {};
            await state.put({ ...base, ...(prior ? { created: prior.created, modified: prior.modified } : madeNow()), inputs: {}, outputs });
            if (reg.type !== STACK_TYPE) record({ op: prior ? "same" : "create", urn, type: reg.type, name: reg.name });
            return { urn, id: "", outputs };
        }
        const news = withIgnoredChanges(reg.inputs, prior?.inputs, reg.ignoreChanges);
        const checked = await serially(() => host.check(urn, prior?.inputs ?? {}, news));
        if (checked.failures.length > 0) {
            throw new Error(`${urn}: check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
        }
        const inputs = checked.inputs;
        if (!prior) {
            record({ op: replacedDependents.has(urn) ? "replace" : "create", urn, type: reg.type, name: reg.name });
            if (preview) return { urn, id: "", outputs: inputs };
            // The checkpoint is written as the step begins (the create pending) and as it ends,
            // within its slot (snapshot.go: doCreate).
            const made = await apply(async () => {
                await state.pending({ ...base, inputs, outputs: {} });
                const result = await host.create(urn, inputs);
                await state.put({ ...base, ...madeNow(), id: result.id, inputs, outputs: result.outputs });
                return result;
            });
            return { urn, id: made.id, outputs: made.outputs };
        }
        // A resource deleted to be replaced whose replacement was never made: replaced again.
        const decision: Decision = prior.pendingReplacement
            ? { op: "replace", replaces: ["(pending replacement)"], deleteFirst: true }
            : decide(prior.inputs, inputs, await serially(() => host.diff(urn, prior.id ?? "", prior.outputs, inputs, prior.inputs)), reg);
        if (decision.op === "same") {
            // Written only when something but the step changed (snapshot.go: sameSnapshotMutation.mustWrite).
            await state.put({ ...prior, ...base, id: prior.id, inputs, outputs: prior.outputs }, { elideIfSame: true });
            record({ op: "same", urn, type: reg.type, name: reg.name });
            return { urn, id: prior.id ?? "", outputs: prior.outputs };
        }
        if (decision.op === "update") {
            record({ op: "update", urn, type: reg.type, name: reg.name, keys: decision.keys });
            // Dynamic providers do not support preview: an update in preview answers with the new
            // inputs only, so outputs that are not inputs are unknown to the program
            // (provider_plugin.go: Update; sdk/nodejs runtime/resource.ts: resolveOutputs).
            if (preview) return { urn, id: prior.id ?? "", outputs: inputs };
            const outputs = await apply(async () => {
                await state.touch();
                const result = await host.update(urn, prior.id ?? "", prior.outputs, inputs, prior.inputs);
                await state.put({ ...base, ...changedNow(), id: prior.id, inputs, outputs: result });
                return result;
            });
            return { urn, id: prior.id ?? "", outputs };
        }
        record({ op: "replace", urn, type: reg.type, name: reg.name, keys: decision.replaces });
        // Once a replacement is decided, Check runs again with no old inputs, to compute the
        // replacement's defaults afresh, in preview too (step_generator.go: continueStepsFromDiff).
        if (prior.protect)
            throw new Error(
                `${urn}: the resource is protected, and a change of ${decision.replaces.join(", ")} replaces it; set protect to false and run up first`,
            );
        const rechecked = await serially(() => host.check(urn, {}, news));
        if (rechecked.failures.length > 0) {
            throw new Error(`${urn}: check failed: ${rechecked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
        }
        const replacement = rechecked.inputs;
        const { deleteFirst } = decision;
        if (deleteFirst) await replaceDependents(prior, host); // in preview too: the plan shows them
        if (preview) return { urn, id: "", outputs: replacement };
        if (deleteFirst) {
            // Kept as pending replacement until its replacement is made: if that create fails,
            // the next up replaces it again (step.go: DeleteStep.Apply).
            if (!prior.retainOnDelete && !prior.pendingReplacement) {
                await apply(async () => {
                    await state.touch();
                    await host.delete(urn, prior.id ?? "", prior.outputs);
                    await state.put({ ...prior, pendingReplacement: true });
                });
            } else await state.put({ ...prior, pendingReplacement: true });
        } else {
            // Create-before-delete: the old one is deleted after the program ends, kept in the
            // state meanwhile (Delete: true) so that a crash in between leaves it to be deleted.
            await state.condemn(prior);
            replaced.push(prior);
        }
        const made = await apply(async () => {
            await state.pending({ ...base, inputs: replacement, outputs: {} });
            const result = await host.create(urn, replacement);
            await state.put({ ...base, ...madeNow(), id: result.id, inputs: replacement, outputs: result.outputs });
            return result;
        });
        return { urn, id: made.id, outputs: made.outputs };
    };

    const monitor = new Monitor({
        register: async (reg) => {
            try {
                // Tracked from the registration on: a step the engine has received finishes, even
                // when the program exits first (it does, on another step's failure).
                return await ctx.schedule.inFlight.track(step(reg));
            } catch (err) {
                if (err instanceof NotStarted) throw err;
                const text = providerErrorText(err);
                fail(text.startsWith("urn:") ? text : `${urnOf(project, stack, reg.type, reg.name, reg.parent)}: ${text}`);
                throw new Error(text);
            }
        },
        registerOutputs: (urn, outputs) => {
            return urn.split("::")[2] === STACK_TYPE ? state.setOutputs(outputs) : Promise.resolve();
        },
        log: (severity, message) => {
            if (severity !== "debug") (options.print ?? ((l: string) => process.stdout.write(`${l}\n`)))(`${severity}: ${message.trimEnd()}`);
        },
    });
    const address = await monitor.start();
    try {
        const config = Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, v]));
        const args = [
            // As the CLI's language host: the program's own @pulumi/pulumi, else the engine's.
            // Reports the program's peak memory on fd 3 as it exits (benchmarks read it).
            "--require",
            path.join(__dirname, "peakRss.js"),
            resolveFromProgram("@pulumi/pulumi/cmd/run", options.programDir),
            `--monitor=${address}`,
            `--engine=${address}`,
            `--project=${project}`,
            `--stack=${stack}`,
            ...(preview ? ["--dry-run"] : []),
            path.resolve(options.programDir),
        ];
        const exitCode = await new Promise<number>((resolve) => {
            // `node` from PATH, as the CLI's language host starts it.
            const child = spawn("node", args, {
                cwd: path.resolve(options.programDir),
                stdio: ["ignore", "pipe", "pipe", "pipe"],
                env: {
                    ...process.env,
                    PULUMI_CONFIG: JSON.stringify(config),
                    PULUMI_CONFIG_SECRET_KEYS: "[]",
                    // As the CLI's language host: TypeScript unless Pulumi.yaml says `typescript: false`.
                    PULUMI_NODEJS_TYPESCRIPT: String(usesTypeScript(options.programDir)),
                    // As the CLI's language host (run.ts): ts-node type-checks, unless the project's
                    // tsconfig says otherwise ("ts-node": { "transpileOnly": true }).
                },
            });
            const relay = (chunk: Buffer) => {
                for (const line of chunk.toString().split("\n")) if (line.trim()) (options.print ?? console.log)(`  ${line}`);
            };
            child.stdout!.on("data", relay);
            child.stderr!.on("data", relay);
            let peak = "";
            (child.stdio[3] as NodeJS.ReadableStream).on("data", (chunk: Buffer) => {
                peak += chunk.toString();
            });
            child.on("close", (code) => {
                if (/^\d+$/.test(peak)) programPeakRssKb = Number(peak);
                resolve(code ?? 1);
            });
        });
        if (exitCode !== 0) fail(`the program exited with code ${exitCode}`);
    } finally {
        await monitor.stop();
    }
    return { registered, replaced, programPeakRssKb };
}

export { UNKNOWN };
