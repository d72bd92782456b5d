/*
 * prom_parse.c - the small text formats of the Prometheus API: sample values (with NaN and
 * infinities), RFC 3339 times, Prometheus durations, and the scrape intervals in the YAML of
 * /api/v1/status/config (the fallback for servers whose targets API does not report them).
 */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "prom_internal.h"
#include "stackrig/error.h"
#include "util.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
  c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

int rig__prom_parse_value(double *out, const char *text)
{
  if (!text || !*text)
    return RIG_EPARSE;
  /* The API writes Go's strconv forms; accept them exactly rather than strtod's wider set. */
  if (strcmp(text, "NaN") == 0) {
    *out = NAN;
    return RIG_OK;
  }
  if (strcmp(text, "+Inf") == 0 || strcmp(text, "Inf") == 0) {
    *out = INFINITY;
    return RIG_OK;
  }
  if (strcmp(text, "-Inf") == 0) {
    *out = -INFINITY;
    return RIG_OK;
  }
  if (isspace((unsigned char)text[0]))
    return RIG_EPARSE;
  pthread_once(&c_locale_once, make_c_locale);
  char *end = NULL;
  errno = 0;
  /* A program may have set a locale whose decimal point is a comma: parse in "C". */
  double value = c_locale ? strtod_l(text, &end, c_locale) : strtod(text, &end);
  if (end == text || *end != '\0' || isnan(value) || isinf(value))
    return RIG_EPARSE;
  *out = value;
  return RIG_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
  int value = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return 0;
    value = value * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = value;
  return 1;
}

int rig__prom_parse_time(int64_t *out_ms, const char *text)
{
  if (!text)
    return RIG_EPARSE;
  const char *p = text;
  int year, month, day, hour, minute, second;
  if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &month) || *p++ != '-' ||
      !digits(&p, 2, &day) || (*p != 'T' && *p != 't' && *p != ' ') || !(p++, 1) ||
      !digits(&p, 2, &hour) || *p++ != ':' || !digits(&p, 2, &minute) || *p++ != ':' ||
      !digits(&p, 2, &second))
    return RIG_EPARSE;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return RIG_EPARSE;
  int64_t ms = 0;
  if (*p == '.') {
    p++;
    int scale = 100, n = 0;
    for (; isdigit((unsigned char)*p); p++, n++) {
      ms += (*p - '0') * scale;
      scale /= 10;
    }
    if (n == 0)
      return RIG_EPARSE;
  }
  int64_t offset_min = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
      return RIG_EPARSE;
    offset_min = sign * (oh * 60 + om);
  } else {
    return RIG_EPARSE;
  }
  if (*p != '\0')
    return RIG_EPARSE;
  /* Go's zero time is what the API reports for a target that was never scraped. */
  if (year == 1 && month == 1 && day == 1 && hour == 0 && minute == 0 && second == 0 && ms == 0) {
    *out_ms = 0;
    return RIG_OK;
  }
  int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                    offset_min * 60;
  *out_ms = seconds * 1000 + ms;
  return RIG_OK;
}

int rig_prom_duration_parse(int64_t *out_ms, const char *text)
{
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"ms", 1},
               {"s", 1000},
               {"m", 60000},
               {"h", 3600000},
               {"d", 86400000},
               {"w", 604800000},
               {"y", INT64_C(31536000000)}};
  if (!out_ms || !text || !*text)
    return rig_error_set(RIG_EINVAL, "invalid Prometheus duration '%s'", text ? text : "");
  if (strcmp(text, "0") == 0) {
    *out_ms = 0;
    return RIG_OK;
  }
  int64_t total = 0;
  const char *p = text;
  while (*p) {
    if (!isdigit((unsigned char)*p))
      goto invalid;
    int64_t number = 0;
    for (; isdigit((unsigned char)*p); p++) {
      if (number > INT64_MAX / 10)
        goto invalid;
      number = number * 10 + (*p - '0');
    }
    size_t best = sizeof units / sizeof units[0];
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t n = strlen(units[i].unit);
      if (strncmp(p, units[i].unit, n) == 0 && !isalpha((unsigned char)p[n])) {
        best = i;
        break;
      }
    }
    if (best == sizeof units / sizeof units[0])
      goto invalid;
    if (number > (INT64_MAX - total) / units[best].ms)
      goto invalid;
    total += number * units[best].ms;
    p += strlen(units[best].unit);
  }
  *out_ms = total;
  return RIG_OK;
invalid:
  return rig_error_set(
      RIG_EINVAL, "invalid Prometheus duration '%s' (examples: 500ms, 15s, 1m30s, 1h, 2d)", text);
}

/* ---- /api/v1/status/config ---- */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
  if (!map || map->type != YAML_MAPPING_NODE)
    return NULL;
  for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
       pair++) {
    yaml_node_t *k = yaml_document_get_node(doc, pair->key);
    if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
      return yaml_document_get_node(doc, pair->value);
  }
  return NULL;
}

static const char *scalar_of(yaml_node_t *node)
{
  return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static int interval_from_yaml(int64_t *out_ms, const char *yaml_text, const char *job)
{
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser))
    return rig_error_set(RIG_ENOMEM, "prometheus: status/config: cannot create a YAML parser");
  yaml_parser_set_input_string(&parser, (const unsigned char *)yaml_text, strlen(yaml_text));
  if (!yaml_parser_load(&parser, &doc)) {
    int rc =
        rig_error_set(RIG_EPARSE, "prometheus: status/config: YAML line %zu: %s",
                      parser.problem_mark.line + 1, parser.problem ? parser.problem : "malformed");
    yaml_parser_delete(&parser);
    return rc;
  }
  yaml_parser_delete(&parser);
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  const char *global = scalar_of(map_get(&doc, map_get(&doc, root, "global"), "scrape_interval"));
  const char *chosen = global ? global : "1m";
  int rc = RIG_OK;
  if (job) {
    int found = 0;
    yaml_node_t *configs = map_get(&doc, root, "scrape_configs");
    if (configs && configs->type == YAML_SEQUENCE_NODE) {
      for (yaml_node_item_t *item = configs->data.sequence.items.start;
           item < configs->data.sequence.items.top && !found; item++) {
        yaml_node_t *config = yaml_document_get_node(&doc, *item);
        if (!rig__streq(scalar_of(map_get(&doc, config, "job_name")), job))
          continue;
        found = 1;
        const char *own = scalar_of(map_get(&doc, config, "scrape_interval"));
        if (own)
          chosen = own;
      }
    }
    if (!found)
      rc = rig_error_set(RIG_ENOTFOUND, "prometheus: no scrape config has job_name '%s'", job);
  }
  if (rc == RIG_OK) {
    rc = rig_prom_duration_parse(out_ms, chosen);
    if (rc != RIG_OK)
      rig_error_wrap(rc, "prometheus: status/config: scrape_interval");
  }
  yaml_document_delete(&doc);
  return rc;
}

int rig__prom_parse_config_interval(int64_t *out_ms, long status, const char *body, size_t len,
                                    const char *job)
{
  json_object *root = NULL, *data = NULL, *yaml_text = NULL;
  int rc = rig__prom_decode(&root, &data, status, body, len, "status/config");
  if (rc != RIG_OK)
    return rc;
  if (!json_object_object_get_ex(data, "yaml", &yaml_text) ||
      !json_object_is_type(yaml_text, json_type_string))
    rc = rig_error_set(RIG_EPARSE, "prometheus: status/config: malformed answer: no yaml");
  else
    rc = interval_from_yaml(out_ms, json_object_get_string(yaml_text), job);
  json_object_put(root);
  return rc;
}
