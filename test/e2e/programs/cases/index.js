// Declares one resource per entry of the `cases` config (JSON: [{ kind, args }]), for the
// bad-input and injection tests.
const pulumi = require("@pulumi/pulumi");
const overlay = require("pulumi-overlay");

const cases = JSON.parse(new pulumi.Config().require("cases"));
cases.forEach((c, i) => new overlay[c.kind](c.name ?? `case${i}`, c.args));
