/*
 * pg_db.c - connections, waiting for a schema, and per-test databases: a template migrated
 * once (named after its migrations' content, so suites share and reuse it), and fresh
 * databases cloned from it with CREATE DATABASE ... TEMPLATE.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_internal.h"
#include "stackrig/error.h"
#include "util.h"

/* ---- connections ---- */

static void ignore_notice(void *arg, const char *message)
{
  (void)arg;
  (void)message;
}

int rig__pg_connect(PGconn **out, const char *dsn)
{
  if (!dsn || !*dsn)
    return rig_error_set(RIG_EINVAL, "no Postgres DSN given");
  /* Keywords are applied in order and the DSN (expanded from dbname) comes last, so what it
   * says wins over these defaults. */
  const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
  const char *const values[] = {"10", "stackrig", dsn, NULL};
  PGconn *conn = PQconnectdbParams(keys, values, 1);
  if (!conn)
    return rig_error_set(RIG_ENOMEM, "libpq: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    char *why = rig__strdup(PQerrorMessage(conn));
    size_t len = strlen(why);
    while (len && (why[len - 1] == '\n' || why[len - 1] == ' '))
      why[--len] = '\0';
    PQfinish(conn);
    int rc = rig_error_set(RIG_ECONNECT, "cannot connect to %s: %s", dsn, why);
    free(why);
    return rc;
  }
  PQsetNoticeProcessor(conn, ignore_notice, NULL);
  PQsetClientEncoding(conn, "UTF8");
  *out = conn;
  return RIG_OK;
}

static char *trimmed(const char *text)
{
  char *copy = rig__strdup(text ? text : "");
  size_t len = strlen(copy);
  while (len && (copy[len - 1] == '\n' || copy[len - 1] == ' '))
    copy[--len] = '\0';
  return copy;
}

/* Sets RIG_ESQL for a failed result: "what: SQLSTATE 42P01 message". */
static int result_error(const PGresult *res, PGconn *conn, const char *what)
{
  const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  char *message = trimmed(res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                              ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                              : PQerrorMessage(conn));
  int rc =
      rig_error_set(RIG_ESQL, "%s: SQLSTATE %s %s", what, sqlstate ? sqlstate : "?????", message);
  if (sqlstate)
    rig_error_add_detail("sqlstate", "%s", sqlstate);
  free(message);
  return rc;
}

int rig__pg_exec(PGconn *conn, const char *sql, const char *what)
{
  PGresult *res = PQexec(conn, sql);
  ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  int rc = RIG_OK;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    rc = result_error(res, conn, what);
  PQclear(res);
  return rc;
}

static int sqlstate_is(PGconn *conn, const char *sql, const char *sqlstate, int *matched)
{
  PGresult *res = PQexec(conn, sql);
  ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  int rc = RIG_OK;
  *matched = 0;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    *matched = state && strcmp(state, sqlstate) == 0;
    rc = result_error(res, conn, sql);
  }
  PQclear(res);
  return rc;
}

/* ---- waiting for a schema ---- */

int rig_pg_wait_schema(const char *dsn, const char *table, const char *column, int64_t timeout_ms)
{
  if (!dsn || !table || !*table)
    return rig_error_set(RIG_EINVAL, "rig_pg_wait_schema: dsn and table are required");
  if (timeout_ms <= 0)
    timeout_ms = 30000;
  int64_t deadline = rig__now_ms() + timeout_ms;
  const char *sql = column ? "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                             "to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT "
                             "attisdropped)"
                           : "SELECT to_regclass($1) IS NOT NULL";
  const char *params[2] = {table, column};
  PGconn *conn = NULL;
  char *last = NULL;
  int rc = RIG_ETIMEOUT;
  for (int attempt = 0;; attempt++) {
    if (!conn) {
      if (rig__pg_connect(&conn, dsn) != RIG_OK) {
        free(last);
        last = rig__strdup(rig_error_last() ? rig_error_last()->text : "cannot connect");
        rig_error_clear();
        conn = NULL;
      }
    }
    if (conn) {
      PGresult *res = PQexecParams(conn, sql, column ? 2 : 1, NULL, params, NULL, NULL, 0);
      if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        int found = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (found) {
          rc = RIG_OK;
          break;
        }
      } else {
        free(last);
        last = trimmed(PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        conn = NULL;
      }
    }
    int64_t left = deadline - rig__now_ms();
    if (left <= 0)
      break;
    int64_t delay = 5;
    for (int i = 0; i < attempt && delay < 100; i++)
      delay *= 2;
    rig__sleep_ms(delay < 100 ? (delay < left ? delay : left) : (100 < left ? 100 : left));
  }
  PQfinish(conn);
  if (rc != RIG_OK) {
    rig_error_set(RIG_ETIMEOUT, "%s%s%s does not exist after %lld ms%s%s", table, column ? "." : "",
                  column ? column : "", (long long)timeout_ms, last ? "; last error: " : "",
                  last ? last : "");
    rig_error_add_detail("table", "%s", table);
  }
  free(last);
  return rc;
}

/* ---- per-test databases ---- */

static int database_exists(int *exists, int *is_template, PGconn *conn, const char *name)
{
  const char *params[1] = {name};
  PGresult *res = PQexecParams(conn, "SELECT datistemplate FROM pg_database WHERE datname = $1", 1,
                               NULL, params, NULL, NULL, 0);
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
    int rc = result_error(res, conn, "reading pg_database");
    PQclear(res);
    return rc;
  }
  *exists = PQntuples(res) == 1;
  *is_template = *exists && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  return RIG_OK;
}

/* DROP DATABASE ... WITH (FORCE) (Postgres 13+), else ending its sessions first. */
static int drop_database(PGconn *conn, const char *name)
{
  char *quoted = rig__pg_quote_ident(name);
  char *sql = rig__sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", quoted);
  int syntax = 0;
  int rc = sqlstate_is(conn, sql, "42601", &syntax);
  if (rc != RIG_OK && syntax) {
    free(sql);
    const char *params[1] = {name};
    PGresult *res = PQexecParams(conn,
                                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = $1 AND pid <> pg_backend_pid()",
                                 1, NULL, params, NULL, NULL, 0);
    PQclear(res);
    sql = rig__sprintf("DROP DATABASE IF EXISTS %s", quoted);
    rc = rig__pg_exec(conn, sql, "dropping a database");
  }
  if (rc != RIG_OK)
    rig_error_wrap(RIG_OK, "dropping database %s", name);
  free(sql);
  free(quoted);
  return rc;
}

static char *template_name(const rig_pg_migrations *migrations)
{
  rig_buf text = RIG_BUF_INIT;
  for (size_t i = 0; i < migrations->count; i++)
    rig__buf_printf(&text, "%s %s\n", migrations->items[i].name, migrations->items[i].checksum);
  char hex[65];
  rig__sha256_hex(hex, text.data ? text.data : "", text.len);
  rig__buf_dispose(&text);
  hex[12] = '\0';
  return rig__sprintf("stackrig_tpl_%s", hex);
}

int rig_pg_template_prepare(char **out_name, const char *dsn, const char *dir)
{
  if (!out_name || !dsn || !dir)
    return rig_error_set(RIG_EINVAL, "rig_pg_template_prepare: dsn and dir are required");
  rig_pg_migrations *files = NULL;
  int rc = rig_pg_migrations_scan(&files, dir);
  if (rc != RIG_OK)
    return rc;
  char *name = template_name(files);
  rig_pg_migrations_free(files);
  const char *params[1] = {name};
  PGconn *conn = NULL;
  char *template_dsn = NULL;
  if ((rc = rig__pg_connect(&conn, dsn)) != RIG_OK)
    goto done;
  /* Parallel suites preparing the same template: one makes it, the others find it made. */
  PGresult *res =
      PQexecParams(conn, "SELECT pg_advisory_lock(hashtext('stackrig_template ' || $1))", 1, NULL,
                   params, NULL, NULL, 0);
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = result_error(res, conn, "locking the template");
    PQclear(res);
    goto done;
  }
  PQclear(res);
  int exists = 0, is_template = 0;
  if ((rc = database_exists(&exists, &is_template, conn, name)) != RIG_OK)
    goto done;
  if (exists && is_template)
    goto done; /* made earlier: complete, since it is marked a template only once migrated */
  if (exists && (rc = drop_database(conn, name)) != RIG_OK)
    goto done; /* a half-made one */
  char *quoted = rig__pg_quote_ident(name);
  char *sql = rig__sprintf("CREATE DATABASE %s", quoted);
  rc = rig__pg_exec(conn, sql, "creating the template database");
  free(sql);
  if (rc == RIG_OK && (rc = rig_pg_dsn_with_database(&template_dsn, dsn, name)) == RIG_OK &&
      (rc = rig_pg_migrate(NULL, template_dsn, dir, NULL)) == RIG_OK) {
    /* Nobody may connect to it any more: a clone needs a source without sessions. */
    sql = rig__sprintf("ALTER DATABASE %s WITH IS_TEMPLATE true ALLOW_CONNECTIONS false", quoted);
    rc = rig__pg_exec(conn, sql, "marking the template");
    free(sql);
  }
  if (rc != RIG_OK) {
    const rig_error *err = rig_error_last();
    char *text = rig__strdup(err && err->text ? err->text : rig_strerror(rc));
    drop_database(conn, name);
    rig_error_set(rc, "template %s: %s", name, text);
    free(text);
  }
  free(quoted);
done:
  if (conn) {
    PGresult *unlock =
        PQexecParams(conn, "SELECT pg_advisory_unlock(hashtext('stackrig_template ' || $1))", 1,
                     NULL, params, NULL, NULL, 0);
    PQclear(unlock);
    PQfinish(conn);
  }
  free(template_dsn);
  if (rc != RIG_OK) {
    free(name);
    return rc;
  }
  *out_name = name;
  return RIG_OK;
}

static char *fresh_name(void)
{
  static unsigned counter;
  unsigned salt = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &salt, sizeof salt) != (ssize_t)sizeof salt)
      salt = (unsigned)rig__now_ns();
    close(fd);
  }
  return rig__sprintf("stackrig_t_%ld_%u_%04x", (long)getpid(),
                      __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED), salt & 0xffff);
}

int rig_pg_fresh_db(char **out_dsn, const char *dsn, const char *template_name)
{
  if (!out_dsn || !dsn || !template_name || !*template_name)
    return rig_error_set(RIG_EINVAL, "rig_pg_fresh_db: dsn and template_name are required");
  PGconn *conn = NULL;
  int rc = rig__pg_connect(&conn, dsn);
  if (rc != RIG_OK)
    return rc;
  char *name = fresh_name();
  char *quoted = rig__pg_quote_ident(name);
  char *quoted_template = rig__pg_quote_ident(template_name);
  char *sql = rig__sprintf("CREATE DATABASE %s TEMPLATE %s", quoted, quoted_template);
  for (int attempt = 0;; attempt++) {
    /* A source with sessions cannot be cloned ("source database is being accessed by other
     * users", after the server waited 5 s for them to go). A template made here allows no
     * connections; one made elsewhere may have some: end them first. */
    const char *params[1] = {template_name};
    PGresult *res = PQexecParams(conn,
                                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = $1 AND pid <> pg_backend_pid()",
                                 1, NULL, params, NULL, NULL, 0);
    PQclear(res);
    int in_use = 0;
    rc = sqlstate_is(conn, sql, "55006", &in_use);
    if (rc == RIG_OK || !in_use || attempt >= 3)
      break;
  }
  if (rc != RIG_OK)
    rig_error_wrap(RIG_OK, "creating database %s from template %s", name, template_name);
  else
    rc = rig_pg_dsn_with_database(out_dsn, dsn, name);
  free(sql);
  free(quoted_template);
  free(quoted);
  free(name);
  PQfinish(conn);
  return rc;
}

int rig_pg_drop_db(const char *dsn)
{
  if (!dsn)
    return rig_error_set(RIG_EINVAL, "rig_pg_drop_db: dsn is NULL");
  char *why = NULL;
  PQconninfoOption *options = PQconninfoParse(dsn, &why);
  if (!options) {
    int rc = rig_error_set(RIG_EINVAL, "%s: not a connection string libpq understands: %s", dsn,
                           why ? why : "out of memory");
    PQfreemem(why);
    return rc;
  }
  char *database = NULL;
  for (PQconninfoOption *o = options; o->keyword; o++)
    if (strcmp(o->keyword, "dbname") == 0 && o->val)
      database = rig__strdup(o->val);
  PQconninfoFree(options);
  if (!database)
    return rig_error_set(RIG_EINVAL, "%s names no database to drop", dsn);
  char *admin = NULL;
  PGconn *conn = NULL;
  int rc = rig_pg_dsn_with_database(&admin, dsn, "postgres");
  if (rc == RIG_OK)
    rc = rig__pg_connect(&conn, admin);
  if (rc == RIG_OK)
    rc = drop_database(conn, database);
  PQfinish(conn);
  free(admin);
  free(database);
  return rc;
}
