/*
 * stackrig/log.h - leveled logging for programs built on libstackrig (the runner).
 *
 * The library's own modules never print; a program makes a rig_log that writes either
 * human console lines (colour only on a terminal, never with NO_COLOR set) or JSON lines
 * for CI, and logs through it.
 */
#ifndef STACKRIG_LOG_H
#define STACKRIG_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include "common.h"

RIG_BEGIN_DECLS

typedef enum rig_log_level {
  RIG_LOG_TRACE = 0,
  RIG_LOG_DEBUG,
  RIG_LOG_INFO,
  RIG_LOG_WARN,
  RIG_LOG_ERROR,
  RIG_LOG_OFF
} rig_log_level;

typedef enum rig_log_format {
  RIG_LOG_CONSOLE = 0, /**< "12:00:01.250 WARN  message key=value" */
  RIG_LOG_JSON         /**< {"ts":"2026-...Z","level":"warn","msg":"...","key":"value"} */
} rig_log_format;

typedef enum rig_log_color {
  RIG_LOG_COLOR_AUTO = 0, /**< colour when the stream is a terminal and NO_COLOR is unset */
  RIG_LOG_COLOR_ALWAYS,
  RIG_LOG_COLOR_NEVER
} rig_log_color;

typedef struct rig_log rig_log;

typedef struct rig_log_options {
  unsigned int version;
  FILE *stream;        /**< NULL: stderr */
  rig_log_level level; /**< messages below it are dropped */
  rig_log_format format;
  rig_log_color color;
} rig_log_options;

#define RIG_LOG_OPTIONS_VERSION 1
#define RIG_LOG_OPTIONS_INIT                                                                       \
  {                                                                                                \
    RIG_LOG_OPTIONS_VERSION, NULL, RIG_LOG_INFO, RIG_LOG_CONSOLE, RIG_LOG_COLOR_AUTO               \
  }

/** @param[out] out the new logger; free with rig_log_free() */
RIG_EXTERN int rig_log_new(rig_log **out, const rig_log_options *opts);
RIG_EXTERN void rig_log_free(rig_log *log);

/** @return 1 when a message at level would be written. */
RIG_EXTERN int rig_log_enabled(const rig_log *log, rig_log_level level);

/**
 * Writes one message. Pairs of key/value strings follow the format's arguments in
 * rig_log_kv(); rig_log_write() has none. Messages and values are redacted (rig_redact).
 */
RIG_EXTERN void rig_log_write(rig_log *log, rig_log_level level, const char *fmt, ...)
    RIG_PRINTF(3, 4);
RIG_EXTERN void rig_log_vwrite(rig_log *log, rig_log_level level, const char *fmt, va_list ap);

/** Writes a message with key/value fields: keys and values alternate, ended by NULL. */
RIG_EXTERN void rig_log_kv(rig_log *log, rig_log_level level, const char *message, ...);

/** @return the level named "trace", "debug", "info", "warn"/"warning", "error", "off". */
RIG_EXTERN int rig_log_level_parse(rig_log_level *out, const char *name);
RIG_EXTERN const char *rig_log_level_name(rig_log_level level);

RIG_END_DECLS

#endif
