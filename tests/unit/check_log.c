/*
 * check_log.c - the logger: exact console and JSON lines under a fixed clock, colour
 * decisions (terminal, NO_COLOR, forced), escaping, redaction, level filtering, and whole
 * lines under concurrent writers.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stackrig.h>

#include "log_internal.h"
#include "testutil.h"

/* 2026-01-02T03:04:05.678999999Z: the sub-millisecond part must be cut, not rounded. */
static int64_t fixed_clock(void)
{
  return INT64_C(1767323045678999999);
}

/* A logger writing into memory; the text is read back with take(). */
typedef struct capture {
  char *data;
  size_t size;
  FILE *stream;
  rig_log *log;
} capture;

static void capture_open(capture *c, rig_log_format format, rig_log_color color,
                         rig_log_level level)
{
  memset(c, 0, sizeof *c);
  c->stream = open_memstream(&c->data, &c->size);
  ck_assert_ptr_nonnull(c->stream);
  rig_log_options opts = RIG_LOG_OPTIONS_INIT;
  opts.stream = c->stream;
  opts.format = format;
  opts.color = color;
  opts.level = level;
  ck_assert_int_eq(rig_log_new(&c->log, &opts), RIG_OK);
  rig__log_set_clock(c->log, fixed_clock);
}

/* Closes the capture and returns everything written; free() it. */
static char *capture_take(capture *c)
{
  rig_log_free(c->log);
  fclose(c->stream);
  return c->data;
}

START_TEST(console_line_without_colour)
{
  capture c;
  capture_open(&c, RIG_LOG_CONSOLE, RIG_LOG_COLOR_NEVER, RIG_LOG_TRACE);
  rig_log_write(c.log, RIG_LOG_WARN, "disk almost %s", "full");
  rig_log_kv(c.log, RIG_LOG_INFO, "service ready", "service", "postgres", "after_ms", "1250", NULL);
  rig_log_kv(c.log, RIG_LOG_ERROR, "probe failed", "reason", "connection refused", "body", "",
             "quote", "say \"hi\"", NULL);
  rig_log_write(c.log, RIG_LOG_TRACE, "t");
  rig_log_write(c.log, RIG_LOG_DEBUG, "d");
  char *out = capture_take(&c);
  ck_assert_str_eq(out, "03:04:05.678 WARN  disk almost full\n"
                        "03:04:05.678 INFO  service ready service=postgres after_ms=1250\n"
                        "03:04:05.678 ERROR probe failed reason=\"connection refused\" body=\"\" "
                        "quote=\"say \\\"hi\\\"\"\n"
                        "03:04:05.678 TRACE t\n"
                        "03:04:05.678 DEBUG d\n");
  free(out);
}
END_TEST

START_TEST(console_line_with_forced_colour)
{
  capture c;
  capture_open(&c, RIG_LOG_CONSOLE, RIG_LOG_COLOR_ALWAYS, RIG_LOG_TRACE);
  ck_assert_int_eq(rig__log_color(c.log), 1);
  rig_log_kv(c.log, RIG_LOG_WARN, "slow", "service", "jaeger", NULL);
  rig_log_write(c.log, RIG_LOG_ERROR, "down");
  rig_log_write(c.log, RIG_LOG_INFO, "up");
  rig_log_write(c.log, RIG_LOG_DEBUG, "dbg");
  rig_log_write(c.log, RIG_LOG_TRACE, "trc");
  char *out = capture_take(&c);
  ck_assert_str_eq(
      out, "\033[2m03:04:05.678\033[0m \033[33mWARN\033[0m  slow \033[2mservice=\033[0mjaeger\n"
           "\033[2m03:04:05.678\033[0m \033[1;31mERROR\033[0m down\n"
           "\033[2m03:04:05.678\033[0m \033[32mINFO\033[0m  up\n"
           "\033[2m03:04:05.678\033[0m \033[36mDEBUG\033[0m dbg\n"
           "\033[2m03:04:05.678\033[0m \033[90mTRACE\033[0m trc\n");
  free(out);
}
END_TEST

/* Control characters never reach a terminal raw: a log line cannot move the cursor. */
START_TEST(console_escapes_control_characters)
{
  capture c;
  capture_open(&c, RIG_LOG_CONSOLE, RIG_LOG_COLOR_NEVER, RIG_LOG_INFO);
  rig_log_write(c.log, RIG_LOG_INFO, "line1\nline2\t\033[31mred\r \x7f bad\xff ok\xc3\xa9");
  rig_log_kv(c.log, RIG_LOG_INFO, "m", "k", "a\nb", "path", "C:\\dir", "eq", "a=b", NULL);
  char *out = capture_take(&c);
  ck_assert_str_eq(out,
                   "03:04:05.678 INFO  line1\\nline2\\t\\x1b[31mred\\r \\x7f bad\\xff ok\xc3\xa9\n"
                   "03:04:05.678 INFO  m k=\"a\\nb\" path=\"C:\\\\dir\" eq=\"a=b\"\n");
  free(out);
}
END_TEST

START_TEST(json_line_fields_and_order)
{
  capture c;
  capture_open(&c, RIG_LOG_JSON, RIG_LOG_COLOR_ALWAYS, RIG_LOG_INFO);
  /* JSON is for machines: even a forced colour adds no escape codes. */
  ck_assert_int_eq(rig__log_color(c.log), 0);
  rig_log_kv(c.log, RIG_LOG_WARN, "service ready", "service", "postgres", "after_ms", "1250", NULL);
  rig_log_write(c.log, RIG_LOG_ERROR, "exit %d", 3);
  rig_log_kv(c.log, RIG_LOG_INFO, "clash", "msg", "m", "level", "l", "ts", "t", NULL);
  char *out = capture_take(&c);
  ck_assert_str_eq(
      out, "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"warn\",\"msg\":\"service ready\","
           "\"service\":\"postgres\",\"after_ms\":\"1250\"}\n"
           "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"error\",\"msg\":\"exit 3\"}\n"
           "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"info\",\"msg\":\"clash\","
           "\"_msg\":\"m\",\"_level\":\"l\",\"_ts\":\"t\"}\n");
  free(out);
}
END_TEST

/* Each row: what is logged, and the JSON string it must become. */
static const struct {
  const char *in;
  const char *json;
} json_escapes[] = {
    {"plain", "\"plain\""},
    {"", "\"\""},
    {"say \"hi\"", "\"say \\\"hi\\\"\""},
    {"back\\slash", "\"back\\\\slash\""},
    {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
    {"\b\f", "\"\\b\\f\""},
    {"\x01\x1f", "\"\\u0001\\u001f\""},
    {"\033[31m", "\"\\u001b[31m\""},
    {"del\x7f", "\"del\\u007f\""},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
    {"bad\xff", "\"bad\\ufffd\""},
    {"trunc\xe2\x82", "\"trunc\\ufffd\\ufffd\""},
    {"overlong\xc0\xaf", "\"overlong\\ufffd\\ufffd\""},
    {"surrogate\xed\xa0\x80", "\"surrogate\\ufffd\\ufffd\\ufffd\""},
    {"too big\xf4\x90\x80\x80", "\"too big\\ufffd\\ufffd\\ufffd\\ufffd\""},
    {"slash / stays", "\"slash / stays\""},
};

START_TEST(json_escaping_table)
{
  const char *in = json_escapes[_i].in;
  capture c;
  capture_open(&c, RIG_LOG_JSON, RIG_LOG_COLOR_NEVER, RIG_LOG_INFO);
  rig_log_kv(c.log, RIG_LOG_INFO, in, "field", in, NULL);
  char *out = capture_take(&c);
  char *expected = NULL;
  ck_assert_int_ge(asprintf(&expected,
                            "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"info\",\"msg\":%s,"
                            "\"field\":%s}\n",
                            json_escapes[_i].json, json_escapes[_i].json),
                   0);
  ck_assert_msg(strcmp(out, expected) == 0, "row %d: got %s expected %s", _i, out, expected);
  free(expected);
  free(out);
}
END_TEST

START_TEST(redaction_of_messages_and_values)
{
  capture c;
  capture_open(&c, RIG_LOG_JSON, RIG_LOG_COLOR_NEVER, RIG_LOG_INFO);
  rig_log_write(c.log, RIG_LOG_INFO, "connecting to %s",
                "postgres://app:hunter2@127.0.0.1:5432/app");
  rig_log_kv(c.log, RIG_LOG_INFO, "login password=hunter2 user=app", "dsn",
             "host=db password=hunter2 dbname=app", "POSTGRES_PASSWORD", "hunter2", "api_token",
             "abc123", "keyboard", "qwerty", NULL);
  char *out = capture_take(&c);
  ck_assert_ptr_null(strstr(out, "hunter2"));
  ck_assert_ptr_null(strstr(out, "abc123"));
  ck_assert_str_eq(
      out, "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"info\",\"msg\":"
           "\"connecting to postgres://app:***@127.0.0.1:5432/app\"}\n"
           "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"info\",\"msg\":"
           "\"login password=*** user=app\",\"dsn\":\"host=db password=*** dbname=app\","
           "\"POSTGRES_PASSWORD\":\"***\",\"api_token\":\"***\",\"keyboard\":\"qwerty\"}\n");
  free(out);

  capture_open(&c, RIG_LOG_CONSOLE, RIG_LOG_COLOR_NEVER, RIG_LOG_INFO);
  rig_log_kv(c.log, RIG_LOG_INFO, "env", "STACKRIG_PG_PASSWORD", "s3cret", "url", "http://u:pw@h/",
             NULL);
  out = capture_take(&c);
  ck_assert_str_eq(out, "03:04:05.678 INFO  env STACKRIG_PG_PASSWORD=*** url=http://u:***@h/\n");
  free(out);
}
END_TEST

START_TEST(null_value_ends_list_visibly)
{
  capture c;
  capture_open(&c, RIG_LOG_CONSOLE, RIG_LOG_COLOR_NEVER, RIG_LOG_INFO);
  rig_log_kv(c.log, RIG_LOG_INFO, "m", "a", "1", "b", (const char *)NULL, "never", "shown", NULL);
  char *out = capture_take(&c);
  ck_assert_str_eq(out, "03:04:05.678 INFO  m a=1 b=(null)\n");
  free(out);
}
END_TEST

START_TEST(level_filtering)
{
  capture c;
  capture_open(&c, RIG_LOG_CONSOLE, RIG_LOG_COLOR_NEVER, RIG_LOG_WARN);
  ck_assert_int_eq(rig_log_enabled(c.log, RIG_LOG_TRACE), 0);
  ck_assert_int_eq(rig_log_enabled(c.log, RIG_LOG_INFO), 0);
  ck_assert_int_eq(rig_log_enabled(c.log, RIG_LOG_WARN), 1);
  ck_assert_int_eq(rig_log_enabled(c.log, RIG_LOG_ERROR), 1);
  ck_assert_int_eq(rig_log_enabled(c.log, RIG_LOG_OFF), 0);
  ck_assert_int_eq(rig_log_enabled(NULL, RIG_LOG_ERROR), 0);
  rig_log_write(c.log, RIG_LOG_TRACE, "trace");
  rig_log_write(c.log, RIG_LOG_DEBUG, "debug");
  rig_log_kv(c.log, RIG_LOG_INFO, "info", "k", "v", NULL);
  rig_log_write(c.log, RIG_LOG_WARN, "warn");
  rig_log_kv(c.log, RIG_LOG_ERROR, "error", "k", "v", NULL);
  rig_log_write(c.log, RIG_LOG_OFF, "off is not a message level");
  char *out = capture_take(&c);
  ck_assert_str_eq(out, "03:04:05.678 WARN  warn\n03:04:05.678 ERROR error k=v\n");
  free(out);

  capture_open(&c, RIG_LOG_JSON, RIG_LOG_COLOR_NEVER, RIG_LOG_OFF);
  rig_log_write(c.log, RIG_LOG_ERROR, "nothing at all");
  ck_assert_int_eq(rig_log_enabled(c.log, RIG_LOG_ERROR), 0);
  out = capture_take(&c);
  ck_assert_str_eq(out, "");
  free(out);
}
END_TEST

static const struct {
  const char *name;
  int rc;
  rig_log_level level;
} level_names[] = {
    {"trace", RIG_OK, RIG_LOG_TRACE},      {"debug", RIG_OK, RIG_LOG_DEBUG},
    {"info", RIG_OK, RIG_LOG_INFO},        {"warn", RIG_OK, RIG_LOG_WARN},
    {"warning", RIG_OK, RIG_LOG_WARN},     {"error", RIG_OK, RIG_LOG_ERROR},
    {"off", RIG_OK, RIG_LOG_OFF},          {"INFO", RIG_OK, RIG_LOG_INFO},
    {"Warning", RIG_OK, RIG_LOG_WARN},     {"", RIG_EINVAL, RIG_LOG_INFO},
    {"verbose", RIG_EINVAL, RIG_LOG_INFO}, {"info ", RIG_EINVAL, RIG_LOG_INFO},
    {"err", RIG_EINVAL, RIG_LOG_INFO},
};

START_TEST(level_parse_table)
{
  rig_log_level level = (rig_log_level)99;
  int rc = rig_log_level_parse(&level, level_names[_i].name);
  ck_assert_msg(rc == level_names[_i].rc, "\"%s\": rc %d", level_names[_i].name, rc);
  if (rc == RIG_OK) {
    ck_assert_int_eq(level, level_names[_i].level);
  } else {
    ck_assert_int_eq(level, 99); /* untouched on failure */
    char *expected = NULL;
    ck_assert_int_ge(asprintf(&expected,
                              "unknown log level \"%s\" (expected trace, debug, info, warn, "
                              "error or off)",
                              level_names[_i].name),
                     0);
    ck_assert_str_eq(rig_error_last()->message, expected);
    free(expected);
  }
}
END_TEST

START_TEST(level_names_round_trip)
{
  for (int i = RIG_LOG_TRACE; i <= RIG_LOG_OFF; i++) {
    rig_log_level back;
    ck_assert_int_eq(rig_log_level_parse(&back, rig_log_level_name((rig_log_level)i)), RIG_OK);
    ck_assert_int_eq(back, i);
  }
  ck_assert_str_eq(rig_log_level_name(RIG_LOG_WARN), "warn");
  ck_assert_str_eq(rig_log_level_name((rig_log_level)42), "unknown");
  ck_assert_int_eq(rig_log_level_parse(NULL, "info"), RIG_EINVAL);
}
END_TEST

START_TEST(new_rejects_bad_options)
{
  rig_log *log = (rig_log *)&log;
  rig_log_options opts = RIG_LOG_OPTIONS_INIT;
  opts.version = 7;
  ck_assert_int_eq(rig_log_new(&log, &opts), RIG_EINVAL);
  ck_assert_ptr_eq(log, (rig_log *)&log);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "version 7"));
  opts = (rig_log_options)RIG_LOG_OPTIONS_INIT;
  opts.level = (rig_log_level)9;
  ck_assert_int_eq(rig_log_new(&log, &opts), RIG_EINVAL);
  opts = (rig_log_options)RIG_LOG_OPTIONS_INIT;
  opts.format = (rig_log_format)5;
  ck_assert_int_eq(rig_log_new(&log, &opts), RIG_EINVAL);
  opts = (rig_log_options)RIG_LOG_OPTIONS_INIT;
  opts.color = (rig_log_color)5;
  ck_assert_int_eq(rig_log_new(&log, &opts), RIG_EINVAL);
  ck_assert_ptr_eq(log, (rig_log *)&log);
  ck_assert_int_eq(rig_log_new(NULL, NULL), RIG_EINVAL);

  /* NULL options: info level, console on stderr. */
  ck_assert_int_eq(rig_log_new(&log, NULL), RIG_OK);
  ck_assert_int_eq(rig_log_enabled(log, RIG_LOG_INFO), 1);
  ck_assert_int_eq(rig_log_enabled(log, RIG_LOG_DEBUG), 0);
  rig_log_free(log);
  rig_log_free(NULL);
}
END_TEST

/* The colour decision for a stream; NO_COLOR is restored afterwards. */
static int color_for(FILE *stream, rig_log_color mode, const char *no_color)
{
  const char *saved = getenv("NO_COLOR");
  char *saved_copy = saved ? strdup(saved) : NULL;
  if (no_color)
    setenv("NO_COLOR", no_color, 1);
  else
    unsetenv("NO_COLOR");
  rig_log_options opts = RIG_LOG_OPTIONS_INIT;
  opts.stream = stream;
  opts.color = mode;
  rig_log *log = NULL;
  ck_assert_int_eq(rig_log_new(&log, &opts), RIG_OK);
  int color = rig__log_color(log);
  rig_log_free(log);
  if (saved_copy)
    setenv("NO_COLOR", saved_copy, 1);
  else
    unsetenv("NO_COLOR");
  free(saved_copy);
  return color;
}

START_TEST(colour_follows_terminal_and_no_color)
{
  /* Not a terminal: never colour unless forced. */
  FILE *file = tmpfile();
  ck_assert_ptr_nonnull(file);
  ck_assert_int_eq(color_for(file, RIG_LOG_COLOR_AUTO, NULL), 0);
  ck_assert_int_eq(color_for(file, RIG_LOG_COLOR_ALWAYS, "1"), 1);
  ck_assert_int_eq(color_for(file, RIG_LOG_COLOR_NEVER, NULL), 0);
  fclose(file);

  /* A pseudo-terminal: colour by default, not with NO_COLOR set to anything non-empty. */
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  ck_assert_msg(master >= 0, "posix_openpt failed: this test needs /dev/ptmx");
  ck_assert_int_eq(grantpt(master), 0);
  ck_assert_int_eq(unlockpt(master), 0);
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ck_assert_int_ge(slave, 0);
  FILE *tty = fdopen(slave, "w");
  ck_assert_ptr_nonnull(tty);
  ck_assert_int_eq(isatty(fileno(tty)), 1);
  ck_assert_int_eq(color_for(tty, RIG_LOG_COLOR_AUTO, NULL), 1);
  ck_assert_int_eq(color_for(tty, RIG_LOG_COLOR_AUTO, ""), 1);
  ck_assert_int_eq(color_for(tty, RIG_LOG_COLOR_AUTO, "1"), 0);
  ck_assert_int_eq(color_for(tty, RIG_LOG_COLOR_AUTO, "false"), 0);
  ck_assert_int_eq(color_for(tty, RIG_LOG_COLOR_NEVER, NULL), 0);
  ck_assert_int_eq(color_for(tty, RIG_LOG_COLOR_ALWAYS, "1"), 1);
  fclose(tty);
  close(master);
}
END_TEST

#define WRITERS 8
#define LINES_PER_WRITER 500

static void *writer(void *arg)
{
  rig_log *log = arg;
  for (int i = 0; i < LINES_PER_WRITER; i++)
    rig_log_kv(log, RIG_LOG_INFO, "tick", "writer", "w", "payload",
               "0123456789012345678901234567890123456789012345678901234567890123456789", NULL);
  return NULL;
}

START_TEST(concurrent_writers_never_interleave)
{
  FILE *file = tmpfile();
  ck_assert_ptr_nonnull(file);
  /* Unbuffered: every fwrite reaches the file at once, so a missing lock would show. */
  setvbuf(file, NULL, _IONBF, 0);
  rig_log_options opts = RIG_LOG_OPTIONS_INIT;
  opts.stream = file;
  opts.format = RIG_LOG_JSON;
  rig_log *log = NULL;
  ck_assert_int_eq(rig_log_new(&log, &opts), RIG_OK);
  rig__log_set_clock(log, fixed_clock);
  pthread_t threads[WRITERS];
  for (int i = 0; i < WRITERS; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, writer, log), 0);
  for (int i = 0; i < WRITERS; i++)
    pthread_join(threads[i], NULL);
  rig_log_free(log);

  const char *expected = "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"info\",\"msg\":\"tick\","
                         "\"writer\":\"w\",\"payload\":\"0123456789012345678901234567890123456789"
                         "012345678901234567890123456789\"}\n";
  rewind(file);
  char line[512];
  int count = 0;
  while (fgets(line, sizeof line, file)) {
    ck_assert_str_eq(line, expected);
    count++;
  }
  ck_assert_int_eq(count, WRITERS * LINES_PER_WRITER);
  fclose(file);
}
END_TEST

static Suite *log_suite(void)
{
  Suite *s = suite_create("log");
  TCase *tc = tcase_create("console");
  tcase_add_test(tc, console_line_without_colour);
  tcase_add_test(tc, console_line_with_forced_colour);
  tcase_add_test(tc, console_escapes_control_characters);
  tcase_add_test(tc, colour_follows_terminal_and_no_color);
  suite_add_tcase(s, tc);
  tc = tcase_create("json");
  tcase_add_test(tc, json_line_fields_and_order);
  tcase_add_loop_test(tc, json_escaping_table, 0,
                      (int)(sizeof json_escapes / sizeof *json_escapes));
  suite_add_tcase(s, tc);
  tc = tcase_create("redaction");
  tcase_add_test(tc, redaction_of_messages_and_values);
  tcase_add_test(tc, null_value_ends_list_visibly);
  suite_add_tcase(s, tc);
  tc = tcase_create("levels");
  tcase_add_test(tc, level_filtering);
  tcase_add_loop_test(tc, level_parse_table, 0, (int)(sizeof level_names / sizeof *level_names));
  tcase_add_test(tc, level_names_round_trip);
  tcase_add_test(tc, new_rejects_bad_options);
  suite_add_tcase(s, tc);
  tc = tcase_create("threads");
  tcase_add_test(tc, concurrent_writers_never_interleave);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  /* Console timestamps are local time: pin the zone so the expected lines hold anywhere. */
  setenv("TZ", "UTC", 1);
  tzset();
  return rig_test_main(log_suite());
}
