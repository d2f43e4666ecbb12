"""Baseline: the benchmark's topology in Mininet, the lab tool people use today.

N hosts on one Linux bridge switch (no controller) with a NAT node, as Mininet's Python API builds
it, timed from the first call to a network that passes traffic and back to nothing. Run by
bench/overlay.ts inside a sandbox namespace (so that the bridge, the NAT node and its iptables rules
live there) and a private mount namespace with a tmpfs on /etc/network (Mininet's NAT node appends
to /etc/network/interfaces). Prints one JSON line: {"up": s, "down": s, "ping": bool}.

    python3 bench/mininet_lab.py N  (named so as not to shadow the mininet package)
"""

import json
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge


def main():
    n = int(sys.argv[1])
    setLogLevel("error")
    start = time.monotonic()
    # Host i gets 10.0.x.y as Mininet numbers them; the NAT node sits at the top of the /16, out of
    # the hosts' way (its default, 10.0.0.254, is host 254's address once N >= 254).
    net = Mininet(switch=LinuxBridge, controller=None, ipBase="10.0.0.0/16", build=False, autoSetMacs=False, waitConnected=False)
    switch = net.addSwitch("s1")
    for i in range(1, n + 1):
        host = net.addHost("h%d" % i)
        net.addLink(host, switch)
    net.addNAT(ip="10.0.255.254/16").configDefault()
    net.build()
    net.start()
    up = time.monotonic() - start
    # One check that the network is what it claims (not timed): the first host reaches its gateway.
    reply = net.hosts[0].cmd("ping -c3 -i0.2 -W1 10.0.255.254")
    start = time.monotonic()
    net.stop()
    down = time.monotonic() - start
    print(json.dumps({"up": up, "down": down, "ping": " 0 received" not in reply}))


if __name__ == "__main__":
    main()
