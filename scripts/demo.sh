#!/usr/bin/env bash
# The Quick start's first command: brings up the tutorial lab (two namespaces on a bridge, a
# gateway, forwarding and MASQUERADE) in sandbox mode, so that this machine's own network is not
# touched: the lab's host side lives in a namespace of its own, with a fake uplink to one that
# plays the internet (203.0.113.1). Then it shows the stack outputs, pings across the lab and out
# through the NAT, and prints the command that takes it all down.
#
#   bash scripts/demo.sh          up
#   bash scripts/demo.sh down     destroy, leaving nothing behind
#
# It uses the real Pulumi CLI when one is on PATH (or $PULUMI), with a local file backend (no
# account, empty passphrase); otherwise it runs the same program through this project's test
# engine and says so. DEMO_DIR picks the work folder, DEMO_PREFIX the namespaces' prefix.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

action="${1:-up}"
work="${DEMO_DIR:-${TMPDIR:-/tmp}/pulumi-overlay-demo}"
prefix="${DEMO_PREFIX:-demo-}"
[ "$action" = up ] || [ "$action" = down ] || die "usage: bash scripts/demo.sh [up|down]"

# The Pulumi CLI: $PULUMI, or pulumi on PATH.
pulumi_cli=""
if [ -n "${PULUMI:-}" ]; then
    [ -x "$PULUMI" ] || die "PULUMI=$PULUMI is not an executable"
    pulumi_cli="$PULUMI"
elif command -v pulumi >/dev/null 2>&1; then
    pulumi_cli="$(command -v pulumi)"
fi

pulumi_env=(env "PULUMI_BACKEND_URL=file://$work/.pulumi-state" "PULUMI_CONFIG_PASSPHRASE=" "PULUMI_SKIP_UPDATE_CHECK=true")
engine() { (cd "$repo" && as_root node -r ts-node/register/transpile-only test/engine/cli.ts "$@"); }

if [ "$action" = down ]; then
    [ -f "$work/.demo" ] || die "no demo is up (nothing in $work)"
    ensure_node
    if [ "$(cat "$work/.demo")" = engine ]; then
        say "taking the lab down through the test engine"
        engine destroy "$repo/examples/tutorial-overlay" --stack demo --state "$work/state.json"
    else
        say "taking the lab down: pulumi destroy"
        (cd "$work" && as_root "${pulumi_env[@]}" "$pulumi_cli" destroy --yes --non-interactive)
    fi
    as_root rm -rf "$work"
    left="$(ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^$prefix" || true)"
    say "down: $left namespaces named $prefix* left on this machine"
    exit 0
fi

say "checking the tools the lab needs (iproute2, iptables, ping, procps)"
ensure_packages iproute2 util-linux iptables iputils-ping procps
ensure_node
ensure_dependencies
say "building pulumi-overlay"
(cd "$repo" && npm run --silent build)
as_root mkdir -p "$work"

if [ -n "$pulumi_cli" ]; then
    say "installing the tutorial example into $work with the packed pulumi-overlay, as a user would"
    tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -n 1)"
    as_root cp "$repo/examples/tutorial-overlay/"{Pulumi.yaml,index.ts,tsconfig.json} "$work/"
    [ -f "$work/package.json" ] || printf '{ "name": "tutorial-overlay-demo", "private": true, "main": "index.ts" }\n' | as_root tee "$work/package.json" >/dev/null
    (cd "$work" && as_root npm install --no-audit --no-fund --loglevel=error "./$tarball" @pulumi/pulumi@3.276.0 typescript@6.0.3 @types/node@24 ts-node@10.9.2)
    echo cli | as_root tee "$work/.demo" >/dev/null
    say "pulumi up with $pulumi_cli (a local file backend in $work/.pulumi-state)"
    as_root mkdir -p "$work/.pulumi-state"
    (
        cd "$work"
        as_root "${pulumi_env[@]}" "$pulumi_cli" stack select --create demo --non-interactive
        as_root "${pulumi_env[@]}" "$pulumi_cli" config set sandbox true
        as_root "${pulumi_env[@]}" "$pulumi_cli" config set prefix "$prefix"
        as_root "${pulumi_env[@]}" "$pulumi_cli" up --yes --non-interactive
        say "stack outputs"
        as_root "${pulumi_env[@]}" "$pulumi_cli" stack output
    )
else
    say "no Pulumi CLI on PATH (nor \$PULUMI): running the same program through this project's test engine instead (get the CLI: https://www.pulumi.com/docs/install/)"
    echo engine | as_root tee "$work/.demo" >/dev/null
    engine up "$repo/examples/tutorial-overlay" --stack demo --state "$work/state.json" --config sandbox=true --config "prefix=$prefix"
fi

say "a ping across the lab: ${prefix}c1 -> 10.0.0.3 (${prefix}c2)"
as_root ip netns exec "${prefix}c1" ping -c 1 -W 2 10.0.0.3
say "a ping out through the bridge, forwarding and NAT: ${prefix}c1 -> 203.0.113.1 (the fake internet)"
as_root ip netns exec "${prefix}c1" ping -c 1 -W 2 203.0.113.1

settings=""
[ -z "${DEMO_DIR:-}" ] || settings+="DEMO_DIR=$DEMO_DIR "
[ -z "${DEMO_PREFIX:-}" ] || settings+="DEMO_PREFIX=$DEMO_PREFIX "
say "the lab is up. Look around:   sudo ip netns exec ${prefix}c1 ip -br addr
==> take it all down:           ${settings}bash scripts/demo.sh down"
