/*
 * jwt_internal.h - raw JWS signing, shared by jwt.c and its unit tests (the
 * RFC 7515 example signs header and payload bytes that no JSON writer would produce).
 */
#ifndef RIG_JWT_INTERNAL_H
#define RIG_JWT_INTERNAL_H

#include <stddef.h>

/* The compact JWS of exactly these header and payload bytes, signed with HS256. */
char *rig__jws_sign_hs256(const void *header, size_t header_len, const void *payload,
                          size_t payload_len, const void *key, size_t key_len);

#endif
