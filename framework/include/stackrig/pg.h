/*
 * stackrig/pg.h - Postgres helpers for integration tests: the migration runner, waiting for
 * a schema, and per-test databases cloned in milliseconds from a migrated template.
 *
 * Migrations are files `NNN_name.sql` in one folder, applied in numeric order, each in its
 * own transaction (or, when its first line is `-- stackrig:no-transaction`, statement by
 * statement outside one, as CREATE INDEX CONCURRENTLY needs). What was applied is recorded
 * in the table stackrig_schema_migrations(version, name, checksum, applied_at, duration_ms);
 * a file applied earlier whose content changed since is an error (RIG_EDRIFT), and runners
 * working on the same database at the same time are serialized by an advisory lock.
 *
 * DSNs are libpq connection strings or URIs ("postgres://user:pass@127.0.0.1:5432/db");
 * those that appear in messages are redacted.
 */
#ifndef STACKRIG_PG_H
#define STACKRIG_PG_H

#include "common.h"

RIG_BEGIN_DECLS

/* ---- migrations ---- */

#define RIG_PG_MIGRATIONS_TABLE "stackrig_schema_migrations"

typedef enum rig_pg_migration_state {
  RIG_PG_MIGRATION_PENDING = 0, /**< in the folder, not applied */
  RIG_PG_MIGRATION_APPLIED,     /**< applied, and the file is unchanged */
  RIG_PG_MIGRATION_CHANGED,     /**< applied, but the file changed since (drift) */
  RIG_PG_MIGRATION_MISSING      /**< applied, but no longer in the folder */
} rig_pg_migration_state;

/** One migration, as the folder and the database know it. */
typedef struct rig_pg_migration {
  int64_t version;      /**< NNN of NNN_name.sql */
  const char *name;     /**< the file name, "002_orders.sql" */
  const char *path;     /**< the file's path, or NULL when MISSING */
  const char *checksum; /**< sha256 (hex) of the file, or of what was applied when MISSING */
  int no_transaction;   /**< the file starts with `-- stackrig:no-transaction` */
  rig_pg_migration_state state;
  const char *applied_at; /**< when it was applied (the server's text), or NULL */
  int64_t duration_ms;    /**< how long it took to apply, or -1 */
  int applied_now;        /**< applied by this call of rig_pg_migrate() */
} rig_pg_migration;

typedef struct rig_pg_migrations {
  size_t count;
  const rig_pg_migration *items; /**< by version */
  size_t applied_now;            /**< how many rig_pg_migrate() applied */
} rig_pg_migrations;

/**
 * Lists the migrations of a folder (no database involved): every `*.sql` file must be
 * named `NNN_name.sql` (digits, '_', a name); files of other extensions are ignored.
 * @param[out] out state PENDING for all; free with rig_pg_migrations_free()
 * @return RIG_OK; RIG_ENOTFOUND (no such folder); RIG_EINVAL naming a badly named .sql file
 *   or two files with the same number; RIG_EIO
 */
RIG_EXTERN int rig_pg_migrations_scan(rig_pg_migrations **out, const char *dir);

/** Called after each file is applied. */
typedef void (*rig_pg_migrate_cb)(const rig_pg_migration *migration, void *userdata);

typedef struct rig_pg_migrate_options {
  unsigned int version;
  /** how long to wait for another runner's advisory lock; 0: 60000 */
  int64_t lock_timeout_ms;
  rig_pg_migrate_cb on_applied;
  void *userdata;
} rig_pg_migrate_options;

#define RIG_PG_MIGRATE_OPTIONS_VERSION 1
#define RIG_PG_MIGRATE_OPTIONS_INIT                                                                \
  {                                                                                                \
    RIG_PG_MIGRATE_OPTIONS_VERSION, 0, NULL, NULL                                                  \
  }

/**
 * Applies the pending migrations of dir to the database of dsn, in order. Running it again
 * applies nothing. A failing statement rolls its file back (a no-transaction file keeps its
 * statements that succeeded); earlier files stay applied, later ones are not attempted.
 * @param[out] out what the folder and the database hold afterwards, or NULL; free with
 *   rig_pg_migrations_free() (after a failure, rig_pg_migrate_status() tells what is applied)
 * @param opts NULL: defaults
 * @return RIG_OK; RIG_ECONNECT (cannot log in); RIG_ESQL for a failing statement:
 *   "stackrig: migration 002_orders.sql:14:8: SQLSTATE 42P01 relation "order" does not
 *   exist" (database: file:line:column, with the details "file", "line", "column",
 *   "sqlstate", and the server's "detail"/"hint" when it gave them); RIG_EDRIFT naming the
 *   applied file that changed or disappeared; RIG_ETIMEOUT (the lock); what
 *   rig_pg_migrations_scan() returns
 */
RIG_EXTERN int rig_pg_migrate(rig_pg_migrations **out, const char *dsn, const char *dir,
                              const rig_pg_migrate_options *opts);

/**
 * Compares the folder with what the database recorded, changing nothing.
 * @param[out] out every migration with its state; free with rig_pg_migrations_free()
 * @return RIG_OK (drift shows as CHANGED / MISSING states); RIG_ECONNECT; what
 *   rig_pg_migrations_scan() returns
 */
RIG_EXTERN int rig_pg_migrate_status(rig_pg_migrations **out, const char *dsn, const char *dir);

RIG_EXTERN void rig_pg_migrations_free(rig_pg_migrations *migrations);

/** @return "pending", "applied", "changed" or "missing". */
RIG_EXTERN const char *rig_pg_migration_state_name(rig_pg_migration_state state);

/* ---- schemas ---- */

/**
 * Waits until a table (and, when column is not NULL, its column) exists: for services that
 * migrate their database themselves. Polls with a short back-off (5 ms growing to 100 ms);
 * connection failures are retried until the deadline too.
 * @param table "orders" or "public.orders" (resolved by the search path as to_regclass does)
 * @param timeout_ms 0: 30000
 * @return RIG_OK; RIG_ETIMEOUT naming the table (and column) and the last connection error
 */
RIG_EXTERN int rig_pg_wait_schema(const char *dsn, const char *table, const char *column,
                                  int64_t timeout_ms);

/* ---- per-test databases ---- */

/**
 * Makes a template database holding the migrations of dir, on the server of dsn (whose user
 * may create databases): a database named after the folder's content
 * ("stackrig_tpl_<12 hex digits of the checksums>"), so preparing the same migrations again
 * reuses it at once, and parallel suites share one. It is migrated, marked as a template and
 * closed to connections (CREATE DATABASE ... TEMPLATE needs a source nobody is connected to).
 * @param[out] out_name the template's name; free() it
 * @return RIG_OK; what rig_pg_migrate() returns for the template
 */
RIG_EXTERN int rig_pg_template_prepare(char **out_name, const char *dsn, const char *dir);

/**
 * Creates a brand-new database cloned from a template (CREATE DATABASE ... TEMPLATE), named
 * "stackrig_t_<pid>_<counter>_<random>", and gives the DSN to reach it: dsn with its database
 * replaced. Sessions still connected to the template are ended first.
 * @param[out] out_dsn free() it, after rig_pg_drop_db()
 * @param dsn any database of the server (not the template)
 * @return RIG_OK; RIG_ESQL with the server's message; RIG_ECONNECT
 */
RIG_EXTERN int rig_pg_fresh_db(char **out_dsn, const char *dsn, const char *template_name);

/**
 * Drops the database a DSN names (ending its sessions), connecting to the server's
 * "postgres" database to do so. Dropping one that does not exist is RIG_OK.
 */
RIG_EXTERN int rig_pg_drop_db(const char *dsn);

/**
 * Rewrites a DSN (URI or key=value string) to name another database.
 * @param[out] out free() it
 * @return RIG_OK or RIG_EINVAL for a DSN libpq cannot parse
 */
RIG_EXTERN int rig_pg_dsn_with_database(char **out, const char *dsn, const char *database);

RIG_END_DECLS

#endif
