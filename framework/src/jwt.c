/*
 * jwt.c - HS256 JSON Web Tokens: claims to JSON (json-c), base64url segments, HMAC-SHA256 signing
 * and verification.
 */
#include "stackrig/jwt.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "jwt_internal.h"
#include "sha256.h"
#include "stackrig/error.h"
#include "util.h"

#ifndef JSON_C_TO_STRING_NOSLASHESCAPE
#define JSON_C_TO_STRING_NOSLASHESCAPE 0
#endif
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* One JWS segment: base64url without padding (RFC 7515 section 2). */
static char *segment(const void *data, size_t len)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__base64_encode(&buf, data, len, RIG_BASE64_URL);
  return rig__buf_detach(&buf);
}

char *rig__jws_sign_hs256(const void *header, size_t header_len, const void *payload,
                          size_t payload_len, const void *key, size_t key_len)
{
  char *h = segment(header, header_len);
  char *p = segment(payload, payload_len);
  char *signing_input = rig__sprintf("%s.%s", h, p);
  uint8_t mac[RIG_SHA256_DIGEST_LEN];
  rig__hmac_sha256(mac, key, key_len, signing_input, strlen(signing_input));
  char *s = segment(mac, sizeof mac);
  char *token = rig__sprintf("%s.%s", signing_input, s);
  free(h);
  free(p);
  free(signing_input);
  free(s);
  return token;
}

static int add_extra_claims(json_object *payload, const char *extra_json)
{
  json_tokener *tok = json_tokener_new();
  json_object *extra = json_tokener_parse_ex(tok, extra_json, (int)strlen(extra_json));
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t offset = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr != json_tokener_success || !extra) {
    json_object_put(extra);
    return rig_error_set(RIG_EINVAL, "JWT extra claims: not valid JSON at offset %zu: %s", offset,
                         jerr == json_tokener_success ? "incomplete"
                                                      : json_tokener_error_desc(jerr));
  }
  if (!json_object_is_type(extra, json_type_object)) {
    json_object_put(extra);
    return rig_error_set(RIG_EINVAL, "JWT extra claims: expected a JSON object, got '%s'",
                         extra_json);
  }
  json_object_object_foreach(extra, name, value)
  {
    json_object_object_add(payload, name, json_object_get(value));
  }
  json_object_put(extra);
  return RIG_OK;
}

int rig_jwt_sign_hs256(char **out, const rig_jwt_claims *claims, const void *key, size_t key_len)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "JWT: no output pointer");
  if (!key || key_len == 0)
    return rig_error_set(RIG_EINVAL, "JWT: the HS256 key is empty");
  rig_jwt_claims defaults = RIG_JWT_CLAIMS_INIT;
  if (!claims)
    claims = &defaults;

  json_object *header = json_object_new_object();
  json_object_object_add(header, "alg", json_object_new_string("HS256"));
  json_object_object_add(header, "typ", json_object_new_string("JWT"));
  if (claims->key_id)
    json_object_object_add(header, "kid", json_object_new_string(claims->key_id));

  json_object *payload = json_object_new_object();
  if (claims->issuer)
    json_object_object_add(payload, "iss", json_object_new_string(claims->issuer));
  if (claims->subject)
    json_object_object_add(payload, "sub", json_object_new_string(claims->subject));
  if (claims->audience)
    json_object_object_add(payload, "aud", json_object_new_string(claims->audience));
  int64_t issued_at = claims->issued_at > 0 ? claims->issued_at : (int64_t)time(NULL);
  if (claims->issued_at >= 0)
    json_object_object_add(payload, "iat", json_object_new_int64(issued_at));
  if (claims->expires_in_s >= 0) {
    int64_t lifetime = claims->expires_in_s > 0 ? claims->expires_in_s : 3600;
    json_object_object_add(payload, "exp", json_object_new_int64(issued_at + lifetime));
  }
  int rc = RIG_OK;
  if (claims->extra_json)
    rc = add_extra_claims(payload, claims->extra_json);
  if (rc == RIG_OK) {
    const char *h = json_object_to_json_string_ext(header, JSON_FLAGS);
    const char *p = json_object_to_json_string_ext(payload, JSON_FLAGS);
    *out = rig__jws_sign_hs256(h, strlen(h), p, strlen(p), key, key_len);
  }
  json_object_put(header);
  json_object_put(payload);
  return rc;
}

static int constant_time_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
  uint8_t diff = 0;
  for (size_t i = 0; i < len; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

int rig_jwt_verify_hs256(char **out_claims, const char *token, const void *key, size_t key_len)
{
  if (!token)
    return rig_error_set(RIG_EINVAL, "JWT: no token");
  const char *dot1 = strchr(token, '.');
  const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
    return rig_error_set(RIG_EPARSE, "JWT: expected three '.'-separated parts");

  uint8_t *header = NULL, *payload = NULL, *signature = NULL;
  size_t header_len = 0, payload_len = 0, signature_len = 0;
  json_object *header_json = NULL;
  int rc = RIG_OK;
  if (rig__base64_decode(&header, &header_len, token, (size_t)(dot1 - token), RIG_BASE64_URL) !=
          0 ||
      rig__base64_decode(&payload, &payload_len, dot1 + 1, (size_t)(dot2 - dot1 - 1),
                         RIG_BASE64_URL) != 0 ||
      rig__base64_decode(&signature, &signature_len, dot2 + 1, strlen(dot2 + 1), RIG_BASE64_URL) !=
          0) {
    rc = rig_error_set(RIG_EPARSE, "JWT: a part is not base64url");
    goto cleanup;
  }
  header_json = json_tokener_parse((const char *)header);
  json_object *alg = NULL;
  if (!header_json || !json_object_is_type(header_json, json_type_object)) {
    rc = rig_error_set(RIG_EPARSE, "JWT: the header is not a JSON object");
    goto cleanup;
  }
  if (!json_object_object_get_ex(header_json, "alg", &alg) ||
      strcmp(json_object_get_string(alg), "HS256") != 0) {
    rc = rig_error_set(RIG_EUNSUPPORTED, "JWT: algorithm '%s' is not HS256",
                       alg ? json_object_get_string(alg) : "(none)");
    goto cleanup;
  }
  uint8_t mac[RIG_SHA256_DIGEST_LEN];
  rig__hmac_sha256(mac, key, key_len, token, (size_t)(dot2 - token));
  if (signature_len != sizeof mac || !constant_time_equal(mac, signature, sizeof mac)) {
    rc = rig_error_set(RIG_EASSERT, "JWT: the signature does not match the key");
    goto cleanup;
  }
  if (out_claims) {
    *out_claims = (char *)payload;
    payload = NULL;
  }
cleanup:
  json_object_put(header_json);
  free(header);
  free(payload);
  free(signature);
  return rc;
}
