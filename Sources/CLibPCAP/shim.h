#ifndef SFU_CLIBPCAP_SHIM_H
#define SFU_CLIBPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
