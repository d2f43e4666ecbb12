// Loaded into the program's process by the test engine (`node --require`): when the program exits,
// its peak resident memory in KiB (VmHWM: this process's own, where getrusage's maxRSS would carry
// the high-water mark of the process that started it across exec) goes to file descriptor 3, a pipe
// the engine reads. Plain JavaScript and no dependencies, so that it costs the program nothing.
process.on("exit", () => {
    try {
        const fs = require("node:fs");
        const match = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
        if (match) fs.writeSync(3, match[1]);
    } catch {
        // not started by the engine (no fd 3): nothing to report
    }
});
