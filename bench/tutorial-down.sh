#!/usr/bin/env bash
# The baseline's teardown, in the tutorial's commands. Usage: tutorial-down.sh N HOST PREFIX UPLINK
set -euo pipefail
n=$1 host=$2 prefix=$3 uplink=$4
for i in $(seq 1 "$n"); do
    ip netns delete "${prefix}c$i"
done
ip netns exec "$host" iptables -t nat -D POSTROUTING -s 10.0.0.0/16 -o "$uplink" -j MASQUERADE
ip netns exec "$host" sysctl -q -w net.ipv4.ip_forward=0
ip -n "$host" link delete br0
