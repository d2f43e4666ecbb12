import { describe, expect, it } from "vitest";
import { dropDiagnosis, forwardDrops } from "../../../providers/forwardDrops";
import { probePairs, provider } from "../../../providers/networkProbe";
import { UNKNOWN } from "../../../providers/validate";

// What `nft -j list ruleset` prints for a firewalld-like table next to iptables-nft's own.
const RULESET = {
    nftables: [
        { metainfo: { version: "1.0.6" } },
        { table: { family: "inet", name: "hostfw", handle: 1 } },
        { chain: { family: "inet", table: "hostfw", name: "forward", handle: 1, type: "filter", hook: "forward", prio: 0, policy: "drop" } },
        { chain: { family: "inet", table: "hostfw", name: "input", handle: 2, type: "filter", hook: "input", prio: 0, policy: "drop" } },
        { chain: { family: "inet", table: "other", name: "fwd", handle: 1, type: "filter", hook: "forward", prio: 10, policy: "accept" } },
        { chain: { family: "ip", table: "filter", name: "FORWARD", handle: 3, type: "filter", hook: "forward", prio: 0, policy: "drop" } },
        { chain: { family: "inet", table: "hostfw", name: "helper", handle: 4 } },
    ],
};

const rule = (table: string, chain: string, expr: unknown[]) => ({ rule: { family: "inet", table, chain, handle: 9, expr } });

describe("other owners' drops", () => {
    it("finds base chains that drop by policy on the forward and input hooks, leaving out iptables' FORWARD and chains that accept", () => {
        expect(forwardDrops(RULESET)).toEqual([
            { family: "inet", table: "hostfw", chain: "forward", hook: "forward", priority: 0, how: "policy drop", definite: true, iptables: false },
            { family: "inet", table: "hostfw", chain: "input", hook: "input", priority: 0, how: "policy drop", definite: true, iptables: false },
        ]);
        expect(forwardDrops({ nftables: [] })).toEqual([]);
        expect(forwardDrops(undefined)).toEqual([]);
    });

    it("with the nftables backend, iptables' FORWARD policy DROP (Docker's) is a foreign drop too", () => {
        const drops = forwardDrops(RULESET, { backend: "nftables" });
        expect(drops.map((d) => `${d.family} ${d.table} ${d.chain} ${d.iptables}`)).toContain("ip filter FORWARD true");
        expect(dropDiagnosis(drops, "br0")).toContain('for iptables\' own chain: use firewall: { backend: "iptables" }');
    });

    it("a final drop or reject rule drops too; a chain that names the bridge, a wildcard over it, the subnet, or jumps elsewhere is not a definite drop", () => {
        const chain = { chain: { family: "inet", table: "fw", name: "fwd", handle: 1, type: "filter", hook: "forward", prio: 0, policy: "accept" } };
        const ct = { match: { op: "in", left: { ct: { key: "state" } }, right: ["established", "related"] } };
        const iif = (name: string) => ({ match: { op: "==", left: { meta: { key: "iifname" } }, right: name } });
        const judge = (rules: unknown[][]) =>
            forwardDrops({ nftables: [chain, ...rules.map((expr) => rule("fw", "fwd", expr))] }, { bridge: "br0", subnets: ["10.0.0.0/24"] });
        expect(
            judge([
                [ct, { accept: null }],
                [{ counter: { packets: 1, bytes: 2 } }, { reject: null }],
            ]),
        ).toMatchObject([{ how: "a final reject rule", definite: true }]);
        expect(judge([[ct, { accept: null }], [{ drop: null }]])).toMatchObject([{ how: "a final drop rule", definite: true }]);
        expect(judge([[iif("eth0"), { drop: null }]])).toEqual([]); // a conditional drop is no final one
        expect(judge([[iif("br0"), { accept: null }], [{ drop: null }]])).toMatchObject([{ definite: false }]);
        expect(judge([[iif("br*"), { accept: null }], [{ drop: null }]])).toMatchObject([{ definite: false }]);
        expect(judge([[iif("veth*"), { accept: null }], [{ drop: null }]])).toMatchObject([{ definite: true }]);
        expect(
            judge([
                [
                    { match: { op: "==", left: { payload: { protocol: "ip", field: "saddr" } }, right: { prefix: { addr: "10.0.0.0", len: 24 } } } },
                    { accept: null },
                ],
                [{ drop: null }],
            ]),
        ).toMatchObject([{ definite: false }]);
        expect(judge([[{ vmap: { key: { meta: { key: "iifname" } }, data: { set: [] } } }], [{ drop: null }]])).toMatchObject([{ definite: false }]);
        // Our own table is never a foreign drop.
        expect(forwardDrops({ nftables: [{ chain: { ...chain.chain, table: "pulumi_overlay", policy: "drop" } }] })).toEqual([]);
    });

    it("the diagnosis names the chain and the remedies, or says no drop was found", () => {
        const text = dropDiagnosis(forwardDrops(RULESET), "br0");
        expect(text).toContain('"inet hostfw forward" (hook forward, policy drop)');
        expect(text).toContain('firewall: { acceptIn: ["inet hostfw forward", "inet hostfw input"] }');
        expect(text).toContain('nft insert rule inet hostfw forward iifname "br0" accept');
        expect(text).toContain("firewall-cmd --zone=trusted --add-interface=br0");
        expect(text).not.toContain("DOCKER-USER");
        expect(dropDiagnosis([], "br0")).toMatch(/^no nftables chain of another owner drops forwarded traffic/);
    });

    it("probe pairs: each member to the gateway, and around the ring to the next one", () => {
        const member = (n: number) => ({ name: `c${n}`, namespace: `ns${n}`, address: `10.0.0.${n + 1}` });
        expect(probePairs({ gateway: "10.0.0.1", members: [member(1)] }).map((p) => p.label)).toEqual(["c1 (10.0.0.2) -> gateway 10.0.0.1"]);
        expect(probePairs({ gateway: "10.0.0.1", members: [member(1), member(2)] }).map((p) => p.to)).toEqual(["10.0.0.1", "10.0.0.1", "10.0.0.3"]);
        expect(probePairs({ gateway: "10.0.0.1", members: [1, 2, 3].map(member) }).map((p) => `${p.from.name}>${p.to}`)).toEqual([
            "c1>10.0.0.1",
            "c2>10.0.0.1",
            "c3>10.0.0.1",
            "c1>10.0.0.3",
            "c2>10.0.0.4",
            "c3>10.0.0.2",
        ]);
    });

    it("a probe's members unknown at preview pass its check; known bad ones are named", async () => {
        const base = { logicalName: "p", bridge: "br0", gateway: "10.0.0.1" };
        expect((await provider.check!({}, { ...base, members: UNKNOWN })).failures).toEqual([]);
        expect((await provider.check!({}, { ...base, members: [UNKNOWN, { name: "c1", namespace: UNKNOWN, address: UNKNOWN }] })).failures).toEqual([]);
        expect(
            (await provider.check!({}, { ...base, members: [{ name: "c1", namespace: "c1", address: "10.0.0.300" }] })).failures?.map((f) => f.property),
        ).toEqual(["members[0].address"]);
    });
});
