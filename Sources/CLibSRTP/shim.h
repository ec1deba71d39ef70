#ifndef SFU_CLIBSRTP_SHIM_H
#define SFU_CLIBSRTP_SHIM_H
#include <srtp2/srtp.h>
#endif
