import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // Kernel tests share one host; each builds its own sandbox namespace, so files may run in
        // parallel, but a generous timeout covers slow CI machines.
        testTimeout: 60_000,
        hookTimeout: 60_000,
        globalSetup: ["test/support/global-setup.ts"],
    },
});
