/*
 * fresh_db.c - bench/fresh-db's measuring program: per-test databases cloned from a
 * migrated template (rig_pg_fresh_db) against the obvious alternative, an empty database
 * that the migrations are run into (rig_pg_fresh_db from template1 + rig_pg_migrate), on
 * the same server in the same run. Each database is checked to hold the migrated data
 * before it is dropped; creation alone is timed.
 *
 *   fresh_db DSN DIR ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <stackrig.h>

#include "util.h"

static int compare(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n)
{
  qsort(ms, (size_t)n, sizeof *ms, compare);
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum += ms[i];
  printf("%-44s median %7.1f ms  mean %7.1f  p90 %7.1f  min %7.1f  max %7.1f  (n=%d)\n", what,
         ms[n / 2], sum / n, ms[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1], ms[0], ms[n - 1], n);
}

static int holds_data(const char *dsn)
{
  PGconn *conn = PQconnectdb(dsn);
  int ok = 0;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult *res = PQexec(conn, "SELECT count(*) FROM stackrig_schema_migrations");
    ok = PQresultStatus(res) == PGRES_TUPLES_OK && atoi(PQgetvalue(res, 0, 0)) > 0;
    PQclear(res);
  }
  PQfinish(conn);
  return ok;
}

static int fail(const char *what)
{
  const rig_error *err = rig_error_last();
  fprintf(stderr, "fresh_db: %s: %s\n", what, err ? err->text : "?");
  return 1;
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: fresh_db DSN DIR ROUNDS\n");
    return 2;
  }
  const char *dsn = argv[1], *dir = argv[2];
  int rounds = atoi(argv[3]);
  if (rounds < 1)
    rounds = 1;
  double *clone = calloc((size_t)rounds, sizeof(double));
  double *migrate = calloc((size_t)rounds, sizeof(double));
  double *drop = calloc((size_t)rounds, sizeof(double));

  int64_t t0 = rig__now_ns();
  char *template_name = NULL;
  if (rig_pg_template_prepare(&template_name, dsn, dir) != RIG_OK)
    return fail("preparing the template");
  double first_prepare = (double)(rig__now_ns() - t0) / 1e6;
  t0 = rig__now_ns();
  char *again = NULL;
  if (rig_pg_template_prepare(&again, dsn, dir) != RIG_OK)
    return fail("preparing the template again");
  double second_prepare = (double)(rig__now_ns() - t0) / 1e6;
  free(again);

  for (int i = 0; i < rounds; i++) {
    char *fresh = NULL;
    t0 = rig__now_ns();
    if (rig_pg_fresh_db(&fresh, dsn, template_name) != RIG_OK)
      return fail("fresh database");
    clone[i] = (double)(rig__now_ns() - t0) / 1e6;
    if (!holds_data(fresh))
      return fail("the clone holds no migrations");
    t0 = rig__now_ns();
    if (rig_pg_drop_db(fresh) != RIG_OK)
      return fail("drop");
    drop[i] = (double)(rig__now_ns() - t0) / 1e6;
    free(fresh);
  }
  for (int i = 0; i < rounds; i++) {
    char *empty = NULL;
    t0 = rig__now_ns();
    if (rig_pg_fresh_db(&empty, dsn, "template1") != RIG_OK)
      return fail("empty database");
    if (rig_pg_migrate(NULL, empty, dir, NULL) != RIG_OK)
      return fail("migrating");
    migrate[i] = (double)(rig__now_ns() - t0) / 1e6;
    if (!holds_data(empty))
      return fail("the migrated database holds no migrations");
    rig_pg_drop_db(empty);
    free(empty);
  }
  printf("template %s: prepared in %.1f ms, found ready in %.1f ms the second time\n",
         template_name, first_prepare, second_prepare);
  report("fresh database cloned from the template", clone, rounds);
  report("empty database + running the migrations", migrate, rounds);
  report("dropping a fresh database", drop, rounds);
  free(template_name);
  free(clone);
  free(migrate);
  free(drop);
  return 0;
}
