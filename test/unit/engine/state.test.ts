import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ResourceState, StateStore, loadState } from "../../engine/state";

const resource = (name: string, outputs = {}): ResourceState => ({
    urn: `urn:pulumi:s::p::t::${name}`,
    type: "t",
    name,
    custom: true,
    id: name,
    inputs: {},
    outputs,
    dependencies: [],
});

describe("test engine state", () => {
    let dir = "";
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const read = (file: string) => JSON.parse(readFileSync(file, "utf8"));

    it("writes each change from its writer thread, the change's promise resolving once the file has it", async () => {
        dir = mkdtempSync(path.join(tmpdir(), "engine-state-"));
        const file = path.join(dir, "state.json");
        const store = new StateStore(file, loadState(file, "p", "s"), true);
        const a = resource("a");
        const written = store.put(a);
        // Not written on the engine's thread: the file is not there when put returns.
        expect(existsSync(file)).toBe(false);
        await written;
        expect(read(file).resources).toEqual([a]);

        // A same step that changes nothing is not written (the file is replaced at every write).
        const inode = statSync(file).ino;
        await store.put({ ...a }, { elideIfSame: true });
        expect(statSync(file).ino).toBe(inode);
        await store.put(resource("a", { x: 1 }), { elideIfSame: true });
        expect(read(file).resources).toEqual([resource("a", { x: 1 })]);

        // A step's begin rewrites the file unchanged; a pending create is recorded as pending.
        const before = readFileSync(file, "utf8");
        const touched = statSync(file).ino;
        await store.touch();
        expect(statSync(file).ino).not.toBe(touched);
        expect(readFileSync(file, "utf8")).toBe(before);
        await store.pending(resource("b"));
        expect(read(file).pending).toEqual([resource("b")]);

        // Changes in flight all land, in order, before the final write.
        const many = Array.from({ length: 50 }, (_, i) => store.put(resource(`r${i}`)));
        await store.drop(resource("a").urn);
        await Promise.all(many);
        await store.flush();
        const final = read(file);
        expect(final.resources.map((r: ResourceState) => r.name)).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
        expect(final.pending).toEqual([resource("b")]);
        expect(loadState(file, "p", "s").resources).toHaveLength(50);
    });

    it("journal mode appends each change and writes the file once, at the end; loading replays a journal", async () => {
        dir = mkdtempSync(path.join(tmpdir(), "engine-state-"));
        const file = path.join(dir, "state.json");
        const store = new StateStore(file, loadState(file, "p", "s"), true, "journal");
        await store.put(resource("a"));
        await store.pending(resource("b"));
        await store.setOutputs({ out: 1 });
        expect(existsSync(file)).toBe(false);
        // What a crash leaves: the journal alone, replayed on load.
        const replayed = loadState(file, "p", "s");
        expect(replayed.resources).toEqual([resource("a")]);
        expect(replayed.pending).toEqual([resource("b")]);
        expect(replayed.outputs).toEqual({ out: 1 });
        await store.flush();
        expect(existsSync(`${file}.journal`)).toBe(false);
        expect(read(file)).toMatchObject({ resources: [resource("a")], pending: [resource("b")], outputs: { out: 1 } });
    });

    it("final mode (PULUMI_SKIP_CHECKPOINTS) writes nothing until the end: a crash leaves the state the operation started from", async () => {
        dir = mkdtempSync(path.join(tmpdir(), "engine-state-"));
        const file = path.join(dir, "state.json");
        const first = new StateStore(file, loadState(file, "p", "s"), true);
        await first.put(resource("old"));
        await first.flush();
        const before = readFileSync(file, "utf8");

        const store = new StateStore(file, loadState(file, "p", "s"), true, "final");
        await store.pending(resource("b"));
        await store.put(resource("a"));
        await store.drop(resource("old").urn);
        await store.setOutputs({ out: 1 });
        // What a crash here leaves: the file as it was, and no journal.
        expect(readFileSync(file, "utf8")).toBe(before);
        expect(existsSync(`${file}.journal`)).toBe(false);
        expect(loadState(file, "p", "s").resources).toEqual([resource("old")]);
        await store.flush();
        expect(read(file)).toMatchObject({ resources: [resource("a")], pending: [resource("b")], outputs: { out: 1 } });
    });
});
