/*
 * stackrig/error.h - error codes and the thread-local last error.
 *
 * Every function that can fail returns RIG_OK (0) or a negative code from RIG_ERRNO_MAP.
 * The details of the most recent failure on the calling thread come from rig_error_last():
 * a message that names the thing (service, file:line:col, URL, SQLSTATE), the cause chain
 * and key/value details. Secrets are redacted before they are stored.
 */
#ifndef STACKRIG_ERROR_H
#define STACKRIG_ERROR_H

#include "common.h"
#include <stdarg.h>

RIG_BEGIN_DECLS

/* One table generates the enum, rig_strerror() and rig_error_name(), so they never drift. */
#define RIG_ERRNO_MAP(XX)                                                                          \
  XX(OK, 0, "success")                                                                             \
  XX(EGENERIC, -1, "error")                                                                        \
  XX(EINVAL, -2, "invalid argument")                                                               \
  XX(ENOMEM, -3, "out of memory")                                                                  \
  XX(ENOTFOUND, -4, "not found")                                                                   \
  XX(EEXISTS, -5, "already exists")                                                                \
  XX(EIO, -6, "input/output error")                                                                \
  XX(EPARSE, -7, "malformed input")                                                                \
  XX(ETIMEOUT, -8, "timed out")                                                                    \
  XX(ECONNECT, -9, "cannot connect")                                                               \
  XX(EHTTP, -10, "unexpected HTTP status")                                                         \
  XX(EENGINE, -11, "container engine error")                                                       \
  XX(EIMAGE, -12, "image not available")                                                           \
  XX(ENOTREADY, -13, "service not ready")                                                          \
  XX(EEXITED, -14, "container exited")                                                             \
  XX(ESQL, -15, "SQL error")                                                                       \
  XX(EASSERT, -16, "assertion failed")                                                             \
  XX(EUNSUPPORTED, -17, "not supported")                                                           \
  XX(ECONFLICT, -18, "conflict")                                                                   \
  XX(EINTERRUPTED, -19, "interrupted")                                                             \
  XX(EDRIFT, -20, "applied migration changed")

typedef enum rig_errno {
#define RIG__ERRNO_ENUM(name, value, message) RIG_##name = (value),
  RIG_ERRNO_MAP(RIG__ERRNO_ENUM)
#undef RIG__ERRNO_ENUM
} rig_errno;

/** One key/value detail of an error (e.g. "service" = "postgres", "status" = "404"). */
typedef struct rig_error_detail {
  const char *key;
  const char *value;
} rig_error_detail;

/**
 * A failure, as kept for the calling thread. Everything it points to is owned by the
 * thread's error state and lives until the next error is set or cleared on that thread.
 */
typedef struct rig_error {
  int code;            /**< a RIG_E* code */
  const char *message; /**< this level's message, e.g. "postgres: migration 002_orders.sql" */
  const char *text;    /**< the whole chain joined with ": ", outermost first */
  const struct rig_error *cause; /**< the error this one wraps, or NULL */
  size_t detail_count;
  const rig_error_detail *details;
} rig_error;

/** @return the static message for a code ("not found"), "unknown error" for others. */
RIG_EXTERN const char *rig_strerror(int code);

/** @return the code's name ("RIG_ENOTFOUND"), or "RIG_E?" for an unknown code. */
RIG_EXTERN const char *rig_error_name(int code);

/** @return the last error set on this thread, or NULL when there is none. */
RIG_EXTERN const rig_error *rig_error_last(void);

/** Forgets this thread's last error. */
RIG_EXTERN void rig_error_clear(void);

/**
 * Sets this thread's last error, replacing any previous one. The message is formatted,
 * then redacted (see rig_redact()).
 * @return code, so that `return rig_error_set(RIG_EINVAL, "...")` reads naturally.
 */
RIG_EXTERN int rig_error_set(int code, const char *fmt, ...) RIG_PRINTF(2, 3);
RIG_EXTERN int rig_error_vset(int code, const char *fmt, va_list ap);

/**
 * Wraps this thread's last error in a new one that adds context; the old one becomes its
 * cause. With no last error it behaves as rig_error_set().
 * @param code the new outer code; pass RIG_OK to keep the cause's code.
 * @return the outer error's code.
 */
RIG_EXTERN int rig_error_wrap(int code, const char *fmt, ...) RIG_PRINTF(2, 3);

/**
 * Adds a key/value detail to this thread's last (outermost) error. A value whose key names
 * a secret (password, secret, token, key) is stored as "***"; other values are redacted
 * like messages.
 * @return the last error's code, or RIG_EINVAL when there is no last error.
 */
RIG_EXTERN int rig_error_add_detail(const char *key, const char *fmt, ...) RIG_PRINTF(2, 3);

/** @return the value of a detail of err or of any error in its cause chain, or NULL. */
RIG_EXTERN const char *rig_error_detail_get(const rig_error *err, const char *key);

/**
 * Redacts secrets from text: the password part of URLs and DSNs
 * ("postgres://u:***@h/db"), and values of key=value / key: value pairs whose key names a
 * secret ("password=***", "api_token: ***").
 * @param[out] out a newly allocated string, free() it
 * @return RIG_OK, or RIG_ENOMEM
 */
RIG_EXTERN int rig_redact(char **out, const char *text);

/** @return 1 when a key names a secret (contains password, passwd, secret, token or key). */
RIG_EXTERN int rig_key_is_secret(const char *key);

RIG_END_DECLS

#endif
