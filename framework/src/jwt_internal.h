/*
 * jwt_internal.h - base64url and raw JWS signing, shared by jwt.c and its unit tests (the
 * RFC 7515 example signs header and payload bytes that no JSON writer would produce).
 */
#ifndef RIG_JWT_INTERNAL_H
#define RIG_JWT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* base64url without padding (RFC 7515 section 2); returns a new string. */
char *rig__base64url_encode(const void *data, size_t len);
/* Decodes base64url without padding (padding '=' is tolerated at the end). On success
 * *out (NUL-terminated for convenience) and *out_len are set; returns 0, or -1 for a
 * character outside the alphabet or an impossible length. */
int rig__base64url_decode(uint8_t **out, size_t *out_len, const char *text, size_t len);
/* The compact JWS of exactly these header and payload bytes, signed with HS256. */
char *rig__jws_sign_hs256(const void *header, size_t header_len, const void *payload,
                          size_t payload_len, const void *key, size_t key_len);

#endif
