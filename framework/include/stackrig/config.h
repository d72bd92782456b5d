/*
 * stackrig/config.h - settings from the command line, the environment, a .env file and
 * defaults (in that order of precedence), .env parsing as docker compose reads it, and
 * typed values (durations, integers, booleans, ports) that report bad input by name.
 */
#ifndef STACKRIG_CONFIG_H
#define STACKRIG_CONFIG_H

#include "common.h"

RIG_BEGIN_DECLS

/* ---- ordered key/value lists (a parsed .env file, an environment) ---- */

typedef struct rig_env rig_env;

/** @param[out] out an empty list; free with rig_env_free() */
RIG_EXTERN int rig_env_new(rig_env **out);
RIG_EXTERN void rig_env_free(rig_env *env);
/** Sets key to value (replacing an earlier value, keeping the key's first position). */
RIG_EXTERN int rig_env_set(rig_env *env, const char *key, const char *value);
/** @return the value of key, or NULL. */
RIG_EXTERN const char *rig_env_get(const rig_env *env, const char *key);
RIG_EXTERN size_t rig_env_count(const rig_env *env);
/** @return the i-th key (in first-set order), or NULL past the end. */
RIG_EXTERN const char *rig_env_key(const rig_env *env, size_t i);
RIG_EXTERN const char *rig_env_value(const rig_env *env, size_t i);

/**
 * Parses .env text as docker compose does: `KEY=VALUE`, an optional `export ` prefix,
 * `#` comments (whole-line, and after an unquoted value following whitespace), blank lines,
 * single-quoted values taken literally, double-quoted values with escapes (\n \t \\ \" ...)
 * and values that may span lines, unquoted values trimmed; a later duplicate key wins.
 * Unquoted and double-quoted values are interpolated ($VAR, ${VAR:-default}, ...) from the
 * process environment first, then from earlier keys. A name alone (`KEY`) takes its value
 * from the process environment and is left out when unset there, as compose does.
 * Anything else that is not an assignment is an error naming filename:line.
 * @param filename used in error messages only ("<stdin>" when NULL)
 * @param[out] out the parsed pairs
 * @return RIG_OK or RIG_EPARSE
 */
RIG_EXTERN int rig_dotenv_parse(rig_env **out, const char *text, size_t len, const char *filename);

/** Reads and parses a .env file. @return RIG_OK, RIG_ENOTFOUND, RIG_EIO or RIG_EPARSE */
RIG_EXTERN int rig_dotenv_load(rig_env **out, const char *path);

/* ---- typed values ---- */

/**
 * Parses a duration: a sequence of number+unit ("250ms", "2s", "1m30s", "1.5s", "1h",
 * "100us", "10ns"); a bare "0" is zero. Units: ns us µs ms s m h, and d (24h) and w (7d)
 * as compose accepts them. Negative values are rejected.
 * @param[out] out_ns nanoseconds
 * @return RIG_OK or RIG_EINVAL (with a message quoting the text)
 */
RIG_EXTERN int rig_duration_parse_ns(int64_t *out_ns, const char *text);
/** As rig_duration_parse_ns(), in milliseconds (rounded down). */
RIG_EXTERN int rig_duration_parse(int64_t *out_ms, const char *text);
/** Formats a duration in compose's style: "1m30s", "250ms", "0s". @param[out] out free() it */
RIG_EXTERN int rig_duration_format(char **out, int64_t ns);

RIG_EXTERN int rig_parse_int(int64_t *out, const char *text);
/** true/false, yes/no, on/off, 1/0 (any case). */
RIG_EXTERN int rig_parse_bool(int *out, const char *text);
/** 1..65535 */
RIG_EXTERN int rig_parse_port(int *out, const char *text);

/* ---- layered settings ---- */

typedef struct rig_config rig_config;

/**
 * @param project_dir the folder whose `.env` file is read, or NULL for none
 * @param[out] out free with rig_config_free()
 * @return RIG_OK, or RIG_EPARSE/RIG_EIO for an unreadable or malformed .env (a missing
 *   .env is fine)
 */
RIG_EXTERN int rig_config_new(rig_config **out, const char *project_dir);
RIG_EXTERN void rig_config_free(rig_config *config);

/** Sets a value given on the command line; it wins over every other source. */
RIG_EXTERN int rig_config_set(rig_config *config, const char *name, const char *value);
/** Sets a default, used when no other source has the name. */
RIG_EXTERN int rig_config_set_default(rig_config *config, const char *name, const char *value);

/**
 * @return the value (CLI > environment > .env > default), or NULL. The environment is read
 *   at each call; a value from it stays valid until that variable is changed.
 */
RIG_EXTERN const char *rig_config_get(const rig_config *config, const char *name);
/** @return "cli", "env", ".env", "default" or NULL: where rig_config_get's value came from. */
RIG_EXTERN const char *rig_config_source(const rig_config *config, const char *name);

/**
 * Typed getters: when name is unset or empty, *out is def. A value that does not parse is
 * RIG_EINVAL with a message naming the variable and its source, e.g.
 * "STACKRIG_TIMEOUT=abc (from .env): not a duration (examples: 250ms, 2s, 1m30s)".
 */
RIG_EXTERN int rig_config_duration(const rig_config *config, const char *name, int64_t def_ms,
                                   int64_t *out_ms);
RIG_EXTERN int rig_config_int(const rig_config *config, const char *name, int64_t def,
                              int64_t *out);
RIG_EXTERN int rig_config_bool(const rig_config *config, const char *name, int def, int *out);
RIG_EXTERN int rig_config_port(const rig_config *config, const char *name, int def, int *out);

/** The .env pairs read by rig_config_new() (empty when there was no file); borrowed. */
RIG_EXTERN const rig_env *rig_config_dotenv(const rig_config *config);

RIG_END_DECLS

#endif
