#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

/*
 * SHA-256 through OpenSSL's low-level SHA256_Init/Update/Final (deprecated in 3.0, still exported,
 * same assembly: SHA-NI / AVX2 selected at load time). For the short inputs of SigV4 they are several
 * times faster than EVP (no context allocation, no provider dispatch), and the context is a plain
 * struct that can be copied, which makes precomputed HMAC pad states possible.
 *
 * Swift code calls these wrappers, never the deprecated functions themselves, so no deprecation
 * warning reaches the Swift build; the warning is silenced here, once.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

static inline int svcconf_sha256_init(SHA256_CTX *c) { return SHA256_Init(c); }

static inline int svcconf_sha256_update(SHA256_CTX *c, const void *data, size_t len) {
    return SHA256_Update(c, data, len);
}

static inline int svcconf_sha256_final(unsigned char *md, SHA256_CTX *c) { return SHA256_Final(md, c); }

#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif
