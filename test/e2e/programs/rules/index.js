// Declares the resources of the `resources` config (JSON: [{ kind, name, args, opts, exports }]),
// with resource options, for the engine conformance tests: each test is one small program.
// `opts` may hold protect, retainOnDelete, ignoreChanges, replaceOnChanges, deleteBeforeReplace,
// aliases (names), deletedWith and dependsOn (names of resources declared before).
const pulumi = require("@pulumi/pulumi");
const overlay = require("pulumi-overlay");

const made = {};
const exported = {};
for (const entry of JSON.parse(new pulumi.Config().require("resources"))) {
    const opts = { ...(entry.opts ?? {}) };
    if (opts.aliases) opts.aliases = opts.aliases.map((name) => ({ name }));
    if (opts.deletedWith) opts.deletedWith = made[opts.deletedWith];
    if (opts.dependsOn) opts.dependsOn = opts.dependsOn.map((name) => made[name]);
    made[entry.name] = new overlay[entry.kind](entry.name, entry.args, opts);
    for (const property of entry.exports ?? []) exported[`${entry.name}.${property}`] = made[entry.name][property];
}
module.exports = exported;
