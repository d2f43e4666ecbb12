#!/usr/bin/env bash
# The kernel's floor: the tutorial's topology through one `ip -batch` process per namespace: one
# adds the containers' namespaces, the host's makes the bridge and the veths, each container's sets
# its address and route; plus the sysctl and the MASQUERADE rule. Usage: batch-up.sh N HOST PREFIX UPLINK
set -euo pipefail
n=$1 host=$2 prefix=$3 uplink=$4
for i in $(seq 1 "$n"); do echo "netns add ${prefix}c$i"; done | ip -batch -
{
    echo "link add br0 type bridge"
    echo "addr add 10.0.0.1/16 dev br0"
    echo "link set br0 up"
    for i in $(seq 1 "$n"); do
        echo "link add veth$i type veth peer name eth0 netns ${prefix}c$i"
        echo "link set veth$i master br0 up"
    done
} | ip -n "$host" -batch -
ip netns exec "$host" sysctl -q -w net.ipv4.ip_forward=1
ip netns exec "$host" iptables -t nat -A POSTROUTING -s 10.0.0.0/16 -o "$uplink" -j MASQUERADE
for i in $(seq 1 "$n"); do
    printf '%s\n' "link set lo up" "addr add 10.0.$((i / 250)).$((i % 250 + 2))/16 dev eth0" "link set eth0 up" \
        "route add default via 10.0.0.1" | ip -n "${prefix}c$i" -batch -
done
