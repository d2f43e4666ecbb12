/**
 * The test engine's state: a JSON file, plus a journal of the steps since it was last written.
 * Each step appends one line to the journal (constant cost, whatever the stack's size); the file
 * is rewritten when an operation ends. A crash leaves the file and the journal of the steps that
 * finished, and loading replays that journal, so no finished step is lost.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { Props } from "./rpc";

/** One resource in the state. */
export interface ResourceState {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    parent?: string;
    id?: string;
    inputs: Props;
    outputs: Props;
    /** URNs this resource depends on (its parent included): they are deleted after it. */
    dependencies: string[];
    /**
     * Deleted to be replaced (delete-before-replace), its replacement not made yet: the next up
     * replaces it again (step.go: DeleteStep.Apply keeps it `PendingReplacement`).
     */
    pendingReplacement?: boolean;
    /** For each input property, the URNs its value came from (kept, as Pulumi keeps them). */
    propertyDependencies?: Record<string, string[]>;
    /** `protect`: a delete or replacement of it fails. */
    protect?: boolean;
    /** `retainOnDelete`: its delete leaves the object on the host. */
    retainOnDelete?: boolean;
    /** `deletedWith`: when that resource is deleted in the same operation, this one's delete is skipped. */
    deletedWith?: string;
    /**
     * What the CLI's state also holds for each resource (apitype.ResourceV3), kept so that a
     * checkpoint is as large as the CLI's: the default provider's reference (custom resources),
     * when it was made and last changed, and where the program registered it, with its stack
     * (`project:///<file>#<line>,<column>`, relative to the project's folder).
     */
    provider?: string;
    created?: string;
    modified?: string;
    sourcePosition?: string;
    stackTrace?: { sourcePosition?: string }[];
}

/** The state file. */
export interface StackState {
    version: 1;
    project: string;
    stack: string;
    resources: ResourceState[];
    outputs: Props;
    /**
     * Creates that were started but whose result was never recorded: the engine stopped in
     * between (a crash). Kept, as the CLI keeps its pending CREATE operations, until the resource
     * is created again or `refresh --clear-pending-creates` clears them.
     */
    pending?: ResourceState[];
    /**
     * Old halves of create-before-delete replacements, kept (Pulumi marks them `Delete: true`)
     * until they are deleted: a crash in between leaves them for the next operation to delete.
     */
    condemned?: ResourceState[];
}

type JournalEntry =
    | { put: ResourceState }
    | { drop: string }
    | { outputs: Props }
    | { pending: ResourceState }
    | { condemned: ResourceState[] }
    | { touch: true };

/** Two records with the same content (their keys in the same order, as the engine builds them). */
function sameRecord(a: ResourceState, b: ResourceState): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** The state's parts as a change is applied to them. */
interface StateMaps {
    byUrn: Map<string, ResourceState>;
    pending: Map<string, ResourceState>;
    condemned: ResourceState[];
    outputs: Props;
}

/** What the checkpoint writer (a plain JavaScript file, for its worker thread) shares with this module. */
interface CheckpointWriter {
    applyEntry(maps: StateMaps, entry: JournalEntry): void;
    stateFile(base: StackState, resources: ResourceState[], outputs: Props, pending: ResourceState[], condemned: ResourceState[]): StackState;
    writeState(file: string, state: StackState): void;
}

const WRITER_FILE = path.join(__dirname, "checkpointWriter.js");
const writer = createRequire(__filename)(WRITER_FILE) as CheckpointWriter;

function journalOf(file: string): string {
    return `${file}.journal`;
}

/** Reads the state file and replays its journal (a cut-off last line, from a crash, is ignored). */
export function loadState(file: string, project: string, stack: string): StackState {
    const state: StackState = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { version: 1, project, stack, resources: [], outputs: {} };
    const journal = journalOf(file);
    if (!existsSync(journal)) return state;
    const maps: StateMaps = {
        byUrn: new Map(state.resources.map((r) => [r.urn, r])),
        pending: new Map((state.pending ?? []).map((r) => [r.urn, r])),
        condemned: state.condemned ?? [],
        outputs: state.outputs,
    };
    for (const line of readFileSync(journal, "utf8").split("\n")) {
        let entry: JournalEntry;
        try {
            entry = JSON.parse(line);
        } catch {
            continue; // empty, or cut off by a crash
        }
        writer.applyEntry(maps, entry);
    }
    const condemned = state.condemned !== undefined || maps.condemned.length > 0 ? { condemned: maps.condemned } : {};
    return { ...state, resources: [...maps.byUrn.values()], pending: [...maps.pending.values()], ...condemned, outputs: maps.outputs };
}

/** The state of one operation, as it changes step by step. */
export class StateStore {
    private readonly byUrn: Map<string, ResourceState>;
    private readonly pendingByUrn: Map<string, ResourceState>;
    private readonly condemnedList: ResourceState[];
    private outputsValue: Props;
    /** `checkpoint` mode: the thread that writes the file, and the writes it has not answered. */
    private worker?: Worker;
    private readonly unanswered = new Map<number, { resolve(): void; reject(err: Error): void }>();
    private sent = 0;
    /** The last write sent, settled (the writer answers in order): what `flush` waits for. */
    private lastWrite: Promise<unknown> = Promise.resolve();

    /**
     * `persist: false` (preview) keeps everything in memory. `checkpoint` rewrites the whole file
     * at every change, as Pulumi's file backend rewrites the checkpoint at the start and end of
     * every step (backend/snapshot.go), from a worker thread as the CLI does from a goroutine:
     * each change's promise resolves once its write is done, and the engine's thread is not held
     * meanwhile. `journal` appends each change to the journal and rewrites the file once, at the
     * end (faster, for large stacks in tests that do not publish timings). `final` writes nothing
     * until the end, as the CLI does under `PULUMI_SKIP_CHECKPOINTS` (its `unsafeServiceLoop`
     * saves the snapshot only when the snapshot manager closes): a crash leaves the state the
     * operation started from.
     */
    constructor(
        private readonly file: string,
        private readonly base: StackState,
        private readonly persist: boolean,
        private readonly mode: "checkpoint" | "journal" | "final" = "checkpoint",
    ) {
        this.byUrn = new Map(base.resources.map((r) => [r.urn, r]));
        this.pendingByUrn = new Map((base.pending ?? []).map((r) => [r.urn, r]));
        this.condemnedList = [...(base.condemned ?? [])];
        this.outputsValue = base.outputs;
    }

    get resources(): ResourceState[] {
        return [...this.byUrn.values()];
    }

    get outputs(): Props {
        return this.outputsValue;
    }

    get(urn: string): ResourceState | undefined {
        return this.byUrn.get(urn);
    }

    /** Creates that were started and never finished, as the CLI lists them. */
    get pendingCreates(): ResourceState[] {
        return [...this.pendingByUrn.values()];
    }

    /**
     * Records a resource. With `elideIfSame`, a record equal to the one there is not written (a
     * same step that changed nothing, as snapshot.go's `mustWrite` elides it).
     */
    put(resource: ResourceState, options: { elideIfSame?: boolean } = {}): Promise<void> {
        const before = this.byUrn.get(resource.urn);
        const same = options.elideIfSame === true && before !== undefined && !this.pendingByUrn.has(resource.urn) && sameRecord(before, resource);
        this.byUrn.set(resource.urn, resource);
        this.pendingByUrn.delete(resource.urn);
        return same ? Promise.resolve() : this.journal({ put: resource });
    }

    /**
     * Rewrites the checkpoint unchanged: the write the CLI makes as an update or delete begins
     * (it records the operation under way there; this engine records only pending creates).
     */
    touch(): Promise<void> {
        return this.mode === "checkpoint" ? this.journal({ touch: true }) : Promise.resolve();
    }

    drop(urn: string): Promise<void> {
        const pending = this.pendingByUrn.delete(urn);
        return this.byUrn.delete(urn) || pending ? this.journal({ drop: urn }) : Promise.resolve();
    }

    /** Notes a create about to start: if the engine stops before `put`, it stays pending in the state. */
    pending(resource: ResourceState): Promise<void> {
        this.pendingByUrn.set(resource.urn, resource);
        return this.journal({ pending: resource });
    }

    /** Old halves of replacements waiting to be deleted. */
    get condemned(): ResourceState[] {
        return [...this.condemnedList];
    }

    /** Keeps the old half of a create-before-delete replacement until `forgetCondemned`. */
    condemn(resource: ResourceState): Promise<void> {
        this.condemnedList.push(resource);
        return this.journal({ condemned: [...this.condemnedList] });
    }

    /** The old half is deleted. */
    forgetCondemned(resource: ResourceState): Promise<void> {
        const at = this.condemnedList.findIndex((r) => r.urn === resource.urn && r.id === resource.id);
        if (at >= 0) this.condemnedList.splice(at, 1);
        return this.journal({ condemned: [...this.condemnedList] });
    }

    /** Forgets the pending creates (`pulumi refresh --clear-pending-creates`). */
    async clearPending(): Promise<void> {
        for (const urn of [...this.pendingByUrn.keys()]) await this.drop(urn);
    }

    setOutputs(outputs: Props): Promise<void> {
        this.outputsValue = outputs;
        return this.journal({ outputs });
    }

    /**
     * Writes the whole state (to a temporary file, then renamed) and clears the journal, once
     * every change's write is done; stops the writer thread.
     */
    async flush(): Promise<void> {
        if (!this.persist) return;
        await this.lastWrite;
        await this.worker?.terminate();
        this.worker = undefined;
        writer.writeState(this.file, writer.stateFile(this.base, this.resources, this.outputsValue, this.pendingCreates, this.condemnedList));
    }

    private journal(entry: JournalEntry): Promise<void> {
        if (!this.persist || this.mode === "final") return Promise.resolve();
        if (this.mode === "journal") {
            appendFileSync(`${this.file}.journal`, `${JSON.stringify(entry)}\n`);
            return Promise.resolve();
        }
        if (!this.worker) {
            this.worker = new Worker(WRITER_FILE, { workerData: { checkpointWriter: true, file: this.file, base: this.base } });
            this.worker.on("message", ({ seq, error }: { seq: number; error?: string }) => {
                const waiter = this.unanswered.get(seq);
                this.unanswered.delete(seq);
                if (error) waiter?.reject(new Error(`the checkpoint could not be written: ${error}`));
                else waiter?.resolve();
            });
            this.worker.on("error", (err) => {
                for (const waiter of this.unanswered.values()) waiter.reject(err);
                this.unanswered.clear();
            });
        }
        const seq = ++this.sent;
        const done = new Promise<void>((resolve, reject) => this.unanswered.set(seq, { resolve, reject }));
        this.worker.postMessage({ seq, entry });
        this.lastWrite = done.catch(() => undefined);
        return done;
    }
}
