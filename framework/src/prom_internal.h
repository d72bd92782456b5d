/*
 * prom_internal.h - what the prom module's files share: the API call, the parsers of each
 * answer (reachable from the unit tests, which feed them recorded answers), and PromQL
 * string quoting.
 */
#ifndef RIG_PROM_INTERNAL_H
#define RIG_PROM_INTERNAL_H

#include <json-c/json.h>

#include "stackrig/prom.h"
#include "util.h"

/* Checks an answer's envelope ({status, data, errorType, error}) and gives back its root
 * (json_object_put() it) and data member; an error answer becomes a rig error naming what:
 * "prometheus: <what>: <errorType>: <error>". */
int rig__prom_decode(json_object **out_root, json_object **out_data, long status, const char *body,
                     size_t len, const char *what);

/* Parses an answer of /api/v1/query or /api/v1/query_range as the server sent it (HTTP
 * status and body). what names the request in messages ("query 'up'"). */
int rig__prom_parse_result(rig_prom_result **out, long status, const char *body, size_t len,
                           const char *expr, const char *what);
/* Parses an answer of /api/v1/targets. */
int rig__prom_parse_targets(rig_prom_target_list **out, long status, const char *body, size_t len);
/* Parses an answer of /api/v1/series. */
int rig__prom_parse_series(rig_prom_label_sets **out, long status, const char *body, size_t len,
                           const char *what);
/* Parses an answer of /api/v1/status/config and finds the job's scrape interval (the global
 * one when job is NULL or has none, 1m when neither is set). RIG_ENOTFOUND for a job that is
 * not configured. */
int rig__prom_parse_config_interval(int64_t *out_ms, long status, const char *body, size_t len,
                                    const char *job);
/* A sample value as the API writes it: "1", "0.25", "NaN", "+Inf", "-Inf". */
int rig__prom_parse_value(double *out, const char *text);
/* RFC 3339 ("2024-05-01T12:00:01.123456789Z", "...+02:00") to Unix ms; the zero time
 * "0001-01-01T00:00:00Z" is 0. */
int rig__prom_parse_time(int64_t *out_ms, const char *text);

/* Performs a request against the API and returns the answer's status and body (which the
 * caller frees). form is an x-www-form-urlencoded body (POST) or NULL (GET). */
int rig__prom_call(rig_prom *prom, const char *path, const char *form, long *out_status,
                   char **out_body, size_t *out_len);

/* Appends text as a PromQL double-quoted string literal (with the quotes). */
void rig__prom_quote(rig_buf *buf, const char *text);
/* Appends a number as PromQL and the API write it ("NaN", "+Inf", shortest round trip). */
void rig__prom_format_value(rig_buf *buf, double value);

/* Decides the verdict of a pipeline report from its counters and writes its message. */
void rig__prom_pipeline_judge(rig_prom_pipeline_report *report, rig_buf *message);

/* The client's request timeout, used to bound waits. */
int64_t rig__prom_timeout_ms(const rig_prom *prom);

#endif
