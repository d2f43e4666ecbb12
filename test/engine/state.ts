/**
 * The test engine's state: a JSON file, plus a journal of the steps since it was last written.
 * Each step appends one line to the journal (constant cost, whatever the stack's size); the file
 * is rewritten when an operation ends. A crash leaves the file and the journal of the steps that
 * finished, and loading replays that journal, so no finished step is lost.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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

type JournalEntry = { put: ResourceState } | { drop: string } | { outputs: Props } | { pending: ResourceState } | { condemned: ResourceState[] };

function journalOf(file: string): string {
    return `${file}.journal`;
}

/** Reads the state file and replays its journal (a cut-off last line, from a crash, is ignored). */
export function loadState(file: string, project: string, stack: string): StackState {
    const state: StackState = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { version: 1, project, stack, resources: [], outputs: {} };
    const journal = journalOf(file);
    if (!existsSync(journal)) return state;
    const byUrn = new Map(state.resources.map((r) => [r.urn, r]));
    const pending = new Map<string, ResourceState>((state.pending ?? []).map((r) => [r.urn, r]));
    for (const line of readFileSync(journal, "utf8").split("\n")) {
        let entry: JournalEntry;
        try {
            entry = JSON.parse(line);
        } catch {
            continue; // empty, or cut off by a crash
        }
        if ("put" in entry) {
            byUrn.set(entry.put.urn, entry.put);
            pending.delete(entry.put.urn);
        } else if ("drop" in entry) {
            byUrn.delete(entry.drop);
            pending.delete(entry.drop);
        } else if ("pending" in entry) pending.set(entry.pending.urn, entry.pending);
        else if ("condemned" in entry) state.condemned = entry.condemned;
        else state.outputs = entry.outputs;
    }
    state.resources = [...byUrn.values()];
    state.pending = [...pending.values()];
    return state;
}

/** The state of one operation, as it changes step by step. */
export class StateStore {
    private readonly byUrn: Map<string, ResourceState>;
    private readonly pendingByUrn: Map<string, ResourceState>;
    private readonly condemnedList: ResourceState[];
    private outputsValue: Props;

    /**
     * `persist: false` (preview) keeps everything in memory. `checkpoint` rewrites the whole file
     * at every change, as Pulumi's file backend rewrites the checkpoint at the start and end of
     * every step (backend/snapshot.go); `journal` appends each change to the journal and rewrites
     * the file once, at the end (faster, for large stacks in tests that do not publish timings).
     */
    constructor(
        private readonly file: string,
        private readonly base: StackState,
        private readonly persist: boolean,
        private readonly mode: "checkpoint" | "journal" = "checkpoint",
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

    put(resource: ResourceState): void {
        this.byUrn.set(resource.urn, resource);
        this.pendingByUrn.delete(resource.urn);
        this.journal({ put: resource });
    }

    drop(urn: string): void {
        const pending = this.pendingByUrn.delete(urn);
        if (this.byUrn.delete(urn) || pending) this.journal({ drop: urn });
    }

    /** Notes a create about to start: if the engine stops before `put`, it stays pending in the state. */
    pending(resource: ResourceState): void {
        this.pendingByUrn.set(resource.urn, resource);
        this.journal({ pending: resource });
    }

    /** Old halves of replacements waiting to be deleted. */
    get condemned(): ResourceState[] {
        return [...this.condemnedList];
    }

    /** Keeps the old half of a create-before-delete replacement until `forgetCondemned`. */
    condemn(resource: ResourceState): void {
        this.condemnedList.push(resource);
        this.journal({ condemned: this.condemnedList });
    }

    /** The old half is deleted. */
    forgetCondemned(resource: ResourceState): void {
        const at = this.condemnedList.findIndex((r) => r.urn === resource.urn && r.id === resource.id);
        if (at >= 0) this.condemnedList.splice(at, 1);
        this.journal({ condemned: this.condemnedList });
    }

    /** Forgets the pending creates (`pulumi refresh --clear-pending-creates`). */
    clearPending(): void {
        for (const urn of [...this.pendingByUrn.keys()]) this.drop(urn);
    }

    setOutputs(outputs: Props): void {
        this.outputsValue = outputs;
        this.journal({ outputs });
    }

    /** Writes the whole state (to a temporary file, then renamed) and clears the journal. */
    flush(): void {
        if (!this.persist) return;
        const { pending: _loaded, condemned: _loadedHalves, ...base } = this.base;
        const pending = this.pendingCreates;
        const state: StackState = {
            ...base,
            resources: this.resources,
            outputs: this.outputsValue,
            ...(pending.length > 0 ? { pending } : {}),
            ...(this.condemnedList.length > 0 ? { condemned: this.condemnedList } : {}),
        };
        writeFileSync(`${this.file}.tmp`, JSON.stringify(state, null, 2));
        renameSync(`${this.file}.tmp`, this.file);
        rmSync(journalOf(this.file), { force: true });
    }

    private journal(entry: JournalEntry): void {
        if (!this.persist) return;
        if (this.mode === "checkpoint") this.flush();
        else appendFileSync(journalOf(this.file), `${JSON.stringify(entry)}\n`);
    }
}
