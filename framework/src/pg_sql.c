/*
 * pg_sql.c - the pure parts of the pg module: migration file names, the no-transaction
 * marker, splitting SQL into statements the way psql does, mapping a server's error
 * position back to the file, and DSN rewriting.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg_internal.h"
#include "stackrig/error.h"
#include "util.h"

int rig__pg_migration_name(int64_t *version, const char *name)
{
  size_t len = strlen(name);
  if (len < 4 || strcmp(name + len - 4, ".sql") != 0)
    return 0;
  const char *p = name;
  int64_t v = 0;
  size_t digits = 0;
  while (isdigit((unsigned char)*p)) {
    if (v > (INT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (*p - '0');
    p++;
    digits++;
  }
  if (digits == 0 || *p != '_')
    return -1;
  p++;
  const char *end = name + len - 4;
  if (p >= end)
    return -1; /* "001_.sql": no name */
  for (; p < end; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
      return -1;
  *version = v;
  return 1;
}

int rig__pg_no_transaction(const char *text, size_t len)
{
  size_t i = 0;
  if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
      (unsigned char)text[2] == 0xBF)
    i = 3;
  size_t marker_len = strlen(RIG__PG_NO_TRANSACTION_MARKER);
  if (len - i < marker_len || memcmp(text + i, RIG__PG_NO_TRANSACTION_MARKER, marker_len) != 0)
    return 0;
  for (i += marker_len; i < len && text[i] != '\n'; i++)
    if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
      return 0;
  return 1;
}

/* ---- splitting ---- */

static int ident_char(char c)
{
  return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

static int ident_start(char c)
{
  return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* At text[i] == '$': the length of a dollar-quote tag ("$$", "$body$"), or 0. */
static size_t dollar_tag(const char *text, size_t i, size_t len)
{
  if (i > 0 && ident_char(text[i - 1]))
    return 0; /* part of an identifier such as a$b */
  size_t j = i + 1;
  if (j < len && text[j] == '$')
    return 2;
  if (j >= len || !ident_start(text[j]))
    return 0; /* $1 is a parameter */
  while (j < len &&
         (isalnum((unsigned char)text[j]) || text[j] == '_' || (unsigned char)text[j] >= 0x80))
    j++;
  return j < len && text[j] == '$' ? j - i + 1 : 0;
}

/* Skips a comment starting at i (text[i] is '-' or '/'); returns the index after it, or i
 * when there is none there. */
static size_t skip_comment(const char *text, size_t i, size_t len)
{
  if (i + 1 < len && text[i] == '-' && text[i + 1] == '-') {
    while (i < len && text[i] != '\n')
      i++;
    return i;
  }
  if (i + 1 < len && text[i] == '/' && text[i + 1] == '*') {
    int depth = 0;
    while (i < len) {
      if (i + 1 < len && text[i] == '/' && text[i + 1] == '*') {
        depth++;
        i += 2;
      } else if (i + 1 < len && text[i] == '*' && text[i + 1] == '/') {
        i += 2;
        if (--depth == 0)
          return i;
      } else {
        i++;
      }
    }
    return len;
  }
  return i;
}

size_t rig__pg_statement_body(const char *text, size_t start, size_t len)
{
  size_t i = start;
  while (i < len) {
    if (isspace((unsigned char)text[i])) {
      i++;
      continue;
    }
    size_t after = skip_comment(text, i, len);
    if (after == i)
      break;
    i = after;
  }
  return i;
}

typedef struct split_state {
  rig__pg_statement *items;
  size_t count;
  size_t start;
  int content; /* a token was seen since start */
  int words;   /* words seen in this statement */
  int routine; /* it is a CREATE [OR REPLACE] FUNCTION/PROCEDURE */
  int create;  /* its first word is CREATE */
  int depth;   /* BEGIN/CASE ... END nesting inside a routine */
} split_state;

static void push(split_state *s, size_t end)
{
  if (s->content) {
    s->items = rig__realloc(s->items, (s->count + 1) * sizeof *s->items);
    s->items[s->count].start = s->start;
    s->items[s->count].len = end - s->start;
    s->count++;
  }
  s->start = end;
  s->content = s->words = s->routine = s->create = s->depth = 0;
}

static void word(split_state *s, const char *w, size_t n)
{
#define IS(kw) (n == sizeof(kw) - 1 && strncasecmp(w, kw, n) == 0)
  s->words++;
  if (s->words == 1) {
    s->create = IS("CREATE");
    return;
  }
  if (s->create && s->words <= 4 && !s->routine) {
    if (IS("FUNCTION") || IS("PROCEDURE"))
      s->routine = 1;
    else if (!IS("OR") && !IS("REPLACE"))
      s->create = 0;
    return;
  }
  if (s->routine) {
    /* SQL-standard bodies (BEGIN ATOMIC ... END) hold semicolons, as psql knows. */
    if (IS("BEGIN") || IS("CASE"))
      s->depth++;
    else if (IS("END") && s->depth > 0)
      s->depth--;
  }
#undef IS
}

size_t rig__pg_split(rig__pg_statement **out, const char *sql, size_t len)
{
  split_state s;
  memset(&s, 0, sizeof s);
  size_t i = 0;
  while (i < len) {
    char c = sql[i];
    if (isspace((unsigned char)c)) {
      i++;
      continue;
    }
    size_t after = skip_comment(sql, i, len);
    if (after != i) {
      i = after;
      continue;
    }
    if (c == ';') {
      i++;
      if (s.depth == 0)
        push(&s, i);
      continue;
    }
    s.content = 1;
    if (c == '\'') {
      /* E'...' (an E right before, not ending an identifier) takes backslash escapes. */
      int escapes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !ident_char(sql[i - 2]));
      for (i++; i < len; i++) {
        if (escapes && sql[i] == '\\') {
          i++;
        } else if (sql[i] == '\'') {
          if (i + 1 < len && sql[i + 1] == '\'')
            i++;
          else
            break;
        }
      }
      i++;
      continue;
    }
    if (c == '"') {
      for (i++; i < len; i++) {
        if (sql[i] == '"') {
          if (i + 1 < len && sql[i + 1] == '"')
            i++;
          else
            break;
        }
      }
      i++;
      continue;
    }
    if (c == '$') {
      size_t tag = dollar_tag(sql, i, len);
      if (tag) {
        size_t j = i + tag;
        while (j < len && !(sql[j] == '$' && j + tag <= len && memcmp(sql + j, sql + i, tag) == 0))
          j++;
        i = j < len ? j + tag : len;
        continue;
      }
      i++;
      continue;
    }
    if (ident_start(c)) {
      size_t j = i;
      while (j < len && ident_char(sql[j]))
        j++;
      word(&s, sql + i, j - i);
      i = j;
      continue;
    }
    i++;
  }
  push(&s, len);
  *out = s.items;
  return s.count;
}

/* ---- positions ---- */

static int continuation(unsigned char c)
{
  return (c & 0xC0) == 0x80;
}

void rig__pg_offset_line_col(int *line, int *column, const char *text, size_t len, size_t offset)
{
  if (offset > len)
    offset = len;
  int l = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; i++) {
    if (text[i] == '\n') {
      l++;
      line_start = i + 1;
    }
  }
  int col = 1;
  for (size_t i = line_start; i < offset; i++)
    if (!continuation((unsigned char)text[i]))
      col++;
  *line = l;
  *column = col;
}

void rig__pg_position(int *line, int *column, const char *text, size_t len, size_t statement_start,
                      long position)
{
  size_t offset = statement_start;
  /* position - 1 whole characters precede the one it points at */
  long skip = position > 1 ? position - 1 : 0;
  while (offset < len && skip > 0) {
    offset++;
    while (offset < len && continuation((unsigned char)text[offset]))
      offset++;
    skip--;
  }
  rig__pg_offset_line_col(line, column, text, len, offset);
}

/* ---- identifiers and DSNs ---- */

char *rig__pg_quote_ident(const char *name)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_putc(&buf, '"');
  for (const char *p = name; *p; p++) {
    if (*p == '"')
      rig__buf_putc(&buf, '"');
    rig__buf_putc(&buf, *p);
  }
  rig__buf_putc(&buf, '"');
  return rig__buf_detach(&buf);
}

static void put_uri_escaped(rig_buf *buf, const char *text)
{
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      rig__buf_putc(buf, (char)*p);
    } else {
      rig__buf_putc(buf, '%');
      rig__buf_putc(buf, hex[*p >> 4]);
      rig__buf_putc(buf, hex[*p & 15]);
    }
  }
}

static void put_conninfo_value(rig_buf *buf, const char *value)
{
  rig__buf_putc(buf, '\'');
  for (const char *p = value; *p; p++) {
    if (*p == '\'' || *p == '\\')
      rig__buf_putc(buf, '\\');
    rig__buf_putc(buf, *p);
  }
  rig__buf_putc(buf, '\'');
}

int rig_pg_dsn_with_database(char **out, const char *dsn, const char *database)
{
  if (!out || !dsn || !database || !*database)
    return rig_error_set(RIG_EINVAL, "rig_pg_dsn_with_database: dsn and database are required");
  char *why = NULL;
  PQconninfoOption *options = PQconninfoParse(dsn, &why);
  if (!options) {
    int rc = rig_error_set(RIG_EINVAL, "%s: not a connection string libpq understands: %s", dsn,
                           why ? why : "out of memory");
    PQfreemem(why);
    return rc;
  }
  rig_buf buf = RIG_BUF_INIT;
  const char *scheme_end = strstr(dsn, "://");
  if (scheme_end &&
      (strncmp(dsn, "postgres://", 11) == 0 || strncmp(dsn, "postgresql://", 13) == 0)) {
    /* Keep the URI's own form: replace (or add) its path, keep user, host and parameters. */
    const char *authority = scheme_end + 3;
    size_t auth_len = strcspn(authority, "/?");
    const char *rest = authority + auth_len;
    if (*rest == '/')
      rest += strcspn(rest, "?");
    rig__buf_append(&buf, dsn, (size_t)(authority + auth_len - dsn));
    rig__buf_putc(&buf, '/');
    put_uri_escaped(&buf, database);
    rig__buf_puts(&buf, rest);
  } else {
    int first = 1;
    int had_dbname = 0;
    for (PQconninfoOption *o = options; o->keyword; o++) {
      const char *value = o->val;
      if (strcmp(o->keyword, "dbname") == 0) {
        value = database;
        had_dbname = 1;
      }
      if (!value)
        continue;
      rig__buf_printf(&buf, "%s%s=", first ? "" : " ", o->keyword);
      put_conninfo_value(&buf, value);
      first = 0;
    }
    if (!had_dbname) {
      rig__buf_printf(&buf, "%sdbname=", first ? "" : " ");
      put_conninfo_value(&buf, database);
    }
  }
  PQconninfoFree(options);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}
