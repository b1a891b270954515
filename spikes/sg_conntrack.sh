#!/bin/bash
# Spike for issue 14 (security groups): which nftables construct identifies a VM's port on a
# Linux bridge AND keeps connection state, on this kernel (CONFIG_BRIDGE_NETFILTER=y,
# CONFIG_NF_CONNTRACK_BRIDGE off). Run as root; everything lives in nt-sgspike-* namespaces,
# removed at the end (also on failure). Prints one line per check and exits non-zero if the
# chosen construct (B) does not behave.
#
#  A. `ct state` in a bridge-family chain: refused without nf_conntrack_bridge?
#  B. the port as a mark: the bridge family marks a frame with its input port (prerouting)
#     and its output port (forward, before br_netfilter hands it to the inet hooks); with
#     net.bridge.bridge-nf-call-iptables=1 the inet family's forward chain then sees the marks
#     and conntrack's state: per-port chains by `meta mark` verdict maps.
set -u
P=nt-sgspike-$$
HOST=$P-host VMA=$P-vma VMB=$P-vmb
fail=0
cleanup() { for n in $VMA $VMB $HOST; do ip netns del $n 2>/dev/null; done; }
trap cleanup EXIT
check() { # name, expected (0 = succeeds), command...
  local name=$1 want=$2; shift 2
  "$@" >/dev/null 2>&1; local got=$?
  if { [ "$want" = 0 ] && [ $got = 0 ]; } || { [ "$want" != 0 ] && [ $got != 0 ]; }; then echo "ok   $name"
  else echo "FAIL $name (exit $got)"; fail=1; fi
}

for n in $HOST $VMA $VMB; do ip netns add $n; done
ip -n $HOST link add br0 type bridge && ip -n $HOST link set br0 up
for v in a b; do
  ns=$P-vm$v
  ip -n $HOST link add tap$v type veth peer name eth0 netns $ns
  ip -n $HOST link set tap$v master br0 up
  ip -n $ns link set lo up && ip -n $ns link set eth0 up
done
ip -n $VMA addr add 10.99.0.1/24 dev eth0
ip -n $VMB addr add 10.99.0.2/24 dev eth0
check "plain bridge: a pings b" 0 ip netns exec $VMA ping -c1 -W1 10.99.0.2

echo "-- A: ct state in the bridge family"
check "A: bridge chain with ct state is refused (no nf_conntrack_bridge)" 1 ip netns exec $HOST nft -f - <<'NFT'
table bridge nt-sgct {
  chain forward { type filter hook forward priority 0; policy accept; ct state established accept; }
}
NFT

echo "-- B: port marks in the bridge family, state in the inet family"
ip netns exec $HOST sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec $HOST nft -f - <<'NFT'
table bridge nt-sgmark {
  # input port -> low 16 bits; output port -> high 16 bits (set before br_netfilter's hook)
  map in_port { type ifname : mark; elements = { "tapa" : 0x1, "tapb" : 0x2 } }
  chain prerouting { type filter hook prerouting priority -300; policy accept; meta mark set iifname map @in_port; }
  chain to_a { meta mark set meta mark | 0x10000; }
  chain to_b { meta mark set meta mark | 0x20000; }
  chain forward { type filter hook forward priority -300; policy accept; oifname vmap { "tapa" : jump to_a, "tapb" : jump to_b }; }
}
table inet nt-sg {
  chain ingress_b {
    tcp dport 5001 accept
    icmp type echo-request drop
    drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ct state invalid drop
    ct state established,related accept
    ct state new ct mark set meta mark
    meta mark & 0xffff0000 vmap { 0x20000 : jump ingress_b }
  }
}
NFT
check "B: tables load" 0 ip netns exec $HOST nft list table inet nt-sg
check "B: a -> b ping blocked (no ICMP rule into b)" 1 ip netns exec $VMA ping -c1 -W1 10.99.0.2
check "B: b -> a ping allowed, reply comes back (ct established)" 0 ip netns exec $VMB ping -c1 -W1 10.99.0.1
ip netns exec $VMB timeout 5 python3 -c "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 5001)); s.listen(); c, _ = s.accept(); c.recv(16)" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do ip netns exec $VMB ss -ltn | grep -q 5001 && break; sleep 0.02; done
check "B: a -> b tcp/5001 allowed" 0 ip netns exec $VMA timeout 3 bash -c 'exec 3<>/dev/tcp/10.99.0.2/5001; echo hi >&3'
kill $srv 2>/dev/null; wait $srv 2>/dev/null
check "B: a -> b tcp/5002 dropped" 1 ip netns exec $VMA timeout 2 bash -c 'exec 3<>/dev/tcp/10.99.0.2/5002'
check "B: conntrack saw the bridged flows" 0 bash -c "ip netns exec $HOST conntrack -L 2>/dev/null | grep -q 10.99.0.2 || ip netns exec $HOST cat /proc/net/nf_conntrack 2>/dev/null | grep -q 10.99.0.2"

echo "-- B: a removed rule cuts the flows it allowed (conntrack entries deleted by port mark)"
# An echo server on b and a client on a exchanging a line every 50 ms for up to 6 s.
ip netns exec $VMB timeout 8 python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 5001)); s.listen()
c, _ = s.accept()
while True:
    d = c.recv(64)
    if not d: break
    c.sendall(d)" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do ip netns exec $VMB ss -ltn | grep -q 5001 && break; sleep 0.02; done
ip netns exec $VMA timeout 8 python3 -c "
import socket, sys, time
c = socket.create_connection(('10.99.0.2', 5001), timeout=1)
ok = 0
for i in range(120):
    try:
        c.sendall(b'x'); c.recv(8); ok += 1
    except OSError:
        break
    open('/tmp/$P.client', 'w').write(str(ok))
    time.sleep(0.05)" >/dev/null 2>&1 &
cli=$!
sleep 1  # the flow is established and exchanging (this is a spike, not a test)
ip netns exec $HOST nft flush chain inet nt-sg ingress_b
ip netns exec $HOST nft add rule inet nt-sg ingress_b drop
before=$(cat /tmp/$P.client)
check "B: without the rule the established flow still passes (state)" 0 bash -c "sleep 0.3; [ \$(cat /tmp/$P.client) -gt $before ]"
check "B: conntrack -D by the port's mark" 0 ip netns exec $HOST conntrack -D --mark 0x20000/0xffff0000
wait $cli
echo "     exchanges before the cut: $(cat /tmp/$P.client) (of 120 if never cut)"
check "B: the flow was cut" 0 bash -c "[ \$(cat /tmp/$P.client) -lt 100 ]"
kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -f /tmp/$P.client
exit $fail
