/*
 * jaeger_condition.c - conditions (`property op value`), the part of the selector language
 * that selectors and assertions share: lexing values (strings, numbers, durations, words),
 * parse errors with a column, and evaluating a condition on a span with the comparison
 * rules of docs/selectors.md.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jaeger_internal.h"
#include "stackrig/error.h"

/* ---- lexing helpers ---- */

size_t rig__skip_space(const char *text, size_t pos)
{
  while (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')
    pos++;
  return pos;
}

int rig__name_start(char c)
{
  return isalpha((unsigned char)c) || c == '_';
}

int rig__name_char(char c)
{
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '/' || c == '@';
}

int rig__parse_error(const char *what, const char *text, size_t pos, const char *expected)
{
  char found[48];
  if (text[pos] == '\0')
    snprintf(found, sizeof found, "the end");
  else if (isprint((unsigned char)text[pos]))
    snprintf(found, sizeof found, "'%c'", text[pos]);
  else
    snprintf(found, sizeof found, "byte 0x%02x", (unsigned char)text[pos]);
  rig_error_set(RIG_EPARSE, "%s \"%s\": column %zu: expected %s, found %s", what, text, pos + 1,
                expected, found);
  rig_error_add_detail("column", "%zu", pos + 1);
  rig_error_add_detail("expected", "%s", expected);
  return RIG_EPARSE;
}

/* Matches a keyword that is not the start of a longer name. */
int rig__keyword(const char *text, size_t pos, const char *word)
{
  size_t n = strlen(word);
  return strncmp(text + pos, word, n) == 0 && !rig__name_char(text[pos + n]);
}

/* ---- durations and numbers ---- */

/* Reads "1.5", "-3", "2e3" at text[*pos]; returns 0 when there is no number there. */
static int read_number(const char *text, size_t *pos, double *out)
{
  const char *start = text + *pos;
  const char *p = start;
  if (*p == '-' || *p == '+')
    p++;
  if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
    return 0;
  while (isdigit((unsigned char)*p))
    p++;
  if (*p == '.' && isdigit((unsigned char)p[1])) {
    p++;
    while (isdigit((unsigned char)*p))
      p++;
  }
  /* An exponent only when digits follow, so that "2e" is not swallowed. */
  if ((*p == 'e' || *p == 'E') &&
      (isdigit((unsigned char)p[1]) ||
       ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
    p += 2;
    while (isdigit((unsigned char)*p))
      p++;
  }
  char *copy = rig__strndup(start, (size_t)(p - start));
  *out = strtod(copy, NULL);
  free(copy);
  *pos += (size_t)(p - start);
  return 1;
}

/* Reads a duration unit at text[*pos]; returns its nanoseconds, or 0 when there is none. */
static double read_unit(const char *text, size_t *pos)
{
  static const struct {
    const char *unit;
    double ns;
  } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
               {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  /* Longest first matters: "ms" before "m" and "s". */
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    size_t n = strlen(units[i].unit);
    if (strncmp(text + *pos, units[i].unit, n) == 0 && !isalpha((unsigned char)text[*pos + n])) {
      *pos += n;
      return units[i].ns;
    }
  }
  return 0;
}

/* A whole string as a number ("42", "-1.5e3"); 1 when it is one. */
static int text_is_number(const char *s, double *out)
{
  if (s == NULL)
    return 0;
  size_t pos = 0;
  while (s[pos] == ' ')
    pos++;
  double v;
  if (!read_number(s, &pos, &v))
    return 0;
  while (s[pos] == ' ')
    pos++;
  if (s[pos] != '\0')
    return 0;
  *out = v;
  return 1;
}

/* A whole string as a duration ("250ms", "1m30s"); 1 when it is one. */
static int text_is_duration(const char *s, double *out_ns)
{
  size_t pos = 0;
  double total = 0;
  int parts = 0;
  while (s[pos] != '\0') {
    double v, unit;
    if (!read_number(s, &pos, &v) || (unit = read_unit(s, &pos)) == 0)
      return 0;
    total += v * unit;
    parts++;
  }
  if (parts == 0)
    return 0;
  *out_ns = total;
  return 1;
}

/* ---- conditions ---- */

const char *rig__op_text(rig__op op)
{
  static const char *const names[] = {"=", "!=", "<", "<=", ">", ">=", "contains"};
  return names[op];
}

void rig__condition_dispose(rig__condition *condition)
{
  if (condition == NULL)
    return;
  free(condition->property);
  free(condition->text);
  memset(condition, 0, sizeof *condition);
}

char *rig__condition_text(const rig__condition *condition)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_printf(&buf, "%s%s %s ", condition->attribute_only ? "attr:" : "", condition->property,
                  rig__op_text(condition->op));
  if (condition->kind == RIG__LIT_STRING)
    rig__json_string(&buf, condition->text);
  else
    rig__buf_puts(&buf, condition->text);
  return rig__buf_detach(&buf);
}

static int parse_string(char **out, const char *what, const char *text, size_t *pos)
{
  char quote = text[*pos];
  size_t p = *pos + 1;
  rig_buf buf = RIG_BUF_INIT;
  while (text[p] != quote) {
    if (text[p] == '\0') {
      rig__buf_dispose(&buf);
      return rig__parse_error(what, text, p, quote == '"' ? "a closing '\"'" : "a closing \"'\"");
    }
    if (text[p] == '\\' && text[p + 1] != '\0') {
      p++;
      char c = text[p];
      rig__buf_putc(&buf, c == 'n' ? '\n' : c == 't' ? '\t' : c);
    } else {
      rig__buf_putc(&buf, text[p]);
    }
    p++;
  }
  *out = rig__buf_detach(&buf);
  *pos = p + 1;
  return RIG_OK;
}

static int parse_literal(rig__condition *out, const char *what, const char *text, size_t *pos)
{
  size_t start = *pos;
  if (text[start] == '"' || text[start] == '\'') {
    out->kind = RIG__LIT_STRING;
    return parse_string(&out->text, what, text, pos);
  }
  size_t p = start;
  double number;
  if (read_number(text, &p, &number)) {
    if (isalpha((unsigned char)text[p]) || (unsigned char)text[p] == 0xc2) {
      /* A duration: one or more number+unit parts ("1m30s"). */
      double total = 0;
      size_t q = start;
      for (;;) {
        double v;
        size_t before = q;
        if (!read_number(text, &q, &v)) {
          q = before;
          break;
        }
        double unit = read_unit(text, &q);
        if (unit == 0)
          return rig__parse_error(what, text, q, "a duration unit (ns, us, ms, s, m, h)");
        total += v * unit;
        if (!isdigit((unsigned char)text[q]))
          break;
      }
      if (rig__name_char(text[q]))
        return rig__parse_error(what, text, q, "the end of the duration");
      out->kind = RIG__LIT_DURATION;
      out->number = total;
      out->text = rig__strndup(text + start, q - start);
      *pos = q;
      return RIG_OK;
    }
    if (rig__name_char(text[p]) && text[p] != '.')
      return rig__parse_error(what, text, p, "the end of the number");
    out->kind = RIG__LIT_NUMBER;
    out->number = number;
    out->text = rig__strndup(text + start, p - start);
    *pos = p;
    return RIG_OK;
  }
  if (rig__name_start(text[start])) {
    while (rig__name_char(text[p]))
      p++;
    out->kind = RIG__LIT_WORD;
    out->text = rig__strndup(text + start, p - start);
    *pos = p;
    return RIG_OK;
  }
  return rig__parse_error(what, text, start,
                          "a value (a \"string\", a number, a duration such as 200ms, or a word)");
}

static int parse_op(rig__op *out, const char *text, size_t *pos)
{
  const char *p = text + *pos;
  static const struct {
    const char *token;
    rig__op op;
  } ops[] = {{"==", RIG__OP_EQ}, {"!=", RIG__OP_NE}, {"<=", RIG__OP_LE}, {">=", RIG__OP_GE},
             {"=", RIG__OP_EQ},  {"<", RIG__OP_LT},  {">", RIG__OP_GT}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    size_t n = strlen(ops[i].token);
    if (strncmp(p, ops[i].token, n) == 0) {
      *out = ops[i].op;
      *pos += n;
      return 1;
    }
  }
  if (rig__keyword(text, *pos, "contains")) {
    *out = RIG__OP_CONTAINS;
    *pos += strlen("contains");
    return 1;
  }
  return 0;
}

int rig__parse_condition(rig__condition *out, const char *what, const char *text, size_t *pos)
{
  rig__condition condition;
  memset(&condition, 0, sizeof condition);
  size_t p = *pos;
  condition.column = (int)p + 1;
  /* Tracetest writes attributes as attr:name; accept that spelling too. */
  if (strncmp(text + p, "attr:", 5) == 0) {
    condition.attribute_only = 1;
    p += 5;
  }
  if (!rig__name_start(text[p]))
    return rig__parse_error(what, text, p,
                            "a property name (name, service.name, kind, status, "
                            "duration or an attribute)");
  size_t start = p;
  while (rig__name_char(text[p]))
    p++;
  /* A name never ends in '.', so that "a.b." reads as a typo rather than a new key. */
  if (text[p - 1] == '.' || text[p - 1] == '-')
    return rig__parse_error(what, text, p - 1, "a letter or digit after the dot");
  condition.property = rig__strndup(text + start, p - start);
  p = rig__skip_space(text, p);
  if (!parse_op(&condition.op, text, &p)) {
    free(condition.property);
    return rig__parse_error(what, text, p, "an operator (=, !=, <, <=, >, >=, contains)");
  }
  p = rig__skip_space(text, p);
  int rc = parse_literal(&condition, what, text, &p);
  if (rc != RIG_OK) {
    rig__condition_dispose(&condition);
    return rc;
  }
  *out = condition;
  *pos = p;
  return RIG_OK;
}

/* ---- evaluating a condition on a span ---- */

typedef struct operand {
  int present;
  int numeric; /* number is meaningful */
  double number;
  int integer_ok; /* integer is exact */
  int64_t integer;
  int enumlike;           /* compare text case-insensitively, without SPAN_KIND_ / STATUS_CODE_ */
  char *text;             /* for string comparison and messages */
  const rig_value *array; /* an ARRAY value, for contains */
} operand;

static void operand_dispose(operand *o)
{
  free(o->text);
}

static void operand_from_value(operand *o, const rig_value *value)
{
  o->present = 1;
  o->text = rig__value_to_text(value);
  switch (value->type) {
  case RIG_VALUE_INT:
    o->numeric = 1;
    o->number = (double)value->integer;
    o->integer_ok = 1;
    o->integer = value->integer;
    break;
  case RIG_VALUE_DOUBLE:
    o->numeric = 1;
    o->number = value->number;
    break;
  case RIG_VALUE_STRING:
    o->numeric = text_is_number(value->string, &o->number);
    break;
  case RIG_VALUE_ARRAY:
    o->array = value;
    break;
  default:
    break;
  }
}

static void resolve(operand *o, const rig_span *span, const char *property, int attribute_only)
{
  memset(o, 0, sizeof *o);
  o->present = 1;
  if (attribute_only) {
    const rig_value *value = rig_span_attribute(span, property);
    if (value == NULL) {
      o->present = 0;
      o->text = rig__strdup("<absent>");
      return;
    }
    operand_from_value(o, value);
  } else if (strcmp(property, "name") == 0) {
    o->text = rig__strdup(span->name);
  } else if (strcmp(property, "service.name") == 0 || strcmp(property, "service") == 0) {
    o->text = rig__strdup(span->service);
  } else if (strcmp(property, "kind") == 0) {
    o->text = rig__strdup(rig_span_kind_name(span->kind));
    o->enumlike = 1;
  } else if (strcmp(property, "status") == 0 || strcmp(property, "status.code") == 0) {
    o->text = rig__strdup(rig_status_code_name(span->status));
    o->enumlike = 1;
  } else if (strcmp(property, "status.message") == 0) {
    o->text = rig__strdup(span->status_message);
  } else if (strcmp(property, "duration") == 0) {
    o->numeric = 1;
    o->number = (double)span->duration_ns;
    o->integer_ok = 1;
    o->integer = span->duration_ns;
    rig_buf buf = RIG_BUF_INIT;
    rig__put_duration(&buf, span->duration_ns);
    o->text = rig__buf_detach(&buf);
  } else if (strcmp(property, "trace_id") == 0) {
    o->text = rig__strdup(span->trace_id_hex);
  } else if (strcmp(property, "span_id") == 0) {
    o->text = rig__strdup(span->span_id_hex);
  } else if (strcmp(property, "parent_id") == 0) {
    o->text = rig__strdup(span->parent_span_id_hex);
  } else if (strcmp(property, "scope.name") == 0) {
    o->text = rig__strdup(span->scope_name);
  } else if (strcmp(property, "scope.version") == 0) {
    o->text = rig__strdup(span->scope_version);
  } else {
    const rig_value *value = rig_span_attribute(span, property);
    if (value == NULL) {
      o->present = 0;
      o->text = rig__strdup("<absent>");
      return;
    }
    operand_from_value(o, value);
  }
}

/* "SPAN_KIND_SERVER" and "Server" both mean "server". */
static char *normalise_enum(const char *text)
{
  const char *p = text;
  if (strncasecmp(p, "span_kind_", 10) == 0)
    p += 10;
  else if (strncasecmp(p, "status_code_", 12) == 0)
    p += 12;
  char *copy = rig__strdup(p);
  for (char *c = copy; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  return copy;
}

static int compare_result(int cmp, rig__op op)
{
  switch (op) {
  case RIG__OP_EQ:
    return cmp == 0;
  case RIG__OP_NE:
    return cmp != 0;
  case RIG__OP_LT:
    return cmp < 0;
  case RIG__OP_LE:
    return cmp <= 0;
  case RIG__OP_GT:
    return cmp > 0;
  case RIG__OP_GE:
    return cmp >= 0;
  default:
    return 0;
  }
}

static int compare_numbers(double a, double b, rig__op op)
{
  if (isnan(a) || isnan(b))
    return op == RIG__OP_NE;
  return compare_result(a < b ? -1 : a > b ? 1 : 0, op);
}

int rig__condition_holds(const rig__condition *condition, const rig_span *span, char **actual)
{
  operand lhs;
  resolve(&lhs, span, condition->property, condition->attribute_only);
  int holds = 0;
  double rhs_number = 0;
  int rhs_numeric = 0;
  if (condition->kind == RIG__LIT_DURATION || condition->kind == RIG__LIT_NUMBER) {
    rhs_numeric = 1;
    rhs_number = condition->number;
  } else if (text_is_number(condition->text, &rhs_number)) {
    rhs_numeric = 1;
  } else if (strcmp(condition->property, "duration") == 0 &&
             text_is_duration(condition->text, &rhs_number)) {
    rhs_numeric = 1;
  }
  if (!lhs.present) {
    holds = 0;
  } else if (condition->op == RIG__OP_CONTAINS) {
    if (lhs.array != NULL) {
      for (size_t i = 0; i < lhs.array->count && !holds; i++) {
        char *item = rig__value_to_text(&lhs.array->items[i]);
        holds = strcmp(item, condition->text) == 0;
        free(item);
      }
    } else {
      holds = strstr(lhs.text, condition->text) != NULL;
    }
  } else if (condition->kind == RIG__LIT_DURATION) {
    /* A duration only compares with something numeric (nanoseconds) or duration-like. */
    double lhs_ns;
    if (lhs.numeric)
      holds = compare_numbers(lhs.number, rhs_number, condition->op);
    else if (text_is_duration(lhs.text, &lhs_ns))
      holds = compare_numbers(lhs_ns, rhs_number, condition->op);
  } else if (lhs.numeric && rhs_numeric) {
    int64_t rhs_integer;
    char *end;
    errno = 0;
    rhs_integer = strtoll(condition->text, &end, 10);
    if (lhs.integer_ok && *end == '\0' && errno == 0 && condition->text[0] != '\0')
      holds =
          compare_result(lhs.integer < rhs_integer ? -1 : lhs.integer > rhs_integer, condition->op);
    else
      holds = compare_numbers(lhs.number, rhs_number, condition->op);
  } else if (lhs.enumlike) {
    char *a = normalise_enum(lhs.text), *b = normalise_enum(condition->text);
    holds = compare_result(strcmp(a, b), condition->op);
    free(a);
    free(b);
  } else {
    holds = compare_result(strcmp(lhs.text, condition->text), condition->op);
  }
  if (actual)
    *actual = rig__strdup(lhs.text);
  operand_dispose(&lhs);
  return holds;
}
