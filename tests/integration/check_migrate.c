/*
 * check_migrate.c - the pg module against the default stack's real Postgres (pgvector):
 * migrations applied in order and once, a failing second file (file 1 stays applied,
 * nothing of file 2, the error at file:line:col with its SQLSTATE, file 3 never tried), two
 * `stackrig migrate` processes started together applying each file exactly once, drift,
 * no-transaction files, the command line's output and exit codes, schema waits, and
 * per-test databases cloned from a migrated template (isolated from each other, the
 * pgvector fixture's nearest-neighbour query included).
 *
 * Every test works in a database of its own, made fresh from template1 or from the
 * migrated template, so the tests can run in any order and in parallel.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stackrig.h>

#include "defaultstack.h"
#include "testutil.h"
#include "util.h"

static const char *server_dsn; /* STACKRIG_PG_DSN: the stack's own database */
static char *template_name;    /* fixtures/migrations, migrated once in main() */

/* ---- helpers ---- */

static char *db_dsn; /* this test's database */

static void empty_db_setup(void)
{
  ck_assert_msg(rig_pg_fresh_db(&db_dsn, server_dsn, "template1") == RIG_OK, "%s",
                rig_error_last()->text);
}

static void db_teardown(void)
{
  if (db_dsn) {
    rig_pg_drop_db(db_dsn);
    free(db_dsn);
    db_dsn = NULL;
  }
}

static PGconn *connect_db(const char *dsn)
{
  PGconn *conn = PQconnectdb(dsn);
  ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
  return conn;
}

/* The first value of a one-row query, as text ("" for NULL); free() it. */
static char *query_value(const char *dsn, const char *sql)
{
  PGconn *conn = connect_db(dsn);
  PGresult *res = PQexec(conn, sql);
  ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(conn));
  ck_assert_int_eq(PQntuples(res), 1);
  char *value = strdup(PQgetvalue(res, 0, 0));
  PQclear(res);
  PQfinish(conn);
  return value;
}

static void assert_value(const char *dsn, const char *sql, const char *expected)
{
  char *value = query_value(dsn, sql);
  ck_assert_msg(strcmp(value, expected) == 0, "%s: got %s, expected %s", sql, value, expected);
  free(value);
}

static char *fixture(const char *set)
{
  return rig_test_path(set);
}

/* Copies a fixture set into a new temporary folder (for tests that edit it). */
static char *copy_set(const char *set)
{
  char *from = fixture(set);
  char *to = rig_test_tempdir();
  char *script = NULL;
  ck_assert_int_ge(asprintf(&script, "cp '%s'/*.sql '%s'/", from, to), 0);
  const char *argv[] = {"sh", "-c", script, NULL};
  ck_assert_int_eq(rig_test_run(argv, NULL, NULL, NULL), 0);
  free(script);
  free(from);
  return to;
}

/* ---- the runner ---- */

START_TEST(applies_in_order_once)
{
  char *dir = fixture("fixtures/migrations");
  rig_pg_migrations *list = NULL;
  ck_assert_msg(rig_pg_migrate(&list, db_dsn, dir, NULL) == RIG_OK, "%s", rig_error_last()->text);
  ck_assert_uint_eq(list->count, 1);
  ck_assert_uint_eq(list->applied_now, 1);
  ck_assert_int_eq(list->items[0].state, RIG_PG_MIGRATION_APPLIED);
  ck_assert_int_eq(list->items[0].applied_now, 1);
  ck_assert_int_ge(list->items[0].duration_ms, 0);
  ck_assert_ptr_nonnull(list->items[0].applied_at);
  rig_pg_migrations_free(list);
  /* again: nothing to do */
  ck_assert_int_eq(rig_pg_migrate(&list, db_dsn, dir, NULL), RIG_OK);
  ck_assert_uint_eq(list->applied_now, 0);
  ck_assert_int_eq(list->items[0].state, RIG_PG_MIGRATION_APPLIED);
  ck_assert_int_eq(list->items[0].applied_now, 0);
  rig_pg_migrations_free(list);
  assert_value(db_dsn, "SELECT count(*) FROM items", "3");
  assert_value(db_dsn,
               "SELECT version || ' ' || name || ' ' || length(checksum) FROM "
               "stackrig_schema_migrations",
               "1 001_init.sql 64");
  free(dir);
}
END_TEST

START_TEST(pgvector_nearest_neighbour)
{
  char *dir = fixture("fixtures/migrations");
  ck_assert_msg(rig_pg_migrate(NULL, db_dsn, dir, NULL) == RIG_OK, "%s", rig_error_last()->text);
  assert_value(db_dsn, "SELECT name FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 1", "near");
  assert_value(db_dsn, "SELECT name FROM items ORDER BY embedding <-> '[9,9,9]' LIMIT 1", "far");
  assert_value(db_dsn, "SELECT extname FROM pg_extension WHERE extname = 'vector'", "vector");
  free(dir);
}
END_TEST

START_TEST(second_file_fails)
{
  char *dir = fixture("fixtures/migrations-tests/fail-second");
  rig_pg_migrations *list = NULL;
  int rc = rig_pg_migrate(&list, db_dsn, dir, NULL);
  ck_assert_int_eq(rc, RIG_ESQL);
  ck_assert_ptr_null(list);
  const rig_error *err = rig_error_last();
  char *db = strrchr(db_dsn, '/') + 1;
  char *expected = NULL;
  ck_assert_int_ge(asprintf(&expected,
                            "%s: migration 002_orders.sql:14:8: SQLSTATE 42P01 "
                            "relation \"order\" does not exist",
                            db),
                   0);
  ck_assert_str_eq(err->text, expected);
  free(expected);
  ck_assert_str_eq(rig_error_detail_get(err, "file"), "002_orders.sql");
  ck_assert_str_eq(rig_error_detail_get(err, "line"), "14");
  ck_assert_str_eq(rig_error_detail_get(err, "column"), "8");
  ck_assert_str_eq(rig_error_detail_get(err, "sqlstate"), "42P01");
  /* file 1 applied, nothing of file 2 (its first statements were rolled back), no file 3 */
  assert_value(db_dsn, "SELECT count(*) FROM customers", "3");
  assert_value(db_dsn, "SELECT to_regclass('orders') IS NULL", "t");
  assert_value(db_dsn, "SELECT to_regclass('order_lines') IS NULL", "t");
  assert_value(db_dsn, "SELECT to_regclass('never_created') IS NULL", "t");
  assert_value(db_dsn,
               "SELECT string_agg(name, ',' ORDER BY version) FROM stackrig_schema_migrations",
               "001_customers.sql");
  ck_assert_int_eq(rig_pg_migrate_status(&list, db_dsn, dir), RIG_OK);
  ck_assert_uint_eq(list->count, 3);
  ck_assert_int_eq(list->items[0].state, RIG_PG_MIGRATION_APPLIED);
  ck_assert_int_eq(list->items[1].state, RIG_PG_MIGRATION_PENDING);
  ck_assert_int_eq(list->items[2].state, RIG_PG_MIGRATION_PENDING);
  rig_pg_migrations_free(list);
  free(dir);
}
END_TEST

START_TEST(command_line)
{
  char *dir = fixture("fixtures/migrations-tests/fail-second");
  char *out = NULL, *err = NULL;
  int status = rig_test_stackrig(&out, &err, "migrate", "--dsn", db_dsn, "--dir", dir, NULL);
  ck_assert_int_eq(status, 1);
  ck_assert_msg(strstr(out, "applied  001_customers.sql ("), "%s", out);
  ck_assert_msg(strstr(err, "migration 002_orders.sql:14:8: SQLSTATE 42P01 relation \"order\" "
                            "does not exist"),
                "%s", err);
  free(out);
  free(err);
  status =
      rig_test_stackrig(&out, &err, "migrate", "--dsn", db_dsn, "--dir", dir, "--status", NULL);
  ck_assert_int_eq(status, 0);
  ck_assert_msg(strstr(out, "applied") && strstr(out, "001_customers.sql"), "%s", out);
  ck_assert_msg(strstr(out, "pending") && strstr(out, "003_later.sql"), "%s", out);
  ck_assert_msg(strstr(out, "1 applied, 2 pending"), "%s", out);
  free(out);
  free(err);
  free(dir);

  dir = fixture("fixtures/migrations");
  status = rig_test_stackrig(&out, &err, "migrate", "--dsn", db_dsn, "--dir", dir, NULL);
  ck_assert_msg(status == 1, "a different set on the same database is drift: %s", err);
  free(out);
  free(err);
  free(dir);

  /* the password never shows */
  char *bad = NULL;
  ck_assert_int_ge(asprintf(&bad, "postgres://stackrig:hunter2@127.0.0.1:1/none"), 0);
  status = rig_test_stackrig(&out, &err, "migrate", "--dsn", bad, "--dir", "/tmp", NULL);
  ck_assert_int_eq(status, 3);
  ck_assert_ptr_null(strstr(err, "hunter2"));
  ck_assert_ptr_nonnull(strstr(err, "stackrig:***@127.0.0.1:1"));
  free(out);
  free(err);
  free(bad);
  status = rig_test_stackrig(&out, &err, "migrate", "--dsn", db_dsn, NULL);
  ck_assert_int_eq(status, 2);
  ck_assert_ptr_nonnull(strstr(err, "--dir is required"));
  free(out);
  free(err);
}
END_TEST

START_TEST(concurrent_runners_apply_once)
{
  char *dir = fixture("fixtures/migrations-tests/concurrent");
  char *tmp = rig_test_tempdir();
  setenv("MIGRATE_DSN", db_dsn, 1);
  setenv("MIGRATE_DIR", dir, 1);
  setenv("MIGRATE_OUT", tmp, 1);
  const char *bin = getenv("STACKRIG_BIN") ? getenv("STACKRIG_BIN") : RIG_BUILDDIR "/stackrig";
  setenv("MIGRATE_BIN", bin, 1);
  /* two processes started together */
  const char *argv[] = {
      "sh", "-c",
      "\"$MIGRATE_BIN\" migrate --dsn \"$MIGRATE_DSN\" --dir \"$MIGRATE_DIR\" >\"$MIGRATE_OUT/1\" "
      "2>&1 & a=$!; \"$MIGRATE_BIN\" migrate --dsn \"$MIGRATE_DSN\" --dir \"$MIGRATE_DIR\" "
      ">\"$MIGRATE_OUT/2\" 2>&1 & b=$!; wait $a; x=$?; wait $b; y=$?; echo \"$x $y\"",
      NULL};
  char *out = NULL;
  ck_assert_int_eq(rig_test_run(argv, NULL, &out, NULL), 0);
  ck_assert_str_eq(out, "0 0\n");
  free(out);
  /* each file exactly once */
  assert_value(db_dsn, "SELECT string_agg(migration::text, ',' ORDER BY id) FROM runs", "1,2");
  assert_value(db_dsn, "SELECT count(*) FROM stackrig_schema_migrations", "2");
  /* one runner applied both, the other found them applied */
  char *one = NULL, *two = NULL;
  char *p1 = NULL, *p2 = NULL;
  ck_assert_int_ge(asprintf(&p1, "%s/1", tmp), 0);
  ck_assert_int_ge(asprintf(&p2, "%s/2", tmp), 0);
  size_t len = 0;
  ck_assert_int_eq(rig__read_file(&one, &len, p1), RIG_OK);
  ck_assert_int_eq(rig__read_file(&two, &len, p2), RIG_OK);
  int one_applied = strstr(one, "2 migrations applied, 0 already") != NULL;
  int two_applied = strstr(two, "2 migrations applied, 0 already") != NULL;
  ck_assert_msg(one_applied != two_applied, "runner 1:\n%s\nrunner 2:\n%s", one, two);
  ck_assert_ptr_nonnull(strstr(one_applied ? two : one, "0 migrations applied, 2 already"));
  free(one);
  free(two);
  free(p1);
  free(p2);
  rig_test_rmtree(tmp);
  free(tmp);
  free(dir);
}
END_TEST

START_TEST(drift_is_detected)
{
  char *dir = copy_set("fixtures/migrations-tests/concurrent");
  ck_assert_int_eq(rig_pg_migrate(NULL, db_dsn, dir, NULL), RIG_OK);
  /* an applied file changes */
  char *path = NULL;
  ck_assert_int_ge(asprintf(&path, "%s/002_more_runs.sql", dir), 0);
  rig_test_write_file(path, "INSERT INTO runs (migration) VALUES (22);\n");
  ck_assert_int_eq(rig_pg_migrate(NULL, db_dsn, dir, NULL), RIG_EDRIFT);
  const rig_error *err = rig_error_last();
  ck_assert_msg(strstr(err->text, "migration 002_more_runs.sql (version 2) was applied at "), "%s",
                err->text);
  ck_assert_ptr_nonnull(strstr(err->text, "has changed since"));
  ck_assert_str_eq(rig_error_detail_get(err, "file"), "002_more_runs.sql");
  ck_assert_ptr_nonnull(rig_error_detail_get(err, "hint"));
  rig_pg_migrations *list = NULL;
  ck_assert_int_eq(rig_pg_migrate_status(&list, db_dsn, dir), RIG_OK);
  ck_assert_int_eq(list->items[1].state, RIG_PG_MIGRATION_CHANGED);
  rig_pg_migrations_free(list);
  char *out = NULL, *errtext = NULL;
  ck_assert_int_eq(
      rig_test_stackrig(&out, &errtext, "migrate", "--dsn", db_dsn, "--dir", dir, "--status", NULL),
      1);
  ck_assert_msg(strstr(out, "changed") && strstr(out, "drift"), "%s", out);
  free(out);
  free(errtext);
  /* nothing ran: the changed file was not applied again */
  assert_value(db_dsn, "SELECT string_agg(migration::text, ',' ORDER BY id) FROM runs", "1,2");
  /* an applied file disappears */
  unlink(path);
  ck_assert_int_eq(rig_pg_migrate(NULL, db_dsn, dir, NULL), RIG_EDRIFT);
  ck_assert_msg(strstr(rig_error_last()->text, "is no longer in"), "%s", rig_error_last()->text);
  ck_assert_int_eq(rig_pg_migrate_status(&list, db_dsn, dir), RIG_OK);
  ck_assert_int_eq(list->items[1].state, RIG_PG_MIGRATION_MISSING);
  ck_assert_ptr_null(list->items[1].path);
  rig_pg_migrations_free(list);
  free(path);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(no_transaction_files)
{
  char *dir = fixture("fixtures/migrations-tests/no-transaction");
  ck_assert_msg(rig_pg_migrate(NULL, db_dsn, dir, NULL) == RIG_OK, "%s", rig_error_last()->text);
  assert_value(db_dsn,
               "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE "
               "tablename = 'events'",
               "events_kind_idx,events_payload_idx,events_pkey");
  assert_value(
      db_dsn, "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'events'::regclass", "t");
  free(dir);
  /* the same file inside a transaction fails: the marker is what makes it work */
  char *copy = copy_set("fixtures/migrations-tests/no-transaction");
  char *path = NULL;
  ck_assert_int_ge(asprintf(&path, "%s/002_events_kind_index.sql", copy), 0);
  rig_test_write_file(path, "CREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);\n");
  char *other = NULL;
  ck_assert_int_eq(rig_pg_fresh_db(&other, server_dsn, "template1"), RIG_OK);
  ck_assert_int_eq(rig_pg_migrate(NULL, other, copy, NULL), RIG_ESQL);
  ck_assert_msg(strstr(rig_error_last()->text, "002_events_kind_index.sql:1:1: SQLSTATE 25001"),
                "%s", rig_error_last()->text);
  /* a no-transaction file failing half-way keeps what it did, and is not recorded */
  rig_test_write_file(path, "-- stackrig:no-transaction\n"
                            "CREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);\n"
                            "CREATE INDEX CONCURRENTLY broken ON events (no_such_column);\n");
  ck_assert_int_eq(rig_pg_migrate(NULL, other, copy, NULL), RIG_ESQL);
  ck_assert_msg(strstr(rig_error_last()->text, "002_events_kind_index.sql:3:") &&
                    strstr(rig_error_last()->text, "SQLSTATE 42703"),
                "%s", rig_error_last()->text);
  ck_assert_ptr_nonnull(rig_error_detail_get(rig_error_last(), "note"));
  assert_value(other, "SELECT count(*) FROM pg_indexes WHERE indexname = 'events_kind_idx'", "1");
  assert_value(other, "SELECT count(*) FROM stackrig_schema_migrations", "1");
  rig_pg_drop_db(other);
  free(other);
  free(path);
  rig_test_rmtree(copy);
  free(copy);
}
END_TEST

/* ---- schema waits ---- */

START_TEST(wait_for_schema)
{
  /* a session creates the table (and later the column) while we wait */
  setenv("SCHEMA_DSN", db_dsn, 1);
  const char *argv[] = {"sh", "-c",
                        "(sleep 1; psql -q \"$SCHEMA_DSN\" -c 'CREATE TABLE late (id int)'; "
                        "sleep 1; psql -q \"$SCHEMA_DSN\" -c 'ALTER TABLE late ADD COLUMN note "
                        "text') >/dev/null 2>&1 &",
                        NULL};
  ck_assert_int_eq(rig_test_run(argv, NULL, NULL, NULL), 0);
  ck_assert_msg(rig_pg_wait_schema(db_dsn, "late", NULL, 30000) == RIG_OK, "%s",
                rig_error_last()->text);
  assert_value(db_dsn, "SELECT to_regclass('late') IS NOT NULL", "t");
  ck_assert_msg(rig_pg_wait_schema(db_dsn, "public.late", "note", 30000) == RIG_OK, "%s",
                rig_error_last()->text);
  assert_value(db_dsn,
               "SELECT count(*) FROM information_schema.columns WHERE table_name = 'late' "
               "AND column_name = 'note'",
               "1");
  ck_assert_int_eq(rig_pg_wait_schema(db_dsn, "late", "missing_column", 300), RIG_ETIMEOUT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "late.missing_column does not exist"));
}
END_TEST

/* ---- per-test databases ---- */

static char *fresh_dsn;

static void fresh_setup(void)
{
  ck_assert_msg(rig_pg_fresh_db(&fresh_dsn, server_dsn, template_name) == RIG_OK, "%s",
                rig_error_last()->text);
}

static void fresh_teardown(void)
{
  if (fresh_dsn) {
    ck_assert_int_eq(rig_pg_drop_db(fresh_dsn), RIG_OK);
    free(fresh_dsn);
    fresh_dsn = NULL;
  }
}

/* Two tests that write the same row: each works on a database of its own. */
START_TEST(fresh_db_isolated_first)
{
  assert_value(fresh_dsn, "SELECT count(*) FROM items", "3");
  PGconn *conn = connect_db(fresh_dsn);
  PGresult *res = PQexec(conn, "INSERT INTO items (id, name, embedding) VALUES (100, 'mine', "
                               "'[1,1,1]'); DELETE FROM items WHERE name = 'far'");
  ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
  PQclear(res);
  PQfinish(conn);
  assert_value(fresh_dsn, "SELECT count(*) FROM items", "3");
  assert_value(fresh_dsn, "SELECT name FROM items ORDER BY embedding <-> '[1,1,1]' LIMIT 1",
               "mine");
}
END_TEST

START_TEST(fresh_db_isolated_second)
{
  assert_value(fresh_dsn, "SELECT string_agg(name, ',' ORDER BY id) FROM items", "origin,near,far");
  PGconn *conn = connect_db(fresh_dsn);
  PGresult *res = PQexec(conn, "INSERT INTO items (id, name) VALUES (100, 'other')");
  ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(conn));
  PQclear(res);
  PQfinish(conn);
}
END_TEST

START_TEST(fresh_dbs_side_by_side)
{
  char *a = NULL, *b = NULL;
  ck_assert_int_eq(rig_pg_fresh_db(&a, server_dsn, template_name), RIG_OK);
  ck_assert_int_eq(rig_pg_fresh_db(&b, server_dsn, template_name), RIG_OK);
  ck_assert_str_ne(a, b);
  PGconn *conn = connect_db(a);
  PQclear(PQexec(conn, "TRUNCATE items"));
  PQfinish(conn);
  assert_value(a, "SELECT count(*) FROM items", "0");
  assert_value(b, "SELECT count(*) FROM items", "3");
  /* the template itself is untouched and closed to sessions */
  char *sql = NULL;
  ck_assert_int_ge(asprintf(&sql,
                            "SELECT datistemplate::text || ' ' || datallowconn::text FROM "
                            "pg_database WHERE datname = '%s'",
                            template_name),
                   0);
  assert_value(server_dsn, sql, "true false");
  free(sql);
  /* preparing the same migrations again finds the template made */
  char *again = NULL;
  char *dir = fixture("fixtures/migrations");
  ck_assert_int_eq(rig_pg_template_prepare(&again, server_dsn, dir), RIG_OK);
  ck_assert_str_eq(again, template_name);
  free(again);
  free(dir);
  /* dropped databases are gone, even with a session still open */
  PGconn *open_session = connect_db(b);
  ck_assert_int_eq(rig_pg_drop_db(a), RIG_OK);
  ck_assert_int_eq(rig_pg_drop_db(b), RIG_OK);
  PQfinish(open_session);
  PGconn *gone = PQconnectdb(a);
  ck_assert_int_eq(PQstatus(gone), CONNECTION_BAD);
  PQfinish(gone);
  ck_assert_int_eq(rig_pg_drop_db(a), RIG_OK); /* already gone: fine */
  free(a);
  free(b);
}
END_TEST

START_TEST(fresh_db_from_a_template_in_use)
{
  /* A template someone is still connected to: the clone ends that session and goes on. */
  char *source = NULL;
  ck_assert_int_eq(rig_pg_fresh_db(&source, server_dsn, "template1"), RIG_OK);
  PGconn *holder = connect_db(source);
  PQclear(PQexec(holder, "CREATE TABLE marker (id int); INSERT INTO marker VALUES (7)"));
  char *source_name = strrchr(source, '/') + 1;
  char *clone = NULL;
  ck_assert_msg(rig_pg_fresh_db(&clone, server_dsn, source_name) == RIG_OK, "%s",
                rig_error_last()->text);
  assert_value(clone, "SELECT id FROM marker", "7");
  PQfinish(holder);
  rig_pg_drop_db(clone);
  rig_pg_drop_db(source);
  free(clone);
  free(source);
  char *none = NULL;
  ck_assert_int_eq(rig_pg_fresh_db(&none, server_dsn, "no_such_template"), RIG_ESQL);
  ck_assert_ptr_null(none);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "no_such_template"));
}
END_TEST

START_TEST(template_of_a_failing_set)
{
  char *name = NULL;
  char *dir = fixture("fixtures/migrations-tests/fail-second");
  ck_assert_int_eq(rig_pg_template_prepare(&name, server_dsn, dir), RIG_ESQL);
  ck_assert_ptr_null(name);
  ck_assert_msg(strstr(rig_error_last()->text, "002_orders.sql:14:8"), "%s",
                rig_error_last()->text);
  /* the half-made template was dropped */
  assert_value(server_dsn,
               "SELECT count(*) FROM pg_database WHERE datname LIKE 'stackrig_tpl_%' "
               "AND NOT datistemplate",
               "0");
  free(dir);
}
END_TEST

static Suite *migrate_suite(void)
{
  Suite *s = suite_create("migrate");
  TCase *runner = tcase_create("runner");
  tcase_add_checked_fixture(runner, empty_db_setup, db_teardown);
  tcase_set_timeout(runner, 120);
  tcase_add_test(runner, applies_in_order_once);
  tcase_add_test(runner, pgvector_nearest_neighbour);
  tcase_add_test(runner, second_file_fails);
  tcase_add_test(runner, command_line);
  tcase_add_test(runner, concurrent_runners_apply_once);
  tcase_add_test(runner, drift_is_detected);
  tcase_add_test(runner, no_transaction_files);
  tcase_add_test(runner, wait_for_schema);
  suite_add_tcase(s, runner);
  TCase *fresh = tcase_create("fresh-databases");
  tcase_add_checked_fixture(fresh, fresh_setup, fresh_teardown);
  tcase_set_timeout(fresh, 60);
  tcase_add_test(fresh, fresh_db_isolated_first);
  tcase_add_test(fresh, fresh_db_isolated_second);
  tcase_add_test(fresh, fresh_dbs_side_by_side);
  tcase_add_test(fresh, fresh_db_from_a_template_in_use);
  tcase_add_test(fresh, template_of_a_failing_set);
  suite_add_tcase(s, fresh);
  return s;
}

int main(void)
{
  rig_test_require_docker();
  rig_stack *stack = NULL;
  if (rig_test_default_stack_up(&stack) != RIG_OK)
    return 1;
  server_dsn = getenv("STACKRIG_PG_DSN");
  char *dir = rig_test_path("fixtures/migrations");
  int rc = 1;
  if (rig_pg_template_prepare(&template_name, server_dsn, dir) != RIG_OK)
    fprintf(stderr, "check_migrate: template: %s\n", rig_error_last()->text);
  else
    rc = rig_test_main(migrate_suite());
  free(dir);
  free(template_name);
  rig_test_default_stack_down(stack);
  return rc;
}
