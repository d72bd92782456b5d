/*
 * error.c - the error table, the thread-local last error with its cause chain and
 * details, and secret redaction.
 */
#include "stackrig/error.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct error_node {
  rig_error pub;
  char *message;
  char *text;
  rig_error_detail *details;
  size_t detail_cap;
  struct error_node *cause;
} error_node;

static pthread_key_t error_key;
static pthread_once_t error_key_once = PTHREAD_ONCE_INIT;

static void node_free(error_node *node)
{
  while (node) {
    error_node *cause = node->cause;
    free(node->message);
    free(node->text);
    for (size_t i = 0; i < node->pub.detail_count; i++) {
      free((char *)node->details[i].key);
      free((char *)node->details[i].value);
    }
    free(node->details);
    free(node);
    node = cause;
  }
}

static void thread_state_free(void *state)
{
  node_free(state);
}

static void make_key(void)
{
  pthread_key_create(&error_key, thread_state_free);
}

static error_node *last_node(void)
{
  pthread_once(&error_key_once, make_key);
  return pthread_getspecific(error_key);
}

static void set_last_node(error_node *node)
{
  pthread_once(&error_key_once, make_key);
  pthread_setspecific(error_key, node);
}

const char *rig_strerror(int code)
{
  switch (code) {
#define RIG__ERRNO_MSG(name, value, message)                                                       \
  case value:                                                                                      \
    return message;
    RIG_ERRNO_MAP(RIG__ERRNO_MSG)
#undef RIG__ERRNO_MSG
  }
  return "unknown error";
}

const char *rig_error_name(int code)
{
  switch (code) {
#define RIG__ERRNO_NAME(name, value, message)                                                      \
  case value:                                                                                      \
    return "RIG_" #name;
    RIG_ERRNO_MAP(RIG__ERRNO_NAME)
#undef RIG__ERRNO_NAME
  }
  return "RIG_E?";
}

const rig_error *rig_error_last(void)
{
  error_node *node = last_node();
  return node ? &node->pub : NULL;
}

void rig_error_clear(void)
{
  node_free(last_node());
  set_last_node(NULL);
}

static char *redacted_copy(const char *text)
{
  char *out = NULL;
  rig_redact(&out, text);
  return out;
}

static error_node *node_new(int code, const char *fmt, va_list ap, error_node *cause)
{
  error_node *node = rig__calloc(1, sizeof *node);
  char *raw = rig__vsprintf(fmt, ap);
  node->message = redacted_copy(raw);
  free(raw);
  if (cause && cause->text && *cause->text)
    node->text = *node->message ? rig__sprintf("%s: %s", node->message, cause->text)
                                : rig__strdup(cause->text);
  else
    node->text = rig__strdup(node->message);
  node->cause = cause;
  node->pub.code = code;
  node->pub.message = node->message;
  node->pub.text = node->text;
  node->pub.cause = cause ? &cause->pub : NULL;
  return node;
}

int rig_error_vset(int code, const char *fmt, va_list ap)
{
  error_node *node = node_new(code, fmt, ap, NULL);
  node_free(last_node());
  set_last_node(node);
  return code;
}

int rig_error_set(int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rig_error_vset(code, fmt, ap);
  va_end(ap);
  return code;
}

int rig_error_wrap(int code, const char *fmt, ...)
{
  error_node *cause = last_node();
  if (code == RIG_OK)
    code = cause ? cause->pub.code : RIG_EGENERIC;
  va_list ap;
  va_start(ap, fmt);
  error_node *node = node_new(code, fmt, ap, cause);
  va_end(ap);
  set_last_node(node);
  return code;
}

int rig_error_add_detail(const char *key, const char *fmt, ...)
{
  error_node *node = last_node();
  if (!node || !key)
    return RIG_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  char *raw = rig__vsprintf(fmt, ap);
  va_end(ap);
  char *value = rig_key_is_secret(key) ? rig__strdup("***") : redacted_copy(raw);
  free(raw);
  if (node->pub.detail_count == node->detail_cap) {
    node->detail_cap = node->detail_cap ? node->detail_cap * 2 : 4;
    node->details = rig__realloc(node->details, node->detail_cap * sizeof *node->details);
  }
  node->details[node->pub.detail_count].key = rig__strdup(key);
  node->details[node->pub.detail_count].value = value;
  node->pub.detail_count++;
  node->pub.details = node->details;
  return node->pub.code;
}

const char *rig_error_detail_get(const rig_error *err, const char *key)
{
  for (; err && key; err = err->cause)
    for (size_t i = 0; i < err->detail_count; i++)
      if (strcmp(err->details[i].key, key) == 0)
        return err->details[i].value;
  return NULL;
}

static int contains_word(const char *lower, const char *word)
{
  return strstr(lower, word) != NULL;
}

int rig_key_is_secret(const char *key)
{
  if (!key)
    return 0;
  char lower[128];
  size_t n = 0;
  for (; key[n] && n < sizeof lower - 1; n++)
    lower[n] = (char)tolower((unsigned char)key[n]);
  lower[n] = '\0';
  if (contains_word(lower, "password") || contains_word(lower, "passwd") ||
      contains_word(lower, "secret") || contains_word(lower, "token") ||
      contains_word(lower, "credential") || strcmp(lower, "pwd") == 0)
    return 1;
  /* "key" as a name part ("key", "api_key", "key_id", "private-key", "apikey"), but not
   * inside another word ("keyboard", "monkey"). */
  size_t len = strlen(lower);
  if (len >= 6 && strcmp(lower + len - 6, "apikey") == 0)
    return 1;
  for (const char *p = strstr(lower, "key"); p; p = strstr(p + 1, "key")) {
    char before = p == lower ? '_' : p[-1];
    char after = p[3];
    if ((before == '_' || before == '-' || before == '.') &&
        (after == '\0' || after == '_' || after == '-' || after == '.'))
      return 1;
  }
  return 0;
}

static int is_key_char(char c)
{
  return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static int is_value_end(char c)
{
  return c == '\0' || isspace((unsigned char)c) || c == '&' || c == ',' || c == ';' || c == '"' ||
         c == '\'' || c == ')' || c == '}' || c == ']';
}

/* scheme://user:password@host → scheme://user:***@host; returns chars consumed from text. */
static size_t redact_url_userinfo(rig_buf *out, const char *text)
{
  const char *start = text + 3; /* after "://" */
  const char *p = start;
  while (*p && *p != '/' && *p != '?' && *p != '#' && *p != '@' && !isspace((unsigned char)*p))
    p++;
  if (*p != '@') {
    rig__buf_puts(out, "://");
    return 3;
  }
  const char *colon = memchr(start, ':', (size_t)(p - start));
  rig__buf_puts(out, "://");
  if (!colon) {
    rig__buf_append(out, start, (size_t)(p - start));
  } else {
    rig__buf_append(out, start, (size_t)(colon - start));
    rig__buf_puts(out, ":***");
  }
  return (size_t)(p - text);
}

int rig_redact(char **out, const char *text)
{
  if (!text)
    text = "";
  rig_buf buf = RIG_BUF_INIT;
  const char *p = text;
  while (*p) {
    if (strncmp(p, "://", 3) == 0) {
      p += redact_url_userinfo(&buf, p);
      continue;
    }
    /* A key that starts here (not in the middle of a word)? */
    if (is_key_char(*p) && (p == text || !is_key_char(p[-1]))) {
      const char *key_end = p;
      while (is_key_char(*key_end))
        key_end++;
      const char *q = key_end;
      if (*q == '"' || *q == '\'')
        q++;
      while (*q == ' ')
        q++;
      if ((*q == '=' || *q == ':') && strncmp(q, "://", 3) != 0) {
        char key[128];
        size_t key_len = (size_t)(key_end - p);
        if (key_len < sizeof key) {
          memcpy(key, p, key_len);
          key[key_len] = '\0';
        } else {
          key[0] = '\0';
        }
        if (rig_key_is_secret(key)) {
          q++;
          while (*q == ' ')
            q++;
          char quote = 0;
          if (*q == '"' || *q == '\'')
            quote = *q++;
          rig__buf_append(&buf, p, (size_t)(q - p));
          const char *v = q;
          if (quote)
            while (*v && *v != quote)
              v++;
          else
            while (!is_value_end(*v))
              v++;
          if (v > q)
            rig__buf_puts(&buf, "***");
          p = v;
          continue;
        }
      }
      rig__buf_append(&buf, p, (size_t)(key_end - p));
      p = key_end;
      continue;
    }
    rig__buf_putc(&buf, *p++);
  }
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

const char *rig_version(void)
{
  return RIG_VERSION_STRING;
}
