/*
 * config.c - ordered key/value lists, typed values (durations, integers, booleans, ports)
 * and the layered settings of a run: command line > process environment > .env > defaults.
 * The .env parser lives in dotenv.c.
 */
#include "stackrig/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stackrig/error.h"
#include "util.h"

/* ---- rig_env ---- */

struct rig_env {
  char **keys;
  char **values;
  size_t count;
  size_t cap;
};

int rig_env_new(rig_env **out)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_env_new: out is NULL");
  *out = rig__calloc(1, sizeof **out);
  return RIG_OK;
}

void rig_env_free(rig_env *env)
{
  if (!env)
    return;
  for (size_t i = 0; i < env->count; i++) {
    free(env->keys[i]);
    free(env->values[i]);
  }
  free(env->keys);
  free(env->values);
  free(env);
}

static ssize_t env_index(const rig_env *env, const char *key)
{
  /* Lists are short (a .env file, a few settings): a linear scan keeps insertion order simple. */
  for (size_t i = 0; i < env->count; i++)
    if (strcmp(env->keys[i], key) == 0)
      return (ssize_t)i;
  return -1;
}

int rig_env_set(rig_env *env, const char *key, const char *value)
{
  if (!env || !key || !value)
    return rig_error_set(RIG_EINVAL, "rig_env_set: %s is NULL",
                         !env   ? "env"
                         : !key ? "key"
                                : "value");
  ssize_t i = env_index(env, key);
  if (i >= 0) {
    char *copy = rig__strdup(value);
    free(env->values[i]);
    env->values[i] = copy;
    return RIG_OK;
  }
  if (env->count == env->cap) {
    env->cap = env->cap ? env->cap * 2 : 8;
    env->keys = rig__realloc(env->keys, env->cap * sizeof *env->keys);
    env->values = rig__realloc(env->values, env->cap * sizeof *env->values);
  }
  env->keys[env->count] = rig__strdup(key);
  env->values[env->count] = rig__strdup(value);
  env->count++;
  return RIG_OK;
}

const char *rig_env_get(const rig_env *env, const char *key)
{
  if (!env || !key)
    return NULL;
  ssize_t i = env_index(env, key);
  return i >= 0 ? env->values[i] : NULL;
}

size_t rig_env_count(const rig_env *env)
{
  return env ? env->count : 0;
}

const char *rig_env_key(const rig_env *env, size_t i)
{
  return env && i < env->count ? env->keys[i] : NULL;
}

const char *rig_env_value(const rig_env *env, size_t i)
{
  return env && i < env->count ? env->values[i] : NULL;
}

/* ---- typed values ----
 * Each parser has a static form that reports why the text is wrong as a phrase; the
 * public functions prefix it with the quoted text, the config getters with NAME=VALUE
 * and the source, so every message reads the same way.
 */

#define DURATION_EXAMPLES "(examples: 250ms, 2s, 1m30s)"
#define REASON_SIZE 128

typedef struct duration_unit {
  const char *name;
  int64_t ns;
} duration_unit;

/*
 * Go's time.ParseDuration units, plus d and w which compose's own duration parser also
 * accepts for healthcheck intervals and timeouts.
 */
static const duration_unit duration_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* µs, MICRO SIGN */
    {"\xce\xbcs", 1000}, /* μs, GREEK SMALL LETTER MU */
    {"ms", 1000000},
    {"s", INT64_C(1000000000)},
    {"m", INT64_C(60000000000)},
    {"h", INT64_C(3600000000000)},
    {"d", INT64_C(86400000000000)},
    {"w", INT64_C(604800000000000)},
};

static int parse_duration(int64_t *out_ns, const char *text, char *reason)
{
  const char *p = text;
  if (!*p) {
    snprintf(reason, REASON_SIZE, "empty, not a duration " DURATION_EXAMPLES);
    return RIG_EINVAL;
  }
  if (*p == '-') {
    snprintf(reason, REASON_SIZE, "negative durations are not allowed");
    return RIG_EINVAL;
  }
  if (*p == '+')
    p++;
  if (strcmp(p, "0") == 0) {
    *out_ns = 0;
    return RIG_OK;
  }
  if (!*p) {
    snprintf(reason, REASON_SIZE, "not a duration " DURATION_EXAMPLES);
    return RIG_EINVAL;
  }
  int64_t total = 0;
  while (*p) {
    int64_t whole = 0;
    int overflow = 0, digits = 0;
    while (*p >= '0' && *p <= '9') {
      int digit = *p - '0';
      if (whole > (INT64_MAX - digit) / 10)
        overflow = 1;
      else
        whole = whole * 10 + digit;
      p++;
      digits++;
    }
    const char *fraction = p, *fraction_end = p;
    if (*p == '.') {
      fraction = ++p;
      while (*p >= '0' && *p <= '9')
        p++;
      fraction_end = p;
      digits += (int)(fraction_end - fraction);
    }
    if (digits == 0) {
      snprintf(reason, REASON_SIZE, "not a duration " DURATION_EXAMPLES);
      return RIG_EINVAL;
    }
    const char *unit_start = p;
    while (*p && *p != '.' && !(*p >= '0' && *p <= '9'))
      p++;
    size_t unit_len = (size_t)(p - unit_start);
    if (unit_len == 0) {
      snprintf(reason, REASON_SIZE, "missing unit " DURATION_EXAMPLES);
      return RIG_EINVAL;
    }
    int64_t unit_ns = 0;
    for (size_t i = 0; i < sizeof duration_units / sizeof *duration_units; i++)
      if (strlen(duration_units[i].name) == unit_len &&
          memcmp(duration_units[i].name, unit_start, unit_len) == 0)
        unit_ns = duration_units[i].ns;
    if (unit_ns == 0) {
      snprintf(reason, REASON_SIZE, "unknown unit \"%.*s\" (units: ns, us, ms, s, m, h, d, w)",
               (int)(unit_len > 16 ? 16 : unit_len), unit_start);
      return RIG_EINVAL;
    }
    /*
     * floor(0.d1d2...dk * unit), exactly and without wide integers: Horner's rule from the
     * last digit, acc = (d * unit + acc) / 10, never exceeds the unit, and flooring at
     * every step gives the same result as flooring once.
     */
    int64_t part = 0;
    for (const char *d = fraction_end; d > fraction; d--)
      part = ((d[-1] - '0') * unit_ns + part) / 10;
    if (overflow || whole > (INT64_MAX - part) / unit_ns ||
        whole * unit_ns + part > INT64_MAX - total) {
      snprintf(reason, REASON_SIZE, "too large (at most 2562047h47m16.854775807s)");
      return RIG_EINVAL;
    }
    total += whole * unit_ns + part;
  }
  *out_ns = total;
  return RIG_OK;
}

int rig_duration_parse_ns(int64_t *out_ns, const char *text)
{
  char reason[REASON_SIZE];
  int64_t ns;
  if (!out_ns || !text)
    return rig_error_set(RIG_EINVAL, "rig_duration_parse_ns: %s is NULL",
                         !out_ns ? "out_ns" : "text");
  if (parse_duration(&ns, text, reason) != RIG_OK)
    return rig_error_set(RIG_EINVAL, "\"%s\": %s", text, reason);
  *out_ns = ns;
  return RIG_OK;
}

int rig_duration_parse(int64_t *out_ms, const char *text)
{
  int64_t ns;
  if (!out_ms)
    return rig_error_set(RIG_EINVAL, "rig_duration_parse: out_ms is NULL");
  int rc = rig_duration_parse_ns(&ns, text);
  if (rc != RIG_OK)
    return rc;
  *out_ms = ns / 1000000;
  return RIG_OK;
}

/* Appends v / 10^digits with the fraction's trailing zeros (and a bare ".") dropped. */
static void put_fraction(rig_buf *buf, uint64_t v, int digits)
{
  uint64_t pow = 1;
  for (int i = 0; i < digits; i++)
    pow *= 10;
  rig__buf_printf(buf, "%llu", (unsigned long long)(v / pow));
  uint64_t frac = v % pow;
  if (frac == 0)
    return;
  char tmp[24];
  snprintf(tmp, sizeof tmp, "%0*llu", digits, (unsigned long long)frac);
  size_t len = strlen(tmp);
  while (len > 0 && tmp[len - 1] == '0')
    len--;
  rig__buf_putc(buf, '.');
  rig__buf_append(buf, tmp, len);
}

/* The same text as Go's time.Duration.String(), which `docker compose config` prints. */
int rig_duration_format(char **out, int64_t ns)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_duration_format: out is NULL");
  rig_buf buf = RIG_BUF_INIT;
  if (ns == 0) {
    *out = rig__strdup("0s");
    return RIG_OK;
  }
  uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
  if (ns < 0)
    rig__buf_putc(&buf, '-');
  if (u < 1000) {
    rig__buf_printf(&buf, "%lluns", (unsigned long long)u);
  } else if (u < 1000000) {
    put_fraction(&buf, u, 3);
    rig__buf_puts(&buf, "\xc2\xb5s");
  } else if (u < 1000000000) {
    put_fraction(&buf, u, 6);
    rig__buf_puts(&buf, "ms");
  } else {
    uint64_t seconds_ns = u % UINT64_C(60000000000);
    uint64_t minutes = u / UINT64_C(60000000000);
    uint64_t hours = minutes / 60;
    minutes %= 60;
    if (hours)
      rig__buf_printf(&buf, "%lluh", (unsigned long long)hours);
    if (hours || minutes)
      rig__buf_printf(&buf, "%llum", (unsigned long long)minutes);
    put_fraction(&buf, seconds_ns, 9);
    rig__buf_putc(&buf, 's');
  }
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

static int parse_int(int64_t *out, const char *text, char *reason)
{
  const char *p = text;
  int negative = 0;
  if (*p == '-' || *p == '+')
    negative = *p++ == '-';
  if (!*p) {
    snprintf(reason, REASON_SIZE, "not an integer");
    return RIG_EINVAL;
  }
  uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') {
      snprintf(reason, REASON_SIZE, "not an integer");
      return RIG_EINVAL;
    }
    unsigned digit = (unsigned)(*p - '0');
    if (v > (limit - digit) / 10) {
      snprintf(reason, REASON_SIZE, "integer out of range (%lld..%lld)", (long long)INT64_MIN,
               (long long)INT64_MAX);
      return RIG_EINVAL;
    }
    v = v * 10 + digit;
  }
  *out = negative ? (int64_t)(0 - v) : (int64_t)v;
  return RIG_OK;
}

static int parse_bool(int *out, const char *text, char *reason)
{
  static const char *const truths[] = {"true", "yes", "on", "1"};
  static const char *const lies[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(text, truths[i]) == 0) {
      *out = 1;
      return RIG_OK;
    }
    if (strcasecmp(text, lies[i]) == 0) {
      *out = 0;
      return RIG_OK;
    }
  }
  snprintf(reason, REASON_SIZE, "not a boolean (true/false, yes/no, on/off, 1/0)");
  return RIG_EINVAL;
}

static int parse_port(int *out, const char *text, char *reason)
{
  int64_t v;
  const char *p = text;
  /* Only plain digits: "+80" or "-1" are not how anyone writes a port. */
  int digits_only = *p != '\0';
  for (; *p; p++)
    if (*p < '0' || *p > '9')
      digits_only = 0;
  if (!digits_only || parse_int(&v, text, reason) != RIG_OK) {
    snprintf(reason, REASON_SIZE, "not a port number (1..65535)");
    return RIG_EINVAL;
  }
  if (v < 1 || v > 65535) {
    snprintf(reason, REASON_SIZE, "port out of range (1..65535)");
    return RIG_EINVAL;
  }
  *out = (int)v;
  return RIG_OK;
}

int rig_parse_int(int64_t *out, const char *text)
{
  char reason[REASON_SIZE];
  int64_t v;
  if (!out || !text)
    return rig_error_set(RIG_EINVAL, "rig_parse_int: %s is NULL", !out ? "out" : "text");
  if (parse_int(&v, text, reason) != RIG_OK)
    return rig_error_set(RIG_EINVAL, "\"%s\": %s", text, reason);
  *out = v;
  return RIG_OK;
}

int rig_parse_bool(int *out, const char *text)
{
  char reason[REASON_SIZE];
  int v;
  if (!out || !text)
    return rig_error_set(RIG_EINVAL, "rig_parse_bool: %s is NULL", !out ? "out" : "text");
  if (parse_bool(&v, text, reason) != RIG_OK)
    return rig_error_set(RIG_EINVAL, "\"%s\": %s", text, reason);
  *out = v;
  return RIG_OK;
}

int rig_parse_port(int *out, const char *text)
{
  char reason[REASON_SIZE];
  int v;
  if (!out || !text)
    return rig_error_set(RIG_EINVAL, "rig_parse_port: %s is NULL", !out ? "out" : "text");
  if (parse_port(&v, text, reason) != RIG_OK)
    return rig_error_set(RIG_EINVAL, "\"%s\": %s", text, reason);
  *out = v;
  return RIG_OK;
}

/* ---- layered settings ---- */

struct rig_config {
  rig_env *cli;
  rig_env *dotenv;
  rig_env *defaults;
};

int rig_config_new(rig_config **out, const char *project_dir)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_config_new: out is NULL");
  rig_env *dotenv = NULL;
  if (project_dir) {
    char *path = rig__sprintf("%s/.env", project_dir);
    int rc = rig_dotenv_load(&dotenv, path);
    free(path);
    if (rc == RIG_ENOTFOUND) {
      rig_error_clear();
      dotenv = NULL;
    } else if (rc != RIG_OK) {
      return rc;
    }
  }
  rig_config *config = rig__calloc(1, sizeof *config);
  if (!dotenv)
    rig_env_new(&dotenv);
  config->dotenv = dotenv;
  rig_env_new(&config->cli);
  rig_env_new(&config->defaults);
  *out = config;
  return RIG_OK;
}

void rig_config_free(rig_config *config)
{
  if (!config)
    return;
  rig_env_free(config->cli);
  rig_env_free(config->dotenv);
  rig_env_free(config->defaults);
  free(config);
}

int rig_config_set(rig_config *config, const char *name, const char *value)
{
  if (!config || !name || !*name || !value)
    return rig_error_set(RIG_EINVAL, "rig_config_set: missing config, name or value");
  return rig_env_set(config->cli, name, value);
}

int rig_config_set_default(rig_config *config, const char *name, const char *value)
{
  if (!config || !name || !*name || !value)
    return rig_error_set(RIG_EINVAL, "rig_config_set_default: missing config, name or value");
  return rig_env_set(config->defaults, name, value);
}

/* The value and its source; the environment is read live, so a later setenv() counts. */
static const char *lookup(const rig_config *config, const char *name, const char **source)
{
  const char *value;
  if (!config || !name)
    return NULL;
  if ((value = rig_env_get(config->cli, name))) {
    *source = "cli";
  } else if ((value = getenv(name))) {
    *source = "env";
  } else if ((value = rig_env_get(config->dotenv, name))) {
    *source = ".env";
  } else if ((value = rig_env_get(config->defaults, name))) {
    *source = "default";
  } else {
    *source = NULL;
  }
  return value;
}

const char *rig_config_get(const rig_config *config, const char *name)
{
  const char *source;
  return lookup(config, name, &source);
}

const char *rig_config_source(const rig_config *config, const char *name)
{
  const char *source = NULL;
  lookup(config, name, &source);
  return source;
}

const rig_env *rig_config_dotenv(const rig_config *config)
{
  return config ? config->dotenv : NULL;
}

static int config_bad_value(const char *name, const char *value, const char *source,
                            const char *reason)
{
  rig_error_set(RIG_EINVAL, "%s=%s (from %s): %s", name, value, source, reason);
  rig_error_add_detail("variable", "%s", name);
  rig_error_add_detail("source", "%s", source);
  return RIG_EINVAL;
}

/*
 * The value a typed getter should parse, or NULL when the name is unset. An empty value
 * counts as unset, as NO_COLOR and compose's own variables do: "FOO=" in a .env means
 * "no opinion", not "a malformed number".
 */
static const char *typed_lookup(const rig_config *config, const char *name, const char **source)
{
  const char *value = lookup(config, name, source);
  return value && *value ? value : NULL;
}

int rig_config_duration(const rig_config *config, const char *name, int64_t def_ms, int64_t *out_ms)
{
  const char *source;
  char reason[REASON_SIZE];
  int64_t ns;
  if (!config || !name || !out_ms)
    return rig_error_set(RIG_EINVAL, "rig_config_duration: missing config, name or out_ms");
  const char *value = typed_lookup(config, name, &source);
  if (!value) {
    *out_ms = def_ms;
    return RIG_OK;
  }
  if (parse_duration(&ns, value, reason) != RIG_OK)
    return config_bad_value(name, value, source, reason);
  *out_ms = ns / 1000000;
  return RIG_OK;
}

int rig_config_int(const rig_config *config, const char *name, int64_t def, int64_t *out)
{
  const char *source;
  char reason[REASON_SIZE];
  int64_t v;
  if (!config || !name || !out)
    return rig_error_set(RIG_EINVAL, "rig_config_int: missing config, name or out");
  const char *value = typed_lookup(config, name, &source);
  if (!value) {
    *out = def;
    return RIG_OK;
  }
  if (parse_int(&v, value, reason) != RIG_OK)
    return config_bad_value(name, value, source, reason);
  *out = v;
  return RIG_OK;
}

int rig_config_bool(const rig_config *config, const char *name, int def, int *out)
{
  const char *source;
  char reason[REASON_SIZE];
  int v;
  if (!config || !name || !out)
    return rig_error_set(RIG_EINVAL, "rig_config_bool: missing config, name or out");
  const char *value = typed_lookup(config, name, &source);
  if (!value) {
    *out = def;
    return RIG_OK;
  }
  if (parse_bool(&v, value, reason) != RIG_OK)
    return config_bad_value(name, value, source, reason);
  *out = v;
  return RIG_OK;
}

int rig_config_port(const rig_config *config, const char *name, int def, int *out)
{
  const char *source;
  char reason[REASON_SIZE];
  int v;
  if (!config || !name || !out)
    return rig_error_set(RIG_EINVAL, "rig_config_port: missing config, name or out");
  const char *value = typed_lookup(config, name, &source);
  if (!value) {
    *out = def;
    return RIG_OK;
  }
  if (parse_port(&v, value, reason) != RIG_OK)
    return config_bad_value(name, value, source, reason);
  *out = v;
  return RIG_OK;
}
