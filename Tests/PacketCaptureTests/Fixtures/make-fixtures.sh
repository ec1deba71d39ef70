#!/usr/bin/env bash
# Re-creates the PacketCapture test fixtures and their tshark views (*.tsv), which the tests compare
# against without tshark. Needs root (unshare -n), tshark and text2pcap.
#  - lo-eth.pcapng / lo-eth.pcap: tshark -i lo (Ethernet), UDP over IPv4 and IPv6 and a TCP exchange
#  - any-sll.pcap / any-sll2.pcapng: tshark -i any -y LINUX_SLL / LINUX_SLL2, same traffic
#  - text2pcap-{null,loop,raw,ipv4,ipv6}.pcap: hex dumps turned into pcaps by text2pcap (an independent
#    writer) with link types 0, 108, 101, 228, 229
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
record lo EN10MB pcapng lo-eth.pcapng
record lo EN10MB pcap lo-eth.pcap
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

for f in *.pcap *.pcapng; do
  tshark -r "$f" -T fields -E separator=/t -e frame.number -e frame.time_epoch -e frame.len \
    -e ip.src -e ipv6.src -e udp.srcport -e tcp.srcport -e ip.dst -e ipv6.dst -e udp.dstport -e tcp.dstport \
    -e udp.payload -e tcp.payload -e tcp.seq_raw -e tcp.flags 2>/dev/null > "${f%.*}.${f##*.}.tsv"
done
ls -l
