/** BridgeNetwork under Pulumi's mocks: what it declares, its diagram, and the errors it raises at once. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BridgeNetwork, Endpoint, NetworkNamespace, Sysctl, renderDiagram } from "../../../sdk";
import { resetProgramChecks } from "../../../sdk/programChecks";

const registered: { type: string; name: string; inputs: Record<string, any> }[] = [];

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state: Record<string, unknown> = { ...args.inputs };
                if (args.type.endsWith(":Endpoint"))
                    Object.assign(state, { ip: args.inputs.address ?? "10.0.0.9", cidr: `${args.inputs.address ?? "10.0.0.9"}/24` });
                return { id: `${args.name}-id`, state };
            },
            call: () => ({}),
        },
        "project",
        "stack",
        false,
    );
});

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

describe("BridgeNetwork", () => {
    beforeEach(() => resetProgramChecks());
    it("declares a bridge, the gateway, isolation chains, egress, and per attachment one Endpoint", async () => {
        const net = new BridgeNetwork("lab", { subnet: "10.0.0.0/24", bridge: { name: "br0" }, egress: { outInterface: "eth0" }, namespacePrefix: "t-" });
        const c1 = net.attach("c1").publish({ hostPort: 8080, port: 80 });
        net.attach("c2", { address: "10.0.0.3" });
        expect(await value(c1.namespace)).toBe("t-c1");
        expect(await value(c1.address)).toBe("10.0.0.9");
        expect(await value(net.reserved)).toEqual(["10.0.0.3"]);
        const picture = await value(net.diagram());
        expect(picture.mermaid).toContain("bridge br0<br/>10.0.0.1 (gateway)<br/>10.0.0.0/24");
        expect(picture.mermaid).toContain("published 8080->80/tcp");
        expect(picture.dot).toContain("br_br0 -- ns_t_c1;");
        await value(c1.urn); // registered once its dependencies resolve
        const names = registered.map((r) => `${r.type.split(":").at(-1)} ${r.name}`);
        expect(names).toEqual(
            expect.arrayContaining([
                "BridgeNetwork lab",
                "Bridge lab-bridge",
                "Address lab-gateway",
                "FirewallChain lab-in",
                "FirewallChain lab-out",
                "Sysctl lab-forwarding",
                "NatRule lab-masquerade",
                "Endpoint lab-c1",
                "Endpoint lab-c2",
                "NatRule lab-c1-tcp8080-in",
                "NatRule lab-c1-tcp8080-local",
            ]),
        );
        expect(names.filter((n) => n.startsWith("Sysctl"))).toHaveLength(1);
        const endpoint = registered.find((r) => r.name === "lab-c1")!;
        expect(endpoint.inputs).toMatchObject({ namespace: "t-c1", bridge: "br0", subnet: "10.0.0.0/24", gateway: "10.0.0.1", reserved: ["10.0.0.3"] });
        expect(registered.find((r) => r.name === "lab-c2")!.inputs).toMatchObject({ address: "10.0.0.3" });
        const chain = registered.find((r) => r.name === "lab-in")!;
        expect(chain.inputs.rules.at(-1)).toEqual({ action: "drop" });
        expect(registered.find((r) => r.name === "lab-c1-tcp8080-local")!.inputs).toMatchObject({
            type: "dnat",
            chain: "OUTPUT",
            port: 8080,
            toPort: 80,
            destinationLocal: true,
        });
    });

    it("refuses bad subnets, gateways and addresses before anything is declared for them", () => {
        expect(() => new BridgeNetwork("bad1", { subnet: "10.0.0.5/24" })).toThrow(
            "BridgeNetwork bad1: subnet '10.0.0.5/24' has host bits set; the subnet is 10.0.0.0/24",
        );
        expect(() => new BridgeNetwork("bad2", { subnet: "10.0.0.0/24", gateway: "10.1.0.1" })).toThrow(/gateway 10.1.0.1 is outside the subnet/);
        expect(() => new BridgeNetwork("bad3", { subnet: "10.0.0.0/24", allowFrom: ["fd00::/64"] })).toThrow(/allowFrom fd00::\/64 is IPv6/);
        const net = new BridgeNetwork("ok", { subnet: "10.0.0.0/24" });
        expect(() => net.attach("x", { address: "10.0.1.2" })).toThrow('BridgeNetwork ok: attach("x"): address 10.0.1.2 is outside the subnet 10.0.0.0/24');
        expect(() => net.attach("x", { address: "10.0.0.1" })).toThrow(/is the gateway/);
        expect(() => net.attach("x", { address: "10.0.0.255" })).toThrow(/broadcast/);
        net.attach("a", { address: "10.0.0.7" });
        expect(() => net.attach("b", { address: "10.0.0.7" })).toThrow('address 10.0.0.7 is already given to "a"');
        expect(() => net.attach("c").publish({ hostPort: 70000, port: 80 })).toThrow(/hostPort 70000 is not a port/);
    });

    it("refuses at once what up would certainly refuse, across the resources of the program", () => {
        new BridgeNetwork("one", { subnet: "10.1.0.0/24", bridge: { name: "br1" }, egress: { outInterface: "eth0" } });
        expect(() => new BridgeNetwork("two", { subnet: "10.1.0.128/25" })).toThrow(
            "BridgeNetwork two: subnet 10.1.0.128/25 overlaps 10.1.0.0/24 of BridgeNetwork one in the root network namespace",
        );
        new BridgeNetwork("elsewhere", { subnet: "10.1.0.0/24", netns: "lab" }); // another namespace: no overlap
        expect(() => new BridgeNetwork("three", { subnet: "10.3.0.0/24", bridge: { name: "br1" } })).toThrow(
            /bridge br1 in the root network namespace is already taken by Bridge "one-bridge"/,
        );
        expect(() => new Sysctl("off", { key: "net.ipv4.ip_forward", value: 0 })).toThrow(
            /sets net.ipv4.ip_forward to '0' .* but Sysctl "one-forwarding" sets it to '1'/,
        );
        const small = new BridgeNetwork("small", { subnet: "10.4.0.0/30" });
        const a = small.attach("a");
        expect(() => small.attach("b")).toThrow(
            'BridgeNetwork small: attach("b"): subnet 10.4.0.0/30 has room for 1 attachment(s), the gateway aside; use a larger subnet',
        );
        expect(() => small.attach("a")).toThrow(/room for 1/);
        const net = new BridgeNetwork("net", { subnet: "10.5.0.0/24", namespacePrefix: "p-" });
        expect(() => net.attach("c1", { namespace: "small-ns" })).not.toThrow();
        expect(() => net.attach("c2", { namespace: "small-ns" })).toThrow(/network namespace "small-ns" is already made by Endpoint "net-c1"/);
        expect(() => new NetworkNamespace("ns", { name: "p-c1x" })).not.toThrow();
        expect(() => new Endpoint("e", { namespace: "p-c1x", bridge: "br9", subnet: "10.6.0.0/24" })).toThrow(/already made by NetworkNamespace "ns"/);
        a.publish({ hostPort: 8080, port: 80 });
        expect(() => a.publish({ hostPort: 8080, port: 81 })).toThrow(/host port tcp\/8080 in the root network namespace is already taken/);
        expect(() => net.attach("c3").publish({ hostPort: 8080, port: 80 })).toThrow(/already taken by attachment "a" of BridgeNetwork small/);
        expect(() => net.attach("c4").publish({ hostPort: 8080, port: 80, protocol: "udp" })).not.toThrow();
    });

    it("renders a plain diagram", () => {
        const { mermaid, dot } = renderDiagram({ name: "n", subnet: "10.0.0.0/24", gateway: "10.0.0.1", bridge: "br0", attachments: [] });
        expect(mermaid.startsWith("flowchart LR\n")).toBe(true);
        expect(dot).toContain('label="host"');
    });
});
