/**
 * Property tests of names: strings drawn with a bias to what tools read specially (quotes, `%`,
 * `+`, `-`, `!`, `#`, whitespace, control and multibyte characters, ip keywords) go through
 * check. Whatever check accepts is created on the kernel, read back under exactly that name, and
 * deleted leaving nothing; whatever it refuses names the property. And ip's batch quoting either
 * carries a string through the batch parser and back exactly, or refuses it.
 *
 * `npm test` runs a few hundred cases; `npm run test:property` runs many more
 * (`PROPERTY_RUNS`, per property).
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import {
    BatchQuoteError,
    ipBatchCommand,
    ipCommand,
    linkGet,
    netnsExists,
    netnsList,
    parseJsonLines,
    runCommand,
    runJson,
    untilLinksGone,
} from "../../providers/host";
import { inOtherNetns, type LinkInfo } from "../../providers/host/ip";
import { writeBatchFile } from "../../providers/host";
import { checkNamespaceName } from "../../providers/validate";
import { provider as bridge } from "../../providers/bridge";
import { provider as endpoint } from "../../providers/endpoint";
import { provider as veth } from "../../providers/veth";
import { describeKernel, useSandbox } from "../support/kernel";

const RUNS = Number(process.env.PROPERTY_RUNS) || 100;
/** Time for one property: about 50 ms a kernel case at most. */
const TIMEOUT = 60_000 + RUNS * 100;

/** Characters other programs read specially, and a few plain ones to make names of. */
const SPECIAL = [
    "'",
    '"',
    "%",
    "d",
    "+",
    "-",
    "!",
    "#",
    " ",
    "\t",
    "\n",
    "\r",
    "\u0001",
    "\u007f",
    "\u00a0",
    "\u00fc",
    "\u4e2d",
    "\\",
    "/",
    ":",
    "*",
    "$",
    "(",
    ")",
    ";",
    "|",
    "&",
    ">",
    "<",
    "`",
    "=",
    "@",
    ",",
    ".",
];
const PLAIN = ["a", "b", "x", "0", "9", "_", "-", "."];
const KEYWORDS = ["help", "h", "up", "down", "dev", "name", "type", "all", "lo", "default", "master", "peer", "netns", "add", "del"];

/** A name: biased to special characters, plain ones, and keywords of ip. */
const nameArb = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...SPECIAL, ...PLAIN), minLength: 0, maxLength: 17 }) },
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...PLAIN), minLength: 1, maxLength: 15 }) },
    { weight: 1, arbitrary: fc.constantFrom(...KEYWORDS) },
);

type Props = Record<string, any>;

/** Check, and either the failures name `property`, or there are none. Returns the inputs when accepted. */
async function checkedOrRefused(
    provider: { check?: (o: Props, n: Props) => Promise<{ inputs?: Props; failures?: { property: string; reason: string }[] }> },
    news: Props,
    properties: string[],
): Promise<Props | undefined> {
    const { inputs, failures = [] } = await provider.check!({}, news);
    if (failures.length === 0) return inputs;
    for (const f of failures) {
        expect(properties, JSON.stringify(f)).toContain(f.property);
        expect(f.reason.startsWith(f.property), f.reason).toBe(true);
    }
    return undefined;
}

describeKernel("property: names that check accepts are made exactly; the rest are refused naming the property", () => {
    const sb = useSandbox();

    it(`ip's batch quoting carries ${RUNS * 4} strings through the parser and back exactly, or refuses them`, async () => {
        // Through `ip -batch -` and through a nested batch file, as a link alias that ip -j prints back.
        const strings = fc.sample(fc.string({ unit: fc.constantFrom(...SPECIAL, ...PLAIN, "\u0000"), minLength: 0, maxLength: 24 }), RUNS * 4);
        const carried = strings.filter((s) => {
            try {
                ipBatchCommand(undefined, [["x", s]]);
                return s !== "" && Buffer.byteLength(s) < 250; // an alias is 1 to 255 bytes
            } catch (err) {
                expect(err).toBeInstanceOf(BatchQuoteError);
                expect(/[#\r\n\0]/.test(s) || (s.includes("'") && s.includes('"'))).toBe(true);
                return false;
            }
        });
        expect(carried.length).toBeGreaterThan(RUNS);
        const steps = carried.flatMap((s) => [
            ["link", "set", "dev", "lo", "alias", s],
            ["link", "show", "dev", "lo"],
        ]);
        const direct = parseJsonLines<LinkInfo[]>((await runCommand(ipBatchCommand(sb.hostNs, steps, undefined, ["-j"]))).stdout);
        expect(direct.map((rows) => rows[0].ifalias)).toEqual(carried);
        const file = writeBatchFile(steps);
        try {
            const nested = await runCommand(ipBatchCommand(undefined, [inOtherNetns(sb.hostNs, ["-batch", file.path], ["-j"])], undefined, ["-j"]));
            expect(parseJsonLines<LinkInfo[]>(nested.stdout).map((rows) => rows[0].ifalias)).toEqual(carried);
        } finally {
            file.remove();
        }
    });

    it(
        `bridge names (${RUNS} drawn): made and read back under exactly that name, deleted leaving nothing`,
        async () => {
            const before = await runJson<LinkInfo[]>(ipCommand(sb.hostNs, ["-j", "link", "show"]));
            let made = 0;
            await fc.assert(
                fc.asyncProperty(nameArb, async (name) => {
                    const inputs = await checkedOrRefused(bridge, { logicalName: "b", name, netns: sb.hostNs }, ["name"]);
                    if (!inputs) return;
                    const { id, outs } = await bridge.create(inputs);
                    made += 1;
                    expect((await linkGet(sb.hostNs, name))?.linkinfo?.info_kind).toBe("bridge");
                    expect(outs.name).toBe(name);
                    expect((await bridge.read!(id, outs)).props?.name).toBe(name);
                    await bridge.delete!(id, outs);
                    expect(await linkGet(sb.hostNs, name)).toBeUndefined();
                }),
                { numRuns: RUNS },
            );
            expect(made).toBeGreaterThan(0);
            expect(await runJson<LinkInfo[]>(ipCommand(sb.hostNs, ["-j", "link", "show"]))).toEqual(before);
        },
        TIMEOUT,
    );

    it(
        `veth pair names (${RUNS} drawn pairs): both ends exactly as named, or the property refused`,
        async () => {
            await fc.assert(
                fc.asyncProperty(nameArb, nameArb, async (name, peer) => {
                    const inputs = await checkedOrRefused(veth, { logicalName: "v", name, netns: sb.hostNs, peer: { name: peer, netns: sb.hostNs } }, [
                        "name",
                        "peer.name",
                    ]);
                    if (!inputs) return;
                    const { id, outs } = await veth.create(inputs);
                    expect((await linkGet(sb.hostNs, name))?.linkinfo?.info_kind).toBe("veth");
                    expect((await linkGet(sb.hostNs, peer))?.linkinfo?.info_kind).toBe("veth");
                    await veth.delete!(id, outs);
                    expect(await linkGet(sb.hostNs, name)).toBeUndefined();
                    expect(await linkGet(sb.hostNs, peer)).toBeUndefined();
                }),
                { numRuns: RUNS },
            );
        },
        TIMEOUT,
    );

    it(
        `endpoint names (${RUNS} drawn): the namespace, both ends and the lease exactly as named, and nothing left`,
        async () => {
            await runCommand(ipCommand(sb.hostNs, ["link", "add", "name", "br0", "type", "bridge"]));
            const namespaces = netnsList().filter((name) => name.startsWith(sb.prefix));
            let n = 0;
            await fc.assert(
                fc.asyncProperty(nameArb, nameArb, nameArb, async (suffix, hostInterface, interfaceName) => {
                    // Namespace names are global: always under this test's prefix.
                    n += 1;
                    const ns = `${sb.prefix}-p${n}${suffix}`;
                    const news = { logicalName: "e", namespace: ns, bridge: "br0", subnet: "10.8.0.0/24", netns: sb.hostNs, hostInterface, interfaceName };
                    const inputs = await checkedOrRefused(endpoint, news, ["namespace", "hostInterface", "interfaceName"]);
                    if (!inputs) return;
                    const { id, outs } = await endpoint.create(inputs);
                    expect(netnsExists(ns)).toBe(true);
                    expect((await linkGet(ns, interfaceName))?.linkinfo?.info_kind).toBe("veth");
                    expect((await linkGet(sb.hostNs, hostInterface))?.master).toBe("br0");
                    await endpoint.delete!(id, outs);
                    expect(netnsExists(ns)).toBe(false);
                    // The kernel takes the pair with the namespace; the wait reads the names back.
                    await untilLinksGone(sb.hostNs, [hostInterface]);
                    expect(await linkGet(sb.hostNs, hostInterface)).toBeUndefined();
                }),
                { numRuns: RUNS },
            );
            expect(netnsList().filter((name) => name.startsWith(sb.prefix))).toEqual(namespaces);
        },
        TIMEOUT,
    );

    it(`namespace names without a prefix (${RUNS * 10} drawn): check accepts only names no tool reads specially`, () => {
        fc.assert(
            fc.property(nameArb, (name) => {
                const failure = checkNamespaceName("name", name);
                if (failure) expect(failure.reason.startsWith("name")).toBe(true);
                else expect(name).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
                if (name === "all") expect(failure).toBeDefined();
            }),
            { numRuns: RUNS * 10 },
        );
    });
});
