/*
 * check_traceparent.c - W3C Trace Context: the spec's valid and invalid traceparent values
 * (fixtures/traceparent/vectors.tsv), formatting, traceresponse, generation and the id hex
 * helpers.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "testutil.h"
#include "util.h"

/* Turns the fixture's `\t` escapes into TAB characters. */
static char *unescape(const char *s)
{
  rig_buf buf = RIG_BUF_INIT;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] == 't') {
      rig__buf_putc(&buf, '\t');
      s++;
    } else {
      rig__buf_putc(&buf, *s);
    }
  }
  return rig__buf_detach(&buf);
}

static void hex_of(char *out, const uint8_t *bytes, size_t n)
{
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", bytes[i]);
}

START_TEST(spec_vectors)
{
  char *path = rig_test_path("fixtures/traceparent/vectors.tsv");
  char *text = NULL;
  ck_assert_int_eq(rig__read_file(&text, NULL, path), RIG_OK);
  int cases = 0, valid = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#' || line[0] == '\0')
      continue;
    char *fields[6] = {0};
    size_t nf = 0;
    char *p = line;
    while (nf < 6) {
      fields[nf++] = p;
      char *tab = strchr(p, '\t');
      if (!tab)
        break;
      *tab = '\0';
      p = tab + 1;
    }
    ck_assert_msg(nf >= 4, "malformed fixture line: %s", line);
    char *value = unescape(fields[1]);
    rig_traceparent tp;
    memset(&tp, 0xAB, sizeof tp);
    rig_error_clear();
    int rc = rig_traceparent_parse(&tp, value);
    if (strcmp(fields[0], "ok") == 0) {
      ck_assert_msg(rc == RIG_OK, "expected valid: '%s': %s", value,
                    rig_error_last() ? rig_error_last()->text : "");
      char hex[33];
      hex_of(hex, &tp.version, 1);
      ck_assert_str_eq(hex, fields[2]);
      hex_of(hex, tp.trace_id, 16);
      ck_assert_str_eq(hex, fields[3]);
      hex_of(hex, tp.span_id, 8);
      ck_assert_str_eq(hex, fields[4]);
      hex_of(hex, &tp.flags, 1);
      ck_assert_str_eq(hex, fields[5]);
      /* traceresponse has the same layout and rules. */
      rig_traceparent tr;
      ck_assert_int_eq(rig_traceresponse_parse(&tr, value), RIG_OK);
      ck_assert_mem_eq(&tr, &tp, sizeof tp);
      valid++;
    } else {
      ck_assert_msg(rc == RIG_EPARSE, "expected invalid: '%s'", value);
      const rig_error *err = rig_error_last();
      ck_assert_ptr_nonnull(err);
      ck_assert_msg(strstr(err->message, fields[3]) != NULL, "'%s': message '%s' lacks '%s'", value,
                    err->message, fields[3]);
      const char *column = rig_error_detail_get(err, "column");
      ck_assert_ptr_nonnull(column);
      ck_assert_msg(strcmp(column, fields[2]) == 0, "'%s': column %s, expected %s (%s)", value,
                    column, fields[2], err->message);
      /* The output is untouched on failure. */
      for (size_t i = 0; i < sizeof tp; i++)
        ck_assert_uint_eq(((unsigned char *)&tp)[i], 0xAB);
      ck_assert_int_eq(rig_traceresponse_parse(&tp, value), RIG_EPARSE);
      ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "traceresponse"));
    }
    free(value);
    cases++;
  }
  ck_assert_int_ge(cases, 40);
  ck_assert_int_ge(valid, 10);
  free(text);
  free(path);
}
END_TEST

START_TEST(parse_n_needs_no_terminator)
{
  const char *header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01GARBAGE";
  rig_traceparent tp;
  ck_assert_int_eq(rig_traceparent_parse_n(&tp, header, RIG_TRACEPARENT_LEN), RIG_OK);
  ck_assert_uint_eq(tp.flags, 1);
  ck_assert_int_eq(rig_traceparent_parse_n(&tp, header, RIG_TRACEPARENT_LEN + 1), RIG_EPARSE);
  ck_assert_int_eq(rig_traceparent_parse(&tp, NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_traceparent_parse(NULL, header), RIG_EINVAL);
}
END_TEST

START_TEST(long_values_are_quoted_truncated)
{
  char value[400];
  memset(value, 'a', sizeof value - 1);
  value[sizeof value - 1] = '\0';
  rig_traceparent tp;
  ck_assert_int_eq(rig_traceparent_parse(&tp, value), RIG_EPARSE);
  ck_assert_int_lt(strlen(rig_error_last()->message), 200);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "...\""));
}
END_TEST

START_TEST(format_round_trips)
{
  rig_traceparent tp;
  const char *in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ck_assert_int_eq(rig_traceparent_parse(&tp, in), RIG_OK);
  char out[RIG_TRACEPARENT_LEN + 1];
  memset(out, 'x', sizeof out);
  rig_traceparent_format(out, &tp);
  ck_assert_str_eq(out, in);
  rig_traceresponse_format(out, &tp);
  ck_assert_str_eq(out, in);
  ck_assert_int_eq(rig_traceparent_sampled(&tp), 1);
  /* A future version is propagated as 00, dropping the fields this library does not know. */
  ck_assert_int_eq(rig_traceparent_parse(&tp,
                                         "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-"
                                         "00-future"),
                   RIG_OK);
  ck_assert_uint_eq(tp.version, 0xcc);
  ck_assert_int_eq(rig_traceparent_sampled(&tp), 0);
  rig_traceparent_format(out, &tp);
  ck_assert_str_eq(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}
END_TEST

START_TEST(new_makes_valid_distinct_ids)
{
  rig_traceparent a, b;
  ck_assert_int_eq(rig_traceparent_new(&a, NULL, 1), RIG_OK);
  ck_assert_int_eq(rig_traceparent_new(&b, NULL, 0), RIG_OK);
  ck_assert(rig_trace_id_is_valid(a.trace_id));
  ck_assert(rig_span_id_is_valid(a.span_id));
  ck_assert_uint_eq(a.version, 0);
  ck_assert_uint_eq(a.flags, RIG_TRACE_FLAG_SAMPLED);
  ck_assert_uint_eq(b.flags, 0);
  ck_assert(memcmp(a.trace_id, b.trace_id, 16) != 0);
  /* What we make parses back to itself. */
  char text[RIG_TRACEPARENT_LEN + 1];
  rig_traceparent_format(text, &a);
  rig_traceparent back;
  ck_assert_int_eq(rig_traceparent_parse(&back, text), RIG_OK);
  ck_assert_mem_eq(&back, &a, sizeof a);
}
END_TEST

START_TEST(new_child_continues_parent)
{
  rig_traceparent parent, child;
  ck_assert_int_eq(rig_traceparent_parse(&parent, "00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                                  "00f067aa0ba902b7-01"),
                   RIG_OK);
  ck_assert_int_eq(rig_traceparent_new(&child, &parent, -1), RIG_OK);
  ck_assert_mem_eq(child.trace_id, parent.trace_id, 16);
  ck_assert(memcmp(child.span_id, parent.span_id, 8) != 0);
  ck_assert_uint_eq(child.flags, RIG_TRACE_FLAG_SAMPLED);
  ck_assert_int_eq(rig_traceparent_new(&child, &parent, 0), RIG_OK);
  ck_assert_uint_eq(child.flags, 0);
  parent.flags = 0;
  ck_assert_int_eq(rig_traceparent_new(&child, &parent, -1), RIG_OK);
  ck_assert_uint_eq(child.flags, 0);
  ck_assert_int_eq(rig_traceparent_new(&child, NULL, -1), RIG_OK);
  ck_assert_uint_eq(child.flags, 0);
  ck_assert_int_eq(rig_traceparent_new(NULL, NULL, 1), RIG_EINVAL);
}
END_TEST

START_TEST(many_ids_never_zero_nor_repeated)
{
  enum { N = 2000 };
  uint8_t(*ids)[8] = rig__malloc(N * 8);
  for (int i = 0; i < N; i++) {
    rig_traceparent tp;
    ck_assert_int_eq(rig_traceparent_new(&tp, NULL, 1), RIG_OK);
    ck_assert(rig_span_id_is_valid(tp.span_id));
    memcpy(ids[i], tp.span_id, 8);
  }
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++)
      ck_assert(memcmp(ids[i], ids[j], 8) != 0);
  free(ids);
}
END_TEST

START_TEST(hex_helpers)
{
  uint8_t tid[16], sid[8];
  char hex[33];
  ck_assert_int_eq(rig_trace_id_from_hex(tid, "4BF92F3577B34DA6A3CE929D0E0E4736"), RIG_OK);
  rig_trace_id_to_hex(hex, tid);
  ck_assert_str_eq(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
  /* Short ids get their leading zeros back (64-bit ids, ids printed without padding). */
  ck_assert_int_eq(rig_trace_id_from_hex(tid, "abc"), RIG_OK);
  rig_trace_id_to_hex(hex, tid);
  ck_assert_str_eq(hex, "00000000000000000000000000000abc");
  ck_assert_int_eq(rig_span_id_from_hex(sid, "f067aa0ba902b7"), RIG_OK);
  char shex[17];
  rig_span_id_to_hex(shex, sid);
  ck_assert_str_eq(shex, "00f067aa0ba902b7");
  ck_assert(rig_span_id_is_valid(sid));
  /* Failures leave the output alone. */
  memset(sid, 7, sizeof sid);
  ck_assert_int_eq(rig_span_id_from_hex(sid, "00f067aa0ba902b7a"), RIG_EPARSE);
  ck_assert_int_eq(rig_span_id_from_hex(sid, ""), RIG_EPARSE);
  ck_assert_int_eq(rig_span_id_from_hex(sid, "xyz"), RIG_EPARSE);
  ck_assert_int_eq(rig_span_id_from_hex(sid, NULL), RIG_EPARSE);
  for (int i = 0; i < 8; i++)
    ck_assert_uint_eq(sid[i], 7);
  memset(tid, 0, sizeof tid);
  ck_assert(!rig_trace_id_is_valid(tid));
  ck_assert(!rig_trace_id_is_valid(NULL));
}
END_TEST

START_TEST(random_bytes_fill)
{
  uint8_t buf[4096];
  memset(buf, 0, sizeof buf);
  ck_assert_int_eq(rig_random_bytes(buf, sizeof buf), RIG_OK);
  int zeros = 0;
  for (size_t i = 0; i < sizeof buf; i++)
    zeros += buf[i] == 0;
  ck_assert_int_lt(zeros, 100); /* about 16 expected */
  ck_assert_int_eq(rig_random_bytes(buf, 0), RIG_OK);
}
END_TEST

static Suite *traceparent_suite(void)
{
  Suite *s = suite_create("traceparent");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, spec_vectors);
  tcase_add_test(tc, parse_n_needs_no_terminator);
  tcase_add_test(tc, long_values_are_quoted_truncated);
  tcase_add_test(tc, format_round_trips);
  tcase_add_test(tc, new_makes_valid_distinct_ids);
  tcase_add_test(tc, new_child_continues_parent);
  tcase_add_test(tc, many_ids_never_zero_nor_repeated);
  tcase_add_test(tc, hex_helpers);
  tcase_add_test(tc, random_bytes_fill);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(traceparent_suite());
}
