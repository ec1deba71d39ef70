#!/usr/bin/env bash
# Seeds FuzzTesting/Corpus/<target>/ with one file per distinct datagram of the matching protocol
# taken from Captures/ (Janus-style corpora from real traffic). Needs tshark; run it after adding
# captures and commit the result. At most $MAX files per target (default 150), deduplicated.
set -euo pipefail
cd "$(dirname "$0")"
MAX=${MAX:-150}
declare -A filter=( [FuzzSTUN]="stun" [FuzzRTP]="rtp && !rtcp" [FuzzRTPCodecs]="rtp && !rtcp" [FuzzRTCP]="rtcp" [FuzzDTLSRecord]="dtls" )
for t in "${!filter[@]}"; do
  mkdir -p "Corpus/$t"
  n=0
  while IFS= read -r hex; do
    [ -n "$hex" ] || continue
    if [ "$t" = FuzzRTPCodecs ]; then hex=${hex:24}; fi   # codec harness takes the payload after a 12-byte header
    f="Corpus/$t/$(printf '%s' "$hex" | sha1sum | cut -c1-16)"
    [ -e "$f" ] && continue
    printf '%s' "$hex" | xxd -r -p > "$f"
    n=$((n+1)); [ $n -ge "$MAX" ] && break
  done < <(find ../Captures -name '*.pcap*' | sort | while read -r p; do
             tshark -r "$p" -o rtp.heuristic_rtp:TRUE -Y "${filter[$t]}" -T fields -e udp.payload 2>/dev/null | shuf -n 400 --random-source=<(yes)
           done)
  echo "seeded $t: $(ls "Corpus/$t" | wc -l) files"
done
