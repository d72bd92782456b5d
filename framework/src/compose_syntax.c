/*
 * compose_syntax.c - the small languages inside compose values: port specs
 * ("127.0.0.1:8000-8010:8000-8010/udp"), byte sizes ("64m"), shell-style command lines,
 * paths, and "did you mean" suggestions for misspelled keys.
 */
#include "compose_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- suggestions ---- */

size_t rig__edit_distance(const char *a, const char *b, size_t cap)
{
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return cap + 1;
  if ((la > lb ? la - lb : lb - la) > cap)
    return cap + 1;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = diagonal + cost;
      if (above + 1 < best)
        best = above + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diagonal = above;
    }
  }
  return row[lb];
}

const char *rig__did_you_mean(const char *word, const char *const *candidates)
{
  size_t len = strlen(word);
  size_t cap = len <= 3 ? 1 : len <= 6 ? 2 : 3;
  const char *best = NULL;
  size_t best_distance = cap + 1;
  for (const char *const *c = candidates; c && *c; c++) {
    size_t d = rig__edit_distance(word, *c, cap);
    if (d < best_distance) {
      best = *c;
      best_distance = d;
    }
  }
  return best;
}

/* ---- byte sizes ---- */

int rig__parse_bytes(int64_t *out, const char *text)
{
  const char *s = text;
  if (!isdigit((unsigned char)*s))
    return RIG_EINVAL;
  errno = 0;
  char *end = NULL;
  double value = strtod(s, &end);
  if (errno || end == s)
    return RIG_EINVAL;
  s = end;
  if (*s == ' ')
    s++;
  double unit = 1;
  switch (tolower((unsigned char)*s)) {
  case 'k':
    unit = 1024.0;
    s++;
    break;
  case 'm':
    unit = 1024.0 * 1024;
    s++;
    break;
  case 'g':
    unit = 1024.0 * 1024 * 1024;
    s++;
    break;
  case 't':
    unit = 1024.0 * 1024 * 1024 * 1024;
    s++;
    break;
  case 'p':
    unit = 1024.0 * 1024 * 1024 * 1024 * 1024;
    s++;
    break;
  default:
    break;
  }
  if (unit > 1 && tolower((unsigned char)*s) == 'i')
    s++;
  if (tolower((unsigned char)*s) == 'b')
    s++;
  if (*s != '\0')
    return RIG_EINVAL;
  double bytes = value * unit;
  if (bytes > 9.2e18)
    return RIG_EINVAL;
  *out = (int64_t)bytes;
  return RIG_OK;
}

/* ---- command lines ---- */

int rig__shell_split(rig__vec *out_words, const char *text, char **error_message)
{
  rig_buf word = RIG_BUF_INIT;
  int in_word = 0;
  const char *s = text;
  while (*s) {
    char c = *s;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) {
        rig__vec_push(out_words, rig__buf_detach(&word));
        in_word = 0;
      }
      s++;
      continue;
    }
    in_word = 1;
    if (c == '\\') {
      if (s[1] == '\0') {
        s++;
        continue;
      }
      if (s[1] != '\n')
        rig__buf_putc(&word, s[1]);
      s += 2;
    } else if (c == '\'') {
      const char *close = strchr(s + 1, '\'');
      if (!close)
        goto unterminated;
      rig__buf_append(&word, s + 1, (size_t)(close - s - 1));
      s = close + 1;
    } else if (c == '"') {
      s++;
      while (*s && *s != '"') {
        if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == '$' || s[1] == '`')) {
          rig__buf_putc(&word, s[1]);
          s += 2;
        } else if (*s == '\\' && s[1] == '\n') {
          s += 2;
        } else {
          rig__buf_putc(&word, *s++);
        }
      }
      if (*s != '"')
        goto unterminated;
      s++;
    } else {
      rig__buf_putc(&word, c);
      s++;
    }
  }
  if (in_word)
    rig__vec_push(out_words, rig__buf_detach(&word));
  rig__buf_dispose(&word);
  return RIG_OK;
unterminated:
  rig__buf_dispose(&word);
  for (size_t i = 0; i < out_words->count; i++)
    free(out_words->items[i]);
  out_words->count = 0;
  if (error_message)
    *error_message = rig__sprintf("unterminated quote in \"%s\"", text);
  return RIG_EPARSE;
}

/* ---- ports ---- */

static int parse_number(int *out, const char *s, size_t len, int min)
{
  if (len == 0 || len > 5)
    return RIG_EINVAL;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i]))
      return RIG_EINVAL;
    v = v * 10 + (s[i] - '0');
  }
  if (v < min || v > 65535)
    return RIG_EINVAL;
  *out = v;
  return RIG_OK;
}

static int parse_range(int *start, int *end, const char *s, size_t len, int min)
{
  const char *dash = memchr(s, '-', len);
  if (!dash) {
    if (parse_number(start, s, len, min) != RIG_OK)
      return RIG_EINVAL;
    *end = *start;
    return RIG_OK;
  }
  if (parse_number(start, s, (size_t)(dash - s), min) != RIG_OK ||
      parse_number(end, dash + 1, len - (size_t)(dash - s) - 1, min) != RIG_OK || *end < *start)
    return RIG_EINVAL;
  return RIG_OK;
}

int rig__parse_port_range(int *start, int *end, const char *text)
{
  size_t len = strlen(text);
  const char *slash = strchr(text, '/');
  if (slash) {
    const char *proto = slash + 1;
    if (strcasecmp(proto, "tcp") != 0 && strcasecmp(proto, "udp") != 0 &&
        strcasecmp(proto, "sctp") != 0)
      return RIG_EINVAL;
    len = (size_t)(slash - text);
  }
  return parse_range(start, end, text, len, 1);
}

static int port_error(char **error_message, const char *text, const char *why)
{
  if (error_message)
    *error_message = rig__sprintf("invalid port \"%s\": %s", text, why);
  return RIG_EPARSE;
}

int rig__parse_port_short(rig__port_spec **out, size_t *out_count, const char *text,
                          char **error_message)
{
  if (error_message)
    *error_message = NULL;
  char *spec = rig__strdup(text);
  char *protocol = rig__strdup("tcp");
  char *host_ip = NULL;
  int rc = RIG_OK;
  const char *host = NULL, *container = NULL;

  char *slash = strrchr(spec, '/');
  if (slash) {
    *slash = '\0';
    free(protocol);
    protocol = rig__strdup(slash + 1);
    for (char *p = protocol; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    if (strcmp(protocol, "tcp") != 0 && strcmp(protocol, "udp") != 0 &&
        strcmp(protocol, "sctp") != 0) {
      rc = port_error(error_message, text, "the protocol must be tcp, udp or sctp");
      goto done;
    }
  }
  char *rest = spec;
  if (rest[0] == '[') {
    char *close = strchr(rest, ']');
    if (!close || close[1] != ':') {
      rc = port_error(error_message, text, "expected [IPv6]:host:container");
      goto done;
    }
    *close = '\0';
    host_ip = rig__strdup(rest + 1);
    rest = close + 2;
    char *colon = strchr(rest, ':');
    if (!colon) {
      rc = port_error(error_message, text, "expected [IPv6]:host:container");
      goto done;
    }
    *colon = '\0';
    host = rest;
    container = colon + 1;
  } else {
    char *first = strchr(rest, ':');
    char *last = strrchr(rest, ':');
    if (!first) {
      container = rest;
    } else if (first == last) {
      *first = '\0';
      host = rest;
      container = first + 1;
    } else {
      if (strchr(first + 1, ':') != last) {
        rc = port_error(error_message, text, "too many colons (write an IPv6 address in brackets)");
        goto done;
      }
      *first = '\0';
      *last = '\0';
      host_ip = rig__strdup(rest);
      host = first + 1;
      container = last + 1;
    }
  }
  if (host_ip) {
    unsigned char buf[sizeof(struct in6_addr)];
    if (host_ip[0] == '\0') {
      free(host_ip);
      host_ip = NULL;
    } else if (inet_pton(AF_INET, host_ip, buf) != 1 && inet_pton(AF_INET6, host_ip, buf) != 1) {
      rc = port_error(error_message, text, "the host address is not an IP address");
      goto done;
    }
  }
  int c_start, c_end, h_start = 0, h_end = 0;
  if (parse_range(&c_start, &c_end, container, strlen(container), 1) != RIG_OK) {
    rc = port_error(error_message, text,
                    "the container port must be a number or a range in 1-65535");
    goto done;
  }
  if (host && *host && parse_range(&h_start, &h_end, host, strlen(host), 1) != RIG_OK) {
    rc = port_error(error_message, text, "the host port must be a number or a range in 1-65535");
    goto done;
  }
  size_t count = (size_t)(c_end - c_start + 1);
  int pairwise = h_start && count > 1;
  if (pairwise && h_end - h_start != c_end - c_start) {
    rc = port_error(error_message, text, "the host and container ranges differ in length");
    goto done;
  }
  rig__port_spec *specs = rig__calloc(count, sizeof *specs);
  for (size_t i = 0; i < count; i++) {
    specs[i].target = c_start + (int)i;
    specs[i].host_ip = host_ip ? rig__strdup(host_ip) : NULL;
    specs[i].protocol = rig__strdup(protocol);
    if (pairwise) {
      specs[i].published_start = specs[i].published_end = h_start + (int)i;
    } else {
      specs[i].published_start = h_start;
      specs[i].published_end = h_end;
    }
  }
  *out = specs;
  *out_count = count;
done:
  free(spec);
  free(protocol);
  free(host_ip);
  return rc;
}

/* ---- paths ---- */

char *rig__path_join_clean(rig__carena *arena, const char *base, const char *path)
{
  rig_buf joined = RIG_BUF_INIT;
  if (path[0] != '/') {
    rig__buf_puts(&joined, base);
    rig__buf_putc(&joined, '/');
  }
  rig__buf_puts(&joined, path);
  /* fold the components: "", "." and ".." */
  char *src = joined.data;
  size_t n = joined.len;
  char *clean = rig__malloc(n + 2);
  size_t len = 0;
  size_t i = 0;
  while (i < n) {
    while (i < n && src[i] == '/')
      i++;
    size_t start = i;
    while (i < n && src[i] != '/')
      i++;
    size_t seg = i - start;
    if (seg == 0 || (seg == 1 && src[start] == '.'))
      continue;
    if (seg == 2 && src[start] == '.' && src[start + 1] == '.') {
      while (len > 0 && clean[len - 1] != '/')
        len--;
      if (len > 0)
        len--;
      continue;
    }
    clean[len++] = '/';
    memcpy(clean + len, src + start, seg);
    len += seg;
  }
  if (len == 0)
    clean[len++] = '/';
  char *result = rig__carena_strndup(arena, clean, len);
  free(clean);
  rig__buf_dispose(&joined);
  return result;
}

char *rig__path_expand_home(rig__carena *arena, const char *path, const char *home)
{
  if (path[0] == '~' && (path[1] == '\0' || path[1] == '/') && home)
    return rig__carena_sprintf(arena, "%s%s", home, path + 1);
  return rig__carena_strdup(arena, path);
}
