#!/usr/bin/env bash
# Re-creates the PacketCapture test fixtures and their tshark views (*.tsv), which the tests compare
# against without tshark. Needs root (unshare -n), tshark and text2pcap.
#  - lo-eth.pcapng / lo-eth-classic.pcap: tshark -i lo (Ethernet), UDP over IPv4 and IPv6 and a TCP exchange
#  - any-sll.pcap / any-sll2.pcapng: tshark -i any -y LINUX_SLL / LINUX_SLL2, same traffic
#  - text2pcap-{null,loop,raw,ipv4,ipv6}.pcap: hex dumps turned into pcaps by text2pcap (an independent
#    writer) with link types 0, 108, 101, 228, 229
#  - eth-*/sll-*/sll2-*: more tshark recordings (UDP and TCP over IPv4 and IPv6, pcap and pcapng, and
#    eth-udp4-snap64.pcap cut by a 64-byte snap length), 3 UDP round trips or one TCP connection each
#  - null-udp, loop-udp, raw-mixed, ipv4-tcp, ipv6-udp, loop-rtp.plain, eth-handmade (802.1Q and QinQ tags,
#    IPv4 options, IPv6 extension headers, fragments, ARP, Ethernet padding): written by PCAPWriter in
#    WriterFixtureTests (run here with PCAP_WRITE_FIXTURES) and cross-checked by tshark below
#  - <stem>.frames.tsv: tshark's view of every fixture (frame, time, lengths, addresses, ports, TCP
#    fields, payloads), read by ReaderConformanceTests through GoldenTable
#  - loop-rtp.plain.rtp.tsv: an RTP golden in the Captures/ contract format, for the RTCTestSupport tests
# Usage: make-fixtures.sh [--no-capture]   (--no-capture keeps the recorded files, redoes the rest)
set -euo pipefail
cd "$(dirname "$0")"
traffic='
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 40001))
u.sendto(b"\x00\x01hello stun-ish", ("127.0.0.1", 40002)); u.sendto(b"\x80\x60rtp-ish payload", ("127.0.0.1", 40002))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::1", 40003))
u6.sendto(b"\x17\xfe\xfddtls-ish over v6", ("::1", 40004))
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 40005)); s.listen()
c = socket.create_connection(("127.0.0.1", 40005)); a, _ = s.accept()
c.sendall(b"\x00\x05ice-tcp framed"); a.recv(100); a.sendall(b"reply"); c.recv(100)
c.close(); a.close(); time.sleep(0.3)
'
record() {  # iface linktype format out
  unshare -n bash -c "ip link set lo up
    tshark -q -i $1 -y $2 -F $3 -f 'port 40001 or port 40003 or port 40005 or port 40002 or port 40004' -w /tmp/fx.$$ 2>/dev/null & t=\$!
    sleep 1.5; python3 -c '$traffic'; sleep 1; kill -INT \$t; wait \$t || true"
  mv /tmp/fx.$$ "$4"; chmod 644 "$4"
}
FIX="$PWD"
REPO="$(cd ../../.. && pwd)"
if [ "${1:-}" != "--no-capture" ]; then
record lo EN10MB pcapng lo-eth.pcapng
record lo EN10MB pcap lo-eth-classic.pcap
record any LINUX_SLL pcap any-sll.pcap
record any LINUX_SLL2 pcapng any-sll2.pcapng

# text2pcap: IPv4/UDP 10.1.2.3:5000 -> 10.4.5.6:6000 payload "webrtc", and IPv6/UDP ::1:7000 -> ::2:8000 "v6"
ip4="45 00 00 22 00 00 40 00 40 11 00 00 0a 01 02 03 0a 04 05 06 13 88 17 70 00 0e 00 00 77 65 62 72 74 63"
ip6="60 00 00 00 00 0a 11 40 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 1b 58 1f 40 00 0a 00 00 76 36"
t2p() {  # linktype prefix-hex payload-hex out
  printf '0000 %s %s\n' "$2" "$3" | text2pcap -q -l "$1" -t '%s.' - "$4" 2>/dev/null || printf '0000 %s %s\n' "$2" "$3" | text2pcap -l "$1" - "$4"
}
t2p 0 "02 00 00 00" "$ip4" text2pcap-null.pcap
t2p 108 "00 00 00 02" "$ip4" text2pcap-loop.pcap
t2p 101 "" "$ip4" text2pcap-raw.pcap
t2p 228 "" "$ip4" text2pcap-ipv4.pcap
t2p 229 "" "$ip6" text2pcap-ipv6.pcap

for f in lo-eth.pcapng lo-eth-classic.pcap any-sll.pcap any-sll2.pcapng text2pcap-*.pcap; do
  tshark -r "$f" -T fields -E separator=/t -e frame.number -e frame.time_epoch -e frame.len \
    -e ip.src -e ipv6.src -e udp.srcport -e tcp.srcport -e ip.dst -e ipv6.dst -e udp.dstport -e tcp.dstport \
    -e udp.payload -e tcp.payload -e tcp.seq_raw -e tcp.flags 2>/dev/null > "${f%.*}.${f##*.}.tsv"
done
fi

# ---- more recordings, PCAPWriter fixtures, frames.tsv views
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
