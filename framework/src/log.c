/*
 * log.c - the runner's logger: human console lines or JSON lines, one record per line,
 * written with a single fwrite under the logger's lock so that threads never interleave.
 * Everything that reaches the stream went through rig_redact() first.
 */
#include "stackrig/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log_internal.h"
#include "stackrig/error.h"
#include "util.h"

struct rig_log {
  FILE *stream;
  rig_log_level level;
  rig_log_format format;
  int color;
  int64_t (*wall_ns)(void);
  pthread_mutex_t lock;
};

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};
/* Padded to one width (outside the colour) so that messages line up on a console. */
static const char *const console_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
static const char *const console_colors[] = {
    "\033[90m",   /* trace: grey */
    "\033[36m",   /* debug: cyan */
    "\033[32m",   /* info: green */
    "\033[33m",   /* warn: yellow */
    "\033[1;31m", /* error: bold red */
};
#define COLOR_RESET "\033[0m"
#define COLOR_DIM "\033[2m"

/* JSON keys that the record itself uses; a field with one of these names gets a "_" prefix. */
static const char *const reserved_json_keys[] = {"ts", "level", "msg"};

/*
 * no-color.org: NO_COLOR present and not empty disables colour; an explicit "always" from
 * the user still wins, as it does for other tools.
 */
static int want_color(rig_log_color mode, FILE *stream)
{
  if (mode == RIG_LOG_COLOR_ALWAYS)
    return 1;
  if (mode == RIG_LOG_COLOR_NEVER)
    return 0;
  const char *no_color = getenv("NO_COLOR");
  if (no_color && *no_color)
    return 0;
  int fd = fileno(stream);
  return fd >= 0 && isatty(fd);
}

int rig_log_new(rig_log **out, const rig_log_options *opts)
{
  rig_log_options defaults = RIG_LOG_OPTIONS_INIT;
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_log_new: out is NULL");
  if (!opts)
    opts = &defaults;
  if (opts->version != RIG_LOG_OPTIONS_VERSION)
    return rig_error_set(RIG_EINVAL,
                         "rig_log_new: options version %u is not supported (expected %u)",
                         opts->version, (unsigned)RIG_LOG_OPTIONS_VERSION);
  if ((int)opts->level < RIG_LOG_TRACE || opts->level > RIG_LOG_OFF)
    return rig_error_set(RIG_EINVAL, "rig_log_new: level %d is out of range", (int)opts->level);
  if (opts->format != RIG_LOG_CONSOLE && opts->format != RIG_LOG_JSON)
    return rig_error_set(RIG_EINVAL, "rig_log_new: format %d is unknown", (int)opts->format);
  if (opts->color != RIG_LOG_COLOR_AUTO && opts->color != RIG_LOG_COLOR_ALWAYS &&
      opts->color != RIG_LOG_COLOR_NEVER)
    return rig_error_set(RIG_EINVAL, "rig_log_new: color mode %d is unknown", (int)opts->color);

  rig_log *log = rig__calloc(1, sizeof *log);
  log->stream = opts->stream ? opts->stream : stderr;
  log->level = opts->level;
  log->format = opts->format;
  /* JSON lines are for machines: never colour them. */
  log->color = opts->format == RIG_LOG_CONSOLE && want_color(opts->color, log->stream);
  log->wall_ns = rig__wall_ns;
  pthread_mutex_init(&log->lock, NULL);
  *out = log;
  return RIG_OK;
}

void rig_log_free(rig_log *log)
{
  if (!log)
    return;
  pthread_mutex_destroy(&log->lock);
  free(log);
}

void rig__log_set_clock(rig_log *log, int64_t (*wall_ns)(void))
{
  if (log)
    log->wall_ns = wall_ns ? wall_ns : rig__wall_ns;
}

int rig__log_color(const rig_log *log)
{
  return log ? log->color : 0;
}

int rig_log_enabled(const rig_log *log, rig_log_level level)
{
  return log && (int)level >= (int)log->level && level < RIG_LOG_OFF && (int)level >= 0;
}

int rig_log_level_parse(rig_log_level *out, const char *name)
{
  if (!out || !name)
    return rig_error_set(RIG_EINVAL, "log level: no name given");
  for (int i = RIG_LOG_TRACE; i <= RIG_LOG_OFF; i++) {
    if (strcasecmp(name, level_names[i]) == 0) {
      *out = (rig_log_level)i;
      return RIG_OK;
    }
  }
  if (strcasecmp(name, "warning") == 0) {
    *out = RIG_LOG_WARN;
    return RIG_OK;
  }
  return rig_error_set(RIG_EINVAL,
                       "unknown log level \"%s\" (expected trace, debug, info, warn, error or off)",
                       name);
}

const char *rig_log_level_name(rig_log_level level)
{
  if ((int)level < RIG_LOG_TRACE || level > RIG_LOG_OFF)
    return "unknown";
  return level_names[level];
}

/*
 * Console text: one record stays on one line and cannot carry terminal escape sequences
 * (container output ends up in log messages), so control characters are written as C
 * escapes and bytes that are not UTF-8 as \xNN.
 */
static void put_console_text(rig_buf *buf, const char *text, int quote)
{
  rig__buf_put_escaped(buf, text, strlen(text),
                       quote ? RIG_ESCAPE_CONSOLE_QUOTED : RIG_ESCAPE_CONSOLE);
}

/* A value is quoted (logfmt style) when it is empty or would not read back as one word. */
static int console_needs_quotes(const char *value)
{
  if (!*value)
    return 1;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if (*p <= ' ' || *p == '"' || *p == '=' || *p == 0x7F || *p == '\\')
      return 1;
  return 0;
}

static void put_console_value(rig_buf *buf, const char *value)
{
  if (console_needs_quotes(value)) {
    rig__buf_putc(buf, '"');
    put_console_text(buf, value, 1);
    rig__buf_putc(buf, '"');
  } else {
    put_console_text(buf, value, 0);
  }
}

static const char *json_field_name(const char *key, char *scratch, size_t size)
{
  for (size_t i = 0; i < sizeof reserved_json_keys / sizeof *reserved_json_keys; i++) {
    if (strcmp(key, reserved_json_keys[i]) == 0) {
      snprintf(scratch, size, "_%s", key);
      return scratch;
    }
  }
  return key;
}

static char *redacted(const char *text)
{
  char *out = NULL;
  rig_redact(&out, text ? text : "");
  return out;
}

/* kv holds count/2 key/value pairs, already redacted, values of secret keys masked. */
static void emit(rig_log *log, rig_log_level level, const char *message, char **kv, size_t count)
{
  rig_buf line = RIG_BUF_INIT;
  int64_t now_ns = log->wall_ns();
  time_t seconds = (time_t)(now_ns / 1000000000);
  int millis = (int)((now_ns / 1000000) % 1000);
  struct tm tm;

  if (log->format == RIG_LOG_JSON) {
    gmtime_r(&seconds, &tm);
    rig__buf_printf(&line,
                    "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\",\"msg\":",
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    millis, level_names[level]);
    rig__buf_put_json_string(&line, message);
    for (size_t i = 0; i + 1 < count; i += 2) {
      char scratch[16];
      rig__buf_putc(&line, ',');
      rig__buf_put_json_string(&line, json_field_name(kv[i], scratch, sizeof scratch));
      rig__buf_putc(&line, ':');
      rig__buf_put_json_string(&line, kv[i + 1]);
    }
    rig__buf_puts(&line, "}\n");
  } else {
    localtime_r(&seconds, &tm);
    rig__buf_printf(&line, "%s%02d:%02d:%02d.%03d%s ", log->color ? COLOR_DIM : "", tm.tm_hour,
                    tm.tm_min, tm.tm_sec, millis, log->color ? COLOR_RESET : "");
    if (log->color)
      rig__buf_printf(&line, "%s%s%s", console_colors[level], console_names[level], COLOR_RESET);
    else
      rig__buf_puts(&line, console_names[level]);
    rig__buf_printf(&line, "%*s", 6 - (int)strlen(console_names[level]), "");
    put_console_text(&line, message, 0);
    for (size_t i = 0; i + 1 < count; i += 2) {
      rig__buf_putc(&line, ' ');
      if (log->color)
        rig__buf_puts(&line, COLOR_DIM);
      put_console_text(&line, kv[i], 0);
      rig__buf_putc(&line, '=');
      if (log->color)
        rig__buf_puts(&line, COLOR_RESET);
      put_console_value(&line, kv[i + 1]);
    }
    rig__buf_putc(&line, '\n');
  }

  pthread_mutex_lock(&log->lock);
  fwrite(line.data, 1, line.len, log->stream);
  fflush(log->stream);
  pthread_mutex_unlock(&log->lock);
  rig__buf_dispose(&line);
}

void rig_log_vwrite(rig_log *log, rig_log_level level, const char *fmt, va_list ap)
{
  if (!rig_log_enabled(log, level) || !fmt)
    return;
  char *raw = rig__vsprintf(fmt, ap);
  char *message = redacted(raw);
  free(raw);
  emit(log, level, message, NULL, 0);
  free(message);
}

void rig_log_write(rig_log *log, rig_log_level level, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rig_log_vwrite(log, level, fmt, ap);
  va_end(ap);
}

void rig_log_kv(rig_log *log, rig_log_level level, const char *message, ...)
{
  if (!rig_log_enabled(log, level))
    return;
  char **kv = NULL;
  size_t count = 0, cap = 0;
  va_list ap;
  va_start(ap, message);
  for (;;) {
    const char *key = va_arg(ap, const char *);
    if (!key)
      break;
    const char *value = va_arg(ap, const char *);
    if (count + 2 > cap) {
      cap = cap ? cap * 2 : 8;
      kv = rig__realloc(kv, cap * sizeof *kv);
    }
    kv[count++] = rig__strdup(key);
    /* A NULL value ends the list too, but the key is still shown so the mistake is visible. */
    kv[count++] = rig_key_is_secret(key) ? rig__strdup("***") : redacted(value ? value : "(null)");
    if (!value)
      break;
  }
  va_end(ap);
  char *text = redacted(message);
  emit(log, level, text, kv, count);
  free(text);
  for (size_t i = 0; i < count; i++)
    free(kv[i]);
  free(kv);
}
