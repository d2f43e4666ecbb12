import { expect, it } from "vitest";
import { runCommand, toolCommand } from "../../../providers/host";
import { provider } from "../../../providers/sysctl";
import { created, expectGone, replaced, sysctlValue, updated } from "../../support/lifecycle";
import { describeKernel, useSandbox } from "../../support/kernel";

describeKernel("Sysctl on the kernel", () => {
    const sb = useSandbox();

    it("create, read, update, replace, delete restores, delete again", async () => {
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("0");
        const { id, outs } = await created(provider, { logicalName: "fwd", key: "net.ipv4.ip_forward", value: 1, netns: sb.hostNs });
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("1");
        expect(outs).toMatchObject({ value: "1", previousValue: "0" });
        expect((await provider.read!(id, outs)).props).toEqual(outs);

        const up = await updated(provider, id, outs, { logicalName: "fwd", key: "net.ipv4.conf.all.forwarding", value: "1", netns: sb.hostNs }).catch(
            () => undefined,
        );
        expect(up).toBeUndefined(); // a key change is not in place
        const rp = await created(provider, { logicalName: "rp", key: "net.ipv4.conf.all.rp_filter", value: 2, netns: sb.hostNs });
        const rp1 = await updated(provider, rp.id, rp.outs, { logicalName: "rp", key: "net.ipv4.conf.all.rp_filter", value: 1, netns: sb.hostNs });
        expect(await sysctlValue(sb.hostNs, "net.ipv4.conf.all.rp_filter")).toBe("1");
        expect(rp1.previousValue).toBe(rp.outs.previousValue);
        await provider.delete!(rp.id, rp1);
        expect(await sysctlValue(sb.hostNs, "net.ipv4.conf.all.rp_filter")).toBe(rp.outs.previousValue);

        const next = await replaced(provider, id, outs, { logicalName: "fwd", key: "net.ipv6.conf.all.forwarding", value: 1, netns: sb.hostNs }, ["key"]);
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("0");
        expect(await sysctlValue(sb.hostNs, "net.ipv6.conf.all.forwarding")).toBe("1");
        await provider.delete!(next.id, next.outs);
        expect(await sysctlValue(sb.hostNs, "net.ipv6.conf.all.forwarding")).toBe("0");
        await provider.delete!(next.id, next.outs);
    });

    it("reports an out-of-band change, and leaves a value someone else set on delete", async () => {
        const { id, outs } = await created(provider, { logicalName: "fwd", key: "net.ipv4.ip_forward", value: 1, netns: sb.hostNs });
        await runCommand(toolCommand(sb.hostNs, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=0"]));
        const read = await provider.read!(id, outs);
        expect(read.props.value).toBe("0");
        expect(read.inputs.value).toBe("0");
        const diff = await provider.diff!(
            id,
            read.props,
            (await provider.check!(read.inputs, { logicalName: "fwd", key: "net.ipv4.ip_forward", value: 1, netns: sb.hostNs })).inputs,
        );
        expect(diff).toMatchObject({ changes: true, replaces: [] });
        // Someone sets 1 by hand after our value was gone: it is theirs now... and equal to ours, so
        // delete puts back what we found.
        await runCommand(toolCommand(sb.hostNs, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]));
        await provider.delete!(id, outs);
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("0");
        // A value changed to something else by someone is left alone.
        const again = await created(provider, { logicalName: "rp", key: "net.ipv4.conf.all.rp_filter", value: 2, netns: sb.hostNs });
        await runCommand(toolCommand(sb.hostNs, "sysctl", ["-q", "-w", "net.ipv4.conf.all.rp_filter=1"]));
        await provider.delete!(again.id, again.outs);
        expect(await sysctlValue(sb.hostNs, "net.ipv4.conf.all.rp_filter")).toBe("1");
    });

    it("two resources share a key set to the same value; the last one deleted restores it", async () => {
        const key = "net.ipv4.ip_forward";
        const a = await created(provider, { logicalName: "net-a", key, value: 1, netns: sb.hostNs });
        const b = await created(provider, { logicalName: "net-b", key, value: "1", netns: sb.hostNs });
        expect(b.outs.previousValue).toBe("0");
        await expect(created(provider, { logicalName: "net-c", key, value: 0, netns: sb.hostNs })).rejects.toThrow(
            /already set to '1' by pulumi-overlay:net-a:.*, pulumi-overlay:net-b:/,
        );
        await expect(updated(provider, a.id, a.outs, { logicalName: "net-a", key, value: 0, netns: sb.hostNs })).rejects.toThrow(
            /is shared with pulumi-overlay:net-b/,
        );
        await provider.delete!(a.id, a.outs);
        expect(await sysctlValue(sb.hostNs, key)).toBe("1");
        await provider.delete!(b.id, b.outs);
        expect(await sysctlValue(sb.hostNs, key)).toBe("0");
        // Deleting again is harmless.
        await provider.delete!(a.id, a.outs);
        expect(await sysctlValue(sb.hostNs, key)).toBe("0");
    });

    it("a gone namespace is gone, and a missing key is named", async () => {
        const ghost = { logicalName: "fwd", key: "net.ipv4.ip_forward", value: "1", previousValue: "0", netns: sb.ns("ghost") };
        await expectGone(provider, "x", ghost);
        await provider.delete!("x", ghost);
        await expect(created(provider, { logicalName: "k", key: "net.ipv4.no_such_key", value: 1, netns: sb.hostNs })).rejects.toThrow(
            `sysctl "net.ipv4.no_such_key" does not exist in network namespace "${sb.hostNs}"`,
        );
    });

    it("refuses a value the kernel does not take, and leaves the old one", async () => {
        await expect(created(provider, { logicalName: "fwd", key: "net.ipv4.ip_forward", value: "banana", netns: sb.hostNs })).rejects.toThrow();
        expect(await sysctlValue(sb.hostNs, "net.ipv4.ip_forward")).toBe("0");
    });
});
