#!/usr/bin/env bash
# The kernel's floor for the teardown: one `ip -batch` deletes every container's namespace, one `ip`
# the bridge. Usage: batch-down.sh N HOST PREFIX UPLINK
set -euo pipefail
n=$1 host=$2 prefix=$3 uplink=$4
ip netns exec "$host" iptables -t nat -D POSTROUTING -s 10.0.0.0/16 -o "$uplink" -j MASQUERADE
ip netns exec "$host" sysctl -q -w net.ipv4.ip_forward=0
for i in $(seq 1 "$n"); do echo "netns delete ${prefix}c$i"; done | ip -batch -
ip -n "$host" link delete br0
