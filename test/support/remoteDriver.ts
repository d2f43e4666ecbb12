/**
 * Runs host-layer calls against a remote host, for tests: started inside the underlay namespace
 * (the only place that reaches the test hosts) by {@link runRemoteCalls}. Reads a JSON list of
 * calls from argv[2], prints a JSON list of results: `{ ok, stdout }` or `{ ok: false, message, kind }`.
 */
import { type Connection, type HostCommand, onHost, runCommand } from "../../providers/host";

interface Call {
    connection: Connection;
    command: HostCommand;
}

async function main(): Promise<void> {
    const calls = JSON.parse(process.argv[2]) as Call[];
    const results = [];
    for (const call of calls) {
        try {
            const out = await onHost(call.connection, () => runCommand(call.command));
            results.push({ ok: true, stdout: out.stdout });
        } catch (err) {
            results.push({ ok: false, message: (err as Error).message, kind: (err as { kind?: string }).kind });
        }
    }
    process.stdout.write(`${JSON.stringify(results)}\n`);
    process.exit(0);
}

void main();
