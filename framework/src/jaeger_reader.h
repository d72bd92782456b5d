/*
 * jaeger_reader.h - the JSON reading helpers the jaeger module's readers share
 * (jaeger_parse.c for OTLP JSON and dispatch, jaeger_parse_v1.c for the v1 API): a reader
 * that knows the JSON path it is at, so that every error names the bad field.
 */
#ifndef RIG_JAEGER_READER_H
#define RIG_JAEGER_READER_H

#include <json-c/json.h>

#include "jaeger_internal.h"

typedef struct rig__jreader {
  rig__span_pile *pile;
  rig__jaeger_arena *arena;
  rig_buf path; /* JSON path of the element being read, for messages */
} rig__jreader;

/* Sets RIG_EPARSE: "jaeger answer: <path>: <fmt with arg>". */
int rig__jr_fail(rig__jreader *r, const char *fmt, const char *arg);
/* Path bookkeeping: push a member or an index (returning the length to pop back to). */
size_t rig__jr_path_key(rig__jreader *r, const char *key);
size_t rig__jr_path_index(rig__jreader *r, size_t i);
void rig__jr_path_pop(rig__jreader *r, size_t saved);

/* A member of an object, or NULL; member2 takes the first of two spellings present. */
json_object *rig__jr_member(json_object *obj, const char *key);
json_object *rig__jr_member2(json_object *obj, const char *key, const char *alt);
const char *rig__jr_string_or_empty(json_object *value);

/* Typed reads; key names the member in messages. A missing value reads as zero/none. */
int rig__jr_read_int64(rig__jreader *r, json_object *value, const char *key, int64_t *out);
int rig__jr_read_double(rig__jreader *r, json_object *value, double *out);
int rig__jr_read_id(rig__jreader *r, json_object *value, const char *key, uint8_t *out, size_t size,
                    int *present);
/* RIG_OK when value is an array or absent, else an error naming key. */
int rig__jr_read_array_of(rig__jreader *r, json_object *array, const char *key);

/* The v1 API's answer (jaeger_parse_v1.c). */
int rig__jr_read_v1(rig__jreader *r, json_object *root);

#endif
