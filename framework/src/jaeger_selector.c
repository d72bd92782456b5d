/*
 * jaeger_selector.c - the selector language (docs/selectors.md): a recursive-descent parser
 * that reports the column and what it expected, and the evaluator that picks spans of a
 * trace. Conditions (`property op value`) are shared with the assertions.
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

typedef enum pseudo_kind { PSEUDO_FIRST, PSEUDO_LAST, PSEUDO_NTH } pseudo_kind;

typedef struct pseudo {
  pseudo_kind kind;
  long n; /* PSEUDO_NTH: 1-based */
} pseudo;

typedef enum relation { REL_NONE, REL_DESCENDANT, REL_CHILD } relation;

typedef struct step {
  relation relation; /* to the step before */
  rig__condition *conditions;
  size_t condition_count;
  pseudo *pseudos;
  size_t pseudo_count;
} step;

typedef struct alternative {
  step *steps;
  size_t count;
} alternative;

struct rig_selector {
  char *text;
  alternative *alternatives;
  size_t count;
};

/* ---- lexing helpers ---- */

size_t rig__skip_space(const char *text, size_t pos)
{
  while (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')
    pos++;
  return pos;
}

static int name_start(char c)
{
  return isalpha((unsigned char)c) || c == '_';
}

static int name_char(char c)
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
static int keyword(const char *text, size_t pos, const char *word)
{
  size_t n = strlen(word);
  return strncmp(text + pos, word, n) == 0 && !name_char(text[pos + n]);
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
  } units[] = {{"ns", 1},         {"us", 1e3},  {"\xc2\xb5s", 1e3}, {"ms", 1e6},
               {"s", 1e9},        {"m", 60e9},  {"h", 3600e9}};
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
      if (name_char(text[q]))
        return rig__parse_error(what, text, q, "the end of the duration");
      out->kind = RIG__LIT_DURATION;
      out->number = total;
      out->text = rig__strndup(text + start, q - start);
      *pos = q;
      return RIG_OK;
    }
    if (name_char(text[p]) && text[p] != '.')
      return rig__parse_error(what, text, p, "the end of the number");
    out->kind = RIG__LIT_NUMBER;
    out->number = number;
    out->text = rig__strndup(text + start, p - start);
    *pos = p;
    return RIG_OK;
  }
  if (name_start(text[start])) {
    while (name_char(text[p]))
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
  if (keyword(text, *pos, "contains")) {
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
  if (!name_start(text[p]))
    return rig__parse_error(what, text, p, "a property name (name, service.name, kind, status, "
                                           "duration or an attribute)");
  size_t start = p;
  while (name_char(text[p]))
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
  int numeric;      /* number is meaningful */
  double number;
  int integer_ok;   /* integer is exact */
  int64_t integer;
  int enumlike;     /* compare text case-insensitively, without SPAN_KIND_ / STATUS_CODE_ */
  char *text;       /* for string comparison and messages */
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
      holds = compare_result(lhs.integer < rhs_integer ? -1 : lhs.integer > rhs_integer, condition->op);
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

/* ---- the selector parser ---- */

static const char *const WHAT = "selector";

static void step_dispose(step *st)
{
  for (size_t i = 0; i < st->condition_count; i++)
    rig__condition_dispose(&st->conditions[i]);
  free(st->conditions);
  free(st->pseudos);
}

void rig_selector_free(rig_selector *selector)
{
  if (selector == NULL)
    return;
  for (size_t a = 0; a < selector->count; a++) {
    for (size_t s = 0; s < selector->alternatives[a].count; s++)
      step_dispose(&selector->alternatives[a].steps[s]);
    free(selector->alternatives[a].steps);
  }
  free(selector->alternatives);
  free(selector->text);
  free(selector);
}

static int parse_pseudo(step *st, const char *text, size_t *pos)
{
  size_t p = *pos + 1; /* past ':' */
  pseudo ps = {PSEUDO_FIRST, 0};
  if (keyword(text, p, "first")) {
    p += 5;
  } else if (keyword(text, p, "last")) {
    ps.kind = PSEUDO_LAST;
    p += 4;
  } else if (strncmp(text + p, "nth_child", 9) == 0 && !name_char(text[p + 9])) {
    ps.kind = PSEUDO_NTH;
    p = rig__skip_space(text, p + 9);
    if (text[p] != '(')
      return rig__parse_error(WHAT, text, p, "'(' after nth_child");
    p = rig__skip_space(text, p + 1);
    if (!isdigit((unsigned char)text[p]))
      return rig__parse_error(WHAT, text, p, "a positive integer");
    errno = 0;
    char *end;
    ps.n = strtol(text + p, &end, 10);
    if (ps.n < 1 || errno != 0)
      return rig__parse_error(WHAT, text, p, "a positive integer");
    p = rig__skip_space(text, (size_t)(end - text));
    if (text[p] != ')')
      return rig__parse_error(WHAT, text, p, "')'");
    p++;
  } else {
    return rig__parse_error(WHAT, text, p, "a pseudo-class (first, last, nth_child(n))");
  }
  st->pseudos = rig__realloc(st->pseudos, (st->pseudo_count + 1) * sizeof *st->pseudos);
  st->pseudos[st->pseudo_count++] = ps;
  *pos = p;
  return RIG_OK;
}

static int parse_step(step *st, const char *text, size_t *pos)
{
  size_t p = *pos;
  if (!keyword(text, p, "span"))
    return rig__parse_error(WHAT, text, p, "'span'");
  p += 4;
  if (text[p] == '[') {
    p = rig__skip_space(text, p + 1);
    if (text[p] == ']')
      return rig__parse_error(WHAT, text, p, "a condition such as name=\"GET /\"");
    for (;;) {
      rig__condition condition;
      int rc = rig__parse_condition(&condition, WHAT, text, &p);
      if (rc != RIG_OK)
        return rc;
      st->conditions =
          rig__realloc(st->conditions, (st->condition_count + 1) * sizeof *st->conditions);
      st->conditions[st->condition_count++] = condition;
      size_t after = p;
      p = rig__skip_space(text, p);
      if (text[p] == ']') {
        p++;
        break;
      }
      if (p == after)
        return rig__parse_error(WHAT, text, p, "']' or a space and another condition");
    }
  }
  while (text[p] == ':') {
    int rc = parse_pseudo(st, text, &p);
    if (rc != RIG_OK)
      return rc;
  }
  *pos = p;
  return RIG_OK;
}

static int parse_alternative(alternative *alt, const char *text, size_t *pos)
{
  size_t p = *pos;
  relation next = REL_NONE;
  for (;;) {
    alt->steps = rig__realloc(alt->steps, (alt->count + 1) * sizeof *alt->steps);
    step *st = &alt->steps[alt->count++];
    memset(st, 0, sizeof *st);
    st->relation = next;
    int rc = parse_step(st, text, &p);
    if (rc != RIG_OK)
      return rc;
    size_t after = p;
    p = rig__skip_space(text, p);
    if (text[p] == '>') {
      next = REL_CHILD;
      p = rig__skip_space(text, p + 1);
    } else if (text[p] == ',' || text[p] == '\0') {
      break;
    } else if (p > after) {
      next = REL_DESCENDANT;
    } else {
      return rig__parse_error(WHAT, text, p,
                              "',', '>', a space and another 'span', or the end of the selector");
    }
  }
  *pos = p;
  return RIG_OK;
}

int rig_selector_parse(rig_selector **out, const char *text)
{
  if (out == NULL || text == NULL)
    return rig_error_set(RIG_EINVAL, "rig_selector_parse: no text or out");
  rig_selector *selector = rig__calloc(1, sizeof *selector);
  selector->text = rig__strdup(text);
  size_t p = rig__skip_space(text, 0);
  int rc = RIG_OK;
  for (;;) {
    selector->alternatives = rig__realloc(selector->alternatives,
                                          (selector->count + 1) * sizeof *selector->alternatives);
    alternative *alt = &selector->alternatives[selector->count++];
    memset(alt, 0, sizeof *alt);
    if ((rc = parse_alternative(alt, text, &p)) != RIG_OK)
      break;
    if (text[p] == '\0')
      break;
    p = rig__skip_space(text, p + 1); /* past ',' */
  }
  if (rc != RIG_OK) {
    rig_selector_free(selector);
    return rc;
  }
  *out = selector;
  return RIG_OK;
}

const char *rig_selector_text(const rig_selector *selector)
{
  return selector ? selector->text : "";
}

size_t rig__selector_alternatives(const rig_selector *selector)
{
  return selector->count;
}

const rig__condition *rig__selector_last_conditions(const rig_selector *selector, size_t i,
                                                   size_t *count)
{
  const alternative *alt = &selector->alternatives[i];
  const step *last = &alt->steps[alt->count - 1];
  *count = last->condition_count;
  return last->conditions;
}

/* ---- evaluation ---- */

static int step_holds(const step *st, const rig_span *span)
{
  for (size_t i = 0; i < st->condition_count; i++)
    if (!rig__condition_holds(&st->conditions[i], span, NULL))
      return 0;
  return 1;
}

int rig_selector_matches_span(const rig_selector *selector, const rig_span *span)
{
  if (selector == NULL || span == NULL)
    return 0;
  for (size_t a = 0; a < selector->count; a++) {
    const alternative *alt = &selector->alternatives[a];
    if (step_holds(&alt->steps[alt->count - 1], span))
      return 1;
  }
  return 0;
}

/* Pseudo-classes pick from the list the step matched so far, in trace order. */
static size_t apply_pseudos(const step *st, size_t *list, size_t n)
{
  for (size_t i = 0; i < st->pseudo_count; i++) {
    const pseudo *ps = &st->pseudos[i];
    if (n == 0)
      return 0;
    if (ps->kind == PSEUDO_FIRST) {
      n = 1;
    } else if (ps->kind == PSEUDO_LAST) {
      list[0] = list[n - 1];
      n = 1;
    } else if ((size_t)ps->n <= n) {
      list[0] = list[ps->n - 1];
      n = 1;
    } else {
      n = 0;
    }
  }
  return n;
}

static void select_alternative(const alternative *alt, const rig_trace *trace, char *picked)
{
  size_t count = rig_trace_span_count(trace);
  size_t *list = rig__malloc((count ? count : 1) * sizeof *list);
  char *current = rig__calloc(count ? count : 1, 1);
  size_t n = 0;
  for (size_t s = 0; s < alt->count; s++) {
    const step *st = &alt->steps[s];
    n = 0;
    for (size_t i = 0; i < count; i++) {
      const rig_span *span = rig_trace_span(trace, i);
      if (!step_holds(st, span))
        continue;
      if (st->relation == REL_CHILD && !(span->parent && current[span->parent->index]))
        continue;
      if (st->relation == REL_DESCENDANT) {
        const rig_span *up = span->parent;
        size_t guard = 0;
        while (up && !current[up->index] && guard++ < count)
          up = up->parent;
        if (up == NULL || !current[up->index])
          continue;
      }
      list[n++] = i;
    }
    n = apply_pseudos(st, list, n);
    memset(current, 0, count ? count : 1);
    for (size_t i = 0; i < n; i++)
      current[list[i]] = 1;
  }
  for (size_t i = 0; i < count; i++)
    picked[i] |= current[i];
  free(current);
  free(list);
}

int rig_selector_select(rig_selection **out, const rig_selector *selector, const rig_trace *trace)
{
  if (out == NULL || selector == NULL || trace == NULL)
    return rig_error_set(RIG_EINVAL, "rig_selector_select: no selector, trace or out");
  size_t count = rig_trace_span_count(trace);
  char *picked = rig__calloc(count ? count : 1, 1);
  for (size_t a = 0; a < selector->count; a++)
    select_alternative(&selector->alternatives[a], trace, picked);
  rig_selection *selection = rig__calloc(1, sizeof *selection);
  selection->spans = rig__malloc((count ? count : 1) * sizeof *selection->spans);
  for (size_t i = 0; i < count; i++)
    if (picked[i])
      selection->spans[selection->count++] = rig_trace_span(trace, i);
  free(picked);
  *out = selection;
  return RIG_OK;
}

void rig_selection_free(rig_selection *selection)
{
  if (selection == NULL)
    return;
  free(selection->spans);
  free(selection);
}
