/*
 * cmd_migrate.c - `stackrig migrate`: applies a folder of NNN_name.sql migrations to a
 * Postgres database, or (--status) lists which are applied and which are pending.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static void on_applied(const rig_pg_migration *m, void *userdata)
{
  (void)userdata;
  printf("applied  %s (%lld ms)%s\n", m->name, (long long)m->duration_ms,
         m->no_transaction ? " [no transaction]" : "");
  fflush(stdout);
}

static int print_status(const rig_pg_migrations *list)
{
  size_t applied = 0, pending = 0, drift = 0;
  printf("%-8s  %-8s  %-32s  %9s  %s\n", "VERSION", "STATE", "APPLIED AT", "DURATION", "FILE");
  for (size_t i = 0; i < list->count; i++) {
    const rig_pg_migration *m = &list->items[i];
    char duration[32] = "";
    if (m->duration_ms >= 0)
      snprintf(duration, sizeof duration, "%lld ms", (long long)m->duration_ms);
    printf("%-8lld  %-8s  %-32s  %9s  %s%s\n", (long long)m->version,
           rig_pg_migration_state_name(m->state), m->applied_at ? m->applied_at : "", duration,
           m->name, m->no_transaction ? " [no transaction]" : "");
    if (m->state == RIG_PG_MIGRATION_PENDING)
      pending++;
    else if (m->state == RIG_PG_MIGRATION_APPLIED)
      applied++;
    else
      drift++;
  }
  printf("%zu applied, %zu pending%s", applied, pending, drift ? ", " : "");
  if (drift)
    printf("%zu changed or missing since they were applied (drift)", drift);
  printf("\n");
  return drift ? RIG_EXIT_FAILED : RIG_EXIT_OK;
}

static int run_migrate(int argc, char **argv)
{
  const char *dsn = NULL, *dir = NULL;
  int status = 0;
  int64_t lock_timeout_ms = 0;
  for (int i = 1; i < argc; i++) {
    int missing = 0;
    const char *v;
    if ((v = runner_option_value("--dsn", argc, argv, &i, &missing)) || missing) {
      if (missing || !*v)
        return runner_usage_error("migrate", "--dsn needs a connection string or URI");
      dsn = v;
    } else if ((v = runner_option_value("--dir", argc, argv, &i, &missing)) || missing) {
      if (missing || !*v)
        return runner_usage_error("migrate", "--dir needs a folder of NNN_name.sql files");
      dir = v;
    } else if ((v = runner_option_value("--lock-timeout", argc, argv, &i, &missing)) || missing) {
      if (missing || rig_duration_parse(&lock_timeout_ms, v) != RIG_OK || lock_timeout_ms <= 0)
        return runner_usage_error("migrate", "--lock-timeout needs a duration such as 30s");
    } else if (strcmp(argv[i], "--status") == 0) {
      status = 1;
    } else {
      return runner_usage_error("migrate", "unknown argument '%s'", argv[i]);
    }
  }
  if (!dsn) {
    const char *env = getenv("STACKRIG_PG_DSN");
    dsn = env && *env ? env : NULL;
  }
  if (!dsn)
    return runner_usage_error("migrate", "--dsn is required (or set STACKRIG_PG_DSN)");
  if (!dir)
    return runner_usage_error("migrate", "--dir is required");
  char *shown = NULL;
  if (rig_redact(&shown, dsn) != RIG_OK)
    shown = strdup("?");

  int code;
  rig_pg_migrations *list = NULL;
  if (status) {
    int rc = rig_pg_migrate_status(&list, dsn, dir);
    code = rc == RIG_OK ? print_status(list) : runner_report(rc, "migrate");
  } else {
    rig_pg_migrate_options opts = RIG_PG_MIGRATE_OPTIONS_INIT;
    opts.lock_timeout_ms = lock_timeout_ms;
    opts.on_applied = on_applied;
    int rc = rig_pg_migrate(&list, dsn, dir, &opts);
    if (rc != RIG_OK) {
      code = runner_report(rc, "migrate");
      const rig_error *err = rig_error_last();
      const char *note = err ? rig_error_detail_get(err, "note") : NULL;
      const char *detail = err ? rig_error_detail_get(err, "detail") : NULL;
      if (detail)
        fprintf(stderr, "detail: %s\n", detail);
      if (note)
        fprintf(stderr, "note: %s\n", note);
    } else {
      printf("%s: %zu migration%s applied, %zu already applied before\n", shown, list->applied_now,
             list->applied_now == 1 ? "" : "s", list->count - list->applied_now);
      code = RIG_EXIT_OK;
    }
  }
  rig_pg_migrations_free(list);
  free(shown);
  return code;
}

const runner_command runner_cmd_migrate = {
    "migrate",
    "apply SQL migrations to a Postgres database (or show their status)",
    "usage: stackrig migrate --dsn DSN --dir DIR [--status] [--lock-timeout DUR]\n"
    "\n"
    "Applies the pending migrations of DIR to the database of DSN, in numeric order. A\n"
    "migration is a file NNN_name.sql; each runs in its own transaction, except a file whose\n"
    "first line is '-- stackrig:no-transaction' (for CREATE INDEX CONCURRENTLY), whose\n"
    "statements run one by one outside a transaction. What was applied is recorded in the\n"
    "table stackrig_schema_migrations; running again applies nothing new. A migration that\n"
    "was applied and has changed since (or disappeared) is an error: drift. Runners started\n"
    "at the same time on the same database take turns (an advisory lock).\n"
    "\n"
    "A failing statement rolls its file back and is reported as FILE:LINE:COLUMN with its\n"
    "SQLSTATE; the files before it stay applied, the ones after it are not attempted.\n"
    "\n"
    "Options:\n"
    "  --dsn DSN            libpq connection string or URI, e.g.\n"
    "                       postgres://user:pass@127.0.0.1:5432/db (default: STACKRIG_PG_DSN)\n"
    "  --dir DIR            the folder of NNN_name.sql files\n"
    "  --status             list every migration as applied, pending, changed or missing;\n"
    "                       change nothing\n"
    "  --lock-timeout DUR   how long to wait for another runner (default 1m)\n"
    "\n"
    "Exit codes: 0 success (--status: no drift), 1 a statement failed or drift, 2 usage error\n"
    "or a badly named migration file, 3 cannot connect or timed out waiting for the lock.\n",
    run_migrate,
};
