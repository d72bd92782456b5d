/*
 * sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), internal to libstackrig.
 * The JWT helper needs them and libcurl does not export its own; a crypto library would be
 * a heavy dependency for one hash, and these are short and checked against the standard
 * vectors in tests/unit/check_jwt.c.
 */
#ifndef RIG_SHA256_H
#define RIG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define RIG_SHA256_DIGEST_LEN 32
#define RIG_SHA256_BLOCK_LEN 64

typedef struct rig__sha256_ctx {
  uint32_t state[8];
  uint64_t total_len; /* bytes hashed so far */
  uint8_t block[RIG_SHA256_BLOCK_LEN];
  size_t block_len; /* bytes waiting in block */
} rig__sha256_ctx;

void rig__sha256_init(rig__sha256_ctx *ctx);
void rig__sha256_update(rig__sha256_ctx *ctx, const void *data, size_t len);
void rig__sha256_final(rig__sha256_ctx *ctx, uint8_t out[RIG_SHA256_DIGEST_LEN]);
void rig__sha256(uint8_t out[RIG_SHA256_DIGEST_LEN], const void *data, size_t len);

/* The digest as 64 lowercase hex characters and a NUL (config hashes, checksums). */
void rig__sha256_hex(char out[65], const void *data, size_t len);

void rig__hmac_sha256(uint8_t out[RIG_SHA256_DIGEST_LEN], const void *key, size_t key_len,
                      const void *data, size_t len);

#endif
