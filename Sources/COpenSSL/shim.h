#ifndef SFU_COPENSSL_SHIM_H
#define SFU_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/ec.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/srtp.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <sys/time.h>

/* Swift cannot call function-like macros: static inline wrappers for the ones DTLS needs. */

static inline long sfu_DTLSv1_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long sfu_DTLSv1_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
static inline long sfu_BIO_set_mem_eof_return(BIO *bio, long v) { return BIO_set_mem_eof_return(bio, v); }
static inline long sfu_SSL_set_mtu(SSL *ssl, long mtu) { return SSL_set_mtu(ssl, mtu); }
static inline long sfu_DTLS_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
static inline long sfu_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_min_proto_version(ctx, v); }
static inline long sfu_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_max_proto_version(ctx, v); }
static inline int sfu_SSL_set_app_data(SSL *ssl, void *data) { return SSL_set_app_data(ssl, data); }
static inline void *sfu_SSL_get_app_data(const SSL *ssl) { return SSL_get_app_data(ssl); }
static inline int sfu_DTLS1_2_VERSION(void) { return DTLS1_2_VERSION; }
static inline uint64_t sfu_SSL_OP_NO_QUERY_MTU(void) { return SSL_OP_NO_QUERY_MTU; }
static inline uint64_t sfu_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }

/* SHA-1 on a plain struct state (SHA_CTX): copying a keyed HMAC state is then a memcpy, with no allocation, which
   EVP_MD_CTX_copy_ex in OpenSSL 3.0 does not offer (it duplicates the provider context on the heap). These
   functions are deprecated in 3.0 but kept, and use the same assembly as EVP. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline int sfu_SHA1_Init(SHA_CTX *c) { return SHA1_Init(c); }
static inline int sfu_SHA1_Update(SHA_CTX *c, const void *data, size_t len) { return SHA1_Update(c, data, len); }
static inline int sfu_SHA1_Final(unsigned char *md, SHA_CTX *c) { return SHA1_Final(md, c); }
#pragma GCC diagnostic pop

#endif
