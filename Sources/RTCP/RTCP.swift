// RTCP (RFC 3550/4585/5104/3611) compound packets.
