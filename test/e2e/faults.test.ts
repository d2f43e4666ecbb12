/**
 * Faults, through the test engine on the kernel in a sandbox: bad input, objects that were
 * there before, drift, two stacks at once, and names and values that try to be shell code.
 */
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { afterEach, expect, it } from "vitest";
import { type Result, run } from "../engine/engine";
import { linkGet, netnsAdd, netnsExists, netnsList, runCommand, toolCommand } from "../../providers/host";
import { engineFor, stepsOf } from "../support/engine";
import { describeKernel, useSandbox } from "../support/kernel";
import { ipOutOfBand, kernelLink, natRules, sysctlValue } from "../support/lifecycle";
import { REPO_ROOT, makeProject, removeProject } from "../support/project";
import { INTERNET, ping, snapshot } from "../support/sandbox";

/** A bad input and the property its refusal must name. */
type BadCase = { kind: string; args: Record<string, unknown>; property: string };

const BAD_CASES: BadCase[] = [
    { kind: "NetworkNamespace", args: { name: "../etc" }, property: "name" },
    { kind: "NetworkNamespace", args: { name: "" }, property: "name" },
    { kind: "NetworkNamespace", args: { name: "lab one" }, property: "name" },
    { kind: "NetworkNamespace", args: { name: "-n" }, property: "name" },
    { kind: "Bridge", args: { name: "averyveryverylongname" }, property: "name" },
    { kind: "Bridge", args: { name: ".." }, property: "name" },
    { kind: "Bridge", args: { name: "br#0" }, property: "name" },
    { kind: "Bridge", args: { name: "br0", mtu: 20 }, property: "mtu" },
    { kind: "Bridge", args: { name: "br0", netns: "a/b" }, property: "netns" },
    { kind: "VethPair", args: { name: "v0", peer: { name: "eth0:1" } }, property: "peer.name" },
    { kind: "VethPair", args: { name: "v0", netns: "lab", peer: { name: "v0", netns: "lab" } }, property: "peer.name" },
    { kind: "VethPair", args: { name: "v0", peer: { name: "v1" }, master: "br0\nx" }, property: "master" },
    { kind: "Address", args: { device: "br0", address: "10.0.0.1" }, property: "address" },
    { kind: "Address", args: { device: "br0", address: "10.0.0.300/24" }, property: "address" },
    { kind: "Address", args: { device: "br0", address: "fd00::1/129" }, property: "address" },
    { kind: "Address", args: { device: "br 0", address: "10.0.0.1/24" }, property: "device" },
    { kind: "Route", args: { destination: "10.1.0.5/24", gateway: "10.0.0.1" }, property: "destination" },
    { kind: "Route", args: { destination: "10.1.0.0/24" }, property: "gateway" },
    { kind: "Route", args: { destination: "10.1.0.0/24", gateway: "fd00::1" }, property: "gateway" },
    { kind: "Route", args: { destination: "default", gateway: "10.0.0" }, property: "gateway" },
    { kind: "Route", args: { destination: "default", device: "eth0", metric: -1 }, property: "metric" },
    { kind: "NatRule", args: { type: "redirect" }, property: "type" },
    { kind: "NatRule", args: { type: "snat", source: "10.0.0.0/24" }, property: "toAddress" },
    { kind: "NatRule", args: { type: "dnat", toAddress: "10.0.0.2", outInterface: "eth0" }, property: "outInterface" },
    { kind: "NatRule", args: { type: "dnat", toAddress: "10.0.0.2", port: 80 }, property: "port" },
    { kind: "NatRule", args: { type: "snat", source: "10.0.0.0/24", toAddress: "fd00::1" }, property: "toAddress" },
    { kind: "Sysctl", args: { key: "net/../../etc/passwd", value: 1 }, property: "key" },
    { kind: "Sysctl", args: { key: "net.ipv4.ip_forward;reboot", value: 1 }, property: "key" },
    { kind: "Sysctl", args: { key: "net.ipv4.ip_forward", value: "1\n0" }, property: "value" },
    { kind: "IpLease", args: { subnet: "10.0.0.5/24", pool: "p" }, property: "subnet" },
    { kind: "Endpoint", args: { bridge: "br0", subnet: "10.0.0.0/24", namespace: "../etc/x" }, property: "namespace" },
    { kind: "Endpoint", args: { subnet: "10.0.0.0/24" }, property: "bridge" },
    { kind: "Endpoint", args: { bridge: "br0", subnet: "10.0.0.0/24", address: "10.0.0.0" }, property: "address" },
    { kind: "Endpoint", args: { bridge: "br0", subnet: "10.0.0.0/24", hostInterface: "h c1" }, property: "hostInterface" },
    { kind: "Endpoint", args: { bridge: "br0", subnet: "fd00::/64", gateway: "10.0.0.1" }, property: "gateway" },
    { kind: "Endpoint", args: { bridge: "br0", subnet: "10.0.0.0/24", link: { rate: "10 mbit" } }, property: "link.rate" },
    { kind: "Endpoint", args: { bridge: "br0", subnet: "10.0.0.0/24", link: { loss: "2" } }, property: "link.loss" },
    { kind: "TrafficControl", args: { device: "br0", rate: "fast" }, property: "rate" },
    { kind: "TrafficControl", args: { device: "br0" }, property: "rate" },
    { kind: "TrafficControl", args: { device: "br0", delay: "20ms", jitter: "5" }, property: "jitter" },
    { kind: "TrafficControl", args: { device: "br0", burst: "32kb" }, property: "burst" },
    { kind: "TrafficControl", args: { device: "br 0", rate: "1mbit" }, property: "device" },
    { kind: "HostsFile", args: { namespaces: ["c1"], entries: [{ address: "10.0.0.2", names: ["c 2"] }] }, property: "entries[0].names[0]" },
    { kind: "HostsFile", args: { namespaces: ["../etc"], entries: [] }, property: "namespaces[0]" },
    { kind: "HostsFile", args: { namespaces: ["c1"], entries: [], nameservers: ["8.8.8.8\nnameserver 6.6.6.6"] }, property: "nameservers[0]" },
    { kind: "FirewallChain", args: { jump: { from: "FORWARD", position: "first" }, rules: [{ action: "allow" }] }, property: "rules[0].action" },
    // The hardening cases: names other tools read specially, keys of the whole machine, numbers read otherwise.
    { kind: "NetworkNamespace", args: { name: "'x''sh''-c''id>f'" }, property: "name" },
    { kind: "NetworkNamespace", args: { name: "all" }, property: "name" },
    { kind: "NetworkNamespace", args: { name: "c\u00a0x" }, property: "name" },
    { kind: "Bridge", args: { name: "abc+" }, property: "name" },
    { kind: "Bridge", args: { name: "x%d" }, property: "name" },
    { kind: "Bridge", args: { name: "lo" }, property: "name" },
    { kind: "Bridge", args: { name: "a\u0001b" }, property: "name" },
    { kind: "VethPair", args: { name: "v9", peer: { name: "lo" } }, property: "peer.name" },
    { kind: "Address", args: { device: "br0", address: "10.0.0.1/010" }, property: "address" },
    { kind: "Address", args: { device: "br0", address: "0.0.0.0/0" }, property: "address" },
    { kind: "Address", args: { device: "br0", address: "010.0.0.1/24" }, property: "address" },
    { kind: "Route", args: { destination: "default", gateway: "0.0.0.0" }, property: "gateway" },
    { kind: "NatRule", args: { type: "masquerade", source: "10.7.0.0/24", outInterface: "up+" }, property: "outInterface" },
    { kind: "NatRule", args: { type: "dnat", toAddress: "10.0.0.2", inInterface: "!eth0" }, property: "inInterface" },
    { kind: "Sysctl", args: { key: "kernel.hostname", value: "x" }, property: "key" },
    { kind: "Sysctl", args: { key: "-p/etc/x.conf", value: 1 }, property: "key" },
    { kind: "Sysctl", args: { key: "net/ipv4.conf.all.forwarding", value: 1 }, property: "key" },
    { kind: "IpLease", args: { subnet: "10.0.0.0/24", pool: ".." }, property: "pool" },
    { kind: "IpLease", args: { subnet: "10.0.0.0/24", pool: "p2", reserved: ["10.0.0.300"] }, property: "reserved[0]" },
    { kind: "Endpoint", args: { bridge: "br0", subnet: "10.8.0.0/24", namespace: "e-lo", interfaceName: "lo" }, property: "interfaceName" },
    { kind: "FirewallChain", args: { name: "FORWARD", jump: { from: "FORWARD", position: "first" }, rules: [] }, property: "name" },
    { kind: "FirewallChain", args: { name: "drop", jump: { from: "FORWARD", position: "first" }, rules: [] }, property: "name" },
    { kind: "Vxlan", args: { vni: 0, remotes: ["192.0.2.12"] }, property: "vni" },
    { kind: "Vxlan", args: { vni: 42, remotes: ["192.0.2.12 dst 6.6.6.6"] }, property: "remotes[0]" },
    { kind: "Vxlan", args: { vni: 42, remotes: ["192.0.2.12"], localAddress: "fd00::1" }, property: "remotes[0]" },
    // Remote hosts: what ssh would read as an option, or is not what it says.
    { kind: "Bridge", args: { name: "br0", connection: { host: "-oProxyCommand=touch /tmp/x" } }, property: "connection.host" },
    { kind: "Bridge", args: { name: "br0", connection: { host: "192.0.2.11", user: "root -v" } }, property: "connection.user" },
    { kind: "Bridge", args: { name: "br0", connection: { host: "192.0.2.11", port: 70000 } }, property: "connection.port" },
    { kind: "Bridge", args: { name: "br0", connection: { host: "192.0.2.11", hostKey: "not a key" } }, property: "connection.hostKey" },
    { kind: "NatRule", args: { type: "masquerade", connection: { host: "192.0.2.11", privateKey: "password" } }, property: "connection.privateKey" },
    // Backends and other owners' chains.
    { kind: "NatRule", args: { type: "masquerade", source: "10.7.0.0/24", backend: "pf" }, property: "backend" },
    { kind: "FirewallChain", args: { backend: "nft", jump: { from: "FORWARD", position: "first" }, rules: [] }, property: "backend" },
    { kind: "AcceptIn", args: { chain: "inet hostfw", interface: "br0", subnets: ["10.0.0.0/24"] }, property: "chain" },
    { kind: "AcceptIn", args: { chain: "inet hostfw forward; flush ruleset", interface: "br0", subnets: ["10.0.0.0/24"] }, property: "chain" },
    { kind: "AcceptIn", args: { chain: "ip hostfw forward", interface: "br0", subnets: ["fd00::/64"] }, property: "subnets[0]" },
    { kind: "AcceptIn", args: { chain: "inet hostfw forward", interface: "br0", subnets: [] }, property: "subnets" },
    { kind: "AcceptIn", args: { chain: "inet hostfw forward", interface: "br+", subnets: ["10.0.0.0/24"] }, property: "interface" },
];

describeKernel("faults through the test engine", () => {
    const sb = useSandbox();
    const projects: string[] = [];
    const project = (dir: string) => {
        const made = makeProject({ copyFrom: path.join(REPO_ROOT, dir) });
        projects.push(made);
        return made;
    };
    afterEach(async () => {
        for (const dir of projects.splice(0)) removeProject(dir);
    });

    /** Runs the cases program (preview first, as `pulumi up` does) and returns the result. */
    async function upCases(
        cases: { kind: string; name?: string; args: Record<string, unknown> }[],
        dir = project("test/e2e/programs/cases"),
    ): Promise<Result & { output: string }> {
        const lines: string[] = [];
        const result = await run({
            operation: "up",
            programDir: dir,
            stack: "faults",
            stateFile: path.join(dir, "state.json"),
            config: { cases: JSON.stringify(cases) },
            print: (l) => lines.push(l),
        });
        return { ...result, output: lines.join("\n") };
    }

    it(`refuses ${BAD_CASES.length} bad inputs, each naming its property, and creates nothing`, async () => {
        const before = await snapshot(sb.hostNs);
        const namespaces = netnsList().filter((name) => name.startsWith(sb.prefix));
        const stateDir = process.env.PULUMI_OVERLAY_STATE_DIR!;
        const records = existsSync(stateDir) ? readdirSync(stateDir) : [];
        // A good resource among them: the preview fails, so it is not created either.
        const good = { kind: "NetworkNamespace", args: { name: sb.ns("good") } };
        // The program stops at the first refusal it hears of (as under Pulumi), so a run may end
        // before every case is checked: cases not yet reported go again, until each has been.
        const cases = BAD_CASES.map((c, i) => ({
            ...c,
            name: `case${i + 1}`,
            args: { ...c.args, netns: c.args.netns ?? (c.kind === "NetworkNamespace" ? undefined : sb.hostNs) },
        }));
        const errors = new Map<string, string>();
        let remaining = cases;
        while (remaining.length > 0) {
            const result = await upCases([{ ...good, name: "case0" }, ...remaining]);
            expect(result.ok).toBe(false);
            const reported = remaining.filter((c) => {
                const urn = `pulumi-nodejs:dynamic/overlay:${c.kind}::${c.name}: check failed: `;
                const error = result.errors.find((e) => e.includes(urn));
                if (error) errors.set(c.name, error);
                return error !== undefined;
            });
            expect(reported.length, `no case of ${remaining.length} was reported: ${result.errors.join("; ")}`).toBeGreaterThan(0);
            remaining = remaining.filter((c) => !errors.has(c.name));
        }
        cases.forEach((c) => {
            const error = errors.get(c.name)!;
            expect(error.slice(error.indexOf("check failed: ") + 14), `${c.name} (${c.kind} ${JSON.stringify(c.args)})`).toMatch(
                new RegExp(`^${c.property.replace(/[[\].]/g, "\\$&")}: `),
            );
        });
        expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespaces);
        expect(netnsExists(sb.ns("good"))).toBe(false);
        expect(await snapshot(sb.hostNs)).toEqual(before);
        expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual(records);
    });

    it("refuses a namespace that does not exist, and creates nothing", async () => {
        const ghost = sb.ns("ghost");
        const result = await upCases([{ kind: "Bridge", args: { name: "br0", netns: ghost } }]);
        expect(result.ok).toBe(false);
        expect(result.errors.join("\n")).toContain(`network namespace "${ghost}" does not exist`);
        expect(netnsExists(ghost)).toBe(false);
    });

    it("never changes or removes a bridge, a namespace or an iptables rule that were there before", async () => {
        const dir = project("examples/tutorial-overlay");
        const engine = engineFor(dir, path.join(dir, "state.json"), { sandbox: "false", hostNamespace: sb.hostNs, uplink: sb.uplink, prefix: `${sb.prefix}-` });
        await ipOutOfBand(sb.hostNs, "link", "add", "br0", "mtu", "1450", "type", "bridge");
        await netnsAdd(sb.ns("c1"));
        await ipOutOfBand(sb.ns("c1"), "link", "set", "lo", "alias", "theirs");
        await runCommand(
            toolCommand(sb.hostNs, "iptables", ["-w", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-o", sb.uplink, "-j", "MASQUERADE"]),
        );
        const before = await snapshot(sb.hostNs);
        const theirLo = await linkGet(sb.ns("c1"), "lo");

        const lines: string[] = [];
        const up = await run({
            operation: "up",
            programDir: dir,
            stack: "test",
            stateFile: path.join(dir, "state.json"),
            config: { sandbox: "false", hostNamespace: sb.hostNs, uplink: sb.uplink, prefix: `${sb.prefix}-` },
            print: (l) => lines.push(l),
            skipPreview: true,
            // Every refusal, not only the first: as `pulumi up --continue-on-error`.
            continueOnError: true,
        });
        expect(up.ok).toBe(false);
        const errors = up.errors.join("\n");
        expect(errors).toContain(`bridge "br0" already exists in network namespace "${sb.hostNs}"`);
        expect(errors).toContain(`network namespace "${sb.ns("c1")}" already exists`);
        expect(errors).toContain("identical masquerade rule without a pulumi-overlay mark already exists");

        await engine("destroy");
        expect((await kernelLink(sb.hostNs, "br0"))?.mtu).toBe(1450);
        expect(await linkGet(sb.ns("c1"), "lo")).toEqual(theirLo);
        expect(await snapshot(sb.hostNs)).toEqual(before);
        expect((await natRules(sb.hostNs)).match(/-j MASQUERADE/g)).toHaveLength(1);
    });

    it("drift: a namespace, a veth, an address, a route, a NAT rule and a sysctl changed or removed by hand; refresh reports each, up repairs each", async () => {
        const dir = project("examples/tutorial-overlay");
        const engine = engineFor(dir, path.join(dir, "state.json"), { sandbox: "false", hostNamespace: sb.hostNs, uplink: sb.uplink, prefix: `${sb.prefix}-` });
        await engine("up");
        const [c1, c2] = [sb.ns("c1"), sb.ns("c2")];
        await ipOutOfBand(sb.hostNs, "netns", "delete", c2); // the namespace (its veth, address and route go too)
        await ipOutOfBand(sb.hostNs, "link", "set", "veth-c1", "down"); // a veth
        await ipOutOfBand(sb.hostNs, "addr", "del", "10.0.0.1/24", "dev", "br0"); // an address
        await ipOutOfBand(c1, "route", "del", "default"); // a route
        await runCommand(toolCommand(sb.hostNs, "iptables", ["-w", "-t", "nat", "-F", "POSTROUTING"])); // the NAT rule
        await runCommand(toolCommand(sb.hostNs, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=0"])); // a sysctl
        expect(await ping(c1, INTERNET.gateway, 1)).toBe(false);

        const refresh = await engine("refresh");
        expect(stepsOf(refresh, "delete")).toEqual([
            "Address br0-gateway",
            "Address c2-address",
            "NatRule masquerade",
            "NetworkNamespace c2",
            "Route c1-default",
            "Route c2-default",
            "VethPair c2-veth",
        ]);
        expect(refresh.steps.filter((s) => s.op === "refresh").map((s) => `${s.name} [${s.keys}]`)).toEqual(
            expect.arrayContaining(["c1-veth [up]", "ip-forward [value]"]),
        );

        const repair = await engine("up");
        // Exactly what refresh found gone is made again.
        expect(stepsOf(repair, "create")).toEqual(stepsOf(refresh, "delete"));
        expect(stepsOf(repair, "update")).toEqual(["Sysctl ip-forward", "VethPair c1-veth"]);
        expect(await ping(c1, "10.0.0.3")).toBe(true);
        expect(await ping(c2, INTERNET.gateway)).toBe(true);
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("1");
        await engine("destroy");
    });

    it("two stacks in one host namespace go up and down in parallel without interfering (one declares containers as four resources each, the other as Endpoints)", async () => {
        const before = await snapshot(sb.hostNs);
        const stacks = ["a", "b"].map((s, i) => {
            const dir = project("bench/program");
            return engineFor(dir, path.join(dir, "state.json"), {
                containers: "4",
                hostNamespace: sb.hostNs,
                prefix: `${sb.prefix}-${s}`,
                uplink: sb.uplink,
                bridge: `br-${s}`,
                subnet: String(i + 1),
                vethPrefix: `v${s}`,
                shape: i === 0 ? "resources" : "endpoints",
            });
        });
        const ups = await Promise.all(stacks.map((engine) => engine("up")));
        expect(ups.map((r) => r.summary.create)).toEqual([20, 8]);
        expect(await ping(sb.ns("ac1"), "10.1.0.6")).toBe(true); // a's c1 -> a's c4
        expect(await ping(sb.ns("bc2"), "10.2.0.1")).toBe(true); // b's c2 -> its gateway
        expect(await ping(sb.ns("bc3"), INTERNET.gateway)).toBe(true);
        // Destroying one leaves the other working, forwarding included (both set it; the last restores it).
        await stacks[0]("destroy");
        expect(await ping(sb.ns("bc3"), INTERNET.gateway)).toBe(true);
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("1");
        await stacks[0]("up");
        await Promise.all(stacks.map((engine) => engine("destroy")));
        expect(await snapshot(sb.hostNs)).toEqual(before);
    });

    it("names and values with shell metacharacters are refused at preview naming the property, or passed as plain arguments, never run", async () => {
        const dir = project("test/e2e/programs/cases");
        const marker = path.join(dir, "pwned");
        // Names go through ip's batch parser, iptables and the kernel: an allow-list refuses them all at check.
        const names = ["br;id", "x>pwned", "`id`$(id)", "a|b&c'", "*?[]", "'x''sh''-c''t'"];
        const refused = await upCases(
            [
                ...names.map((name) => ({ kind: "Bridge", args: { name, netns: sb.hostNs } })),
                { kind: "NetworkNamespace", args: { name: "'x''sh''-c''touch pwned'" } },
                { kind: "NetworkNamespace", args: { name: "a\nb" } },
                { kind: "NetworkNamespace", args: { name: ".." } },
                { kind: "Sysctl", args: { key: "net.ipv4.ip_forward$(touch pwned)", value: 1 } },
                {
                    kind: "Endpoint",
                    args: { namespace: `${sb.prefix}-e;touch pwned`, bridge: "br-e", hostInterface: "h`id`|x>y", subnet: "10.9.0.0/24", netns: sb.hostNs },
                },
            ],
            dir,
        );
        const checkFailures = refused.errors.filter((e) => e.includes("check failed"));
        expect(checkFailures).toHaveLength(names.length + 5);
        for (const name of names) expect(await kernelLink(sb.hostNs, name), name).toBeUndefined();
        expect(existsSync(marker)).toBe(false);

        // A free-form value is passed whole, as one argument: sysctl refuses it, no shell runs it.
        const value = await upCases([{ kind: "Sysctl", args: { key: "net.ipv4.ip_forward", value: "1; touch pwned", netns: sb.hostNs } }], dir);
        expect(value.errors.join("\n")).toMatch(/sysctl/);
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("0");
        expect(existsSync(marker)).toBe(false);

        // An Endpoint's steps travel through nested ip batch files: names with dots, dashes and
        // underscores arrive whole.
        await ipOutOfBand(sb.hostNs, "link", "add", "br-e", "type", "bridge");
        const namespace = `${sb.prefix}-e_.-x`;
        const endpoint = await upCases(
            [
                {
                    kind: "Endpoint",
                    args: { namespace, bridge: "br-e", hostInterface: "h_.-x", interfaceName: "in_.-x", subnet: "10.9.0.0/24", netns: sb.hostNs },
                },
            ],
            dir,
        );
        expect(endpoint.errors).toEqual([]);
        expect(netnsExists(namespace)).toBe(true);
        expect(await kernelLink(sb.hostNs, "h_.-x")).toMatchObject({ master: "br-e" });
        expect(await kernelLink(namespace, "in_.-x")).toBeDefined();
        expect(existsSync(marker)).toBe(false);
    });
});
