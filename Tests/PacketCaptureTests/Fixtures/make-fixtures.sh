#!/usr/bin/env bash
# Re-creates the PacketCapture test fixtures in this directory.
#
#  1. Real captures: tshark on the loopback device of a private network namespace (unshare -n, needs
#     root or user namespaces), a short UDP exchange and a short TCP exchange made with python3, in
#     Ethernet (-i lo), Linux cooked v1/v2 (-i any -y LINUX_SLL / LINUX_SLL2), pcapng and pcap (-F pcap),
#     IPv4 and IPv6, plus one capture cut by a small snap length (truncated frames).
#  2. Written captures: PCAPWriter output for the link types tshark cannot capture here (NULL, LOOP,
#     RAW, IPV4, IPV6, Ethernet with VLAN tags), produced by the WriterFixtureTests test with
#     PCAP_WRITE_FIXTURES pointing here.
#  3. For every fixture, tshark's view of it as <fixture>.tsv (the tests compare the reader against it,
#     so tshark is not needed at test time).
#
# Usage: Tests/PacketCaptureTests/Fixtures/make-fixtures.sh [--no-capture]   (from anywhere)
set -euo pipefail
FIX="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$FIX/../../.." && pwd)"

udp_py='
import socket, sys
a = sys.argv[1]; fam = socket.AF_INET6 if ":" in a else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_DGRAM); srv.bind((a, 5004))
cli = socket.socket(fam, socket.SOCK_DGRAM); cli.bind((a, 5006))
for i, n in enumerate([4, 12, 200]):
    cli.sendto(bytes([0x80, 0x60, 0, i]) + bytes(range(n)), (a, 5004))
    data, peer = srv.recvfrom(4096)
    srv.sendto(data[::-1], peer)
    cli.recvfrom(4096)
'
tcp_py='
import socket, sys
a = sys.argv[1]; fam = socket.AF_INET6 if ":" in a else socket.AF_INET
srv = socket.create_server((a, 6000), family=fam)
cli = socket.create_connection((a, 6000)); conn, _ = srv.accept()
cli.sendall(b"ping " * 4); conn.recv(100)
conn.sendall(b"pong"); cli.recv(100)
cli.close(); conn.recv(100); conn.close()
'

# capture OUT IFACE ADDR KIND [extra tshark args...]
capture() {
    local out="$1" iface="$2" addr="$3" kind="$4"; shift 4
    local py="$udp_py"; [ "$kind" = tcp ] && py="$tcp_py"
    rm -f "$FIX/$out"
    unshare -n bash -c '
        set -e
        ip link set lo up
        sleep 0.5
        tshark -q -i "$1" "${@:5}" -w "$2" -a duration:5 2>/dev/null &
        sleep 2.5
        python3 -c "$4" "$3"
        wait
    ' _ "$iface" "$FIX/$out" "$addr" "$py" "$@"
    echo "captured $out: $(tshark -r "$FIX/$out" 2>/dev/null | wc -l) frames"
}

if [ "${1:-}" != "--no-capture" ]; then
    capture eth-udp4.pcapng    lo  127.0.0.1 udp
    capture eth-tcp4.pcap      lo  127.0.0.1 tcp -F pcap
    capture eth-udp6.pcap      lo  ::1       udp -F pcap
    capture sll-udp6.pcap      any ::1       udp -y LINUX_SLL -F pcap
    capture sll-tcp4.pcapng    any 127.0.0.1 tcp -y LINUX_SLL
    capture sll2-udp4.pcap     any 127.0.0.1 udp -y LINUX_SLL2 -F pcap
    capture sll2-tcp6.pcapng   any ::1       tcp -y LINUX_SLL2
    capture eth-udp4-snap64.pcap lo 127.0.0.1 udp -s 64 -F pcap
fi

# Written fixtures (deterministic; the test also checks the committed bytes match).
( cd "$REPO" && PCAP_WRITE_FIXTURES="$FIX" swift test --filter WriterFixtureTests >/dev/null )

# tshark's view of every fixture.
for f in "$FIX"/*.pcap "$FIX"/*.pcapng; do
    tshark -r "$f" -T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, \
        -e frame.number -e frame.time_epoch -e frame.len -e frame.cap_len \
        -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
        -e udp.srcport -e udp.dstport -e tcp.srcport -e tcp.dstport \
        -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags -e udp.payload -e tcp.payload \
        2>/dev/null > "${f%.*}.frames.tsv"
done
# A test-only golden in the Captures/ contract format, for the RTCTestSupport tests.
tshark -r "$FIX/loop-rtp.plain.pcap" -o rtp.heuristic_rtp:TRUE -Y rtp -T fields -E header=y -E separator=/t \
    -E occurrence=a -E aggregator=, -e frame.number -e rtp.seq -e rtp.ssrc -e rtp.timestamp -e rtp.p_type \
    -e rtp.marker 2>/dev/null > "$FIX/loop-rtp.plain.rtp.tsv"
ls -l "$FIX"
