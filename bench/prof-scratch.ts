import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { run, type Operation } from "../test/engine/engine";
import { REPO_ROOT, makeProject, packPackage, removeProject } from "../test/support/project";
import { createSandbox, removeNamespaces } from "../test/support/sandbox";
process.env.OVERLAY_TEST_RUN_ID ??= `pob${randomBytes(2).toString("hex")}`;
async function main() {
    const n = Number(process.argv[2] ?? 100);
    const ops = (process.argv[3] ?? "preview").split(",");
    process.env.OVERLAY_TEST_TARBALL = packPackage();
    const project = makeProject({ copyFrom: path.join(REPO_ROOT, "bench/program") });
    const box = await createSandbox();
    const config = { containers: String(n), hostNamespace: box.hostNs, prefix: `${box.prefix}-`, uplink: box.uplink };
    const engine = async (operation: Operation) => {
        const t = process.hrtime.bigint();
        const result = await run({ operation, programDir: project, stack: `n${n}`, stateFile: path.join(project, "s.json"), config, print: () => {}, skipPreview: true });
        console.log(operation, Number(process.hrtime.bigint() - t) / 1e9);
        if (!result.ok) throw new Error(result.errors.join("\n"));
    };
    try {
        if (!ops.includes("up")) await engine("up");
        for (const op of ops) {
            process.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=/work/scratch/prof-${op}`;
            await engine(op as Operation);
            delete process.env.NODE_OPTIONS;
        }
        if (!ops.includes("destroy")) await engine("destroy");
    } finally {
        removeProject(project);
        await removeNamespaces(box.prefix);
        await box.destroy();
    }
}
main().catch((e) => { console.error(e); process.exit(1); });
