/*
 * util.c - allocation, buffers, clocks, small string helpers, UTF-8 and JSON strings for
 * every module.
 */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "stackrig/error.h"

static void out_of_memory(size_t size)
{
  /* The library never prints, but it cannot go on either: abort with the reason in core. */
  (void)size;
  abort();
}

void *rig__malloc(size_t size)
{
  void *p = malloc(size ? size : 1);
  if (!p)
    out_of_memory(size);
  return p;
}

void *rig__calloc(size_t count, size_t size)
{
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p)
    out_of_memory(count * size);
  return p;
}

void *rig__realloc(void *ptr, size_t size)
{
  void *p = realloc(ptr, size ? size : 1);
  if (!p)
    out_of_memory(size);
  return p;
}

char *rig__strdup(const char *s)
{
  return s ? rig__strndup(s, strlen(s)) : NULL;
}

char *rig__strndup(const char *s, size_t n)
{
  char *copy = rig__malloc(n + 1);
  memcpy(copy, s, n);
  copy[n] = '\0';
  return copy;
}

char *rig__vsprintf(const char *fmt, va_list ap)
{
  va_list again;
  va_copy(again, ap);
  int len = vsnprintf(NULL, 0, fmt, again);
  va_end(again);
  if (len < 0)
    return rig__strdup("");
  char *s = rig__malloc((size_t)len + 1);
  vsnprintf(s, (size_t)len + 1, fmt, ap);
  return s;
}

char *rig__sprintf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = rig__vsprintf(fmt, ap);
  va_end(ap);
  return s;
}

void rig__buf_grow(rig_buf *buf, size_t extra)
{
  size_t need = buf->len + extra + 1;
  if (need <= buf->cap)
    return;
  size_t cap = buf->cap ? buf->cap : 64;
  while (cap < need)
    cap *= 2;
  buf->data = rig__realloc(buf->data, cap);
  buf->cap = cap;
}

void rig__buf_append(rig_buf *buf, const void *data, size_t len)
{
  rig__buf_grow(buf, len);
  if (len)
    memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
}

void rig__buf_puts(rig_buf *buf, const char *s)
{
  rig__buf_append(buf, s, strlen(s));
}

void rig__buf_putc(rig_buf *buf, char c)
{
  rig__buf_append(buf, &c, 1);
}

void rig__buf_vprintf(rig_buf *buf, const char *fmt, va_list ap)
{
  va_list again;
  va_copy(again, ap);
  int len = vsnprintf(NULL, 0, fmt, again);
  va_end(again);
  if (len <= 0) {
    rig__buf_grow(buf, 0);
    buf->data[buf->len] = '\0';
    return;
  }
  rig__buf_grow(buf, (size_t)len);
  vsnprintf(buf->data + buf->len, (size_t)len + 1, fmt, ap);
  buf->len += (size_t)len;
}

void rig__buf_printf(rig_buf *buf, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rig__buf_vprintf(buf, fmt, ap);
  va_end(ap);
}

void rig__buf_clear(rig_buf *buf)
{
  buf->len = 0;
  if (buf->data)
    buf->data[0] = '\0';
}

char *rig__buf_detach(rig_buf *buf)
{
  char *data = buf->data ? buf->data : rig__strdup("");
  buf->data = NULL;
  buf->len = buf->cap = 0;
  return data;
}

void rig__buf_dispose(rig_buf *buf)
{
  free(buf->data);
  buf->data = NULL;
  buf->len = buf->cap = 0;
}

int64_t rig__now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t rig__now_ms(void)
{
  return rig__now_ns() / 1000000;
}

int64_t rig__wall_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rig__sleep_ms(int64_t ms)
{
  if (ms <= 0)
    return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

int rig__streq(const char *a, const char *b)
{
  if (!a || !b)
    return a == b;
  return strcmp(a, b) == 0;
}

int rig__strcaseprefix(const char *s, const char *prefix)
{
  return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int rig__read_file(char **out, size_t *out_len, const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return rig_error_set(errno == ENOENT ? RIG_ENOTFOUND : RIG_EIO, "%s: %s", path,
                         strerror(errno));
  rig_buf buf = RIG_BUF_INIT;
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    rig__buf_append(&buf, chunk, n);
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    rig__buf_dispose(&buf);
    return rig_error_set(RIG_EIO, "%s: read error", path);
  }
  if (out_len)
    *out_len = buf.len;
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

size_t rig__utf8_sequence_length(const void *bytes, size_t len)
{
  const unsigned char *s = bytes;
  unsigned char c = s[0];
  size_t need;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (len < need)
    return 0;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return need;
}

void rig__buf_put_percent_encoded(rig_buf *buf, const char *text, const char *keep)
{
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
        strchr("-_.~", *p) || strchr(keep, *p)) {
      rig__buf_putc(buf, (char)*p);
    } else {
      char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      rig__buf_append(buf, enc, 3);
    }
  }
}

/* Whatever goes in, valid JSON comes out: a log record or a request body must never be
 * rejected, or fail to print, for one bad byte. */
void rig__buf_put_json_string(rig_buf *buf, const char *text)
{
  rig__buf_put_json_string_n(buf, text, strlen(text));
}

void rig__buf_put_json_string_n(rig_buf *buf, const char *text, size_t len)
{
  rig__buf_putc(buf, '"');
  rig__buf_put_escaped(buf, text, len, RIG_ESCAPE_JSON);
  rig__buf_putc(buf, '"');
}

void rig__buf_put_escaped(rig_buf *buf, const char *text, size_t len, rig__escape_style style)
{
  const unsigned char *s = (const unsigned char *)text;
  int json = style == RIG_ESCAPE_JSON, quotes = style != RIG_ESCAPE_CONSOLE;
  for (size_t i = 0; i < len;) {
    unsigned char c = s[i];
    if (c >= 0x80) {
      size_t n = rig__utf8_sequence_length(s + i, len - i);
      if (n == 0) {
        if (json)
          rig__buf_puts(buf, "\\ufffd");
        else
          rig__buf_printf(buf, "\\x%02x", c);
        i++;
      } else {
        rig__buf_append(buf, s + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
    case '"':
      rig__buf_puts(buf, quotes ? "\\\"" : "\"");
      break;
    case '\\':
      rig__buf_puts(buf, quotes ? "\\\\" : "\\");
      break;
    case '\n':
      rig__buf_puts(buf, "\\n");
      break;
    case '\r':
      rig__buf_puts(buf, "\\r");
      break;
    case '\t':
      rig__buf_puts(buf, "\\t");
      break;
    case '\b':
    case '\f':
      if (json) { /* JSON's short forms */
        rig__buf_puts(buf, c == '\b' ? "\\b" : "\\f");
        break;
      }
      /* fall through */
    default:
      if (c < 0x20 || c == 0x7F)
        rig__buf_printf(buf, json ? "\\u%04x" : "\\x%02x", c);
      else
        rig__buf_putc(buf, (char)c);
    }
    i++;
  }
}
