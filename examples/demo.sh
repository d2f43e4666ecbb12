#!/usr/bin/env bash
# The README's demo: installs the tutorial example and runs it with the real Pulumi CLI against a
# local file backend (no Pulumi account, empty passphrase), in sandbox mode (the lab lives in its
# own namespaces, with a fake uplink), shows the stack outputs, pings across the lab, and prints
# the destroy command.
#
#   sudo npm run demo            (PULUMI=/path/to/pulumi picks a CLI; DEMO_DIR=... the work folder)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${DEMO_DIR:-${TMPDIR:-/tmp}/pulumi-overlay-demo}"
prefix="demo-"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

# 1. A Pulumi CLI: $PULUMI, a pulumi on PATH, or the pulumi npm package (it fetches the CLI on first use).
pulumi_cmd=()
if [ -n "${PULUMI:-}" ]; then
    [ -x "$PULUMI" ] && pulumi_cmd=("$PULUMI")
elif command -v pulumi >/dev/null 2>&1; then
    pulumi_cmd=(pulumi)
elif command -v npx >/dev/null 2>&1 && npx --yes pulumi@3 version >/dev/null 2>&1; then
    pulumi_cmd=(npx --yes pulumi@3)
fi
if [ "${#pulumi_cmd[@]}" -eq 0 ]; then
    die "no Pulumi CLI could be found or fetched on this machine.
Install one (https://www.pulumi.com/docs/install/), e.g.:
    curl -fsSL https://get.pulumi.com | sh        # then: export PATH=\$HOME/.pulumi/bin:\$PATH
or set PULUMI=/path/to/pulumi, and run this again."
fi
[ "$(id -u)" -eq 0 ] || die "the lab needs root (CAP_NET_ADMIN, ip netns): run it as root, e.g. sudo npm run demo"
command -v ip >/dev/null || die "ip is not installed: apt-get install iproute2"
command -v iptables >/dev/null || die "iptables is not installed: apt-get install iptables"

# 2. The example, with this checkout's pulumi-overlay packed and installed as a user would.
say "installing the tutorial example into $work"
mkdir -p "$work"
(cd "$repo" && npm run --silent build)
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -n 1)"
cp "$repo/examples/tutorial-overlay/"{Pulumi.yaml,index.ts,tsconfig.json} "$work/"
cd "$work"
[ -f package.json ] || printf '{ "name": "tutorial-overlay-demo", "private": true, "main": "index.ts" }\n' > package.json
npm install --no-audit --no-fund --silent "./$tarball" @pulumi/pulumi@3.276.0 typescript@6.0.3 @types/node@24 ts-node@10.9.2

# 3. A local file backend and a stack.
export PULUMI_BACKEND_URL="file://$work/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE=""
mkdir -p "$work/.pulumi-state"
"${pulumi_cmd[@]}" stack select --create demo --non-interactive
"${pulumi_cmd[@]}" config set sandbox true
"${pulumi_cmd[@]}" config set prefix "$prefix"

say "pulumi up"
"${pulumi_cmd[@]}" up --yes --non-interactive

say "stack outputs"
"${pulumi_cmd[@]}" stack output

say "a ping across the lab: ${prefix}c1 -> 10.0.0.3 (c2), and out through the bridge, forwarding and NAT to 203.0.113.1"
ip netns exec "${prefix}c1" ping -c 1 -W 2 10.0.0.3
ip netns exec "${prefix}c1" ping -c 1 -W 2 203.0.113.1

say "done. To look around:   sudo ip netns exec ${prefix}c1 ip -br addr
To take it all down:    cd $work && PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE= ${pulumi_cmd[*]} destroy --yes"
