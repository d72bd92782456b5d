/*
 * util.h - internal helpers shared by the modules: allocation that aborts on exhaustion
 * (as Redis and git do: a test framework cannot do anything useful out of memory), a
 * growing byte buffer, string helpers (UTF-8, JSON strings) and a monotonic clock.
 */
#ifndef RIG_UTIL_H
#define RIG_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stackrig/common.h"

void *rig__malloc(size_t size);
void *rig__calloc(size_t count, size_t size);
void *rig__realloc(void *ptr, size_t size);
char *rig__strdup(const char *s);
char *rig__strndup(const char *s, size_t n);
char *rig__sprintf(const char *fmt, ...) RIG_PRINTF(1, 2);
char *rig__vsprintf(const char *fmt, va_list ap);

/* A growing buffer, always NUL-terminated so its data can be read as a string. */
typedef struct rig_buf {
  char *data;
  size_t len;
  size_t cap;
} rig_buf;

#define RIG_BUF_INIT                                                                               \
  {                                                                                                \
    NULL, 0, 0                                                                                     \
  }

void rig__buf_grow(rig_buf *buf, size_t extra);
void rig__buf_append(rig_buf *buf, const void *data, size_t len);
void rig__buf_puts(rig_buf *buf, const char *s);
void rig__buf_putc(rig_buf *buf, char c);
void rig__buf_printf(rig_buf *buf, const char *fmt, ...) RIG_PRINTF(2, 3);
void rig__buf_vprintf(rig_buf *buf, const char *fmt, va_list ap);
void rig__buf_clear(rig_buf *buf);
/* Hands the data to the caller (never NULL: an empty buffer gives "") and resets buf. */
char *rig__buf_detach(rig_buf *buf);
void rig__buf_dispose(rig_buf *buf);

/* Milliseconds from a monotonic clock, for deadlines. */
int64_t rig__now_ms(void);
/* Nanoseconds from the monotonic clock. */
int64_t rig__now_ns(void);
/* Nanoseconds since the Unix epoch (wall clock), for span timestamps. */
int64_t rig__wall_ns(void);
/* Sleeps for ms milliseconds, resuming after signals. */
void rig__sleep_ms(int64_t ms);

int rig__streq(const char *a, const char *b); /* NULL-safe */
int rig__strcaseprefix(const char *s, const char *prefix);
/* Reads a whole file; *out is NUL-terminated. Sets the last error naming the path. */
int rig__read_file(char **out, size_t *out_len, const char *path);

/* Appends text percent-encoded (RFC 3986): the unreserved characters (letters, digits and
 * "-_.~") and those in keep stay as they are, every other byte becomes %XX. */
void rig__buf_put_percent_encoded(rig_buf *buf, const char *text, const char *keep);
/* Length of the valid UTF-8 sequence at bytes (at most len of them), or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points past U+10FFFF are not). */
size_t rig__utf8_sequence_length(const void *bytes, size_t len);
/* Appends text as a quoted JSON string that is valid whatever text holds: control
 * characters escaped, bytes that are not UTF-8 written as \ufffd. */
void rig__buf_put_json_string(rig_buf *buf, const char *text);
/* As rig__buf_put_json_string() for len bytes that may hold NULs (written as \u0000). */
void rig__buf_put_json_string_n(rig_buf *buf, const char *text, size_t len);

typedef enum rig__escape_style {
  RIG_ESCAPE_JSON,           /* inside a JSON string: \uXXXX, bad UTF-8 as \ufffd */
  RIG_ESCAPE_CONSOLE,        /* one terminal line: \n \r \t, other controls and bad bytes \xNN */
  RIG_ESCAPE_CONSOLE_QUOTED, /* as RIG_ESCAPE_CONSOLE, with '"' and '\\' escaped too */
} rig__escape_style;
/* Appends len bytes of text escaped in that style, without surrounding quotes: whatever
 * the bytes, the output holds no control character and is valid UTF-8. */
void rig__buf_put_escaped(rig_buf *buf, const char *text, size_t len, rig__escape_style style);

#endif
