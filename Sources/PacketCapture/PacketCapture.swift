// PacketCapture: pcap/pcapng reading and writing over libpcap.
