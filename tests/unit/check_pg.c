/*
 * check_pg.c - the pg module without a server: migration file names and their order,
 * checksums, the no-transaction marker, splitting SQL into statements (quotes, dollar
 * quotes, comments, routine bodies), mapping a server's error position (characters) to the
 * file's line and column with multi-byte UTF-8 text before it, scanning the fixture sets
 * (fixtures/migrations-tests), DSN rewriting, and connection errors that keep the password
 * out of messages.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stackrig.h>

#include "pg_internal.h"
#include "testutil.h"
#include "util.h"

/* ---- file names ---- */

START_TEST(migration_names)
{
  struct {
    const char *name;
    int kind;
    int64_t version;
  } cases[] = {
      {"001_init.sql", 1, 1},
      {"002_orders.sql", 1, 2},
      {"10_b.sql", 1, 10},
      {"0001_x.sql", 1, 1},
      {"20260101120000_add-index.v2.sql", 1, 20260101120000LL},
      {"7_a_b_c.sql", 1, 7},
      {"README.md", 0, 0},
      {"001_init.sql.bak", 0, 0},
      {"001_init.SQL", 0, 0},
      {"notes.txt", 0, 0},
      {"init.sql", -1, 0},
      {"001-init.sql", -1, 0},
      {"001_.sql", -1, 0},
      {"001.sql", -1, 0},
      {"_init.sql", -1, 0},
      {"01a_x.sql", -1, 0},
      {"001_in it.sql", -1, 0},
      {"001_init;drop.sql", -1, 0},
      {"99999999999999999999_x.sql", -1, 0},
      {".sql", -1, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t version = -1;
    int kind = rig__pg_migration_name(&version, cases[i].name);
    ck_assert_msg(kind == cases[i].kind, "%s: kind %d, expected %d", cases[i].name, kind,
                  cases[i].kind);
    if (kind == 1)
      ck_assert_int_eq(version, cases[i].version);
  }
}
END_TEST

START_TEST(no_transaction_marker)
{
  struct {
    const char *text;
    int marked;
  } cases[] = {
      {"-- stackrig:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n", 1},
      {"-- stackrig:no-transaction", 1},
      {"-- stackrig:no-transaction  \t\r\nSELECT 1;", 1},
      {"\xEF\xBB\xBF-- stackrig:no-transaction\nSELECT 1;", 1},
      {"SELECT 1;\n-- stackrig:no-transaction\n", 0},
      {"\n-- stackrig:no-transaction\n", 0},
      {" -- stackrig:no-transaction\n", 0},
      {"--stackrig:no-transaction\n", 0},
      {"-- stackrig:no-transactions\n", 0},
      {"-- stackrig:no-transaction please\n", 0},
      {"-- STACKRIG:NO-TRANSACTION\n", 0},
      {"", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(rig__pg_no_transaction(cases[i].text, strlen(cases[i].text)) == cases[i].marked,
                  "case %zu: %s", i, cases[i].text);
}
END_TEST

/* ---- splitting ---- */

typedef struct split_case {
  const char *title;
  const char *sql;
  const char *statements[6]; /* expected, as sent (from the end of the previous one) */
} split_case;

static const split_case split_cases[] = {
    {"one", "SELECT 1;", {"SELECT 1;", NULL}},
    {"two", "SELECT 1;\nSELECT 2;\n", {"SELECT 1;", "\nSELECT 2;", NULL}},
    {"last without semicolon", "SELECT 1;\nSELECT 2", {"SELECT 1;", "\nSELECT 2", NULL}},
    {"empty pieces", ";;SELECT 1;;", {"SELECT 1;", NULL}},
    {"blank and comments only", "  \n-- nothing\n/* at all */\n", {NULL}},
    {"comment-only tail", "SELECT 1; -- done\n", {"SELECT 1;", NULL}},
    {"semicolon in a string", "SELECT 'a;b'; SELECT 2;", {"SELECT 'a;b';", " SELECT 2;", NULL}},
    {"doubled quote", "SELECT 'it''s;'; SELECT 2;", {"SELECT 'it''s;';", " SELECT 2;", NULL}},
    {"E string escapes", "SELECT E'\\';'; SELECT 2;", {"SELECT E'\\';';", " SELECT 2;", NULL}},
    {"backslash in a plain string",
     "SELECT 'C:\\'; SELECT 2;",
     {"SELECT 'C:\\';", " SELECT 2;", NULL}},
    {"identifier ending in e", "SELECT note'x;'", {"SELECT note'x;'", NULL}},
    {"quoted identifier",
     "SELECT 1 AS \"a;b\"; SELECT 2;",
     {"SELECT 1 AS \"a;b\";", " SELECT 2;", NULL}},
    {"line comment",
     "SELECT 1 -- ; not here\n; SELECT 2;",
     {"SELECT 1 -- ; not here\n;", " SELECT 2;", NULL}},
    {"nested block comment",
     "SELECT /* a /* ; */ ; */ 1; SELECT 2;",
     {"SELECT /* a /* ; */ ; */ 1;", " SELECT 2;", NULL}},
    {"dollar quotes",
     "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2;",
     {"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;", " SELECT 2;", NULL}},
    {"tagged dollar quotes",
     "DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$; SELECT 2;",
     {"DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$;", " SELECT 2;", NULL}},
    {"parameter is not a quote",
     "PREPARE p AS SELECT $1; SELECT 2;",
     {"PREPARE p AS SELECT $1;", " SELECT 2;", NULL}},
    {"dollar inside an identifier",
     "SELECT a$b$c FROM t; SELECT 2;",
     {"SELECT a$b$c FROM t;", " SELECT 2;", NULL}},
    {"BEGIN ATOMIC body",
     "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT "
     "3;",
     {"CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;",
      "\nSELECT 3;", NULL}},
    {"CREATE OR REPLACE PROCEDURE with CASE",
     "create or replace procedure p() begin atomic select case when true then 1 end; end; select "
     "4;",
     {"create or replace procedure p() begin atomic select case when true then 1 end; end;",
      " select 4;", NULL}},
    {"CASE outside routines",
     "SELECT CASE WHEN true THEN 1 END; SELECT 2;",
     {"SELECT CASE WHEN true THEN 1 END;", " SELECT 2;", NULL}},
    {"BEGIN as a transaction",
     "BEGIN; SELECT 1; COMMIT;",
     {"BEGIN;", " SELECT 1;", " COMMIT;", NULL}},
    {"unterminated string", "SELECT 'oops; SELECT 2;", {"SELECT 'oops; SELECT 2;", NULL}},
    {"multi-byte text",
     "INSERT INTO t VALUES ('Zoë;東京'); SELECT '☕';",
     {"INSERT INTO t VALUES ('Zoë;東京');", " SELECT '☕';", NULL}},
};

START_TEST(split_table)
{
  const split_case *c = &split_cases[_i];
  rig__pg_statement *stmts = NULL;
  size_t n = rig__pg_split(&stmts, c->sql, strlen(c->sql));
  size_t expected = 0;
  while (c->statements[expected])
    expected++;
  ck_assert_msg(n == expected, "%s: %zu statements, expected %zu", c->title, n, expected);
  for (size_t i = 0; i < n; i++) {
    char *got = rig__strndup(c->sql + stmts[i].start, stmts[i].len);
    ck_assert_msg(strcmp(got, c->statements[i]) == 0, "%s: statement %zu is [%s], expected [%s]",
                  c->title, i, got, c->statements[i]);
    free(got);
  }
  free(stmts);
}
END_TEST

START_TEST(split_fixture_file)
{
  char *path = rig_test_path("fixtures/migrations-tests/fail-second/002_orders.sql");
  char *text = NULL;
  size_t len = 0;
  ck_assert_int_eq(rig__read_file(&text, &len, path), RIG_OK);
  rig__pg_statement *stmts = NULL;
  size_t n = rig__pg_split(&stmts, text, len);
  ck_assert_uint_eq(n, 4); /* CREATE, INSERT, the failing SELECT, CREATE */
  int line = 0, column = 0;
  rig__pg_offset_line_col(&line, &column, text, len,
                          rig__pg_statement_body(text, stmts[2].start, len));
  ck_assert_int_eq(line, 13); /* the SELECT itself, after its comment */
  ck_assert_int_eq(column, 1);
  free(stmts);
  free(text);
  free(path);
}
END_TEST

/* ---- positions ---- */

typedef struct position_case {
  const char *title;
  const char *text;
  size_t statement; /* which statement of the text the position is relative to */
  long position;
  int line;
  int column;
} position_case;

static const position_case position_cases[] = {
    {"first character", "SELECT x;", 0, 1, 1, 1},
    {"ascii", "SELECT x FROM nowhere;", 0, 15, 1, 15},
    {"second line", "SELECT 1,\n  x FROM t;", 0, 13, 2, 3},
    {"multi-byte before on the line", "SELECT 'é', 'ß', x;", 0, 18, 1, 18},
    {"three-byte and four-byte characters", "SELECT '東京', '😀', bad;", 0, 19, 1, 19},
    {"multi-byte on earlier lines", "-- Ünïcödé ✓✓✓\nSELECT 'naïve',\n  café FROM t;", 0, 34, 3, 3},
    {"second statement", "SELECT 1;\nSELECT 'é' FROM missing;", 1, 18, 2, 17},
    {"second statement after multi-byte", "SELECT 'ü';\n  SELECT 'ö', nope;", 1, 16, 2, 15},
    {"crlf lines", "SELECT 1;\r\nSELECT x\r\n  FROM t;", 1, 15, 3, 3},
    {"past the end", "SELECT 1;\nSELECT (;", 1, 99, 2, 10},
    {"zero means the start", "SELECT 1;\n  SELECT x;", 1, 0, 1, 10},
};

START_TEST(position_table)
{
  const position_case *c = &position_cases[_i];
  rig__pg_statement *stmts = NULL;
  size_t n = rig__pg_split(&stmts, c->text, strlen(c->text));
  ck_assert_uint_gt(n, c->statement);
  int line = 0, column = 0;
  rig__pg_position(&line, &column, c->text, strlen(c->text), stmts[c->statement].start,
                   c->position);
  ck_assert_msg(line == c->line && column == c->column, "%s: %d:%d, expected %d:%d", c->title, line,
                column, c->line, c->column);
  free(stmts);
}
END_TEST

START_TEST(position_in_fixture)
{
  /* fail-second/002_orders.sql sends its third statement from the end of the second; the
   * server reports "order" at character 133 of it (the statement as sent starts with the
   * blank line and the comment). */
  char *path = rig_test_path("fixtures/migrations-tests/fail-second/002_orders.sql");
  char *text = NULL;
  size_t len = 0;
  ck_assert_int_eq(rig__read_file(&text, &len, path), RIG_OK);
  rig__pg_statement *stmts = NULL;
  rig__pg_split(&stmts, text, len);
  /* the character index of the opening quote of "order" in the statement as sent */
  const char *quote = strstr(text + stmts[2].start, "JOIN\n/*é✓*/ \"order\"");
  ck_assert_ptr_nonnull(quote);
  quote = strchr(quote, '"');
  long chars = 1;
  for (const char *p = text + stmts[2].start; p < quote; p++)
    if (((unsigned char)*p & 0xC0) != 0x80)
      chars++;
  int line = 0, column = 0;
  rig__pg_position(&line, &column, text, len, stmts[2].start, chars);
  ck_assert_int_eq(line, 14);
  ck_assert_int_eq(column, 8);
  ck_assert_int_lt(chars, (long)(quote - (text + stmts[2].start)) + 1); /* bytes != characters */
  free(stmts);
  free(text);
  free(path);
}
END_TEST

/* ---- scanning ---- */

static rig_pg_migrations *scan_fixture(const char *set, int expect)
{
  char *dir = rig_test_path(set);
  rig_pg_migrations *list = NULL;
  int rc = rig_pg_migrations_scan(&list, dir);
  ck_assert_msg(rc == expect, "%s: %d (%s)", set, rc,
                rig_error_last() ? rig_error_last()->text : "");
  free(dir);
  return list;
}

START_TEST(scan_sets)
{
  rig_pg_migrations *list = scan_fixture("fixtures/migrations-tests/fail-second", RIG_OK);
  ck_assert_uint_eq(list->count, 3);
  const char *names[] = {"001_customers.sql", "002_orders.sql", "003_later.sql"};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(list->items[i].version, (int64_t)i + 1);
    ck_assert_str_eq(list->items[i].name, names[i]);
    ck_assert_int_eq(list->items[i].state, RIG_PG_MIGRATION_PENDING);
    ck_assert_int_eq(list->items[i].no_transaction, 0);
    ck_assert_uint_eq(strlen(list->items[i].checksum), 64);
    ck_assert_ptr_nonnull(strstr(list->items[i].path, names[i]));
    /* the checksum is the file's sha256 */
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(rig__read_file(&text, &len, list->items[i].path), RIG_OK);
    char hex[65];
    rig__sha256_hex(hex, text, len);
    ck_assert_str_eq(list->items[i].checksum, hex);
    free(text);
  }
  ck_assert_uint_eq(list->applied_now, 0);
  rig_pg_migrations_free(list);

  list = scan_fixture("fixtures/migrations-tests/no-transaction", RIG_OK);
  ck_assert_uint_eq(list->count, 2);
  ck_assert_int_eq(list->items[0].no_transaction, 0);
  ck_assert_int_eq(list->items[1].no_transaction, 1);
  rig_pg_migrations_free(list);

  list = scan_fixture("fixtures/migrations", RIG_OK);
  ck_assert_uint_eq(list->count, 1);
  ck_assert_str_eq(list->items[0].name, "001_init.sql");
  rig_pg_migrations_free(list);

  scan_fixture("fixtures/migrations-tests/bad-name", RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "bad-name/init.sql: a migration file must "
                                                       "be named NNN_name.sql"));
  scan_fixture("fixtures/migrations-tests/duplicate-number", RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "2_b.sql and 002_a.sql have the same "
                                                       "number 2"));
  scan_fixture("fixtures/migrations-tests/no-such-set", RIG_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "no-such-set"));
}
END_TEST

START_TEST(scan_checksum_vector)
{
  /* sha256("abc"), FIPS 180-2's first example: the checksum is plain sha256 of the bytes */
  char *dir = rig_test_tempdir();
  char *path = rig__sprintf("%s/001_abc.sql", dir);
  rig_test_write_file(path, "abc");
  rig_pg_migrations *list = NULL;
  ck_assert_int_eq(rig_pg_migrations_scan(&list, dir), RIG_OK);
  ck_assert_str_eq(list->items[0].checksum,
                   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  rig_pg_migrations_free(list);
  /* a changed byte changes it */
  rig_test_write_file(path, "abd");
  ck_assert_int_eq(rig_pg_migrations_scan(&list, dir), RIG_OK);
  ck_assert_str_ne(list->items[0].checksum,
                   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  rig_pg_migrations_free(list);
  free(path);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(scan_order_and_ignored)
{
  char *dir = rig_test_tempdir();
  const char *files[] = {"10_ten.sql", "9_nine.sql",  "0002_two.sql",  "100_hundred.sql",
                         "README.md",  ".hidden.sql", "notes.sql.txt", NULL};
  for (size_t i = 0; files[i]; i++) {
    char *path = rig__sprintf("%s/%s", dir, files[i]);
    rig_test_write_file(path, "SELECT 1;\n");
    free(path);
  }
  char *sub = rig__sprintf("%s/004_folder.sql", dir);
  mkdir(sub, 0755);
  free(sub);
  rig_pg_migrations *list = NULL;
  ck_assert_int_eq(rig_pg_migrations_scan(&list, dir), RIG_OK);
  ck_assert_uint_eq(list->count, 4);
  ck_assert_str_eq(list->items[0].name, "0002_two.sql");
  ck_assert_str_eq(list->items[1].name, "9_nine.sql");
  ck_assert_str_eq(list->items[2].name, "10_ten.sql");
  ck_assert_str_eq(list->items[3].name, "100_hundred.sql");
  rig_pg_migrations_free(list);
  rig_pg_migrations_free(NULL);
  /* an empty folder is a valid, empty set */
  rig_test_rmtree(dir);
  mkdir(dir, 0755);
  ck_assert_int_eq(rig_pg_migrations_scan(&list, dir), RIG_OK);
  ck_assert_uint_eq(list->count, 0);
  rig_pg_migrations_free(list);
  rig_test_rmtree(dir);
  free(dir);
  ck_assert_int_eq(rig_pg_migrations_scan(NULL, "x"), RIG_EINVAL);
}
END_TEST

START_TEST(state_names)
{
  ck_assert_str_eq(rig_pg_migration_state_name(RIG_PG_MIGRATION_PENDING), "pending");
  ck_assert_str_eq(rig_pg_migration_state_name(RIG_PG_MIGRATION_APPLIED), "applied");
  ck_assert_str_eq(rig_pg_migration_state_name(RIG_PG_MIGRATION_CHANGED), "changed");
  ck_assert_str_eq(rig_pg_migration_state_name(RIG_PG_MIGRATION_MISSING), "missing");
}
END_TEST

/* ---- DSNs ---- */

START_TEST(dsn_rewrite)
{
  struct {
    const char *dsn;
    const char *database;
    const char *expected;
  } cases[] = {
      {"postgres://u:p@127.0.0.1:5432/app", "t1", "postgres://u:p@127.0.0.1:5432/t1"},
      {"postgresql://u@h/app?sslmode=disable", "t1", "postgresql://u@h/t1?sslmode=disable"},
      {"postgres://u:p@127.0.0.1:5432", "t1", "postgres://u:p@127.0.0.1:5432/t1"},
      {"postgres://u:p@127.0.0.1:5432?connect_timeout=3", "t1",
       "postgres://u:p@127.0.0.1:5432/t1?connect_timeout=3"},
      {"postgres://h1:5432,h2:5433/app", "t1", "postgres://h1:5432,h2:5433/t1"},
      {"postgres://u@h/app", "my db/ü", "postgres://u@h/my%20db%2F%C3%BC"},
      {"host=127.0.0.1 port=5432 user=u password=p dbname=app", "t1",
       "host='127.0.0.1' port='5432' user='u' password='p' dbname='t1'"},
      {"host=h user=u", "t1", "host='h' user='u' dbname='t1'"},
      {"host=h password='it\\'s'", "t1", "host='h' password='it\\'s' dbname='t1'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *out = NULL;
    ck_assert_int_eq(rig_pg_dsn_with_database(&out, cases[i].dsn, cases[i].database), RIG_OK);
    if (strstr(cases[i].dsn, "://")) {
      /* a URI stays a URI, changed in its path only */
      ck_assert_msg(strcmp(out, cases[i].expected) == 0, "%s: got %s, expected %s", cases[i].dsn,
                    out, cases[i].expected);
    }
    /* libpq reads the same settings from the result as from the expected text (key=value
     * strings come back in libpq's own order of keywords) */
    char *why = NULL;
    PQconninfoOption *got = PQconninfoParse(out, &why);
    PQconninfoOption *want = PQconninfoParse(cases[i].expected, &why);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_nonnull(want);
    for (size_t k = 0; got[k].keyword; k++) {
      ck_assert_str_eq(got[k].keyword, want[k].keyword);
      ck_assert_msg(rig__streq(got[k].val, want[k].val), "%s: %s is %s, expected %s", out,
                    got[k].keyword, got[k].val ? got[k].val : "(unset)",
                    want[k].val ? want[k].val : "(unset)");
    }
    PQconninfoFree(got);
    PQconninfoFree(want);
    free(out);
  }
  char *out = NULL;
  ck_assert_int_eq(rig_pg_dsn_with_database(&out, "host='unterminated", "x"), RIG_EINVAL);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(rig_pg_dsn_with_database(&out, "postgres://u:secret@h/x?bogus=1", "x"),
                   RIG_EINVAL);
  ck_assert_ptr_null(strstr(rig_error_last()->text, "secret"));
  ck_assert_int_eq(rig_pg_dsn_with_database(&out, "host=h", ""), RIG_EINVAL);
}
END_TEST

START_TEST(quote_ident)
{
  char *q = rig__pg_quote_ident("plain");
  ck_assert_str_eq(q, "\"plain\"");
  free(q);
  q = rig__pg_quote_ident("we\"ird");
  ck_assert_str_eq(q, "\"we\"\"ird\"");
  free(q);
}
END_TEST

START_TEST(connect_errors_are_redacted)
{
  /* nothing listens on port 1 */
  const char *dsn = "postgres://app:hunter2@127.0.0.1:1/app";
  rig_pg_migrations *list = (rig_pg_migrations *)0x1;
  char *dir = rig_test_path("fixtures/migrations");
  ck_assert_int_eq(rig_pg_migrate(&list, dsn, dir, NULL), RIG_ECONNECT);
  ck_assert_ptr_eq(list, (rig_pg_migrations *)0x1);
  const rig_error *err = rig_error_last();
  ck_assert_ptr_null(strstr(err->text, "hunter2"));
  ck_assert_ptr_nonnull(strstr(err->text, "postgres://app:***@127.0.0.1:1/app"));
  ck_assert_int_eq(rig_pg_migrate_status(&list, dsn, dir), RIG_ECONNECT);
  ck_assert_ptr_null(strstr(rig_error_last()->text, "hunter2"));
  char *fresh = NULL;
  ck_assert_int_eq(rig_pg_fresh_db(&fresh, dsn, "tpl"), RIG_ECONNECT);
  ck_assert_ptr_null(fresh);
  ck_assert_int_eq(rig_pg_drop_db(dsn), RIG_ECONNECT);
  ck_assert_ptr_null(strstr(rig_error_last()->text, "hunter2"));
  /* a bad folder is found before connecting */
  ck_assert_int_eq(rig_pg_migrate(NULL, dsn, "/no/such/folder", NULL), RIG_ENOTFOUND);
  ck_assert_int_eq(rig_pg_migrate(NULL, NULL, dir, NULL), RIG_EINVAL);
  int64_t began = rig__now_ms();
  ck_assert_int_eq(rig_pg_wait_schema(dsn, "orders", "id", 100), RIG_ETIMEOUT);
  ck_assert_int_lt(rig__now_ms() - began, 5000);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "orders.id does not exist after 100 ms"));
  ck_assert_ptr_null(strstr(rig_error_last()->text, "hunter2"));
  char *name = NULL;
  ck_assert_int_eq(rig_pg_template_prepare(&name, dsn, dir), RIG_ECONNECT);
  ck_assert_ptr_null(name);
  free(dir);
}
END_TEST

static Suite *pg_suite(void)
{
  Suite *s = suite_create("pg");
  TCase *files = tcase_create("files");
  tcase_add_test(files, migration_names);
  tcase_add_test(files, no_transaction_marker);
  tcase_add_test(files, scan_sets);
  tcase_add_test(files, scan_checksum_vector);
  tcase_add_test(files, scan_order_and_ignored);
  tcase_add_test(files, state_names);
  suite_add_tcase(s, files);
  TCase *sql = tcase_create("sql");
  tcase_add_loop_test(sql, split_table, 0, (int)(sizeof split_cases / sizeof split_cases[0]));
  tcase_add_test(sql, split_fixture_file);
  tcase_add_loop_test(sql, position_table, 0,
                      (int)(sizeof position_cases / sizeof position_cases[0]));
  tcase_add_test(sql, position_in_fixture);
  suite_add_tcase(s, sql);
  TCase *dsn = tcase_create("dsn");
  tcase_add_test(dsn, dsn_rewrite);
  tcase_add_test(dsn, quote_ident);
  tcase_add_test(dsn, connect_errors_are_redacted);
  suite_add_tcase(s, dsn);
  return s;
}

int main(void)
{
  return rig_test_main(pg_suite());
}
