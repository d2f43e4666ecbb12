/**
 * Two subnets joined through a router: hosts a1 and b1 each sit on their own subnet, cabled to a
 * router namespace that forwards between them. Every object lives in namespaces this stack
 * makes, so the machine's own network is never touched.
 *
 *   [a1] eth0 10.1.0.2/24 ── to-a 10.1.0.1/24 [router] to-b 10.2.0.1/24 ── eth0 10.2.0.2/24 [b1]
 *        route 10.2.0.0/24 via 10.1.0.1        ip_forward=1          route 10.1.0.0/24 via 10.2.0.1
 */
import * as pulumi from "@pulumi/pulumi";
import { Address, NetworkNamespace, Route, Sysctl, VethPair } from "pulumi-overlay";

const config = new pulumi.Config();
const prefix = config.get("prefix") ?? "";

/** The n-th host address of a /24 written as a.b.c.0/24. */
function host(subnet: string, n: number): string {
    const [network] = subnet.split("/");
    return network.split(".").slice(0, 3).concat(String(n)).join(".");
}

const subnets = { a: config.get("subnetA") ?? "10.1.0.0/24", b: config.get("subnetB") ?? "10.2.0.0/24" };
const router = new NetworkNamespace("router", { name: `${prefix}router` });
new Sysctl("router-forwarding", { key: "net.ipv4.ip_forward", value: 1, netns: router.name });

const sides = (["a", "b"] as const).map((side) => {
    const subnet = subnets[side];
    const ns = new NetworkNamespace(`${side}1`, { name: `${prefix}${side}1` });
    const cable = new VethPair(`${side}-cable`, { name: `to-${side}`, netns: router.name, peer: { name: "eth0", netns: ns.name } });
    const routerAddress = new Address(`router-${side}`, { device: cable.name, address: `${host(subnet, 1)}/24`, netns: router.name });
    const hostAddress = new Address(`${side}1-address`, { device: cable.peerName, address: `${host(subnet, 2)}/24`, netns: ns.name });
    return { side, subnet, ns, cable, routerAddress, hostAddress, gateway: host(subnet, 1), address: host(subnet, 2) };
});

// Each host reaches the other subnet through the router.
for (const [here, there] of [
    [sides[0], sides[1]],
    [sides[1], sides[0]],
]) {
    new Route(
        `${here.side}1-to-${there.side}`,
        // The device from the cable (a property dependency): if the cable is replaced, the kernel
        // drops the route with it, and Pulumi replaces the route too.
        { destination: there.subnet, gateway: here.gateway, device: here.cable.peerName, netns: here.ns.name },
        { dependsOn: [here.hostAddress, here.routerAddress] },
    );
}

export const hosts = Object.fromEntries(sides.map((s) => [`${s.side}1`, s.address]));
export const tryNext = pulumi
    .all([sides[0].ns.name, sides[1].ns.name])
    .apply(([a1, b1]) => [`sudo ip netns exec ${a1} ping -c 1 ${sides[1].address}`, `sudo ip netns exec ${b1} traceroute -n ${sides[0].address}`]);
