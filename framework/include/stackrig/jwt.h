/*
 * stackrig/jwt.h - HS256 JSON Web Tokens (RFC 7519 claims, RFC 7515 compact JWS), so that
 * traffic and tests can reach services behind bearer authentication with a shared secret.
 *
 * Only HS256 (HMAC-SHA256) is offered: it is what test stacks configure with a shared
 * secret. Tokens are for tests; nothing here is hardened against timing or misuse beyond
 * a constant-time signature comparison.
 */
#ifndef STACKRIG_JWT_H
#define STACKRIG_JWT_H

#include "common.h"

RIG_BEGIN_DECLS

/** The registered claims a test usually needs, plus any others as a JSON object. */
typedef struct rig_jwt_claims {
  unsigned int version;
  const char *subject;    /**< "sub", or NULL to leave it out */
  const char *issuer;     /**< "iss", or NULL */
  const char *audience;   /**< "aud", or NULL */
  int64_t issued_at;      /**< "iat" in Unix seconds; 0: now; -1: leave it out */
  int64_t expires_in_s;   /**< "exp" = iat (or now) + this; 0: 3600; -1: leave it out */
  const char *extra_json; /**< a JSON object whose members are added (and override the
                               above, e.g. {"exp": 1300819380, "roles": ["admin"]}), or NULL */
  const char *key_id;     /**< "kid" in the header, or NULL */
} rig_jwt_claims;

#define RIG_JWT_CLAIMS_VERSION 1
#define RIG_JWT_CLAIMS_INIT                                                                        \
  {                                                                                                \
    RIG_JWT_CLAIMS_VERSION, NULL, NULL, NULL, 0, 0, NULL, NULL                                     \
  }

/**
 * Signs a token: base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256), with
 * the header {"alg":"HS256","typ":"JWT"} (and "kid" when given). Claims appear in the order
 * iss, sub, aud, iat, exp, then the extra members.
 * @param[out] out the compact token, free() it; use it as "Authorization: Bearer <out>"
 * @param claims the claims, or NULL for just iat and exp
 * @param key the shared secret (raw bytes, not base64)
 * @return RIG_OK, or RIG_EINVAL when extra_json is not a JSON object (the message says
 *   where it stops parsing) or the key is empty
 */
RIG_EXTERN int rig_jwt_sign_hs256(char **out, const rig_jwt_claims *claims, const void *key,
                                  size_t key_len);

/**
 * Checks a compact HS256 token's signature (in constant time) and that its header says
 * "alg":"HS256". It does not judge the claims (exp, aud): a test decides what it expects.
 * @param[out] out_claims the decoded claims JSON text, free() it; may be NULL
 * @return RIG_OK, RIG_EPARSE for a token that is not three base64url parts with a JSON
 *   header, RIG_EUNSUPPORTED for another algorithm, RIG_EASSERT for a wrong signature
 */
RIG_EXTERN int rig_jwt_verify_hs256(char **out_claims, const char *token, const void *key,
                                    size_t key_len);

RIG_END_DECLS

#endif
