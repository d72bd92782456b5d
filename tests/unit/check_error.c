/*
 * check_error.c - the error table, the thread-local last error, wrapping, details and
 * redaction of secrets.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "testutil.h"

START_TEST(table_generates_names_and_messages)
{
  ck_assert_str_eq(rig_error_name(RIG_OK), "RIG_OK");
  ck_assert_str_eq(rig_error_name(RIG_ENOTFOUND), "RIG_ENOTFOUND");
  ck_assert_str_eq(rig_strerror(RIG_ENOTFOUND), "not found");
  ck_assert_str_eq(rig_strerror(RIG_ETIMEOUT), "timed out");
  ck_assert_str_eq(rig_error_name(12345), "RIG_E?");
  ck_assert_str_eq(rig_strerror(-9999), "unknown error");
  /* Every code of the table is negative (but OK) and distinct, with a name and message. */
#define CHECK_ROW(name, value, message)                                                            \
  ck_assert_int_eq(RIG_##name, value);                                                             \
  ck_assert_str_eq(rig_error_name(value), "RIG_" #name);                                           \
  ck_assert_str_eq(rig_strerror(value), message);                                                  \
  ck_assert(value <= 0);
  RIG_ERRNO_MAP(CHECK_ROW)
#undef CHECK_ROW
}
END_TEST

START_TEST(set_returns_code_and_keeps_message)
{
  rig_error_clear();
  ck_assert_ptr_null(rig_error_last());
  int rc = rig_error_set(RIG_EPARSE, "compose.yaml:%d:%d: unexpected mapping", 3, 7);
  ck_assert_int_eq(rc, RIG_EPARSE);
  const rig_error *err = rig_error_last();
  ck_assert_ptr_nonnull(err);
  ck_assert_int_eq(err->code, RIG_EPARSE);
  ck_assert_str_eq(err->message, "compose.yaml:3:7: unexpected mapping");
  ck_assert_str_eq(err->text, "compose.yaml:3:7: unexpected mapping");
  ck_assert_ptr_null(err->cause);
  rig_error_clear();
  ck_assert_ptr_null(rig_error_last());
}
END_TEST

START_TEST(wrap_builds_cause_chain)
{
  rig_error_set(RIG_ESQL, "SQLSTATE 42P01 relation \"order\" does not exist");
  rig_error_wrap(RIG_OK, "migration 002_orders.sql line 14");
  rig_error_wrap(RIG_ESQL, "postgres");
  const rig_error *err = rig_error_last();
  ck_assert_int_eq(err->code, RIG_ESQL);
  ck_assert_str_eq(err->message, "postgres");
  ck_assert_str_eq(err->text, "postgres: migration 002_orders.sql line 14: SQLSTATE 42P01 "
                              "relation \"order\" does not exist");
  ck_assert_ptr_nonnull(err->cause);
  ck_assert_str_eq(err->cause->message, "migration 002_orders.sql line 14");
  ck_assert_int_eq(err->cause->code, RIG_ESQL);
  ck_assert_ptr_nonnull(err->cause->cause);
  ck_assert_ptr_null(err->cause->cause->cause);
  /* A new set replaces the whole chain. */
  rig_error_set(RIG_EINVAL, "fresh");
  ck_assert_ptr_null(rig_error_last()->cause);
  rig_error_clear();
}
END_TEST

START_TEST(wrap_without_cause_acts_as_set)
{
  rig_error_clear();
  ck_assert_int_eq(rig_error_wrap(RIG_OK, "context"), RIG_EGENERIC);
  ck_assert_str_eq(rig_error_last()->text, "context");
  ck_assert_int_eq(rig_error_wrap(RIG_ETIMEOUT, "outer"), RIG_ETIMEOUT);
  ck_assert_str_eq(rig_error_last()->text, "outer: context");
  rig_error_clear();
}
END_TEST

START_TEST(set_may_quote_the_previous_error)
{
  rig_error_set(RIG_EIO, "disk full");
  rig_error_set(RIG_EIO, "writing logs: %s", rig_error_last()->message);
  ck_assert_str_eq(rig_error_last()->message, "writing logs: disk full");
  rig_error_clear();
}
END_TEST

START_TEST(details_are_kept_and_found_through_causes)
{
  ck_assert_int_eq(rig_error_add_detail("k", "v"), RIG_EINVAL); /* no error yet */
  rig_error_set(RIG_EHTTP, "GET /v1.41/images/x/json: 404");
  rig_error_add_detail("status", "%d", 404);
  rig_error_add_detail("service", "postgres");
  rig_error_wrap(RIG_EIMAGE, "image x");
  rig_error_add_detail("hint", "run compose/images/build");
  const rig_error *err = rig_error_last();
  ck_assert_uint_eq(err->detail_count, 1);
  ck_assert_str_eq(rig_error_detail_get(err, "hint"), "run compose/images/build");
  ck_assert_str_eq(rig_error_detail_get(err, "status"), "404");
  ck_assert_str_eq(rig_error_detail_get(err, "service"), "postgres");
  ck_assert_ptr_null(rig_error_detail_get(err, "nope"));
  ck_assert_ptr_null(rig_error_detail_get(NULL, "status"));
  rig_error_clear();
}
END_TEST

START_TEST(secret_details_are_redacted)
{
  rig_error_set(RIG_ECONNECT, "connect");
  rig_error_add_detail("password", "hunter2");
  rig_error_add_detail("PGPASSWORD", "hunter2");
  rig_error_add_detail("api_key", "abc");
  rig_error_add_detail("dsn", "postgres://app:hunter2@127.0.0.1:5432/db");
  rig_error_add_detail("keyboard", "qwerty");
  const rig_error *err = rig_error_last();
  ck_assert_str_eq(rig_error_detail_get(err, "password"), "***");
  ck_assert_str_eq(rig_error_detail_get(err, "PGPASSWORD"), "***");
  ck_assert_str_eq(rig_error_detail_get(err, "api_key"), "***");
  ck_assert_str_eq(rig_error_detail_get(err, "dsn"), "postgres://app:***@127.0.0.1:5432/db");
  ck_assert_str_eq(rig_error_detail_get(err, "keyboard"), "qwerty");
  rig_error_clear();
}
END_TEST

static const struct {
  const char *in;
  const char *out;
} redact_cases[] = {
    {"postgres://app:hunter2@127.0.0.1:5432/db", "postgres://app:***@127.0.0.1:5432/db"},
    {"postgresql://app@host/db", "postgresql://app@host/db"},
    {"http://127.0.0.1:9090/api/v1/query", "http://127.0.0.1:9090/api/v1/query"},
    {"connect to https://u:p@example.test/x failed",
     "connect to https://u:***@example.test/x failed"},
    {"host=127.0.0.1 port=5432 user=app password=hunter2 dbname=db",
     "host=127.0.0.1 port=5432 user=app password=*** dbname=db"},
    {"password='two words' user=x", "password='***' user=x"},
    {"{\"password\": \"s3cret\", \"user\": \"x\"}", "{\"password\": \"***\", \"user\": \"x\"}"},
    {"POSTGRES_PASSWORD=hunter2", "POSTGRES_PASSWORD=***"},
    {"api_token: abc.def", "api_token: ***"},
    {"/search?q=1&access_token=xyz&n=2", "/search?q=1&access_token=***&n=2"},
    {"client_secret=,next", "client_secret=,next"},
    {"keyboard=qwerty monkey=1", "keyboard=qwerty monkey=1"},
    {"postgres: migration 002.sql", "postgres: migration 002.sql"},
    {"", ""},
    {"no secrets here", "no secrets here"},
    {"Authorization token=Bearer", "Authorization token=***"},
    {"passwordless", "passwordless"},
};

START_TEST(redact_table)
{
  char *out = NULL;
  ck_assert_int_eq(rig_redact(&out, redact_cases[_i].in), RIG_OK);
  ck_assert_msg(strcmp(out, redact_cases[_i].out) == 0, "case %d: '%s' -> '%s', expected '%s'", _i,
                redact_cases[_i].in, out, redact_cases[_i].out);
  free(out);
}
END_TEST

START_TEST(messages_are_redacted)
{
  rig_error_set(RIG_ECONNECT, "cannot connect to postgres://app:hunter2@db/app");
  ck_assert_str_eq(rig_error_last()->message, "cannot connect to postgres://app:***@db/app");
  ck_assert_ptr_null(strstr(rig_error_last()->text, "hunter2"));
  rig_error_clear();
}
END_TEST

START_TEST(key_is_secret)
{
  ck_assert(rig_key_is_secret("password"));
  ck_assert(rig_key_is_secret("DB_PASSWORD"));
  ck_assert(rig_key_is_secret("passwd"));
  ck_assert(rig_key_is_secret("client_secret"));
  ck_assert(rig_key_is_secret("GITHUB_TOKEN"));
  ck_assert(rig_key_is_secret("key"));
  ck_assert(rig_key_is_secret("apikey"));
  ck_assert(rig_key_is_secret("private-key"));
  ck_assert(rig_key_is_secret("key_id"));
  ck_assert(!rig_key_is_secret("keyboard"));
  ck_assert(!rig_key_is_secret("user"));
  ck_assert(!rig_key_is_secret("service"));
  ck_assert(!rig_key_is_secret(NULL));
}
END_TEST

static void *thread_sets_its_own_error(void *arg)
{
  rig_error_set(RIG_ETIMEOUT, "thread %s", (const char *)arg);
  const rig_error *err = rig_error_last();
  int ok = err && err->code == RIG_ETIMEOUT && strstr(err->message, (const char *)arg);
  return ok ? arg : NULL;
}

START_TEST(last_error_is_per_thread)
{
  rig_error_set(RIG_EINVAL, "main thread");
  pthread_t threads[4];
  const char *names[4] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; i++)
    pthread_create(&threads[i], NULL, thread_sets_its_own_error, (void *)names[i]);
  for (int i = 0; i < 4; i++) {
    void *result = NULL;
    pthread_join(threads[i], &result);
    ck_assert_ptr_eq(result, names[i]);
  }
  ck_assert_str_eq(rig_error_last()->message, "main thread");
  ck_assert_int_eq(rig_error_last()->code, RIG_EINVAL);
  rig_error_clear();
}
END_TEST

START_TEST(version_is_the_release)
{
  ck_assert_str_eq(rig_version(), RIG_VERSION_STRING);
  ck_assert_str_eq(rig_version(), PACKAGE_VERSION);
}
END_TEST

static Suite *error_suite(void)
{
  Suite *s = suite_create("error");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, table_generates_names_and_messages);
  tcase_add_test(tc, set_returns_code_and_keeps_message);
  tcase_add_test(tc, wrap_builds_cause_chain);
  tcase_add_test(tc, wrap_without_cause_acts_as_set);
  tcase_add_test(tc, set_may_quote_the_previous_error);
  tcase_add_test(tc, details_are_kept_and_found_through_causes);
  tcase_add_test(tc, secret_details_are_redacted);
  tcase_add_loop_test(tc, redact_table, 0, (int)(sizeof redact_cases / sizeof redact_cases[0]));
  tcase_add_test(tc, messages_are_redacted);
  tcase_add_test(tc, key_is_secret);
  tcase_add_test(tc, last_error_is_per_thread);
  tcase_add_test(tc, version_is_the_release);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(error_suite());
}
