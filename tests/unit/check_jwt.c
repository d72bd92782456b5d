/*
 * check_jwt.c - SHA-256 against the FIPS 180-4 examples (and padding edge lengths),
 * HMAC-SHA256 against RFC 4231, base64url against RFC 4648, JWS signing against the HS256
 * example of RFC 7515 appendix A.1, and the JWT API's tokens re-verified by recomputing.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "base64.h"
#include "jwt_internal.h"
#include "sha256.h"
#include "testutil.h"

static void to_hex(char *out, const uint8_t *bytes, size_t len)
{
  for (size_t i = 0; i < len; i++)
    sprintf(out + 2 * i, "%02x", bytes[i]);
}

static void assert_sha256(const void *data, size_t len, const char *expected)
{
  uint8_t digest[32];
  char hex[65];
  rig__sha256(digest, data, len);
  to_hex(hex, digest, sizeof digest);
  ck_assert_str_eq(hex, expected);
}

/* ---- SHA-256 ---- */

START_TEST(sha256_fips_examples)
{
  assert_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  assert_sha256(two_blocks, strlen(two_blocks),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const char *long_message = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                             "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  assert_sha256(long_message, strlen(long_message),
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(sha256_million_a_in_uneven_pieces)
{
  /* one million 'a', fed in pieces of changing sizes so that updates cross block edges */
  char chunk[1024]; /* the largest piece below is 1009 bytes */
  memset(chunk, 'a', sizeof chunk);
  rig__sha256_ctx ctx;
  rig__sha256_init(&ctx);
  size_t left = 1000000, step = 1;
  while (left > 0) {
    size_t take = step < left ? step : left;
    rig__sha256_update(&ctx, chunk, take);
    left -= take;
    step = step % 997 + 13;
  }
  uint8_t digest[32];
  char hex[65];
  rig__sha256_final(&ctx, digest);
  to_hex(hex, digest, sizeof digest);
  ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* Lengths around the padding edges (55/56 bytes leave or do not leave room for the
 * length field); expected digests from an independent implementation. */
static const struct {
  size_t len;
  const char *digest;
} padding_cases[] = {
    {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
    {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
    {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
    {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
    {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
    {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
    {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    {1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"},
};

START_TEST(sha256_padding_edges)
{
  char data[1000];
  memset(data, 'a', sizeof data);
  assert_sha256(data, padding_cases[_i].len, padding_cases[_i].digest);
}
END_TEST

/* ---- HMAC-SHA256, RFC 4231 section 4 ---- */

static void fill(uint8_t *buf, uint8_t byte, size_t len)
{
  memset(buf, byte, len);
}

static void assert_hmac(const void *key, size_t key_len, const void *data, size_t len,
                        const char *expected)
{
  uint8_t mac[32];
  char hex[65];
  rig__hmac_sha256(mac, key, key_len, data, len);
  to_hex(hex, mac, sizeof mac);
  hex[strlen(expected)] = '\0'; /* test case 5 compares a truncated MAC */
  ck_assert_str_eq(hex, expected);
}

START_TEST(hmac_rfc4231)
{
  uint8_t key[131], data[50];
  fill(key, 0x0b, 20);
  assert_hmac(key, 20, "Hi There", 8,
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  assert_hmac("Jefe", 4, "what do ya want for nothing?", 28,
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  fill(key, 0xaa, 20);
  fill(data, 0xdd, 50);
  assert_hmac(key, 20, data, 50,
              "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  for (int i = 0; i < 25; i++)
    key[i] = (uint8_t)(i + 1);
  fill(data, 0xcd, 50);
  assert_hmac(key, 25, data, 50,
              "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  fill(key, 0x0c, 20);
  assert_hmac(key, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b");
  fill(key, 0xaa, 131);
  const char *first = "Test Using Larger Than Block-Size Key - Hash Key First";
  assert_hmac(key, 131, first, strlen(first),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  const char *second = "This is a test using a larger than block-size key and a larger than "
                       "block-size data. The key needs to be hashed before being used by the "
                       "HMAC algorithm.";
  assert_hmac(key, 131, second, strlen(second),
              "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}
END_TEST

/* ---- base64url ---- */

static char *b64url(const void *data, size_t len)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__base64_encode(&buf, data, len, RIG_BASE64_URL);
  return rig__buf_detach(&buf);
}

static const struct {
  const char *plain;
  const char *encoded;
} base64_cases[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"},
};

START_TEST(base64url_round_trip)
{
  const char *plain = base64_cases[_i].plain;
  char *encoded = b64url(plain, strlen(plain));
  ck_assert_str_eq(encoded, base64_cases[_i].encoded);
  uint8_t *decoded = NULL;
  size_t len = 0;
  ck_assert_int_eq(rig__base64_decode(&decoded, &len, encoded, strlen(encoded), RIG_BASE64_URL), 0);
  ck_assert_uint_eq(len, strlen(plain));
  ck_assert_mem_eq(decoded, plain, len);
  free(decoded);
  free(encoded);
}
END_TEST

START_TEST(base64url_rejects_garbage)
{
  uint8_t *decoded = NULL;
  size_t len = 0;
  /* '+' and '/' belong to the standard alphabet only */
  ck_assert_int_eq(rig__base64_decode(&decoded, &len, "Zm9v+g", 6, RIG_BASE64_URL), -1);
  ck_assert_int_eq(rig__base64_decode(&decoded, &len, "Zm9v/g", 6, RIG_BASE64_URL), -1);
  /* 5 characters = 4k+1: the last one cannot hold a whole byte */
  ck_assert_int_eq(rig__base64_decode(&decoded, &len, "Zm9vY", 5, RIG_BASE64_URL), -1);
  ck_assert_ptr_null(decoded);
  /* padding is tolerated */
  ck_assert_int_eq(rig__base64_decode(&decoded, &len, "Zm8=", 4, RIG_BASE64_URL), 0);
  ck_assert_uint_eq(len, 2);
  free(decoded);
}
END_TEST

/* ---- JWS / JWT ---- */

/* RFC 7515 appendix A.1: exactly these bytes, CR LF included */
static const char rfc_header[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
static const char rfc_payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
static const char rfc_key_b64[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
static const char rfc_token[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                                ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtc"
                                "GxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                                ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

START_TEST(jws_matches_rfc7515_example)
{
  uint8_t *key = NULL;
  size_t key_len = 0;
  ck_assert_int_eq(
      rig__base64_decode(&key, &key_len, rfc_key_b64, strlen(rfc_key_b64), RIG_BASE64_URL), 0);
  ck_assert_uint_eq(key_len, 64);
  char *token = rig__jws_sign_hs256(rfc_header, strlen(rfc_header), rfc_payload,
                                    strlen(rfc_payload), key, key_len);
  ck_assert_str_eq(token, rfc_token);

  char *claims = NULL;
  ck_assert_int_eq(rig_jwt_verify_hs256(&claims, rfc_token, key, key_len), RIG_OK);
  ck_assert_str_eq(claims, rfc_payload);
  free(claims);
  free(token);
  free(key);
}
END_TEST

/* Splits a token and returns its decoded part (0 header, 1 claims). */
static char *token_part(const char *token, int part)
{
  const char *start = token;
  for (int i = 0; i < part; i++)
    start = strchr(start, '.') + 1;
  const char *end = strchr(start, '.');
  uint8_t *decoded = NULL;
  size_t len = 0;
  ck_assert_int_eq(rig__base64_decode(&decoded, &len, start, (size_t)(end - start), RIG_BASE64_URL),
                   0);
  return (char *)decoded;
}

START_TEST(sign_writes_claims_in_order_and_verifies)
{
  rig_jwt_claims claims = RIG_JWT_CLAIMS_INIT;
  claims.subject = "alice";
  claims.issuer = "stackrig";
  claims.audience = "orders";
  claims.issued_at = 1700000000;
  claims.expires_in_s = 600;
  const char *key = "s3cret-key";
  char *token = NULL;
  ck_assert_int_eq(rig_jwt_sign_hs256(&token, &claims, key, strlen(key)), RIG_OK);

  char *header = token_part(token, 0);
  char *payload = token_part(token, 1);
  ck_assert_str_eq(header, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
  ck_assert_str_eq(payload, "{\"iss\":\"stackrig\",\"sub\":\"alice\",\"aud\":\"orders\","
                            "\"iat\":1700000000,\"exp\":1700000600}");

  /* recompute the signature over "header.payload" independently of the API */
  const char *last_dot = strrchr(token, '.');
  uint8_t mac[32];
  rig__hmac_sha256(mac, key, strlen(key), token, (size_t)(last_dot - token));
  char *expected = b64url(mac, sizeof mac);
  ck_assert_str_eq(last_dot + 1, expected);

  char *verified = NULL;
  ck_assert_int_eq(rig_jwt_verify_hs256(&verified, token, key, strlen(key)), RIG_OK);
  ck_assert_str_eq(verified, payload);
  ck_assert_int_eq(rig_jwt_verify_hs256(NULL, token, "other", 5), RIG_EASSERT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "signature"));

  free(verified);
  free(expected);
  free(header);
  free(payload);
  free(token);
}
END_TEST

START_TEST(sign_defaults_to_now_and_one_hour)
{
  char *token = NULL;
  time_t before = time(NULL);
  ck_assert_int_eq(rig_jwt_sign_hs256(&token, NULL, "k", 1), RIG_OK);
  time_t after = time(NULL);
  char *payload = token_part(token, 1);
  json_object *obj = json_tokener_parse(payload);
  ck_assert_ptr_nonnull(obj);
  json_object *iat = NULL, *exp = NULL;
  ck_assert(json_object_object_get_ex(obj, "iat", &iat));
  ck_assert(json_object_object_get_ex(obj, "exp", &exp));
  ck_assert_int_ge(json_object_get_int64(iat), (int64_t)before);
  ck_assert_int_le(json_object_get_int64(iat), (int64_t)after);
  ck_assert_int_eq(json_object_get_int64(exp) - json_object_get_int64(iat), 3600);
  ck_assert_int_eq(json_object_object_length(obj), 2);
  json_object_put(obj);
  free(payload);
  free(token);
}
END_TEST

START_TEST(sign_adds_and_overrides_extra_claims)
{
  rig_jwt_claims claims = RIG_JWT_CLAIMS_INIT;
  claims.subject = "bob";
  claims.issued_at = -1; /* leave iat out */
  claims.key_id = "test-key-1";
  claims.extra_json = "{\"exp\": 1300819380, \"roles\": [\"admin\"], \"site\": \"http://a/b\"}";
  char *token = NULL;
  ck_assert_int_eq(rig_jwt_sign_hs256(&token, &claims, "k", 1), RIG_OK);
  char *header = token_part(token, 0);
  char *payload = token_part(token, 1);
  ck_assert_str_eq(header, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"test-key-1\"}");
  ck_assert_str_eq(payload, "{\"sub\":\"bob\",\"exp\":1300819380,\"roles\":[\"admin\"],"
                            "\"site\":\"http://a/b\"}");
  free(header);
  free(payload);
  free(token);
}
END_TEST

START_TEST(sign_rejects_bad_input_and_leaves_out_alone)
{
  char *token = (char *)"untouched";
  rig_jwt_claims claims = RIG_JWT_CLAIMS_INIT;
  claims.extra_json = "{\"a\": ";
  ck_assert_int_eq(rig_jwt_sign_hs256(&token, &claims, "k", 1), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "extra claims"));
  claims.extra_json = "[1, 2]";
  ck_assert_int_eq(rig_jwt_sign_hs256(&token, &claims, "k", 1), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "JSON object"));
  claims.extra_json = NULL;
  ck_assert_int_eq(rig_jwt_sign_hs256(&token, &claims, "", 0), RIG_EINVAL);
  ck_assert_str_eq(token, "untouched");
}
END_TEST

START_TEST(verify_rejects_malformed_and_foreign_tokens)
{
  ck_assert_int_eq(rig_jwt_verify_hs256(NULL, "abc", "k", 1), RIG_EPARSE);
  ck_assert_int_eq(rig_jwt_verify_hs256(NULL, "a.b.c.d", "k", 1), RIG_EPARSE);
  ck_assert_int_eq(rig_jwt_verify_hs256(NULL, "a+.b.c", "k", 1), RIG_EPARSE);
  /* {"alg":"none"} */
  char *none = b64url("{\"alg\":\"none\"}", 14);
  char *text = NULL;
  ck_assert(asprintf(&text, "%s.e30.", none) > 0);
  ck_assert_int_eq(rig_jwt_verify_hs256(NULL, text, "k", 1), RIG_EUNSUPPORTED);
  free(text);
  free(none);
  /* a tampered claims part */
  char *tampered = strdup(rfc_token);
  tampered[strlen("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9") + 5] ^= 1;
  uint8_t *key = NULL;
  size_t key_len = 0;
  rig__base64_decode(&key, &key_len, rfc_key_b64, strlen(rfc_key_b64), RIG_BASE64_URL);
  ck_assert_int_eq(rig_jwt_verify_hs256(NULL, tampered, key, key_len), RIG_EASSERT);
  free(key);
  free(tampered);
}
END_TEST

static Suite *jwt_suite(void)
{
  Suite *s = suite_create("jwt");
  TCase *tc = tcase_create("sha256");
  tcase_add_test(tc, sha256_fips_examples);
  tcase_add_test(tc, sha256_million_a_in_uneven_pieces);
  tcase_add_loop_test(tc, sha256_padding_edges, 0,
                      (int)(sizeof padding_cases / sizeof padding_cases[0]));
  tcase_add_test(tc, hmac_rfc4231);
  suite_add_tcase(s, tc);
  tc = tcase_create("base64url");
  tcase_add_loop_test(tc, base64url_round_trip, 0,
                      (int)(sizeof base64_cases / sizeof base64_cases[0]));
  tcase_add_test(tc, base64url_rejects_garbage);
  suite_add_tcase(s, tc);
  tc = tcase_create("jwt");
  tcase_add_test(tc, jws_matches_rfc7515_example);
  tcase_add_test(tc, sign_writes_claims_in_order_and_verifies);
  tcase_add_test(tc, sign_defaults_to_now_and_one_hour);
  tcase_add_test(tc, sign_adds_and_overrides_extra_claims);
  tcase_add_test(tc, sign_rejects_bad_input_and_leaves_out_alone);
  tcase_add_test(tc, verify_rejects_malformed_and_foreign_tokens);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(jwt_suite());
}
