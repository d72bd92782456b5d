/*
 * traceparent.c - W3C Trace Context values (traceparent, traceresponse), id hex helpers
 * and kernel randomness for ids.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "stackrig/error.h"
#include "stackrig/otlp.h"
#include "util.h"

static const char hex_digits[] = "0123456789abcdef";

static int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The spec's HEXDIGLC: uppercase hex is invalid in a header. */
static int hex_value_lower(char c)
{
  if (c >= 'A' && c <= 'F')
    return -1;
  return hex_value(c);
}

static void bytes_to_hex(char *out, const uint8_t *bytes, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex_digits[bytes[i] >> 4];
    out[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
  }
  out[2 * n] = '\0';
}

static int all_zero(const uint8_t *bytes, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (bytes[i] != 0)
      return 0;
  return 1;
}

int rig_random_bytes(void *buf, size_t len)
{
  uint8_t *p = buf;
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(p + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    done += (size_t)n;
  }
  if (done == len)
    return RIG_OK;
  /* Old kernels or seccomp filters may refuse getrandom; urandom is as good for ids. */
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return rig_error_set(RIG_EIO, "random ids: neither getrandom nor /dev/urandom works: %s",
                         strerror(errno));
  while (done < len) {
    ssize_t n = read(fd, p + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int saved = errno;
      close(fd);
      return rig_error_set(RIG_EIO, "random ids: reading /dev/urandom: %s",
                           n == 0 ? "end of file" : strerror(saved));
    }
    done += (size_t)n;
  }
  close(fd);
  return RIG_OK;
}

static int random_nonzero(uint8_t *bytes, size_t n)
{
  do {
    int rc = rig_random_bytes(bytes, n);
    if (rc != RIG_OK)
      return rc;
  } while (all_zero(bytes, n));
  return RIG_OK;
}

int rig_traceparent_new(rig_traceparent *out, const rig_traceparent *parent, int sampled)
{
  if (out == NULL)
    return rig_error_set(RIG_EINVAL, "rig_traceparent_new: out is NULL");
  rig_traceparent made;
  memset(&made, 0, sizeof made);
  int rc;
  if (parent != NULL)
    memcpy(made.trace_id, parent->trace_id, sizeof made.trace_id);
  if (parent == NULL || all_zero(made.trace_id, sizeof made.trace_id)) {
    if ((rc = random_nonzero(made.trace_id, sizeof made.trace_id)) != RIG_OK)
      return rc;
  }
  if ((rc = random_nonzero(made.span_id, sizeof made.span_id)) != RIG_OK)
    return rc;
  if (sampled > 0 || (sampled < 0 && parent != NULL && (parent->flags & RIG_TRACE_FLAG_SAMPLED)))
    made.flags = RIG_TRACE_FLAG_SAMPLED;
  *out = made;
  return RIG_OK;
}

static uint8_t hex_byte(const char *two)
{
  return (uint8_t)(hex_value(two[0]) << 4 | hex_value(two[1]));
}

/* What the character at offset i of a version-00 layout must be, for error messages. */
static const char *field_at(size_t i)
{
  if (i < 2)
    return "version: expected two lowercase hex digits";
  if (i == 2 || i == 35 || i == 52)
    return "expected '-'";
  if (i < 35)
    return "trace id: expected 32 lowercase hex digits";
  if (i < 52)
    return "span id: expected 16 lowercase hex digits";
  return "flags: expected 2 lowercase hex digits";
}

/* Quotes at most 80 bytes of untrusted header text in an error message. */
static int parse_error(const char *what, const char *text, size_t len, size_t column,
                       const char *problem)
{
  int shown = len > 80 ? 80 : (int)len;
  rig_error_set(RIG_EPARSE, "%s \"%.*s%s\": column %zu: %s", what, shown, text,
                len > 80 ? "..." : "", column, problem);
  rig_error_add_detail("column", "%zu", column);
  return RIG_EPARSE;
}

/*
 * Checks the value position by position so that the error points at the first character
 * that is wrong, which says more than "wrong length" when a field is one digit short.
 */
static int parse_context(rig_traceparent *out, const char *what, const char *text, size_t len)
{
  if (text == NULL)
    return rig_error_set(RIG_EINVAL, "%s: no value", what);
  size_t start = 0, end = len;
  while (start < end && (text[start] == ' ' || text[start] == '\t'))
    start++;
  while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
    end--;
  const char *v = text + start;
  size_t n = end - start;
  size_t col0 = start + 1; /* 1-based column of v[0] in the caller's text */

  for (size_t i = 0; i < RIG_TRACEPARENT_LEN; i++) {
    if (i == 2 && v[0] == 'f' && v[1] == 'f')
      return parse_error(what, text, len, col0, "version ff is invalid");
    if (i >= n)
      return parse_error(what, text, len, col0 + i,
                         i < 2 ? field_at(i)
                               : "too short: expected 55 characters "
                                 "(version-trace_id-span_id-flags)");
    int dash = (i == 2 || i == 35 || i == 52);
    if (dash ? v[i] != '-' : hex_value_lower(v[i]) < 0)
      return parse_error(what, text, len, col0 + i, field_at(i));
  }
  rig_traceparent parsed;
  parsed.version = hex_byte(v);
  for (size_t i = 0; i < 16; i++)
    parsed.trace_id[i] = hex_byte(v + 3 + 2 * i);
  for (size_t i = 0; i < 8; i++)
    parsed.span_id[i] = hex_byte(v + 36 + 2 * i);
  parsed.flags = hex_byte(v + 53);
  if (n > RIG_TRACEPARENT_LEN && parsed.version == 0)
    return parse_error(what, text, len, col0 + RIG_TRACEPARENT_LEN,
                       "version 00 must be exactly 55 characters long");
  /* A future version may append fields, each introduced by '-'. */
  if (n > RIG_TRACEPARENT_LEN && v[RIG_TRACEPARENT_LEN] != '-')
    return parse_error(what, text, len, col0 + RIG_TRACEPARENT_LEN,
                       "expected '-' after the flags of a future version");
  if (all_zero(parsed.trace_id, 16))
    return parse_error(what, text, len, col0 + 3, "the all-zero trace id is invalid");
  if (all_zero(parsed.span_id, 8))
    return parse_error(what, text, len, col0 + 36, "the all-zero span id is invalid");
  *out = parsed;
  return RIG_OK;
}

int rig_traceparent_parse_n(rig_traceparent *out, const char *text, size_t len)
{
  if (out == NULL)
    return rig_error_set(RIG_EINVAL, "rig_traceparent_parse: out is NULL");
  return parse_context(out, "traceparent", text, len);
}

int rig_traceparent_parse(rig_traceparent *out, const char *text)
{
  if (out == NULL)
    return rig_error_set(RIG_EINVAL, "rig_traceparent_parse: out is NULL");
  return parse_context(out, "traceparent", text, text ? strlen(text) : 0);
}

int rig_traceresponse_parse(rig_traceparent *out, const char *text)
{
  if (out == NULL)
    return rig_error_set(RIG_EINVAL, "rig_traceresponse_parse: out is NULL");
  return parse_context(out, "traceresponse", text, text ? strlen(text) : 0);
}

void rig_traceparent_format(char out[RIG_TRACEPARENT_LEN + 1], const rig_traceparent *value)
{
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  bytes_to_hex(out + 3, value->trace_id, 16);
  out[35] = '-';
  bytes_to_hex(out + 36, value->span_id, 8);
  out[52] = '-';
  bytes_to_hex(out + 53, &value->flags, 1);
}

void rig_traceresponse_format(char out[RIG_TRACEPARENT_LEN + 1], const rig_traceparent *value)
{
  rig_traceparent_format(out, value);
}

int rig_traceparent_sampled(const rig_traceparent *value)
{
  return value != NULL && (value->flags & RIG_TRACE_FLAG_SAMPLED) != 0;
}

void rig_trace_id_to_hex(char out[RIG_TRACE_ID_HEX_LEN + 1], const uint8_t id[16])
{
  bytes_to_hex(out, id, 16);
}

void rig_span_id_to_hex(char out[RIG_SPAN_ID_HEX_LEN + 1], const uint8_t id[8])
{
  bytes_to_hex(out, id, 8);
}

static int id_from_hex(uint8_t *out, size_t size, const char *hex, const char *what)
{
  if (hex == NULL)
    return rig_error_set(RIG_EPARSE, "%s: no value", what);
  size_t n = strlen(hex);
  if (n == 0 || n > 2 * size)
    return rig_error_set(RIG_EPARSE, "%s \"%.40s\": expected 1 to %zu hex digits", what, hex,
                         2 * size);
  uint8_t bytes[16];
  memset(bytes, 0, sizeof bytes);
  /* Digits fill from the right so that a short id gets its leading zeros back. */
  for (size_t i = 0; i < n; i++) {
    int d = hex_value(hex[n - 1 - i]);
    if (d < 0)
      return rig_error_set(RIG_EPARSE, "%s \"%.40s\": '%c' at column %zu is not a hex digit", what,
                           hex, hex[n - 1 - i], n - i);
    bytes[size - 1 - i / 2] |= (uint8_t)(i % 2 ? d << 4 : d);
  }
  memcpy(out, bytes, size);
  return RIG_OK;
}

int rig_trace_id_from_hex(uint8_t out[16], const char *hex)
{
  return id_from_hex(out, 16, hex, "trace id");
}

int rig_span_id_from_hex(uint8_t out[8], const char *hex)
{
  return id_from_hex(out, 8, hex, "span id");
}

int rig_trace_id_is_valid(const uint8_t id[16])
{
  return id != NULL && !all_zero(id, 16);
}

int rig_span_id_is_valid(const uint8_t id[8])
{
  return id != NULL && !all_zero(id, 8);
}
