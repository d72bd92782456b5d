/*
 * pg_internal.h - what the files of the pg module share: the pure parts (migration file
 * names, the no-transaction marker, splitting a file into statements, mapping a server
 * error position back to file:line:column, DSN rewriting; pg_sql.c), reachable from the
 * unit tests, and the connection helpers (pg_db.c).
 */
#ifndef RIG_PG_INTERNAL_H
#define RIG_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "stackrig/pg.h"
#include "sha256.h"

#define RIG__PG_NO_TRANSACTION_MARKER "-- stackrig:no-transaction"

/* 1: a migration file name ("002_orders.sql", *version = 2); 0: not a .sql file (ignored);
 * -1: a .sql file that is not named NNN_name.sql. */
int rig__pg_migration_name(int64_t *version, const char *name);

/* 1 when the first line of the file is the no-transaction marker (trailing blanks, a CR and
 * a UTF-8 byte order mark allowed). */
int rig__pg_no_transaction(const char *text, size_t len);

/* One statement of a file: bytes [start, start + len), its ';' included. */
typedef struct rig__pg_statement {
  size_t start;
  size_t len;
} rig__pg_statement;

/*
 * Splits SQL text at the semicolons that end statements, as psql does: not inside quotes
 * ('...', E'...', "..."), dollar quotes ($$...$$, $tag$...$tag$), comments (-- and nested
 * block comments) or the BEGIN ... END body of a CREATE FUNCTION/PROCEDURE. Pieces holding only
 * blanks and comments are left out. @return the number of statements (*out: free() it)
 */
size_t rig__pg_split(rig__pg_statement **out, const char *sql, size_t len);

/*
 * Maps an error position reported by the server (PG_DIAG_STATEMENT_POSITION: a 1-based
 * count of characters into the statement as sent) to a line and column (1-based, columns
 * in characters) of the whole text, given where the statement starts in it. Characters are
 * UTF-8 code points. A position past the end maps to the statement's end.
 */
void rig__pg_position(int *line, int *column, const char *text, size_t len, size_t statement_start,
                      long position);

/* The line and column of a byte offset. */
void rig__pg_offset_line_col(int *line, int *column, const char *text, size_t len, size_t offset);

/* The first byte of a statement that is not a blank or part of a comment. */
size_t rig__pg_statement_body(const char *text, size_t start, size_t len);

/* "name" with quotes doubled, for identifiers. @return free() it */
char *rig__pg_quote_ident(const char *name);

/* Connects, with notices kept from stderr (the library never prints) and client_encoding
 * UTF8. Errors name the redacted DSN. @return RIG_OK or RIG_ECONNECT */
int rig__pg_connect(PGconn **out, const char *dsn);

/* Runs a statement that returns no rows or one row. @return RIG_OK or RIG_ESQL (message:
 * what + the server's message) */
int rig__pg_exec(PGconn *conn, const char *sql, const char *what);

#endif
