// The do-nothing provider of the benchmark's "noop-sized" shape: it takes and returns what an
// Endpoint does (the inputs its check adds, the outputs its create adds, the inputs its read gives
// back), with values of the same lengths, and touches nothing: Pulumi's cost of our contract, the
// floor of any provider with an attachment's properties. Keep it in step with
// providers/endpointPlan.ts (INPUT_KEYS, LEASE_KEYS, outputsOf).
const LEASE_KEYS = ["ip"];
const pick = (props, keys) => Object.fromEntries(keys.filter((k) => props[k] !== undefined).map((k) => [k, props[k]]));
const INPUT_KEYS = ["__provider", "logicalName", "namespace", "bridge", "netns", "hostInterface", "interfaceName", "subnet", "gateway", "pool", "reserved", "defaultRoute", "mark"];

module.exports = {
    check: async (olds, news) => {
        const { identity: _identity, ...declared } = news;
        const inputs = {
            ...declared,
            hostInterface: `${news.logicalName}-h-82cd`,
            interfaceName: "eth0",
            defaultRoute: true,
            pool: news.bridge,
            mark: `pulumi-overlay:${news.logicalName}:3f838d44`,
            ...pick(olds, LEASE_KEYS),
        };
        return { inputs, failures: [] };
    },
    diff: async () => ({ changes: false }),
    create: async (inputs) => {
        const i = Number(inputs.logicalName.replace(/\D/g, "")) || 0;
        const ip = `10.0.${Math.floor(i / 250)}.${(i % 250) + 2}`;
        const outs = {
            ...inputs,
            ip,
            mac: "02:42:0a:00:00:02",
            leaseScope: `/run/pulumi-overlay/ipam/${inputs.netns}_4026532177/${inputs.pool}`,
            drift: [],
            namespaceInstance: "4026532315@1795825206787.3855",
        };
        return { id: inputs.namespace, outs };
    },
    read: async (id, props) => ({ id, props, inputs: pick(props, [...INPUT_KEYS, ...LEASE_KEYS]) }),
    delete: async () => {},
};
