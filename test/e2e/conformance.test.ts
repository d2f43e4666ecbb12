/**
 * Engine conformance: one small program per rule of Pulumi's engine that this project depends on,
 * run through the test engine on the kernel, each asserting the plan and the host state the real
 * engine produces. Each test names the pulumi/pulumi function it follows. The host is read with
 * `kernelLink` (a fresh `ip -j` each time): the engine's provider process changes it, not this one.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ipCommand, type LinkAddrs, netnsAdd, netnsExists, runCommand, runJson, toolCommand } from "../../providers/host";
import { type EngineOptions, type Result, run } from "../engine/engine";
import { UNKNOWN } from "../engine/rpc";
import { describeKernel, useSandbox } from "../support/kernel";
import { ipOutOfBand, kernelLink } from "../support/lifecycle";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";

type Declared = { kind: string; name: string; args: Record<string, unknown>; opts?: Record<string, unknown>; exports?: string[] };

describeKernel("engine conformance: the real engine's rules, one program each", () => {
    const sb = useSandbox();
    let dir: string;
    let stateFile: string;
    beforeEach(() => {
        dir = makeProject({ copyFrom: path.join(REPO_ROOT, "test/e2e/programs/rules") });
        stateFile = path.join(dir, "state.json");
    });
    afterEach(() => removeProject(dir));

    /** Runs an operation on a program of these resources; `up` previews first, as `pulumi up` does. */
    async function engine(
        operation: EngineOptions["operation"],
        resources: Declared[],
        extra: Partial<EngineOptions> = {},
    ): Promise<Result & { output: string }> {
        const lines: string[] = [];
        const result = await run({
            operation,
            programDir: dir,
            stack: "rules",
            stateFile,
            config: { resources: JSON.stringify(resources) },
            print: (l) => lines.push(l),
            ...extra,
        });
        return { ...result, output: lines.join("\n") };
    }
    const ops = (result: Result) => result.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);

    it("interrupted creates stay pending, are warned about, created again, and cleared only on request (snapshot.go, printPendingOperationsWarning, refresh.go)", async () => {
        const ns: Declared = { kind: "NetworkNamespace", name: "n", args: { name: sb.ns("n") } };
        expect((await engine("up", [ns])).ok).toBe(true);
        // As a crash leaves it: the create journaled as started, its result never written.
        const saved = JSON.parse(readFileSync(stateFile, "utf8"));
        const lost = saved.resources.find((r: { name: string }) => r.name === "n");
        writeFileSync(
            stateFile,
            JSON.stringify({
                ...saved,
                resources: saved.resources.filter((r: { name: string }) => r.name !== "n"),
                pending: [{ ...lost, id: undefined, outputs: {} }],
            }),
        );
        const refresh = await engine("refresh", [ns]);
        expect(refresh.warnings.join("\n")).toContain("1 create(s) from an earlier operation were interrupted");
        expect(refresh.steps.map((s) => s.name)).not.toContain("n"); // never read: it has no id
        expect(JSON.parse(readFileSync(stateFile, "utf8")).pending).toHaveLength(1);
        const up = await engine("up", [ns]);
        expect(ops(up)).toEqual(["create n"]); // created again, taking over the namespace by its mark
        expect(JSON.parse(readFileSync(stateFile, "utf8")).pending).toBeUndefined();
        writeFileSync(
            stateFile,
            JSON.stringify({
                ...saved,
                resources: saved.resources.filter((r: { name: string }) => r.name !== "n"),
                pending: [{ ...lost, id: undefined, outputs: {} }],
            }),
        );
        await engine("refresh", [ns], { clearPendingCreates: true });
        expect(JSON.parse(readFileSync(stateFile, "utf8")).pending).toBeUndefined();
        await ipOutOfBand(sb.hostNs, "netns", "delete", sb.ns("n"));
    });

    it("a preview of an update shows the new inputs only: outputs that are not inputs are unknown (provider_plugin.go: Update)", async () => {
        const bridge = (mtu: number): Declared => ({ kind: "Bridge", name: "b", args: { name: "br0", netns: sb.hostNs, mtu }, exports: ["mac", "mtu"] });
        await engine("up", [bridge(1400)], { skipPreview: true });
        const preview = await engine("preview", [bridge(1300)]);
        expect(ops(preview)).toEqual(["update b"]);
        expect(preview.outputs["b.mac"]).toBe(UNKNOWN);
        expect(preview.outputs["b.mtu"]).toBe(1300);
        await engine("destroy", [bridge(1300)]);
    });

    it("a replacement is checked again with no old inputs: the new object gets a mark of its own (step_generator.go: continueStepsFromDiff)", async () => {
        const bridge = (netns: string): Declared => ({ kind: "Bridge", name: "b", args: { name: "br0", netns }, exports: ["alias"] });
        await netnsAdd(sb.ns("other"));
        const first = await engine("up", [bridge(sb.hostNs)], { skipPreview: true });
        const second = await engine("up", [bridge(sb.ns("other"))], { skipPreview: true });
        expect(ops(second)).toEqual(["replace b"]);
        expect(second.outputs["b.alias"]).not.toBe(first.outputs["b.alias"]);
        expect((await kernelLink(sb.ns("other"), "br0"))?.ifalias).toBe(second.outputs["b.alias"]);
        expect(await kernelLink(sb.hostNs, "br0")).toBeUndefined();
        await engine("destroy", [bridge(sb.ns("other"))]);
    });

    it("refresh shows a change only where the provider's diff finds one (step.go: RefreshStep.Apply)", async () => {
        const bridge: Declared = { kind: "Bridge", name: "b", args: { name: "br0", netns: sb.hostNs } };
        await engine("up", [bridge], { skipPreview: true });
        await ipOutOfBand(sb.hostNs, "link", "set", "dev", "br0", "address", "02:00:00:00:00:42"); // an output only
        expect(ops(await engine("refresh", [bridge]))).toEqual([]);
        await ipOutOfBand(sb.hostNs, "link", "set", "dev", "br0", "down"); // an input: drift
        expect(ops(await engine("refresh", [bridge]))).toEqual(["refresh b"]);
        // The provider's read returns the inputs it found, which the state now holds (as Pulumi
        // keeps them): the next refresh finds nothing new, and the next up repairs the drift.
        expect(ops(await engine("refresh", [bridge]))).toEqual([]);
        expect(ops(await engine("up", [bridge], { skipPreview: true }))).toEqual(["update b"]);
        expect((await kernelLink(sb.hostNs, "br0"))?.flags).toContain("UP");
        await engine("destroy", [bridge]);
    });

    it("no new step after the first failure, unless --continue-on-error (step_executor.go: cancelDueToError)", async () => {
        await ipOutOfBand(sb.hostNs, "link", "add", "taken", "type", "bridge");
        const resources: Declared[] = [
            { kind: "Bridge", name: "a", args: { name: "taken", netns: sb.hostNs } },
            { kind: "Bridge", name: "b", args: { name: "br-b", netns: sb.hostNs } },
        ];
        const stopped = await engine("up", resources, { skipPreview: true, parallel: 1 });
        expect(stopped.ok).toBe(false);
        expect(stopped.errors).toHaveLength(2); // the failure, and the program that saw it
        expect(await kernelLink(sb.hostNs, "br-b")).toBeUndefined();
        const going = await engine("up", resources, { skipPreview: true, parallel: 1, continueOnError: true });
        expect(going.ok).toBe(false);
        expect(await kernelLink(sb.hostNs, "br-b")).toBeDefined();
        await engine("destroy", resources);
    });

    it("a failing check fails the deployment at preview, and two registrations of one URN fail it too (generateURN)", async () => {
        const bad = await engine("up", [{ kind: "Bridge", name: "a", args: { name: "x+", netns: sb.hostNs } }]);
        expect(bad.ok).toBe(false);
        expect(bad.errors.join("\n")).toMatch(/check failed: name: name 'x\+'/);
        const twice = await engine("up", [
            { kind: "Bridge", name: "a", args: { name: "br-1", netns: sb.hostNs } },
            { kind: "Bridge", name: "a", args: { name: "br-2", netns: sb.hostNs } },
        ]);
        expect(twice.errors.join("\n")).toContain("Duplicate resource URN");
    });

    it("deleteBeforeReplace is tri-state: an explicit false makes a replacement create-before-delete (step_generator.go)", async () => {
        await netnsAdd(sb.ns("other"));
        const bridge = (netns: string): Declared => ({ kind: "Bridge", name: "b", args: { name: "br0", netns }, opts: { deleteBeforeReplace: false } });
        await engine("up", [bridge(sb.hostNs)], { skipPreview: true });
        const log = path.join(dir, "commands.jsonl");
        process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
        try {
            await engine("up", [bridge(sb.ns("other"))], { skipPreview: true });
        } finally {
            delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
        }
        const commands = readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as { argv: string[]; input?: string });
        const created = commands.findIndex((c) => c.argv.includes(sb.ns("other")) && (c.input ?? "").includes("link add name br0"));
        const deleted = commands.findIndex((c) => c.argv.includes(sb.hostNs) && c.argv.join(" ").endsWith("link delete dev br0"));
        expect(created).toBeGreaterThanOrEqual(0);
        expect(deleted).toBeGreaterThan(created); // the new one first, then the old one
        await engine("destroy", [bridge(sb.ns("other"))]);
    });

    it("protect refuses a delete; retainOnDelete leaves the object; deletedWith skips a delete its owner's covers", async () => {
        const protectedNs: Declared = { kind: "NetworkNamespace", name: "p", args: { name: sb.ns("p") }, opts: { protect: true } };
        await engine("up", [protectedNs], { skipPreview: true });
        const refused = await engine("destroy", [protectedNs]);
        expect(refused.errors.join("\n")).toContain("is protected");
        expect(netnsExists(sb.ns("p"))).toBe(true);
        await engine("up", [{ ...protectedNs, opts: {} }], { skipPreview: true });
        await engine("destroy", [protectedNs]);
        expect(netnsExists(sb.ns("p"))).toBe(false);

        const kept: Declared = { kind: "NetworkNamespace", name: "k", args: { name: sb.ns("k") }, opts: { retainOnDelete: true } };
        await engine("up", [kept], { skipPreview: true });
        expect((await engine("destroy", [kept])).ok).toBe(true);
        expect(netnsExists(sb.ns("k"))).toBe(true);

        const owner: Declared = { kind: "NetworkNamespace", name: "o", args: { name: sb.ns("o") } };
        const inside: Declared = { kind: "Bridge", name: "in", args: { name: "br-in", netns: sb.ns("o") }, opts: { deletedWith: "o", dependsOn: ["o"] } };
        await engine("up", [owner, inside], { skipPreview: true });
        const destroyed = await engine("destroy", [owner, inside]);
        expect(destroyed.ok).toBe(true);
        expect(ops(destroyed).sort()).toEqual(["delete in", "delete o"]);
        expect(netnsExists(sb.ns("o"))).toBe(false);
    });

    it("ignoreChanges keeps the old value; replaceOnChanges replaces on a change the provider updates in place; aliases carry a rename", async () => {
        const bridge = (mtu: number, opts: Record<string, unknown>, name = "b"): Declared => ({
            kind: "Bridge",
            name,
            args: { name: "br0", netns: sb.hostNs, mtu },
            opts,
        });
        await engine("up", [bridge(1400, {})], { skipPreview: true });
        expect(ops(await engine("up", [bridge(1300, { ignoreChanges: ["mtu"] })], { skipPreview: true }))).toEqual([]);
        expect((await kernelLink(sb.hostNs, "br0"))?.mtu).toBe(1400);
        // The bridge's name is fixed: the forced replacement must delete first (the provider asks so only for its own replace keys).
        const replaced = await engine("up", [bridge(1300, { replaceOnChanges: ["mtu"], deleteBeforeReplace: true })], { skipPreview: true });
        expect(ops(replaced)).toEqual(["replace b"]);
        expect((await kernelLink(sb.hostNs, "br0"))?.mtu, replaced.output).toBe(1300);
        expect(ops(await engine("up", [bridge(1300, { aliases: ["b"] }, "renamed")], { skipPreview: true }))).toEqual([]);
        await engine("destroy", [bridge(1300, {}, "renamed")]);
        expect(await kernelLink(sb.hostNs, "br0")).toBeUndefined();
    });

    it("dependents of a delete-before-replace whose inputs come from it are replaced with it (step_generator.go: calculateDependentReplacements)", async () => {
        const resources = (peer: string): Declared[] => [
            { kind: "NetworkNamespace", name: "c", args: { name: sb.ns("c") } },
            { kind: "VethPair", name: "v", args: { name: "veth-x", netns: sb.hostNs, peer: { name: peer, netns: "@c.name" } } },
            { kind: "Address", name: "a", args: { device: "@v.name", address: "10.9.0.1/24", netns: sb.hostNs } },
        ];
        await engine("up", resources("eth0"), { skipPreview: true });
        // The pair is replaced (delete first: fixed names); the address on its unchanged host end
        // went with the old link, so it is replaced too, before the pair is deleted.
        const preview = await engine("preview", resources("eth1"));
        expect(ops(preview).sort()).toEqual(["replace a", "replace v"]);
        const up = await engine("up", resources("eth1"), { skipPreview: true });
        expect(ops(up).sort()).toEqual(["replace a", "replace v"]);
        const link = await runJson<LinkAddrs[]>(ipCommand(sb.hostNs, ["-j", "addr", "show", "dev", "veth-x"]));
        expect(link[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain("10.9.0.1/24");
        expect(await kernelLink(sb.ns("c"), "eth1")).toBeDefined();
        await engine("destroy", resources("eth1"));
    });

    it("previews stay honest and quiet: after a refresh finds drift, the preview updates the endpoint and leaves the NAT rule on its address alone", async () => {
        const resources: Declared[] = [
            { kind: "Bridge", name: "b", args: { name: "br-h", netns: sb.hostNs } },
            { kind: "Endpoint", name: "e", args: { namespace: sb.ns("e"), bridge: "@b.name", subnet: "10.8.0.0/24", netns: sb.hostNs } },
            {
                kind: "NatRule",
                name: "n",
                args: { type: "dnat", protocol: "tcp", port: 8080, toAddress: "@e.ip", toPort: 80, destinationLocal: true, netns: sb.hostNs },
            },
        ];
        await engine("up", resources, { skipPreview: true });
        await ipOutOfBand(sb.ns("e"), "addr", "flush", "dev", "eth0");
        expect(ops(await engine("refresh", resources))).toEqual(["refresh e"]);
        // A preview of an update shows the endpoint's inputs only; its address is among them.
        expect(ops(await engine("preview", resources))).toEqual(["update e"]);
        expect(ops(await engine("up", resources, { skipPreview: true }))).toEqual(["update e"]);
        await engine("destroy", resources);
    });

    it("a state an earlier release wrote (the closure serializer's provider text) is served as it is: refresh and up change nothing, destroy removes it (compatibility.md)", async () => {
        const resources: Declared[] = [
            { kind: "Bridge", name: "b", args: { name: "br-h", netns: sb.hostNs } },
            { kind: "Endpoint", name: "e", args: { namespace: sb.ns("e"), bridge: "@b.name", subnet: "10.8.0.0/24", netns: sb.hostNs } },
        ];
        await engine("up", resources, { skipPreview: true });
        // What @pulumi/pulumi's serializer made of each shim's export, as earlier releases stored it.
        const texts = JSON.parse(
            execFileSync(
                process.execPath,
                [
                    "-e",
                    `const pulumi = require("@pulumi/pulumi");
(async () => {
    const out = {};
    for (const m of ["bridge", "endpoint"]) {
        const provider = require("pulumi-overlay/dist/providers/shims/" + m + ".js");
        out[m] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
    }
    process.stdout.write(JSON.stringify(out));
})();`,
                ],
                { cwd: dir, encoding: "utf8" },
            ),
        );
        const state = JSON.parse(readFileSync(stateFile, "utf8"));
        for (const r of state.resources.filter((r: { custom?: boolean }) => r.custom)) {
            const text = r.type.endsWith(":Bridge") ? texts.bridge : texts.endpoint;
            expect(r.inputs.__provider).not.toBe(text);
            r.inputs.__provider = text;
            r.outputs.__provider = text;
        }
        writeFileSync(stateFile, JSON.stringify(state));
        expect(ops(await engine("refresh", resources))).toEqual([]);
        expect(ops(await engine("up", resources))).toEqual([]);
        const addrs = await runJson<LinkAddrs[]>(ipCommand(sb.ns("e"), ["-j", "addr", "show", "dev", "eth0"]));
        expect(addrs[0]?.addr_info.map((a) => a.local)).toContain("10.8.0.2");
        expect((await engine("destroy", resources)).ok).toBe(true);
        expect(netnsExists(sb.ns("e"))).toBe(false);
    });

    it("each checkpoint holds what the CLI's holds for a resource, indented as the CLI's (deployment.go: SerializeResource; encoding.JSON)", async () => {
        const bridge = (mtu: number): Declared[] => [{ kind: "Bridge", name: "b", args: { name: "br-s", netns: sb.hostNs, mtu } }];
        const stored = () => JSON.parse(readFileSync(stateFile, "utf8")).resources.find((r: { name: string }) => r.name === "b");
        await engine("up", bridge(1400), { skipPreview: true });
        expect(readFileSync(stateFile, "utf8")).toMatch(/^ {4}"version": 1,$/m);
        const made = stored();
        expect(made.provider).toMatch(
            /^urn:pulumi:rules::[^:]+::pulumi:providers:pulumi-nodejs::default::[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        );
        expect(made.sourcePosition).toMatch(/^project:\/\/\/node_modules\/pulumi-overlay\/.+#\d+,\d+$/);
        // The program's own line is among the frames, relative to the project's folder.
        expect(made.stackTrace.map((frame: { sourcePosition?: string }) => frame.sourcePosition)).toEqual(
            expect.arrayContaining([expect.stringMatching(/^project:\/\/\/index\.js#\d+,\d+$/)]),
        );
        expect(made.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        expect(made.modified >= made.created).toBe(true);
        // An update keeps when it was made and stamps when it changed; a same step keeps both.
        await engine("up", bridge(1300), { skipPreview: true });
        const updated = stored();
        expect(updated.created).toBe(made.created);
        expect(updated.modified > made.modified).toBe(true);
        await engine("up", bridge(1300), { skipPreview: true });
        expect(stored()).toMatchObject({ created: made.created, modified: updated.modified });
        await engine("destroy", bridge(1300));
    });

    it("a delete-before-replace whose create fails stays pending replacement and is replaced by the next up; old halves of replacements left by a crash are deleted (step.go: DeleteStep.Apply)", async () => {
        const bridge = (netns: string): Declared => ({ kind: "Bridge", name: "b", args: { name: "br0", netns } });
        await engine("up", [bridge(sb.hostNs)], { skipPreview: true });
        const missing = sb.ns("later");
        const failed = await engine("up", [bridge(missing)], { skipPreview: true });
        expect(failed.ok).toBe(false);
        expect(JSON.parse(readFileSync(stateFile, "utf8")).resources.find((r: { name: string }) => r.name === "b").pendingReplacement).toBe(true);
        expect(await kernelLink(sb.hostNs, "br0")).toBeUndefined(); // deleted first
        await netnsAdd(missing);
        expect(ops(await engine("up", [bridge(missing)], { skipPreview: true }))).toEqual(["replace b"]);
        expect(await kernelLink(missing, "br0")).toBeDefined();
        await engine("destroy", [bridge(missing)]);

        // A create-before-delete replacement (a NAT rule) whose old half a crash left on the host.
        const rule = (source: string): Declared => ({
            kind: "NatRule",
            name: "n",
            args: { type: "masquerade", source, outInterface: sb.uplink, netns: sb.hostNs },
        });
        await engine("up", [rule("10.1.0.0/24")], { skipPreview: true });
        const first = JSON.parse(readFileSync(stateFile, "utf8")).resources.find((r: { name: string }) => r.name === "n");
        expect(ops(await engine("up", [rule("10.2.0.0/24")], { skipPreview: true }))).toEqual(["replace n"]);
        await runCommand(
            toolCommand(sb.hostNs, "iptables", [
                "-w",
                "-t",
                "nat",
                "-A",
                "POSTROUTING",
                "-s",
                "10.1.0.0/24",
                "-o",
                sb.uplink,
                "-m",
                "comment",
                "--comment",
                first.outputs.comment,
                "-j",
                "MASQUERADE",
            ]),
        );
        const saved = JSON.parse(readFileSync(stateFile, "utf8"));
        writeFileSync(stateFile, JSON.stringify({ ...saved, condemned: [first] }));
        await engine("up", [rule("10.2.0.0/24")], { skipPreview: true });
        const nat = (await runCommand(toolCommand(sb.hostNs, "iptables-save", ["-t", "nat"]))).stdout;
        expect(nat).not.toContain("10.1.0.0/24");
        expect(nat).toContain("10.2.0.0/24");
        expect(JSON.parse(readFileSync(stateFile, "utf8")).condemned).toBeUndefined();
        await engine("destroy", [rule("10.2.0.0/24")]);
    });

    it("resources the program no longer declares are deleted, and deletes go in reverse dependency order (step_generator.go: GenerateDeletes)", async () => {
        const ns: Declared = { kind: "NetworkNamespace", name: "ns", args: { name: sb.ns("d") } };
        const inside: Declared = { kind: "Bridge", name: "in", args: { name: "br-in", netns: "@ns.name" } };
        await engine("up", [ns, inside], { skipPreview: true });
        expect(ops(await engine("up", [ns], { skipPreview: true }))).toEqual(["delete in"]);
        expect(await kernelLink(sb.ns("d"), "br-in")).toBeUndefined();
        await engine("up", [ns, inside], { skipPreview: true });
        const log = path.join(dir, "commands.jsonl");
        process.env.PULUMI_OVERLAY_COMMAND_LOG = log;
        try {
            expect((await engine("destroy", [ns, inside])).ok).toBe(true);
        } finally {
            delete process.env.PULUMI_OVERLAY_COMMAND_LOG;
        }
        const commands = readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((line) => (JSON.parse(line) as { argv: string[] }).argv.join(" "));
        const bridgeGone = commands.findIndex((c) => c.endsWith("link delete dev br-in"));
        const namespaceGone = commands.findIndex((c) => c.includes(`netns delete ${sb.ns("d")}`));
        expect(bridgeGone).toBeGreaterThanOrEqual(0);
        expect(namespaceGone).toBeGreaterThan(bridgeGone); // the dependent first
    });
});
