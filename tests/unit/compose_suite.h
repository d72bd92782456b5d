/*
 * compose_suite.h - the parts of the compose suite kept in their own files, and the JSON
 * comparison they share.
 */
#ifndef RIG_COMPOSE_SUITE_H
#define RIG_COMPOSE_SUITE_H

#include <check.h>
#include <json-c/json.h>

TCase *compose_interp_tcase(void);
TCase *compose_merge_tcase(void);

/*
 * Compares two JSON values by value (object key order and formatting do not matter).
 * @return NULL when equal, else a malloc'd description of the first difference, e.g.
 *   "services.web.ports[0].published: expected \"8080\", got \"8081\""
 */
char *compose_json_diff(json_object *expected, json_object *actual);

#endif
