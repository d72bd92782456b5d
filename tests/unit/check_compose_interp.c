/*
 * check_compose_interp.c - interpolation, case by case: every modifier, nesting, escapes,
 * laziness, and the errors (bad templates, required variables).
 */
#include <stdlib.h>
#include <string.h>

#include "compose_suite.h"
#include "compose_internal.h"

/* The environment of every case: SET=value, EMPTY="", NUM=8080, and nothing else. */
static const char *lookup(void *data, const char *name)
{
  (void)data;
  if (strcmp(name, "SET") == 0)
    return "value";
  if (strcmp(name, "EMPTY") == 0)
    return "";
  if (strcmp(name, "NUM") == 0)
    return "8080";
  if (strcmp(name, "DOLLAR") == 0)
    return "a$b";
  return NULL;
}

static void count_unset(void *data, const char *name)
{
  (void)name;
  (*(int *)data)++;
}

typedef struct interp_case {
  const char *text;
  const char *expected; /* NULL: an error */
  int code;             /* the error's code */
  const char *message;  /* the error's message, or NULL */
  int unset;            /* how many unset-variable reports */
} interp_case;

static const interp_case interp_cases[] = {
    {"plain text", "plain text", 0, NULL, 0},
    {"", "", 0, NULL, 0},
    {"$SET", "value", 0, NULL, 0},
    {"${SET}", "value", 0, NULL, 0},
    {"pre-${SET}-post", "pre-value-post", 0, NULL, 0},
    {"$SET$SET", "valuevalue", 0, NULL, 0},
    {"$SET-x", "value-x", 0, NULL, 0},
    {"${NUM}:80", "8080:80", 0, NULL, 0},
    {"$UNSET", "", 0, NULL, 1},
    {"${UNSET}", "", 0, NULL, 1},
    {"a${UNSET}b$UNSET", "ab", 0, NULL, 2},
    /* :- and - */
    {"${UNSET:-def}", "def", 0, NULL, 0},
    {"${EMPTY:-def}", "def", 0, NULL, 0},
    {"${SET:-def}", "value", 0, NULL, 0},
    {"${UNSET-def}", "def", 0, NULL, 0},
    {"${EMPTY-def}", "", 0, NULL, 0},
    {"${SET-def}", "value", 0, NULL, 0},
    {"${UNSET:-}", "", 0, NULL, 0},
    {"${UNSET:-a b c}", "a b c", 0, NULL, 0},
    {"${UNSET:-x:y/z}", "x:y/z", 0, NULL, 0},
    {"${UNSET:--}", "-", 0, NULL, 0},
    /* :+ and + */
    {"${SET:+alt}", "alt", 0, NULL, 0},
    {"${EMPTY:+alt}", "", 0, NULL, 0},
    {"${UNSET:+alt}", "", 0, NULL, 0},
    {"${SET+alt}", "alt", 0, NULL, 0},
    {"${EMPTY+alt}", "alt", 0, NULL, 0},
    {"${UNSET+alt}", "", 0, NULL, 0},
    {"${SET:+--flag=$SET}", "--flag=value", 0, NULL, 0},
    /* :? and ? */
    {"${SET:?msg}", "value", 0, NULL, 0},
    {"${SET?msg}", "value", 0, NULL, 0},
    {"${EMPTY?msg}", "", 0, NULL, 0},
    {"${UNSET:?set it please}", NULL, RIG_EINVAL,
     "required variable UNSET is missing a value: set it please", 0},
    {"${EMPTY:?is empty}", NULL, RIG_EINVAL, "required variable EMPTY is missing a value: is empty",
     0},
    {"${UNSET?}", NULL, RIG_EINVAL, "required variable UNSET is missing a value", 0},
    {"${UNSET:?need $SET}", NULL, RIG_EINVAL,
     "required variable UNSET is missing a value: need value", 0},
    /* nesting */
    {"${UNSET:-${SET}}", "value", 0, NULL, 0},
    {"${UNSET:-${ALSO_UNSET:-deep}}", "deep", 0, NULL, 0},
    {"${UNSET:-${ALSO_UNSET:-${SET}x}y}", "valuexy", 0, NULL, 0},
    {"${UNSET:-$SET}", "value", 0, NULL, 0},
    {"${UNSET:-pre${NUM}post}", "pre8080post", 0, NULL, 0},
    /* words are evaluated only when needed */
    {"${SET:-${REQUIRED:?never evaluated}}", "value", 0, NULL, 0},
    {"${SET:-$UNSET}", "value", 0, NULL, 0},
    {"${UNSET:+$ALSO_UNSET}", "", 0, NULL, 0},
    /* escapes */
    {"$$", "$", 0, NULL, 0},
    {"$$SET", "$SET", 0, NULL, 0},
    {"$${SET}", "${SET}", 0, NULL, 0},
    {"a$$$SET", "a$value", 0, NULL, 0},
    {"${UNSET:-$$}", "$", 0, NULL, 0},
    {"${DOLLAR}", "a$b", 0, NULL, 0}, /* values are not interpolated again */
    /* a brace in a default closes it, as in compose */
    {"${UNSET:-{x}}", "{x}", 0, NULL, 0},
    /* bad templates */
    {"$", NULL, RIG_EPARSE, "invalid interpolation format \"$\" (write $$ for a literal $)", 0},
    {"cost: 5$", NULL, RIG_EPARSE, NULL, 0},
    {"$1", NULL, RIG_EPARSE, NULL, 0},
    {"${", NULL, RIG_EPARSE, NULL, 0},
    {"${}", NULL, RIG_EPARSE, NULL, 0},
    {"${SET", NULL, RIG_EPARSE, NULL, 0},
    {"${SET:-abc", NULL, RIG_EPARSE, NULL, 0},
    {"${1A}", NULL, RIG_EPARSE, NULL, 0},
    {"${A B}", NULL, RIG_EPARSE, NULL, 0},
    {"${SET:x}", NULL, RIG_EPARSE, NULL, 0},
    {"${SET*}", NULL, RIG_EPARSE, NULL, 0},
    {"${UNSET:-${}", NULL, RIG_EPARSE, NULL, 0},
    {"${SET:-${BAD}", NULL, RIG_EPARSE, NULL, 0},
};

START_TEST(test_interp_table)
{
  const interp_case *c = &interp_cases[_i];
  char *out = NULL, *message = NULL;
  int unset = 0, changed = -1;
  int rc = rig__interpolate(&out, &changed, &message, c->text, lookup, NULL, count_unset, &unset);
  if (c->expected) {
    ck_assert_msg(rc == RIG_OK, "\"%s\": failed: %s", c->text, message ? message : "?");
    ck_assert_msg(strcmp(out, c->expected) == 0, "\"%s\": expected \"%s\", got \"%s\"", c->text,
                  c->expected, out);
    ck_assert_msg(unset == c->unset, "\"%s\": %d unset reports, expected %d", c->text, unset,
                  c->unset);
    ck_assert_int_eq(changed, strchr(c->text, '$') != NULL);
  } else {
    ck_assert_msg(rc == c->code, "\"%s\": expected %s, got %s (%s)", c->text,
                  rig_error_name(c->code), rig_error_name(rc), out ? out : "");
    ck_assert_ptr_nonnull(message);
    if (c->message)
      ck_assert_msg(strcmp(message, c->message) == 0, "\"%s\": message \"%s\"", c->text, message);
    else
      ck_assert_msg(strstr(message, "invalid interpolation format") != NULL,
                    "\"%s\": message \"%s\"", c->text, message);
  }
  free(out);
  free(message);
}
END_TEST

TCase *compose_interp_tcase(void)
{
  TCase *tc = tcase_create("interpolation");
  tcase_add_loop_test(tc, test_interp_table, 0,
                      (int)(sizeof interp_cases / sizeof interp_cases[0]));
  return tc;
}
