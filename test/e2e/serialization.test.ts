/**
 * The providers as the state stores them, from the packed package: each kind's provider text
 * (what the SDK registers as `__provider`), loaded and called in a fresh process whose cwd is the
 * project folder, the way the dynamic-provider server loads it; and the text @pulumi/pulumi's
 * closure serializer made of the shims (what states from earlier releases hold), loaded the same way.
 */
import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROVIDER_KINDS, type ProviderModule } from "../../providers/kinds";
import { makeProject, removeProject } from "../support/project";

const MODULES = PROVIDER_KINDS.map((kind) => kind.module);

// Valid inputs for each provider's check, and one bad input it must refuse.
const INPUTS: Record<ProviderModule, { good: object; bad: object; property: string }> = {
    namespace: { good: { name: "lab" }, bad: { name: "a/b" }, property: "name" },
    bridge: { good: { name: "br0" }, bad: { name: "averyveryverylongname" }, property: "name" },
    veth: { good: { name: "v0", peer: { name: "v1" } }, bad: { name: "v0", peer: { name: "v0" } }, property: "peer.name" },
    address: { good: { device: "br0", address: "10.0.0.1/24" }, bad: { device: "br0", address: "10.0.0.1" }, property: "address" },
    route: { good: { destination: "default", gateway: "10.0.0.1" }, bad: { destination: "10.0.0.0/24" }, property: "gateway" },
    natRule: { good: { type: "masquerade", source: "10.0.0.0/24" }, bad: { type: "snat" }, property: "toAddress" },
    sysctl: { good: { key: "net.ipv4.ip_forward", value: 1 }, bad: { key: "../x", value: 1 }, property: "key" },
    ipLease: { good: { subnet: "10.0.0.0/24", pool: "br0" }, bad: { subnet: "10.0.0.5/24", pool: "br0" }, property: "subnet" },
    firewallChain: {
        good: { jump: { from: "FORWARD", position: "first" }, rules: [{ action: "accept" }] },
        bad: { jump: { from: "FORWARD", position: "first" }, rules: [{ action: "allow" }] },
        property: "rules[0].action",
    },
    endpoint: { good: { bridge: "br0", subnet: "10.0.0.0/24" }, bad: { subnet: "10.0.0.0/24" }, property: "bridge" },
    trafficControl: { good: { device: "eth0", rate: "10mbit" }, bad: { device: "eth0", rate: "fast" }, property: "rate" },
    hostsFile: {
        good: { namespaces: ["c1"], entries: [{ address: "10.0.0.2", names: ["c1"] }] },
        bad: { namespaces: ["a/b"], entries: [] },
        property: "namespaces[0]",
    },
    networkProbe: {
        good: { bridge: "br0", gateway: "10.0.0.1", members: [{ name: "c1", namespace: "c1", address: "10.0.0.2" }] },
        bad: { bridge: "br0", gateway: "10.0.0.1", members: [{ name: "c1", namespace: "c1", address: "10.0.0.300" }] },
        property: "members[0].address",
    },
    acceptIn: {
        good: { chain: "inet hostfw forward", interface: "br0", subnets: ["10.0.0.0/24"] },
        bad: { chain: "inet hostfw; flush ruleset", interface: "br0", subnets: ["10.0.0.0/24"] },
        property: "chain",
    },
    vxlan: { good: { vni: 42, remotes: ["192.0.2.12"] }, bad: { vni: 16777216, remotes: ["192.0.2.12"] }, property: "vni" },
};

describe("provider serialization from the packed package", () => {
    let project: string;
    beforeAll(() => {
        project = makeProject({ files: { "package.json": JSON.stringify({ name: "serialization-test", dependencies: { "pulumi-overlay": "*" } }) } });
    });
    afterAll(() => removeProject(project));

    it("installs a real copy, not a symlink", () => {
        const installed = path.join(project, "node_modules", "pulumi-overlay");
        expect(lstatSync(installed).isSymbolicLink()).toBe(false);
        expect(JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")).name).toBe("pulumi-overlay");
    });

    /** Loads each module's text in a new process as the dynamic-provider server does (require-from-string), and calls check and diff. */
    function loadAndCall(suffix: string): Record<string, unknown> {
        writeFileSync(
            path.join(project, "load.js"),
            `const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
const inputs = ${JSON.stringify(INPUTS)};
(async () => {
    const results = {};
    for (const m of ${JSON.stringify(MODULES)}) {
        const provider = requireFromString(require("fs").readFileSync(m + "${suffix}", "utf8")).handler();
        const good = await provider.check({}, { logicalName: "t", ...inputs[m].good });
        const bad = await provider.check({}, { logicalName: "t", ...inputs[m].bad });
        const diff = await provider.diff("id", good.inputs, good.inputs);
        results[m] = { good: good.failures, bad: bad.failures.map((f) => f.property), changes: diff.changes };
    }
    process.stdout.write(JSON.stringify(results));
})();`,
        );
        return JSON.parse(execFileSync(process.execPath, ["load.js"], { cwd: project, encoding: "utf8" }));
    }

    it("registers every provider as one line requiring its shim module, which loads and runs in a fresh process", () => {
        writeFileSync(
            path.join(project, "texts.js"),
            `const { providerText } = require("pulumi-overlay/dist/sdk/provider");
for (const m of ${JSON.stringify(MODULES)}) require("fs").writeFileSync(m + ".provider.js", providerText(m));`,
        );
        execFileSync(process.execPath, ["texts.js"], { cwd: project });
        for (const m of MODULES) {
            const text = readFileSync(path.join(project, `${m}.provider.js`), "utf8");
            // Stored twice per resource and rewritten with every checkpoint: one require.
            expect(text).toBe(`exports.handler = () => require("pulumi-overlay/dist/providers/shims/${m}.js");\n`);
        }
        const results = loadAndCall(".provider.js");
        for (const m of MODULES) {
            expect(results[m]).toEqual({ good: [], bad: expect.arrayContaining([INPUTS[m].property]), changes: false });
        }
    });

    it("still loads the text earlier releases stored: the closure serializer's text of each shim's export", () => {
        writeFileSync(
            path.join(project, "serialize.js"),
            `const pulumi = require("@pulumi/pulumi");
(async () => {
    for (const m of ${JSON.stringify(MODULES)}) {
        const provider = require("pulumi-overlay/dist/providers/shims/" + m + ".js");
        const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
        require("fs").writeFileSync(m + ".serialized.js", sf.text);
    }
})();`,
        );
        execFileSync(process.execPath, ["serialize.js"], { cwd: project });
        for (const m of MODULES) {
            const text = readFileSync(path.join(project, `${m}.serialized.js`), "utf8");
            expect(text).toContain(`require("pulumi-overlay/dist/providers/shims/${m}.js")`);
            expect(text.length).toBeLessThan(500);
        }
        const results = loadAndCall(".serialized.js");
        for (const m of MODULES) {
            expect(results[m]).toEqual({ good: [], bad: expect.arrayContaining([INPUTS[m].property]), changes: false });
        }
    });
});
