// Declares the resources of the `resources` config (JSON: [{ kind, name, args, opts, exports }]),
// with resource options, for the engine conformance tests: each test is one small program.
// `opts` may hold protect, retainOnDelete, ignoreChanges, replaceOnChanges, deleteBeforeReplace,
// aliases (names), deletedWith and dependsOn (names of resources declared before). A string
// "@name.property" in args is that output of a resource declared before (a property dependency).
const pulumi = require("@pulumi/pulumi");
const overlay = require("pulumi-overlay");

const made = {};
const exported = {};
const resolve = (value) =>
    typeof value === "string" && value.startsWith("@")
        ? made[value.slice(1).split(".")[0]][value.split(".")[1]]
        : Array.isArray(value)
          ? value.map(resolve)
          : value && typeof value === "object"
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]))
            : value;
for (const entry of JSON.parse(new pulumi.Config().require("resources"))) {
    const opts = { ...(entry.opts ?? {}) };
    if (opts.aliases) opts.aliases = opts.aliases.map((name) => ({ name }));
    if (opts.deletedWith) opts.deletedWith = made[opts.deletedWith];
    if (opts.dependsOn) opts.dependsOn = opts.dependsOn.map((name) => made[name]);
    made[entry.name] = new overlay[entry.kind](entry.name, resolve(entry.args), opts);
    for (const property of entry.exports ?? []) exported[`${entry.name}.${property}`] = made[entry.name][property];
}
module.exports = exported;
