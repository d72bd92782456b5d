/*
 * pg_migrate.c - the migration runner: the folder's NNN_name.sql files, the tracking table,
 * drift detection, the advisory lock that serializes runners, and applying a file statement
 * by statement (so that a failure is known to the statement, and mapped back to the file's
 * line and column) inside its transaction.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pg_internal.h"
#include "stackrig/error.h"
#include "util.h"

/* pg_advisory_lock key of the runner: "stackrig" in ASCII. */
#define LOCK_KEY "8319665547012794727"

typedef struct holder {
  rig_pg_migrations list;
  rig_pg_migration *items;
  size_t count;
  char **texts; /* file contents, parallel to items (NULL for MISSING) */
  size_t *text_lens;
  char **strings;
  size_t string_count;
} holder;

static const char *keep(holder *h, char *s)
{
  if (!s)
    return NULL;
  h->strings = rig__realloc(h->strings, (h->string_count + 1) * sizeof *h->strings);
  h->strings[h->string_count++] = s;
  return s;
}

static rig_pg_migration *add_item(holder *h)
{
  h->items = rig__realloc(h->items, (h->count + 1) * sizeof *h->items);
  h->texts = rig__realloc(h->texts, (h->count + 1) * sizeof *h->texts);
  h->text_lens = rig__realloc(h->text_lens, (h->count + 1) * sizeof *h->text_lens);
  rig_pg_migration *m = &h->items[h->count];
  memset(m, 0, sizeof *m);
  m->duration_ms = -1;
  h->texts[h->count] = NULL;
  h->text_lens[h->count] = 0;
  h->count++;
  return m;
}

void rig_pg_migrations_free(rig_pg_migrations *migrations)
{
  if (!migrations)
    return;
  holder *h = (holder *)migrations;
  for (size_t i = 0; i < h->count; i++)
    free(h->texts[i]);
  for (size_t i = 0; i < h->string_count; i++)
    free(h->strings[i]);
  free(h->texts);
  free(h->text_lens);
  free(h->strings);
  free(h->items);
  free(h);
}

static void publish(holder *h)
{
  h->list.count = h->count;
  h->list.items = h->items;
}

const char *rig_pg_migration_state_name(rig_pg_migration_state state)
{
  switch (state) {
  case RIG_PG_MIGRATION_APPLIED:
    return "applied";
  case RIG_PG_MIGRATION_CHANGED:
    return "changed";
  case RIG_PG_MIGRATION_MISSING:
    return "missing";
  default:
    return "pending";
  }
}

/* ---- the folder ---- */

/* Sorts items (and their texts) by version. */
static void sort_items(holder *h)
{
  for (size_t i = 1; i < h->count; i++) {
    for (size_t j = i; j > 0 && h->items[j - 1].version > h->items[j].version; j--) {
      rig_pg_migration m = h->items[j];
      h->items[j] = h->items[j - 1];
      h->items[j - 1] = m;
      char *t = h->texts[j];
      h->texts[j] = h->texts[j - 1];
      h->texts[j - 1] = t;
      size_t l = h->text_lens[j];
      h->text_lens[j] = h->text_lens[j - 1];
      h->text_lens[j - 1] = l;
    }
  }
}

static int scan(holder **out, const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) {
    int err = errno;
    return rig_error_set(err == ENOENT ? RIG_ENOTFOUND : RIG_EIO, "migrations folder %s: %s", dir,
                         strerror(err));
  }
  holder *h = rig__calloc(1, sizeof *h);
  int rc = RIG_OK;
  struct dirent *entry;
  while (rc == RIG_OK && (entry = readdir(d)) != NULL) {
    const char *name = entry->d_name;
    if (name[0] == '.')
      continue;
    char *path = rig__sprintf("%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(path);
      continue;
    }
    int64_t version = 0;
    int kind = rig__pg_migration_name(&version, name);
    if (kind == 0) {
      free(path);
      continue;
    }
    if (kind < 0) {
      rc = rig_error_set(RIG_EINVAL,
                         "%s: a migration file must be named NNN_name.sql "
                         "(digits, '_', a name of letters, digits, '_', '-' or '.'), e.g. "
                         "001_init.sql",
                         path);
      free(path);
      break;
    }
    char *text = NULL;
    size_t len = 0;
    if ((rc = rig__read_file(&text, &len, path)) != RIG_OK) {
      free(path);
      break;
    }
    rig_pg_migration *m = add_item(h);
    m->version = version;
    m->name = keep(h, rig__strdup(name));
    m->path = keep(h, path);
    char hex[65];
    rig__sha256_hex(hex, text, len);
    m->checksum = keep(h, rig__strdup(hex));
    m->no_transaction = rig__pg_no_transaction(text, len);
    h->texts[h->count - 1] = text;
    h->text_lens[h->count - 1] = len;
  }
  closedir(d);
  if (rc == RIG_OK) {
    sort_items(h);
    for (size_t i = 1; i < h->count && rc == RIG_OK; i++)
      if (h->items[i].version == h->items[i - 1].version)
        rc = rig_error_set(RIG_EINVAL,
                           "%s: %s and %s have the same number %lld: each "
                           "migration needs its own",
                           dir, h->items[i - 1].name, h->items[i].name,
                           (long long)h->items[i].version);
  }
  if (rc != RIG_OK) {
    rig_pg_migrations_free(&h->list);
    return rc;
  }
  publish(h);
  *out = h;
  return RIG_OK;
}

int rig_pg_migrations_scan(rig_pg_migrations **out, const char *dir)
{
  if (!out || !dir)
    return rig_error_set(RIG_EINVAL, "rig_pg_migrations_scan: dir is NULL");
  holder *h = NULL;
  int rc = scan(&h, dir);
  if (rc == RIG_OK)
    *out = &h->list;
  return rc;
}

/* ---- the tracking table ---- */

static int table_exists(int *exists, PGconn *conn)
{
  PGresult *res = PQexec(conn, "SELECT to_regclass('" RIG_PG_MIGRATIONS_TABLE "') IS NOT NULL");
  int rc = RIG_OK;
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = rig__pg_exec(conn, "SELECT to_regclass('" RIG_PG_MIGRATIONS_TABLE "')",
                      "looking for " RIG_PG_MIGRATIONS_TABLE);
  else
    *exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  return rc;
}

static rig_pg_migration *find_version(holder *h, int64_t version)
{
  for (size_t i = 0; i < h->count; i++)
    if (h->items[i].version == version)
      return &h->items[i];
  return NULL;
}

/* Reads what was applied and sets each migration's state. */
static int read_applied(holder *h, PGconn *conn)
{
  PGresult *res = PQexec(conn, "SELECT version, name, checksum, applied_at::text, duration_ms "
                               "FROM " RIG_PG_MIGRATIONS_TABLE " ORDER BY version");
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
    PQclear(res);
    return rig__pg_exec(conn, "SELECT version FROM " RIG_PG_MIGRATIONS_TABLE,
                        "reading " RIG_PG_MIGRATIONS_TABLE);
  }
  for (int row = 0; row < PQntuples(res); row++) {
    int64_t version = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    const char *name = PQgetvalue(res, row, 1);
    const char *checksum = PQgetvalue(res, row, 2);
    rig_pg_migration *m = find_version(h, version);
    if (!m) {
      m = add_item(h);
      m->version = version;
      m->name = keep(h, rig__strdup(name));
      m->checksum = keep(h, rig__strdup(checksum));
      m->state = RIG_PG_MIGRATION_MISSING;
    } else {
      m->state = strcmp(m->name, name) == 0 && strcmp(m->checksum, checksum) == 0
                     ? RIG_PG_MIGRATION_APPLIED
                     : RIG_PG_MIGRATION_CHANGED;
    }
    m->applied_at = keep(h, rig__strdup(PQgetvalue(res, row, 3)));
    m->duration_ms = strtoll(PQgetvalue(res, row, 4), NULL, 10);
  }
  PQclear(res);
  sort_items(h);
  publish(h);
  return RIG_OK;
}

static int check_drift(holder *h, const char *dir)
{
  for (size_t i = 0; i < h->count; i++) {
    const rig_pg_migration *m = &h->items[i];
    if (m->state == RIG_PG_MIGRATION_CHANGED) {
      rig_error_set(RIG_EDRIFT,
                    "migration %s (version %lld) was applied at %s, but %s has "
                    "changed since",
                    m->name, (long long)m->version, m->applied_at, m->path);
      rig_error_add_detail("file", "%s", m->name);
      rig_error_add_detail("hint", "an applied migration must not change: undo the edit and add "
                                   "a new migration, or recreate the database");
      return RIG_EDRIFT;
    }
    if (m->state == RIG_PG_MIGRATION_MISSING) {
      rig_error_set(RIG_EDRIFT,
                    "migration %s (version %lld) was applied at %s, but it is no "
                    "longer in %s",
                    m->name, (long long)m->version, m->applied_at, dir);
      rig_error_add_detail("file", "%s", m->name);
      rig_error_add_detail("hint", "restore the file, or recreate the database");
      return RIG_EDRIFT;
    }
  }
  return RIG_OK;
}

/* ---- applying ---- */

static char *trimmed(const char *text)
{
  char *copy = rig__strdup(text ? text : "");
  size_t len = strlen(copy);
  while (len && (copy[len - 1] == '\n' || copy[len - 1] == ' '))
    copy[--len] = '\0';
  return copy;
}

/* Sets RIG_ESQL for a statement of a file that failed, at the file's line and column. */
static int statement_error(PGconn *conn, const PGresult *res, const rig_pg_migration *m,
                           const char *text, size_t len, const rig__pg_statement *stmt)
{
  const char *position = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
  int line = 1, column = 1;
  if (position && atol(position) > 0)
    rig__pg_position(&line, &column, text, len, stmt->start, atol(position));
  else
    rig__pg_offset_line_col(&line, &column, text, len,
                            rig__pg_statement_body(text, stmt->start, len));
  const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  char *message = trimmed(primary ? primary : PQerrorMessage(conn));
  int rc = rig_error_set(RIG_ESQL, "%s: migration %s:%d:%d: SQLSTATE %s %s", PQdb(conn), m->name,
                         line, column, sqlstate ? sqlstate : "?????", message);
  rig_error_add_detail("file", "%s", m->name);
  rig_error_add_detail("line", "%d", line);
  rig_error_add_detail("column", "%d", column);
  if (sqlstate)
    rig_error_add_detail("sqlstate", "%s", sqlstate);
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
  if (detail)
    rig_error_add_detail("detail", "%s", detail);
  if (hint)
    rig_error_add_detail("hint", "%s", hint);
  if (m->no_transaction)
    rig_error_add_detail("note",
                         "%s runs outside a transaction: its statements before this one "
                         "stay applied",
                         m->name);
  free(message);
  return rc;
}

static int record(holder *h, rig_pg_migration *m, PGconn *conn, int64_t duration_ms)
{
  char version[32], duration[32];
  snprintf(version, sizeof version, "%lld", (long long)m->version);
  snprintf(duration, sizeof duration, "%lld", (long long)duration_ms);
  const char *params[4] = {version, m->name, m->checksum, duration};
  PGresult *res = PQexecParams(conn,
                               "INSERT INTO " RIG_PG_MIGRATIONS_TABLE
                               " (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)"
                               " RETURNING applied_at::text",
                               4, NULL, params, NULL, NULL, 0);
  int rc = RIG_OK;
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char *message = trimmed(primary ? primary : PQerrorMessage(conn));
    rc = rig_error_set(RIG_ESQL, "%s: migration %s: recording it in %s: %s", PQdb(conn), m->name,
                       RIG_PG_MIGRATIONS_TABLE, message);
    free(message);
  } else {
    m->applied_at = keep(h, rig__strdup(PQgetvalue(res, 0, 0)));
  }
  PQclear(res);
  return rc;
}

static int apply(holder *h, size_t index, PGconn *conn)
{
  rig_pg_migration *m = &h->items[index];
  const char *text = h->texts[index];
  size_t len = h->text_lens[index];
  rig__pg_statement *stmts = NULL;
  size_t n = rig__pg_split(&stmts, text, len);
  int64_t started = rig__now_ms();
  int rc = RIG_OK;
  if (!m->no_transaction && (rc = rig__pg_exec(conn, "BEGIN", "BEGIN")) != RIG_OK)
    goto done;
  for (size_t i = 0; i < n; i++) {
    char *sql = rig__strndup(text + stmts[i].start, stmts[i].len);
    PGresult *res = PQexec(conn, sql);
    free(sql);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
      rc = statement_error(conn, res, m, text, len, &stmts[i]);
      PQclear(res);
      if (!m->no_transaction) {
        PGresult *rollback = PQexec(conn, "ROLLBACK");
        PQclear(rollback);
      }
      goto done;
    }
    PQclear(res);
  }
  int64_t duration = rig__now_ms() - started;
  if ((rc = record(h, m, conn, duration)) != RIG_OK) {
    if (!m->no_transaction)
      PQclear(PQexec(conn, "ROLLBACK"));
    goto done;
  }
  if (!m->no_transaction && (rc = rig__pg_exec(conn, "COMMIT", "COMMIT")) != RIG_OK) {
    rig_error_wrap(RIG_OK, "%s: migration %s", PQdb(conn), m->name);
    goto done;
  }
  m->state = RIG_PG_MIGRATION_APPLIED;
  m->duration_ms = duration;
  m->applied_now = 1;
  h->list.applied_now++;
done:
  free(stmts);
  return rc;
}

static int take_lock(PGconn *conn, int64_t timeout_ms)
{
  char *set = rig__sprintf("SET lock_timeout = '%lldms'", (long long)timeout_ms);
  int rc = rig__pg_exec(conn, set, "setting lock_timeout");
  free(set);
  if (rc != RIG_OK)
    return rc;
  PGresult *res = PQexec(conn, "SELECT pg_advisory_lock(" LOCK_KEY ")");
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (sqlstate && strcmp(sqlstate, "55P03") == 0)
      rc = rig_error_set(RIG_ETIMEOUT,
                         "%s: another migration runner held the lock for more "
                         "than %lld ms",
                         PQdb(conn), (long long)timeout_ms);
    else
      rc = rig_error_set(RIG_ESQL, "%s: taking the migration lock: %s", PQdb(conn),
                         PQerrorMessage(conn));
    PQclear(res);
    return rc;
  }
  PQclear(res);
  return rig__pg_exec(conn, "RESET lock_timeout", "resetting lock_timeout");
}

int rig_pg_migrate(rig_pg_migrations **out, const char *dsn, const char *dir,
                   const rig_pg_migrate_options *opts)
{
  if (!dsn || !dir)
    return rig_error_set(RIG_EINVAL, "rig_pg_migrate: dsn and dir are required");
  rig_pg_migrate_options defaults = RIG_PG_MIGRATE_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  int64_t lock_timeout = opts->lock_timeout_ms > 0 ? opts->lock_timeout_ms : 60000;
  holder *h = NULL;
  int rc = scan(&h, dir);
  if (rc != RIG_OK)
    return rc;
  PGconn *conn = NULL;
  int locked = 0;
  if ((rc = rig__pg_connect(&conn, dsn)) != RIG_OK)
    goto done;
  /* Everything below happens under the lock, the table's creation too: two runners that
   * both find no table must not both create it. */
  if ((rc = take_lock(conn, lock_timeout)) != RIG_OK)
    goto done;
  locked = 1;
  rc = rig__pg_exec(conn,
                    "CREATE TABLE IF NOT EXISTS " RIG_PG_MIGRATIONS_TABLE " ("
                    "version bigint PRIMARY KEY, "
                    "name text NOT NULL, "
                    "checksum text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now(), "
                    "duration_ms bigint NOT NULL)",
                    "creating " RIG_PG_MIGRATIONS_TABLE);
  if (rc != RIG_OK || (rc = read_applied(h, conn)) != RIG_OK ||
      (rc = check_drift(h, dir)) != RIG_OK)
    goto done;
  for (size_t i = 0; i < h->count && rc == RIG_OK; i++) {
    if (h->items[i].state != RIG_PG_MIGRATION_PENDING)
      continue;
    rc = apply(h, i, conn);
    if (rc == RIG_OK && opts->on_applied)
      opts->on_applied(&h->items[i], opts->userdata);
  }
done:
  if (locked) {
    /* Keep the error: unlocking must not replace it. */
    PGresult *res = PQexec(conn, "SELECT pg_advisory_unlock(" LOCK_KEY ")");
    PQclear(res);
  }
  PQfinish(conn);
  publish(h);
  if (out && rc == RIG_OK)
    *out = &h->list;
  else
    rig_pg_migrations_free(&h->list);
  return rc;
}

int rig_pg_migrate_status(rig_pg_migrations **out, const char *dsn, const char *dir)
{
  if (!out || !dsn || !dir)
    return rig_error_set(RIG_EINVAL, "rig_pg_migrate_status: dsn and dir are required");
  holder *h = NULL;
  int rc = scan(&h, dir);
  if (rc != RIG_OK)
    return rc;
  PGconn *conn = NULL;
  int exists = 0;
  if ((rc = rig__pg_connect(&conn, dsn)) == RIG_OK &&
      (rc = table_exists(&exists, conn)) == RIG_OK && exists)
    rc = read_applied(h, conn);
  PQfinish(conn);
  if (rc != RIG_OK) {
    rig_pg_migrations_free(&h->list);
    return rc;
  }
  *out = &h->list;
  return RIG_OK;
}
