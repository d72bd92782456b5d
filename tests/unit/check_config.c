/*
 * check_config.c - .env parsing as docker compose reads it (a table of files with the
 * pairs or the exact error each must give), durations, integers, booleans and ports, and
 * the layering of command line, environment, .env and defaults.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stackrig.h>

#include "testutil.h"

/* Process environment the .env table relies on (names no real environment uses). */
static void set_table_environment(void)
{
  setenv("RIGTEST_CFG_SET", "set", 1);
  setenv("RIGTEST_CFG_EMPTY", "", 1);
  setenv("RIGTEST_CFG_SPACE", "a b", 1);
  unsetenv("RIGTEST_CFG_UNSET");
}

#define MAX_PAIRS 8

typedef struct dotenv_case {
  const char *name;
  const char *text;
  /* key, value, key, value, ..., NULL: the expected pairs in order */
  const char *pairs[MAX_PAIRS * 2 + 1];
  /* or the exact error message (filename "t.env") */
  const char *error;
  size_t len; /* 0: strlen(text) */
} dotenv_case;

/* One row per case keeps the table readable, so the formatter leaves it alone. */
/* clang-format off */
static const dotenv_case dotenv_cases[] = {
    {"plain", "A=1\nB=two\n", {"A", "1", "B", "two", NULL}, NULL, 0},
    {"no final newline", "A=1\nB=2", {"A", "1", "B", "2", NULL}, NULL, 0},
    {"empty file", "", {NULL}, NULL, 0},
    {"only comments and blank lines", "# one\n\n   # two\n\t\n", {NULL}, NULL, 0},
    {"export prefix", "export A=1\nexport \t B=2\n", {"A", "1", "B", "2", NULL}, NULL, 0},
    {"export as a key", "export=1\n", {"export", "1", NULL}, NULL, 0},
    {"export and nothing else", "export \nA=1\nexport\t\n", {"A", "1", NULL}, NULL, 0},
    {"comments between", "# c\nA=1\n  # indented\n\nB=2", {"A", "1", "B", "2", NULL}, NULL, 0},
    {"inline comment after unquoted", "A=value # comment\n", {"A", "value", NULL}, NULL, 0},
    {"hash inside a word stays", "A=val#ue\nB=http://h/p#frag\n",
     {"A", "val#ue", "B", "http://h/p#frag", NULL}, NULL, 0},
    {"hash right after = is a value", "A=#x\nB= # y\n", {"A", "#x", "B", "# y", NULL}, NULL, 0},
    {"tab then hash is not a comment", "A=x\t# y\n", {"A", "x\t# y", NULL}, NULL, 0},
    {"unquoted trimmed", "A=   spaced out   \nB=\tx\t\n", {"A", "spaced out", "B", "x", NULL}, NULL, 0},
    {"spaces around =", "A = 1\n  B\t=\t2  \n", {"A", "1", "B", "2", NULL}, NULL, 0},
    {"yaml style colon", "A: 1\nB:2\n", {"A", "1", "B", "2", NULL}, NULL, 0},
    {"empty values", "A=\nB=\"\"\nC=''\nD=   \n", {"A", "", "B", "", "C", "", "D", "", NULL}, NULL, 0},
    {"empty value at end of file", "A=", {"A", "", NULL}, NULL, 0},
    {"key characters", "a.b-c[0]_D9=1\n9LIVES=2\n", {"a.b-c[0]_D9", "1", "9LIVES", "2", NULL}, NULL, 0},
    {"utf-8 key and value", "CAF\xc3\x89=caf\xc3\xa9 \xe2\x82\xac\n", {"CAF\xc3\x89", "caf\xc3\xa9 \xe2\x82\xac", NULL}, NULL, 0},
    {"single quotes are literal", "A='a $B \\n \"x\" # not comment'\n",
     {"A", "a $B \\n \"x\" # not comment", NULL}, NULL, 0},
    {"single quote escaped", "A='it\\'s'\nB='a\\\\b'\n", {"A", "it's", "B", "a\\\\b", NULL}, NULL, 0},
    {"double-quoted escapes", "A=\"l1\\nl2\\tx\\\\y\\\"q\\\"\"\n", {"A", "l1\nl2\tx\\y\"q\"", NULL}, NULL, 0},
    {"double-quoted control escapes", "A=\"\\a\\b\\f\\r\\v\"\n", {"A", "\a\b\f\r\v", NULL}, NULL, 0},
    {"escaped dollar", "A=\"cost \\$5 \\${B}\"\n", {"A", "cost $5 ${B}", NULL}, NULL, 0},
    {"unknown escapes kept", "A=\"\\q\\c\\'\"\n", {"A", "\\q\\c\\'", NULL}, NULL, 0},
    {"octal escapes", "A=\"\\0101\\0351\\012|\\0|\\0400|\\09\"\n",
     {"A", "A\xc3\xa9\\12|\\|\\400|\\9", NULL}, NULL, 0},
    {"double quotes keep inner spaces and hashes", "A=\"  x # y  \"\n", {"A", "  x # y  ", NULL}, NULL, 0},
    {"multi-line double-quoted", "A=\"line1\nline2\n\"\nB=2\n", {"A", "line1\nline2\n", "B", "2", NULL}, NULL, 0},
    {"multi-line single-quoted", "A='x\n  y'\n", {"A", "x\n  y", NULL}, NULL, 0},
    {"comment after quoted value", "A=\"v\" # c\nB='w'#c\nC=\"x\"   \n",
     {"A", "v", "B", "w", "C", "x", NULL}, NULL, 0},
    {"duplicate key: last wins, first position kept", "A=1\nB=2\nA=3\n", {"A", "3", "B", "2", NULL}, NULL, 0},
    {"CRLF line endings", "A=1\r\nB=\"x\r\ny\"\r\nC=3 # c\r\n\r\n# d\r\nD='q'\r\n",
     {"A", "1", "B", "x\r\ny", "C", "3", "D", "q", NULL}, NULL, 0},
    {"UTF-8 byte order mark", "\xEF\xBB\xBF" "A=1\n", {"A", "1", NULL}, NULL, 0},
    {"interpolation of earlier keys", "A=x\nB=${A}y\nC=$A-z\nD=\"${A}\"\nE='${A}'\n",
     {"A", "x", "B", "xy", "C", "x-z", "D", "x", "E", "${A}", NULL}, NULL, 0},
    {"interpolation modifiers",
     "A=${RIGTEST_CFG_UNSET:-def}\nB=${RIGTEST_CFG_EMPTY:-def}\nC=${RIGTEST_CFG_EMPTY-def}\n"
     "D=${RIGTEST_CFG_SET:+alt}\nE=${RIGTEST_CFG_UNSET+alt}\nF=${RIGTEST_CFG_EMPTY+alt}\n"
     "G=${RIGTEST_CFG_EMPTY?x}\nH=${RIGTEST_CFG_SET:?x}\n",
     {"A", "def", "B", "def", "C", "", "D", "alt", "E", "", "F", "alt", "G", "", "H", "set", NULL},
     NULL, 0},
    {"nested default", "A=${RIGTEST_CFG_UNSET:-${RIGTEST_CFG_SET}-n}\n", {"A", "set-n", NULL}, NULL, 0},
    {"unset variable is empty", "A=${RIGTEST_CFG_UNSET}x$RIGTEST_CFG_UNSET\n", {"A", "x", NULL}, NULL, 0},
    {"environment wins over earlier keys", "RIGTEST_CFG_SET=file\nB=$RIGTEST_CFG_SET\n",
     {"RIGTEST_CFG_SET", "file", "B", "set", NULL}, NULL, 0},
    {"dollar escapes", "A=$$HOME\nB=\"$${X}\"\n", {"A", "$HOME", "B", "${X}", NULL}, NULL, 0},
    {"lone dollar signs stay", "A=cost $5\nB=a$\nC=\"$ x $-\"\nD=${RIGTEST_CFG_SET}}\n",
     {"A", "cost $5", "B", "a$", "C", "$ x $-", "D", "set}", NULL}, NULL, 0},
    {"value with spaces from the environment", "A=\"<$RIGTEST_CFG_SPACE>\"\n", {"A", "<a b>", NULL}, NULL, 0},
    {"bare key inherits from the environment",
     "RIGTEST_CFG_SET\nRIGTEST_CFG_UNSET\nexport RIGTEST_CFG_EMPTY\nRIGTEST_CFG_SPACE",
     {"RIGTEST_CFG_SET", "set", "RIGTEST_CFG_EMPTY", "", "RIGTEST_CFG_SPACE", "a b", NULL}, NULL, 0},
    /* errors */
    {"space inside a key", "A=1\nB C=2\n", {NULL}, "t.env:2: variable name \"B C\" cannot contain a space", 0},
    {"tab inside a key", "B\tC=2\n", {NULL}, "t.env:1: variable name \"B\tC\" cannot contain a space", 0},
    {"bad character in key", "A=1\n\nFO!O=1\n", {NULL},
     "t.env:3: unexpected character \"!\" in variable name \"FO!\"", 0},
    {"quoted key", "A=\"ok\"\n\"B\"=1\n", {NULL}, "t.env:2: unexpected character \"\"\" in variable name \"\"\"", 0},
    {"comment after bare key", "A # why\n", {NULL}, "t.env:1: unexpected character \"#\" in variable name \"A #\"", 0},
    {"unterminated double quote", "A=\"abc\nB=2\n", {NULL}, "t.env:1: unterminated double-quoted value of A", 0},
    {"unterminated single quote", "A=1\nB='abc\n", {NULL}, "t.env:2: unterminated single-quoted value of B", 0},
    {"text after closing quote", "A=1\nB=\"x\" junk\n", {NULL},
     "t.env:2: unexpected text after the closing quote of B (a comment starts with #)", 0},
    {"missing key", "A=1\n=1\n", {NULL}, "t.env:2: missing variable name before \"=\"", 0},
    {"export at the end of the file", "A=1\nexport ", {NULL}, "t.env:2: missing variable name after \"export\"", 0},
    {"required variable", "A=${RIGTEST_CFG_UNSET:?must be set}\n", {NULL},
     "t.env:1: A: required variable RIGTEST_CFG_UNSET is missing a value: must be set", 0},
    {"required non-empty", "X=1\nA=\"${RIGTEST_CFG_EMPTY:?empty}\"\n", {NULL},
     "t.env:2: A: required variable RIGTEST_CFG_EMPTY is missing a value: empty", 0},
    {"invalid braced name", "A=${1}\n", {NULL}, "t.env:1: A: invalid interpolation \"${1}\"", 0},
    {"required without a message", "A=${RIGTEST_CFG_UNSET?}\n", {NULL},
     "t.env:1: A: required variable RIGTEST_CFG_UNSET is missing a value", 0},
    {"empty braces", "A=${}\n", {NULL}, "t.env:1: A: invalid interpolation \"${}\"", 0},
    {"unknown modifier", "A=x${RIGTEST_CFG_SET:x}y\n", {NULL},
     "t.env:1: A: invalid interpolation \"${RIGTEST_CFG_SET:x}\"", 0},
    {"unclosed brace", "A=${B\n", {NULL}, "t.env:1: A: invalid interpolation \"${B\"", 0},
    {"line count after multi-line value", "A=\"1\n2\n3\"\nB C=1\n", {NULL},
     "t.env:4: variable name \"B C\" cannot contain a space", 0},
    {"line count with CRLF", "A=1\r\n\r\nB C=2\r\n", {NULL},
     "t.env:3: variable name \"B C\" cannot contain a space", 0},
    {"NUL byte", "A=1\nB=\0\n", {NULL}, "t.env:2: NUL byte in a .env file", 7},
};
/* clang-format on */

static void check_pairs(const dotenv_case *c, const rig_env *env)
{
  size_t expected = 0;
  while (c->pairs[expected * 2])
    expected++;
  ck_assert_msg(rig_env_count(env) == expected, "%s: %zu pairs, expected %zu", c->name,
                rig_env_count(env), expected);
  for (size_t i = 0; i < expected; i++) {
    ck_assert_msg(strcmp(rig_env_key(env, i), c->pairs[i * 2]) == 0,
                  "%s: key %zu is %s, expected %s", c->name, i, rig_env_key(env, i),
                  c->pairs[i * 2]);
    ck_assert_msg(strcmp(rig_env_value(env, i), c->pairs[i * 2 + 1]) == 0,
                  "%s: %s is [%s], expected [%s]", c->name, c->pairs[i * 2], rig_env_value(env, i),
                  c->pairs[i * 2 + 1]);
  }
}

START_TEST(dotenv_table)
{
  const dotenv_case *c = &dotenv_cases[_i];
  set_table_environment();
  rig_env *env = (rig_env *)&env;
  size_t len = c->len ? c->len : strlen(c->text);
  int rc = rig_dotenv_parse(&env, c->text, len, "t.env");
  if (c->error) {
    ck_assert_msg(rc == RIG_EPARSE, "%s: rc %d, expected RIG_EPARSE", c->name, rc);
    ck_assert_ptr_eq(env, (rig_env *)&env); /* untouched on failure */
    ck_assert_msg(strcmp(rig_error_last()->message, c->error) == 0, "%s: error [%s], expected [%s]",
                  c->name, rig_error_last()->message, c->error);
  } else {
    ck_assert_msg(rc == RIG_OK, "%s: rc %d: %s", c->name, rc, rc ? rig_error_last()->text : "");
    check_pairs(c, env);
    rig_env_free(env);
  }
}
END_TEST

START_TEST(dotenv_errors_carry_file_and_line)
{
  rig_env *env = NULL;
  ck_assert_int_eq(rig_dotenv_parse(&env, "A=1\nB C=2\n", 10, "/p/.env"), RIG_EPARSE);
  const rig_error *err = rig_error_last();
  ck_assert_str_eq(rig_error_detail_get(err, "file"), "/p/.env");
  ck_assert_str_eq(rig_error_detail_get(err, "line"), "2");
  ck_assert_int_eq(rig_dotenv_parse(&env, "A=${1}", 6, NULL), RIG_EPARSE);
  ck_assert_str_eq(rig_error_last()->message, "<stdin>:1: A: invalid interpolation \"${1}\"");
  ck_assert_ptr_nonnull(rig_error_detail_get(rig_error_last(), "hint"));
  ck_assert_ptr_null(env);
  /* Values never appear in messages: the variable is named instead. */
  ck_assert_int_eq(rig_dotenv_parse(&env, "DB_PASSWORD=\"hunter2", 20, "s.env"), RIG_EPARSE);
  ck_assert_ptr_null(strstr(rig_error_last()->text, "hunter2"));
  ck_assert_int_eq(rig_dotenv_parse(NULL, "A=1", 3, NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_dotenv_parse(&env, NULL, 3, NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_dotenv_parse(&env, NULL, 0, NULL), RIG_OK);
  ck_assert_uint_eq(rig_env_count(env), 0);
  rig_env_free(env);
}
END_TEST

START_TEST(dotenv_load_files)
{
  char *dir = rig_test_tempdir();
  ck_assert_ptr_nonnull(dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/.env", dir);
  rig_test_write_file(path, "export A=1\nB=\"two\"\n");
  rig_env *env = NULL;
  ck_assert_int_eq(rig_dotenv_load(&env, path), RIG_OK);
  ck_assert_str_eq(rig_env_get(env, "A"), "1");
  ck_assert_str_eq(rig_env_get(env, "B"), "two");
  rig_env_free(env);

  rig_test_write_file(path, "A=1\nB='x\n");
  env = (rig_env *)&env;
  ck_assert_int_eq(rig_dotenv_load(&env, path), RIG_EPARSE);
  char expected[4200];
  snprintf(expected, sizeof expected, "%s:2: unterminated single-quoted value of B", path);
  ck_assert_str_eq(rig_error_last()->message, expected);
  ck_assert_ptr_eq(env, (rig_env *)&env);

  snprintf(path, sizeof path, "%s/missing.env", dir);
  ck_assert_int_eq(rig_dotenv_load(&env, path), RIG_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "missing.env"));
  ck_assert_int_eq(rig_dotenv_load(&env, dir), RIG_EIO); /* a folder is not a file */
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(env_list_basics)
{
  rig_env *env = NULL;
  ck_assert_int_eq(rig_env_new(&env), RIG_OK);
  ck_assert_uint_eq(rig_env_count(env), 0);
  ck_assert_ptr_null(rig_env_get(env, "A"));
  ck_assert_int_eq(rig_env_set(env, "B", "1"), RIG_OK);
  ck_assert_int_eq(rig_env_set(env, "A", "2"), RIG_OK);
  ck_assert_int_eq(rig_env_set(env, "B", "3"), RIG_OK);
  ck_assert_uint_eq(rig_env_count(env), 2);
  ck_assert_str_eq(rig_env_key(env, 0), "B");
  ck_assert_str_eq(rig_env_value(env, 0), "3");
  ck_assert_str_eq(rig_env_key(env, 1), "A");
  ck_assert_str_eq(rig_env_get(env, "A"), "2");
  ck_assert_ptr_null(rig_env_key(env, 2));
  ck_assert_ptr_null(rig_env_value(env, 2));
  for (int i = 0; i < 100; i++) {
    char key[16];
    snprintf(key, sizeof key, "K%d", i);
    ck_assert_int_eq(rig_env_set(env, key, key), RIG_OK);
  }
  ck_assert_uint_eq(rig_env_count(env), 102);
  ck_assert_str_eq(rig_env_get(env, "K99"), "K99");
  ck_assert_int_eq(rig_env_set(env, NULL, "x"), RIG_EINVAL);
  ck_assert_int_eq(rig_env_set(env, "x", NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_env_set(NULL, "x", "y"), RIG_EINVAL);
  ck_assert_ptr_null(rig_env_get(NULL, "x"));
  ck_assert_uint_eq(rig_env_count(NULL), 0);
  rig_env_free(env);
  rig_env_free(NULL);
}
END_TEST

/* ---- durations ---- */

static const struct {
  const char *text;
  int64_t ns;
} valid_durations[] = {
    {"0", 0},
    {"+0", 0},
    {"0s", 0},
    {"10ns", 10},
    {"100us", 100000},
    {"100\xc2\xb5s", 100000},
    {"100\xce\xbcs", 100000},
    {"250ms", 250000000},
    {"2s", INT64_C(2000000000)},
    {"1.5s", INT64_C(1500000000)},
    {".5s", INT64_C(500000000)},
    {"1.s", INT64_C(1000000000)},
    {"+5s", INT64_C(5000000000)},
    {"1m30s", INT64_C(90000000000)},
    {"1h", INT64_C(3600000000000)},
    {"1h0m0s", INT64_C(3600000000000)},
    {"1.5h", INT64_C(5400000000000)},
    {"1h2m3s4ms5us6ns", INT64_C(3723004005006)},
    {"30s30s", INT64_C(60000000000)},
    {"0.000000001s", 1},
    {"0.1234567891s", 123456789},
    {"1.0000000000000000000001s", INT64_C(1000000000)},
    /* Parts below a nanosecond are cut exactly, however many digits there are. */
    {"0.99999999999999999999s", INT64_C(999999999)},
    {"1.000000000000000000000000000000000001h", INT64_C(3600000000000)},
    {"0.0000000001h", 360},
    {"1.23456789012345678901234567890m", INT64_C(74074073407)},
    {"1d", INT64_C(86400000000000)},
    {"1w", INT64_C(604800000000000)},
    {"9223372036854775807ns", INT64_MAX},
    {"2562047h47m16.854775807s", INT64_MAX},
};

START_TEST(duration_valid_table)
{
  int64_t ns = -1;
  int rc = rig_duration_parse_ns(&ns, valid_durations[_i].text);
  ck_assert_msg(rc == RIG_OK, "\"%s\": %s", valid_durations[_i].text,
                rc ? rig_error_last()->text : "");
  ck_assert_msg(ns == valid_durations[_i].ns, "\"%s\": %lld, expected %lld",
                valid_durations[_i].text, (long long)ns, (long long)valid_durations[_i].ns);
  int64_t ms = -1;
  ck_assert_int_eq(rig_duration_parse(&ms, valid_durations[_i].text), RIG_OK);
  ck_assert_int_eq(ms, valid_durations[_i].ns / 1000000);
}
END_TEST

static const struct {
  const char *text;
  const char *message;
} invalid_durations[] = {
    {"", "\"\": empty, not a duration (examples: 250ms, 2s, 1m30s)"},
    {"5", "\"5\": missing unit (examples: 250ms, 2s, 1m30s)"},
    {"1s5", "\"1s5\": missing unit (examples: 250ms, 2s, 1m30s)"},
    {"abc", "\"abc\": not a duration (examples: 250ms, 2s, 1m30s)"},
    {"s", "\"s\": not a duration (examples: 250ms, 2s, 1m30s)"},
    {".s", "\".s\": not a duration (examples: 250ms, 2s, 1m30s)"},
    {"+", "\"+\": not a duration (examples: 250ms, 2s, 1m30s)"},
    {"-1s", "\"-1s\": negative durations are not allowed"},
    {"-0", "\"-0\": negative durations are not allowed"},
    {"1x", "\"1x\": unknown unit \"x\" (units: ns, us, ms, s, m, h, d, w)"},
    {"1S", "\"1S\": unknown unit \"S\" (units: ns, us, ms, s, m, h, d, w)"},
    {"1 s", "\"1 s\": unknown unit \" s\" (units: ns, us, ms, s, m, h, d, w)"},
    {" 1s", "\" 1s\": not a duration (examples: 250ms, 2s, 1m30s)"},
    {"1s ", "\"1s \": unknown unit \"s \" (units: ns, us, ms, s, m, h, d, w)"},
    {"1e3s", "\"1e3s\": unknown unit \"e\" (units: ns, us, ms, s, m, h, d, w)"},
    {"1..5s", "\"1..5s\": missing unit (examples: 250ms, 2s, 1m30s)"},
    {"9223372036854775808ns",
     "\"9223372036854775808ns\": too large (at most 2562047h47m16.854775807s)"},
    {"2562048h", "\"2562048h\": too large (at most 2562047h47m16.854775807s)"},
    {"2562047h47m16.854775808s",
     "\"2562047h47m16.854775808s\": too large (at most 2562047h47m16.854775807s)"},
    {"99999999999999999999999h",
     "\"99999999999999999999999h\": too large (at most 2562047h47m16.854775807s)"},
};

START_TEST(duration_invalid_table)
{
  int64_t ns = 77;
  ck_assert_int_eq(rig_duration_parse_ns(&ns, invalid_durations[_i].text), RIG_EINVAL);
  ck_assert_int_eq(ns, 77);
  ck_assert_str_eq(rig_error_last()->message, invalid_durations[_i].message);
  int64_t ms = 77;
  ck_assert_int_eq(rig_duration_parse(&ms, invalid_durations[_i].text), RIG_EINVAL);
  ck_assert_int_eq(ms, 77);
}
END_TEST

static const struct {
  int64_t ns;
  const char *text;
} formatted_durations[] = {
    {0, "0s"},
    {1, "1ns"},
    {999, "999ns"},
    {1000, "1\xc2\xb5s"},
    {1500, "1.5\xc2\xb5s"},
    {250000000, "250ms"},
    {1000001, "1.000001ms"},
    {INT64_C(1000000000), "1s"},
    {INT64_C(1500000000), "1.5s"},
    {INT64_C(1000000001), "1.000000001s"},
    {INT64_C(5000000000), "5s"},
    {INT64_C(60000000000), "1m0s"},
    {INT64_C(90000000000), "1m30s"},
    {INT64_C(120000000000), "2m0s"},
    {INT64_C(3600000000000), "1h0m0s"},
    {INT64_C(3661500000000), "1h1m1.5s"},
    {INT64_C(86400000000000), "24h0m0s"},
    {INT64_MAX, "2562047h47m16.854775807s"},
    {INT64_C(-90000000000), "-1m30s"},
    {-1500, "-1.5\xc2\xb5s"},
    {INT64_MIN, "-2562047h47m16.854775808s"},
};

START_TEST(duration_format_table)
{
  char *text = NULL;
  ck_assert_int_eq(rig_duration_format(&text, formatted_durations[_i].ns), RIG_OK);
  ck_assert_str_eq(text, formatted_durations[_i].text);
  /* What is printed reads back as the same duration. */
  if (formatted_durations[_i].ns >= 0) {
    int64_t back = -1;
    ck_assert_int_eq(rig_duration_parse_ns(&back, text), RIG_OK);
    ck_assert_int_eq(back, formatted_durations[_i].ns);
  }
  free(text);
  ck_assert_int_eq(rig_duration_format(NULL, 1), RIG_EINVAL);
}
END_TEST

/* ---- integers, booleans, ports ---- */

START_TEST(int_edge_cases)
{
  static const struct {
    const char *text;
    int64_t value;
  } good[] = {
      {"0", 0},
      {"-0", 0},
      {"42", 42},
      {"-42", -42},
      {"+7", 7},
      {"007", 7},
      {"9223372036854775807", INT64_MAX},
      {"-9223372036854775808", INT64_MIN},
  };
  static const struct {
    const char *text;
    const char *message;
  } bad[] = {
      {"", "\"\": not an integer"},
      {"-", "\"-\": not an integer"},
      {"+", "\"+\": not an integer"},
      {"1.5", "\"1.5\": not an integer"},
      {"0x10", "\"0x10\": not an integer"},
      {" 1", "\" 1\": not an integer"},
      {"1 ", "\"1 \": not an integer"},
      {"1e3", "\"1e3\": not an integer"},
      {"--1", "\"--1\": not an integer"},
      {"9223372036854775808",
       "\"9223372036854775808\": integer out of range (-9223372036854775808..9223372036854775807)"},
      {"-9223372036854775809", "\"-9223372036854775809\": integer out of range "
                               "(-9223372036854775808..9223372036854775807)"},
      {"99999999999999999999999", "\"99999999999999999999999\": integer out of range "
                                  "(-9223372036854775808..9223372036854775807)"},
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    int64_t v = 1;
    ck_assert_msg(rig_parse_int(&v, good[i].text) == RIG_OK, "\"%s\"", good[i].text);
    ck_assert_int_eq(v, good[i].value);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int64_t v = 1;
    ck_assert_int_eq(rig_parse_int(&v, bad[i].text), RIG_EINVAL);
    ck_assert_int_eq(v, 1);
    ck_assert_str_eq(rig_error_last()->message, bad[i].message);
  }
  ck_assert_int_eq(rig_parse_int(NULL, "1"), RIG_EINVAL);
}
END_TEST

START_TEST(bool_edge_cases)
{
  static const char *const truths[] = {"true", "TRUE", "True", "yes", "YES",
                                       "Yes",  "on",   "ON",   "1"};
  static const char *const lies[] = {"false", "FALSE", "no", "No", "off", "OFF", "0"};
  static const char *const bad[] = {"",       "2",     "y",     "n",     "t",  "f",
                                    "enable", " true", "true ", "truee", "01", "-1"};
  for (size_t i = 0; i < sizeof truths / sizeof *truths; i++) {
    int v = -1;
    ck_assert_int_eq(rig_parse_bool(&v, truths[i]), RIG_OK);
    ck_assert_int_eq(v, 1);
  }
  for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
    int v = -1;
    ck_assert_int_eq(rig_parse_bool(&v, lies[i]), RIG_OK);
    ck_assert_int_eq(v, 0);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int v = -1;
    ck_assert_int_eq(rig_parse_bool(&v, bad[i]), RIG_EINVAL);
    ck_assert_int_eq(v, -1);
  }
  ck_assert_str_eq(rig_error_last()->message,
                   "\"-1\": not a boolean (true/false, yes/no, on/off, 1/0)");
}
END_TEST

START_TEST(port_edge_cases)
{
  static const struct {
    const char *text;
    int port;
  } good[] = {{"1", 1}, {"80", 80}, {"5432", 5432}, {"065535", 65535}, {"65535", 65535}};
  static const struct {
    const char *text;
    const char *message;
  } bad[] = {
      {"0", "\"0\": port out of range (1..65535)"},
      {"65536", "\"65536\": port out of range (1..65535)"},
      {"99999999999999999999", "\"99999999999999999999\": not a port number (1..65535)"},
      {"-1", "\"-1\": not a port number (1..65535)"},
      {"+80", "\"+80\": not a port number (1..65535)"},
      {"80.0", "\"80.0\": not a port number (1..65535)"},
      {"", "\"\": not a port number (1..65535)"},
      {"http", "\"http\": not a port number (1..65535)"},
      {"8080/tcp", "\"8080/tcp\": not a port number (1..65535)"},
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    int v = -1;
    ck_assert_int_eq(rig_parse_port(&v, good[i].text), RIG_OK);
    ck_assert_int_eq(v, good[i].port);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int v = -1;
    ck_assert_int_eq(rig_parse_port(&v, bad[i].text), RIG_EINVAL);
    ck_assert_int_eq(v, -1);
    ck_assert_str_eq(rig_error_last()->message, bad[i].message);
  }
}
END_TEST

/* ---- layered settings ---- */

/* A variable name unique to this process: "RIGTEST_<pid>_<suffix>". */
static char *var(const char *suffix)
{
  char *name = NULL;
  ck_assert_int_ge(asprintf(&name, "RIGTEST_%d_%s", (int)getpid(), suffix), 0);
  return name;
}

/* A project folder whose .env sets the given text; rmtree and free the result. */
static char *project_with_dotenv(const char *text)
{
  char *dir = rig_test_tempdir();
  ck_assert_ptr_nonnull(dir);
  char *path = NULL;
  ck_assert_int_ge(asprintf(&path, "%s/.env", dir), 0);
  rig_test_write_file(path, text);
  free(path);
  return dir;
}

START_TEST(layering_precedence)
{
  char *all = var("ALL"), *no_cli = var("NOCLI"), *file_default = var("FILEDEF"),
       *only_default = var("DEF"), *none = var("NONE"), *env_empty = var("ENVEMPTY");
  char *text = NULL;
  ck_assert_int_ge(asprintf(&text, "%s=dotenv\n%s=dotenv\n%s=dotenv\n%s=dotenv\n", all, no_cli,
                            file_default, env_empty),
                   0);
  char *dir = project_with_dotenv(text);
  free(text);
  setenv(all, "environment", 1);
  setenv(no_cli, "environment", 1);
  setenv(env_empty, "", 1);
  unsetenv(file_default);
  unsetenv(only_default);
  unsetenv(none);

  rig_config *config = NULL;
  ck_assert_int_eq(rig_config_new(&config, dir), RIG_OK);
  ck_assert_int_eq(rig_config_set(config, all, "cli"), RIG_OK);
  const char *names[] = {all, no_cli, file_default, only_default};
  for (size_t i = 0; i < 4; i++)
    ck_assert_int_eq(rig_config_set_default(config, names[i], "default"), RIG_OK);

  ck_assert_str_eq(rig_config_get(config, all), "cli");
  ck_assert_str_eq(rig_config_source(config, all), "cli");
  ck_assert_str_eq(rig_config_get(config, no_cli), "environment");
  ck_assert_str_eq(rig_config_source(config, no_cli), "env");
  ck_assert_str_eq(rig_config_get(config, file_default), "dotenv");
  ck_assert_str_eq(rig_config_source(config, file_default), ".env");
  ck_assert_str_eq(rig_config_get(config, only_default), "default");
  ck_assert_str_eq(rig_config_source(config, only_default), "default");
  ck_assert_ptr_null(rig_config_get(config, none));
  ck_assert_ptr_null(rig_config_source(config, none));
  /* A variable set to "" in the environment still shadows the .env file. */
  ck_assert_str_eq(rig_config_get(config, env_empty), "");
  ck_assert_str_eq(rig_config_source(config, env_empty), "env");

  /* The environment is read when asked, not copied at creation. */
  unsetenv(no_cli);
  ck_assert_str_eq(rig_config_get(config, no_cli), "dotenv");
  ck_assert_str_eq(rig_config_source(config, no_cli), ".env");
  setenv(only_default, "late", 1);
  ck_assert_str_eq(rig_config_get(config, only_default), "late");

  /* Later CLI and default values replace earlier ones. */
  ck_assert_int_eq(rig_config_set(config, all, "cli2"), RIG_OK);
  ck_assert_str_eq(rig_config_get(config, all), "cli2");

  const rig_env *dotenv = rig_config_dotenv(config);
  ck_assert_uint_eq(rig_env_count(dotenv), 4);
  ck_assert_str_eq(rig_env_key(dotenv, 0), all);

  ck_assert_int_eq(rig_config_set(config, NULL, "x"), RIG_EINVAL);
  ck_assert_int_eq(rig_config_set(config, "X", NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_config_set_default(NULL, "X", "y"), RIG_EINVAL);

  rig_config_free(config);
  rig_config_free(NULL);
  unsetenv(all);
  unsetenv(env_empty);
  unsetenv(only_default);
  rig_test_rmtree(dir);
  free(dir);
  free(all);
  free(no_cli);
  free(file_default);
  free(only_default);
  free(none);
  free(env_empty);
}
END_TEST

START_TEST(typed_getters_report_name_value_and_source)
{
  char *timeout = var("TIMEOUT"), *workers = var("WORKERS"), *verbose = var("VERBOSE"),
       *port = var("PORT"), *password = var("PG_PASSWORD"), *empty = var("EMPTY");
  char *text = NULL;
  ck_assert_int_ge(asprintf(&text, "%s=abc\n%s=\n", timeout, empty), 0);
  char *dir = project_with_dotenv(text);
  free(text);
  setenv(workers, "many", 1);
  setenv(password, "hunter2", 1);
  unsetenv(timeout);
  unsetenv(verbose);
  unsetenv(port);
  unsetenv(empty);

  rig_config *config = NULL;
  ck_assert_int_eq(rig_config_new(&config, dir), RIG_OK);
  rig_config_set(config, verbose, "maybe");
  rig_config_set_default(config, port, "0");

  char *expected = NULL;
  int64_t ms = 5;
  ck_assert_int_eq(rig_config_duration(config, timeout, 1000, &ms), RIG_EINVAL);
  ck_assert_int_eq(ms, 5);
  ck_assert_int_ge(asprintf(&expected,
                            "%s=abc (from .env): not a duration (examples: 250ms, 2s, 1m30s)",
                            timeout),
                   0);
  ck_assert_str_eq(rig_error_last()->message, expected);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "variable"), timeout);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "source"), ".env");
  free(expected);

  int64_t n = 5;
  ck_assert_int_eq(rig_config_int(config, workers, 4, &n), RIG_EINVAL);
  ck_assert_int_eq(n, 5);
  ck_assert_int_ge(asprintf(&expected, "%s=many (from env): not an integer", workers), 0);
  ck_assert_str_eq(rig_error_last()->message, expected);
  free(expected);

  int flag = 5;
  ck_assert_int_eq(rig_config_bool(config, verbose, 0, &flag), RIG_EINVAL);
  ck_assert_int_eq(flag, 5);
  ck_assert_int_ge(asprintf(&expected,
                            "%s=maybe (from cli): not a boolean (true/false, yes/no, on/off, 1/0)",
                            verbose),
                   0);
  ck_assert_str_eq(rig_error_last()->message, expected);
  free(expected);

  int p = 5;
  ck_assert_int_eq(rig_config_port(config, port, 80, &p), RIG_EINVAL);
  ck_assert_int_eq(p, 5);
  ck_assert_int_ge(asprintf(&expected, "%s=0 (from default): port out of range (1..65535)", port),
                   0);
  ck_assert_str_eq(rig_error_last()->message, expected);
  free(expected);

  /* A secret's value never shows, even when it is the bad value. */
  ck_assert_int_eq(rig_config_int(config, password, 0, &n), RIG_EINVAL);
  ck_assert_ptr_null(strstr(rig_error_last()->text, "hunter2"));
  ck_assert_int_ge(asprintf(&expected, "%s=*** (from env): not an integer", password), 0);
  ck_assert_str_eq(rig_error_last()->message, expected);
  free(expected);

  /* Unset and empty names give the default. */
  char *unset = var("UNSET");
  unsetenv(unset);
  ck_assert_int_eq(rig_config_duration(config, unset, 1500, &ms), RIG_OK);
  ck_assert_int_eq(ms, 1500);
  ck_assert_int_eq(rig_config_duration(config, empty, 2500, &ms), RIG_OK);
  ck_assert_int_eq(ms, 2500);
  ck_assert_int_eq(rig_config_int(config, unset, -3, &n), RIG_OK);
  ck_assert_int_eq(n, -3);
  ck_assert_int_eq(rig_config_bool(config, empty, 1, &flag), RIG_OK);
  ck_assert_int_eq(flag, 1);
  ck_assert_int_eq(rig_config_port(config, unset, 8080, &p), RIG_OK);
  ck_assert_int_eq(p, 8080);

  /* Good values from each layer. */
  rig_config_set(config, timeout, "1m30s");
  ck_assert_int_eq(rig_config_duration(config, timeout, 0, &ms), RIG_OK);
  ck_assert_int_eq(ms, 90000);
  setenv(workers, "-12", 1);
  ck_assert_int_eq(rig_config_int(config, workers, 0, &n), RIG_OK);
  ck_assert_int_eq(n, -12);
  rig_config_set(config, verbose, "Yes");
  ck_assert_int_eq(rig_config_bool(config, verbose, 0, &flag), RIG_OK);
  ck_assert_int_eq(flag, 1);
  rig_config_set_default(config, port, "5432");
  ck_assert_int_eq(rig_config_port(config, port, 0, &p), RIG_OK);
  ck_assert_int_eq(p, 5432);

  ck_assert_int_eq(rig_config_port(NULL, port, 0, &p), RIG_EINVAL);
  ck_assert_int_eq(rig_config_int(config, workers, 0, NULL), RIG_EINVAL);

  rig_config_free(config);
  unsetenv(workers);
  unsetenv(password);
  rig_test_rmtree(dir);
  free(dir);
  free(timeout);
  free(workers);
  free(verbose);
  free(port);
  free(password);
  free(empty);
  free(unset);
}
END_TEST

START_TEST(config_dotenv_files)
{
  rig_config *config = NULL;
  /* No folder, and a folder without .env: both fine, with an empty .env list. */
  ck_assert_int_eq(rig_config_new(&config, NULL), RIG_OK);
  ck_assert_uint_eq(rig_env_count(rig_config_dotenv(config)), 0);
  rig_config_free(config);
  char *dir = rig_test_tempdir();
  ck_assert_int_eq(rig_config_new(&config, dir), RIG_OK);
  ck_assert_uint_eq(rig_env_count(rig_config_dotenv(config)), 0);
  rig_config_free(config);
  rig_test_rmtree(dir);
  free(dir);

  /* A malformed .env fails, naming the file and line; out stays untouched. */
  dir = project_with_dotenv("A=1\nB C=2\n");
  config = (rig_config *)&config;
  ck_assert_int_eq(rig_config_new(&config, dir), RIG_EPARSE);
  ck_assert_ptr_eq(config, (rig_config *)&config);
  char *expected = NULL;
  ck_assert_int_ge(
      asprintf(&expected, "%s/.env:2: variable name \"B C\" cannot contain a space", dir), 0);
  ck_assert_str_eq(rig_error_last()->message, expected);
  free(expected);
  rig_test_rmtree(dir);
  free(dir);

  /* A .env that cannot be read is an error too. */
  dir = rig_test_tempdir();
  char *path = NULL;
  ck_assert_int_ge(asprintf(&path, "%s/.env", dir), 0);
  ck_assert_int_eq(mkdir(path, 0700), 0);
  ck_assert_int_eq(rig_config_new(&config, dir), RIG_EIO);
  free(path);
  rig_test_rmtree(dir);
  free(dir);
  ck_assert_int_eq(rig_config_new(NULL, NULL), RIG_EINVAL);
}
END_TEST

static Suite *config_suite(void)
{
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("dotenv");
  tcase_add_loop_test(tc, dotenv_table, 0, (int)(sizeof dotenv_cases / sizeof *dotenv_cases));
  tcase_add_test(tc, dotenv_errors_carry_file_and_line);
  tcase_add_test(tc, dotenv_load_files);
  tcase_add_test(tc, env_list_basics);
  suite_add_tcase(s, tc);
  tc = tcase_create("durations");
  tcase_add_loop_test(tc, duration_valid_table, 0,
                      (int)(sizeof valid_durations / sizeof *valid_durations));
  tcase_add_loop_test(tc, duration_invalid_table, 0,
                      (int)(sizeof invalid_durations / sizeof *invalid_durations));
  tcase_add_loop_test(tc, duration_format_table, 0,
                      (int)(sizeof formatted_durations / sizeof *formatted_durations));
  suite_add_tcase(s, tc);
  tc = tcase_create("values");
  tcase_add_test(tc, int_edge_cases);
  tcase_add_test(tc, bool_edge_cases);
  tcase_add_test(tc, port_edge_cases);
  suite_add_tcase(s, tc);
  tc = tcase_create("layering");
  tcase_add_test(tc, layering_precedence);
  tcase_add_test(tc, typed_getters_report_name_value_and_source);
  tcase_add_test(tc, config_dotenv_files);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(config_suite());
}
