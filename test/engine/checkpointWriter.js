// The test engine's checkpoint writer: a worker thread that holds a copy of the state and rewrites
// the whole state file after each change it is sent, answering when the file is written, as the
// CLI's snapshot manager serves mutations from a goroutine of its own (pkg/backend/snapshot.go:
// `mutate`, `NewSnapshotManager`): a step waits for its own write, while the engine's thread goes
// on with Check, Diff and the replies of other steps. Plain JavaScript: a worker thread loads it
// as it is, under ts-node and vitest alike. state.ts holds the types.
"use strict";
const { isMainThread, parentPort, workerData } = require("node:worker_threads");
const { renameSync, rmSync, writeFileSync } = require("node:fs");

/** The state file's content: the pending creates and the old halves only when there are some. */
function stateFile(base, resources, outputs, pending, condemned) {
    const { pending: _loaded, condemned: _loadedHalves, ...rest } = base;
    return {
        ...rest,
        resources,
        outputs,
        ...(pending.length > 0 ? { pending } : {}),
        ...(condemned.length > 0 ? { condemned } : {}),
    };
}

/**
 * Writes the whole state (a temporary file, then renamed) and removes the journal it replaces.
 * Indented by four spaces, as the CLI writes its checkpoints (sdk/go/common/encoding: JSON).
 */
function writeState(file, state) {
    writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 4));
    renameSync(`${file}.tmp`, file);
    rmSync(`${file}.journal`, { force: true });
}

/** One change, as the journal records it, applied to the state's maps. */
function applyEntry(maps, entry) {
    if ("put" in entry) {
        maps.byUrn.set(entry.put.urn, entry.put);
        maps.pending.delete(entry.put.urn);
    } else if ("drop" in entry) {
        maps.byUrn.delete(entry.drop);
        maps.pending.delete(entry.drop);
    } else if ("pending" in entry) maps.pending.set(entry.pending.urn, entry.pending);
    else if ("condemned" in entry) maps.condemned = entry.condemned;
    else if ("outputs" in entry) maps.outputs = entry.outputs;
    // { touch: true }: nothing changes; the file is written again.
}

if (!isMainThread && workerData?.checkpointWriter) {
    const { file, base } = workerData;
    const maps = {
        byUrn: new Map(base.resources.map((r) => [r.urn, r])),
        pending: new Map((base.pending ?? []).map((r) => [r.urn, r])),
        condemned: [...(base.condemned ?? [])],
        outputs: base.outputs,
    };
    parentPort.on("message", ({ seq, entry }) => {
        try {
            applyEntry(maps, entry);
            writeState(file, stateFile(base, [...maps.byUrn.values()], maps.outputs, [...maps.pending.values()], maps.condemned));
            parentPort.postMessage({ seq });
        } catch (err) {
            parentPort.postMessage({ seq, error: String(err && err.message ? err.message : err) });
        }
    });
}

module.exports = { applyEntry, stateFile, writeState };
