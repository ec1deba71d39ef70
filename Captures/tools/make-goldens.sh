#!/usr/bin/env bash
# Writes tshark's dissection of every capture as goldens the conformance tests compare against, so
# the tests never need tshark. For each capture file <stem>.pcap / <stem>.pcapng under the given
# directories (default: all of Captures/) and each protocol P in stun, rtp, rtcp, writes <stem>.<P>.tsv:
# a header row of field names (first column frame.number), one row per frame tshark dissects as P,
# fields from tools/fields/P.fields, multiple occurrences comma-joined.
set -euo pipefail
tools=$(dirname "$(realpath "$0")")
dirs=("$@"); [ ${#dirs[@]} -gt 0 ] || dirs=("$(dirname "$tools")")
declare -A filter=( [stun]="stun" [rtp]="rtp.version && !rtcp.pt" )
find "${dirs[@]}" -name '*.pcap' -o -name '*.pcapng' | grep -v '/tools/' | sort | while read -r cap; do
  stem=${cap%.pcapng}; stem=${stem%.pcap}
  for p in stun rtp rtcp; do
    args=()
    while read -r f; do [ -n "$f" ] && args+=(-e "$f"); done < "$tools/fields/$p.fields"
    if [ "$p" = rtcp ] && [[ "$cap" != *.plain.pcap ]]; then
      # SRTCP bodies are ciphertext: only decrypted twins get RTCP goldens.
      rm -f "$stem.$p.tsv"; continue
    fi
    if [ "$p" = rtcp ]; then
      # tshark's RTCP heuristic only accepts compounds that start with SR/RR, so reduced-size RTCP
      # (RFC 5506: a lone transport-cc, NACK or PLI) would get no golden. Select the RTCP frames by
      # RFC 5761/7983 classification instead, dissect only those as RTCP, and map rows back to the
      # original frame numbers.
      frames=$(tshark -r "$cap" -T fields -e frame.number -e udp.payload 2>/dev/null | python3 -c '
import sys
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 2 and len(parts[1]) >= 4:
        b0, b1 = int(parts[1][0:2], 16), int(parts[1][2:4], 16)
        if 128 <= b0 <= 191 and 192 <= b1 <= 223:
            print(parts[0])')
      if [ -z "$frames" ]; then rm -f "$stem.$p.tsv"; continue; fi
      tmp=$(mktemp --suffix=.pcap)
      editcap -F pcap -r "$cap" "$tmp" $frames 2>/dev/null
      tshark -r "$tmp" -d 'udp.port==1-65535,rtcp' -T fields -E header=y -E separator=/t -E occurrence=a \
        -E aggregator=, -e frame.number "${args[@]}" 2>/dev/null \
        | python3 -c '
import sys
frames = sys.argv[1].split()
for i, line in enumerate(sys.stdin):
    cols = line.rstrip("\n").split("\t")
    if i > 0:
        cols[0] = frames[i - 1]
    print("\t".join(cols))' "$frames" > "$stem.$p.tsv"
      rm -f "$tmp"
    else
      tshark -r "$cap" -o rtp.heuristic_rtp:TRUE -Y "${filter[$p]}" -T fields -E header=y \
        -E separator=/t -E occurrence=a -E aggregator=, -e frame.number "${args[@]}" \
        > "$stem.$p.tsv" 2>/dev/null
    fi
    rows=$(($(wc -l < "$stem.$p.tsv") - 1))
    if [ "$rows" -le 0 ]; then rm -f "$stem.$p.tsv"; else echo "goldens: $(basename "$stem").$p.tsv ($rows frames)"; fi
  done
done
