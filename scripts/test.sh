#!/usr/bin/env bash
# The Quick start's second command: installs what the tests need, then runs the whole suite
# (`npm test`: type-check, lint, unit, kernel and end-to-end tests, API docs check). Kernel tests
# need root: as a user, the suite runs through sudo. CI runs this line as the README has it.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

say "checking the tools the tests drive (iproute2, iptables, nftables, ping, tcpdump, procps)"
ensure_packages iproute2 util-linux iptables nftables iputils-ping tcpdump procps openssh-client openssh-server
ensure_node
ensure_dependencies
say "running the test suite as root (namespaces, veth pairs and firewall rules in throwaway sandboxes)"
cd "$repo"
as_root npm test
