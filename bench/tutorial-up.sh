#!/usr/bin/env bash
# The baseline: the tutorial's own commands, one ip process per step, for N containers inside the
# host namespace HOST (a sandbox), out of UPLINK. Usage: tutorial-up.sh N HOST PREFIX UPLINK
set -euo pipefail
n=$1 host=$2 prefix=$3 uplink=$4
ip -n "$host" link add br0 type bridge
ip -n "$host" addr add 10.0.0.1/16 dev br0
ip -n "$host" link set br0 up
ip netns exec "$host" sysctl -q -w net.ipv4.ip_forward=1
ip netns exec "$host" iptables -t nat -A POSTROUTING -s 10.0.0.0/16 -o "$uplink" -j MASQUERADE
for i in $(seq 1 "$n"); do
    ip netns add "${prefix}c$i"
    ip -n "${prefix}c$i" link set lo up
    ip -n "$host" link add "veth$i" type veth peer name eth0 netns "${prefix}c$i"
    ip -n "$host" link set "veth$i" master br0
    ip -n "$host" link set "veth$i" up
    ip -n "${prefix}c$i" addr add "10.0.$((i / 250)).$((i % 250 + 2))/16" dev eth0
    ip -n "${prefix}c$i" link set eth0 up
    ip -n "${prefix}c$i" route add default via 10.0.0.1
done
