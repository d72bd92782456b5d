/*
 * jaeger_selector.c - the selector language (docs/selectors.md): a recursive-descent parser
 * of steps, combinators and pseudo-classes that reports the column and what it expected,
 * and the evaluator that picks spans of a trace. Conditions live in jaeger_condition.c.
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
  if (rig__keyword(text, p, "first")) {
    p += 5;
  } else if (rig__keyword(text, p, "last")) {
    ps.kind = PSEUDO_LAST;
    p += 4;
  } else if (strncmp(text + p, "nth_child", 9) == 0 && !rig__name_char(text[p + 9])) {
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
  if (!rig__keyword(text, p, "span"))
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
