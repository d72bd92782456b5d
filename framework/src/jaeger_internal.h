/*
 * jaeger_internal.h - what the jaeger module's files share: an arena for trace models
 * (one trace is many small strings freed together), the trace builder the JSON readers
 * fill, and the selector/condition evaluator the assertions reuse.
 */
#ifndef RIG_JAEGER_INTERNAL_H
#define RIG_JAEGER_INTERNAL_H

#include "otlp_internal.h"
#include "stackrig/jaeger.h"

/* ---- arena ---- */

typedef struct rig__jaeger_arena rig__jaeger_arena;
rig__jaeger_arena *rig__jaeger_arena_new(void);
void rig__jaeger_arena_free(rig__jaeger_arena *arena);
/* Zeroed memory that lives as long as the arena. */
void *rig__jaeger_arena_alloc(rig__jaeger_arena *arena, size_t size);
char *rig__jaeger_arena_strdup(rig__jaeger_arena *arena, const char *s);
char *rig__jaeger_arena_strndup(rig__jaeger_arena *arena, const char *s, size_t n);

/* ---- building traces ---- */

/* Spans collected from one or more answers, not yet split into traces. */
typedef struct rig__span_pile {
  rig__jaeger_arena *arena;
  rig_span *spans;
  size_t count;
  size_t cap;
} rig__span_pile;

void rig__span_pile_init(rig__span_pile *pile);
/* Frees the arena too, unless it was handed to traces. */
void rig__span_pile_dispose(rig__span_pile *pile);
/* A zeroed span at the end of the pile (strings default to ""). */
rig_span *rig__span_pile_add(rig__span_pile *pile);

/*
 * Reads any JSON shape Jaeger answers with into the pile (see rig_trace_parse()).
 * @return RIG_OK, or RIG_EPARSE naming the JSON path; an error object the server sent
 *   gives RIG_ENOTFOUND (404) or RIG_EHTTP (others) with its message.
 */
int rig__jaeger_parse_into(rig__span_pile *pile, const char *json, size_t len);

/* Splits the pile into traces by trace id (first-seen order); the list takes the arena. */
rig_trace_list *rig__trace_list_from_pile(rig__span_pile *pile);

/* "trace <id>: N spans, ..." and the span tree, for failure messages. */
void rig__describe_trace(rig_buf *buf, const rig_trace *trace);
/* A duration for humans: "250ms", "1.5s", "850us". */
void rig__put_duration(rig_buf *buf, int64_t ns);

rig_trace_list *rig__trace_list_new(void);
/* Adds a trace to a list, which takes it over. */
void rig__trace_list_append(rig_trace_list *list, rig_trace *trace);

/* A trace's arena, for callers that add data to it. */
rig__jaeger_arena *rig__trace_arena(const rig_trace *trace);

/* The query service's URL, for messages. */
const char *rig__jaeger_base_url(const rig_jaeger *client);

/* ---- selectors and conditions, shared with the assertions ---- */

typedef enum rig__op {
  RIG__OP_EQ,
  RIG__OP_NE,
  RIG__OP_LT,
  RIG__OP_LE,
  RIG__OP_GT,
  RIG__OP_GE,
  RIG__OP_CONTAINS
} rig__op;

typedef enum rig__literal_kind {
  RIG__LIT_STRING,   /* "quoted" */
  RIG__LIT_NUMBER,   /* 42, -1.5 */
  RIG__LIT_DURATION, /* 200ms */
  RIG__LIT_WORD      /* ok, server, true */
} rig__literal_kind;

/* property op literal, e.g. duration < 200ms; column is where the property starts. */
typedef struct rig__condition {
  char *property;
  rig__op op;
  rig__literal_kind kind;
  char *text;    /* the literal as written (unquoted) */
  double number; /* NUMBER: the value; DURATION: nanoseconds */
  int column;
  int attribute_only; /* written attr:NAME: an attribute even when NAME is a special name */
} rig__condition;

void rig__condition_dispose(rig__condition *condition);
/* "name = \"x\"" for messages; free() it. */
char *rig__condition_text(const rig__condition *condition);
const char *rig__op_text(rig__op op);

/*
 * Evaluates a condition on a span. When actual is not NULL it receives what the span has
 * for the property ("<absent>" when it has nothing); free() it.
 */
int rig__condition_holds(const rig__condition *condition, const rig_span *span, char **actual);

/*
 * A lexer and parser of conditions, reused by the assertion parser.
 * rig__parse_condition parses `property op literal` at *pos of text; on failure it sets
 * the last error (RIG_EPARSE with column and expected) and returns it.
 */
int rig__parse_condition(rig__condition *out, const char *what, const char *text, size_t *pos);
/* Sets an EPARSE error: `what "text": column N: expected E, found F`. */
int rig__parse_error(const char *what, const char *text, size_t pos, const char *expected);
/* Skips spaces; returns the new position. */
size_t rig__skip_space(const char *text, size_t pos);
/* Characters of names (properties, words), and a keyword not followed by a name character. */
int rig__name_start(char c);
int rig__name_char(char c);
int rig__keyword(const char *text, size_t pos, const char *word);

/* The conditions of a selector's last steps, for "closest candidate" diagnostics. */
size_t rig__selector_alternatives(const rig_selector *selector);
/* The conditions of the last step of alternative i. */
const rig__condition *rig__selector_last_conditions(const rig_selector *selector, size_t i,
                                                    size_t *count);

#endif
