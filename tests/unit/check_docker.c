/*
 * check_docker.c - the Docker client's pure parts with no engine: DOCKER_HOST parsing and
 * socket discovery, the stdout/stderr stream demultiplexer fed at every split point, line
 * and JSON-message regrouping, filters and create bodies (compared as parsed JSON), error
 * mapping of recorded engine answers; and, against a fake engine on a unix socket run by
 * this test, version negotiation and how recorded answers surface through the API.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <stackrig.h>

#include "docker_internal.h"
#include "testutil.h"
#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* DOCKER_HOST                                                                            */

typedef struct host_case {
  const char *input;
  int tls_verify;
  int code;
  const char *host;
  const char *socket_path;
  const char *base_url;
  const char *message_part; /* for failures */
} host_case;

static const host_case host_cases[] = {
    {"unix:///var/run/docker.sock", 0, RIG_OK, "unix:///var/run/docker.sock",
     "/var/run/docker.sock", "http://localhost", NULL},
    {"unix:///run/user/1000/docker.sock", 1, RIG_OK, "unix:///run/user/1000/docker.sock",
     "/run/user/1000/docker.sock", "http://localhost", NULL},
    {"unix://relative.sock", 0, RIG_OK, "unix://relative.sock", "relative.sock", "http://localhost",
     NULL},
    {"tcp://127.0.0.1:2375", 0, RIG_OK, "tcp://127.0.0.1:2375", NULL, "http://127.0.0.1:2375",
     NULL},
    {"tcp://docker.example:12375", 0, RIG_OK, "tcp://docker.example:12375", NULL,
     "http://docker.example:12375", NULL},
    {"tcp://10.0.0.5", 0, RIG_OK, "tcp://10.0.0.5:2375", NULL, "http://10.0.0.5:2375", NULL},
    {"tcp://[::1]:2375", 0, RIG_OK, "tcp://[::1]:2375", NULL, "http://[::1]:2375", NULL},
    {"tcp://[::1]", 0, RIG_OK, "tcp://[::1]:2375", NULL, "http://[::1]:2375", NULL},
    {"tcp://h:2375/", 0, RIG_OK, "tcp://h:2375", NULL, "http://h:2375", NULL},
    {"tcp://h:2375/prefix/", 0, RIG_OK, "tcp://h:2375/prefix", NULL, "http://h:2375/prefix", NULL},
    {"http://h:2375", 0, RIG_OK, "tcp://h:2375", NULL, "http://h:2375", NULL},
    {"tcp://h:2376", 1, RIG_EUNSUPPORTED, NULL, NULL, NULL, "DOCKER_TLS_VERIFY"},
    {"https://h:2376", 0, RIG_EUNSUPPORTED, NULL, NULL, NULL, "TLS"},
    {"ssh://me@host", 0, RIG_EUNSUPPORTED, NULL, NULL, NULL, "ssh://"},
    {"npipe:////./pipe/docker_engine", 0, RIG_EUNSUPPORTED, NULL, NULL, NULL, "npipe://"},
    {"fd://", 0, RIG_EUNSUPPORTED, NULL, NULL, NULL, "fd://"},
    {"", 0, RIG_EINVAL, NULL, NULL, NULL, "empty"},
    {"/var/run/docker.sock", 0, RIG_EINVAL, NULL, NULL, NULL, "expected unix://"},
    {"unix://", 0, RIG_EINVAL, NULL, NULL, NULL, "socket path is missing"},
    {"tcp://", 0, RIG_EINVAL, NULL, NULL, NULL, "host is missing"},
    {"tcp://:2375", 0, RIG_EINVAL, NULL, NULL, NULL, "host is missing"},
    {"tcp://h:0", 0, RIG_EINVAL, NULL, NULL, NULL, "bad port"},
    {"tcp://h:65536", 0, RIG_EINVAL, NULL, NULL, NULL, "bad port"},
    {"tcp://h:port", 0, RIG_EINVAL, NULL, NULL, NULL, "bad port"},
    {"tcp://h:", 0, RIG_EINVAL, NULL, NULL, NULL, "bad port"},
    {"tcp://[::1", 0, RIG_EINVAL, NULL, NULL, NULL, "IPv6"},
    {"tcp://[::1]x", 0, RIG_EINVAL, NULL, NULL, NULL, "IPv6"},
};

START_TEST(test_host_parse)
{
  const host_case *c = &host_cases[_i];
  rig__docker_endpoint e = {NULL, NULL, NULL};
  int rc = rig__docker_endpoint_parse(&e, c->input, c->tls_verify);
  ck_assert_msg(rc == c->code, "'%s': got %s, want %s", c->input, rig_error_name(rc),
                rig_error_name(c->code));
  if (rc == RIG_OK) {
    ck_assert_str_eq(e.host, c->host);
    ck_assert_str_eq(e.base_url, c->base_url);
    if (c->socket_path)
      ck_assert_str_eq(e.socket_path, c->socket_path);
    else
      ck_assert_ptr_null(e.socket_path);
  } else {
    const rig_error *err = rig_error_last();
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, c->message_part) != NULL, "'%s': message '%s' lacks '%s'",
                  c->input, err->message, c->message_part);
  }
  rig__docker_endpoint_dispose(&e);
}
END_TEST

static const char *fake_sockets[8];

static int fake_is_socket(const char *path)
{
  for (size_t i = 0; fake_sockets[i]; i++)
    if (strcmp(fake_sockets[i], path) == 0)
      return 1;
  return 0;
}

static void set_sockets(const char *a, const char *b)
{
  memset(fake_sockets, 0, sizeof fake_sockets);
  fake_sockets[0] = a;
  if (a)
    fake_sockets[1] = b;
}

START_TEST(test_discover_order)
{
  char *host = NULL;
  /* DOCKER_HOST wins even when sockets exist. */
  set_sockets("/var/run/docker.sock", NULL);
  rig__docker_discover(&host, "tcp://h:1", "/run/user/1000", fake_is_socket);
  ck_assert_str_eq(host, "tcp://h:1");
  free(host);
  /* The system socket comes first. */
  set_sockets("/run/user/1000/docker.sock", "/var/run/docker.sock");
  rig__docker_discover(&host, NULL, "/run/user/1000", fake_is_socket);
  ck_assert_str_eq(host, "unix:///var/run/docker.sock");
  free(host);
  /* An empty DOCKER_HOST counts as unset. */
  rig__docker_discover(&host, "", "/run/user/1000", fake_is_socket);
  ck_assert_str_eq(host, "unix:///var/run/docker.sock");
  free(host);
  /* Rootless Docker next. */
  set_sockets("/run/user/1000/docker.sock", "/run/podman/podman.sock");
  rig__docker_discover(&host, NULL, "/run/user/1000", fake_is_socket);
  ck_assert_str_eq(host, "unix:///run/user/1000/docker.sock");
  free(host);
  /* Then rootful Podman, then rootless Podman. */
  set_sockets("/run/podman/podman.sock", "/run/user/1000/podman/podman.sock");
  rig__docker_discover(&host, NULL, "/run/user/1000", fake_is_socket);
  ck_assert_str_eq(host, "unix:///run/podman/podman.sock");
  free(host);
  set_sockets("/run/user/1000/podman/podman.sock", NULL);
  rig__docker_discover(&host, NULL, "/run/user/1000", fake_is_socket);
  ck_assert_str_eq(host, "unix:///run/user/1000/podman/podman.sock");
  free(host);
  /* Without XDG_RUNTIME_DIR the per-user sockets are not looked for. */
  rig__docker_discover(&host, NULL, NULL, fake_is_socket);
  ck_assert_str_eq(host, "unix:///var/run/docker.sock");
  free(host);
  /* Nothing found: the default socket, so that the error names it. */
  set_sockets(NULL, NULL);
  rig__docker_discover(&host, NULL, "/run/user/1000", fake_is_socket);
  ck_assert_str_eq(host, "unix:///var/run/docker.sock");
  free(host);
}
END_TEST

START_TEST(test_api_minor)
{
  ck_assert_int_eq(rig__docker_api_minor("1.41"), 41);
  ck_assert_int_eq(rig__docker_api_minor("1.24"), 24);
  ck_assert_int_eq(rig__docker_api_minor("1.45"), 45);
  ck_assert_int_eq(rig__docker_api_minor("1.41.0"), 41);
  ck_assert_int_eq(rig__docker_api_minor("2.0"), -1);
  ck_assert_int_eq(rig__docker_api_minor("1."), -1);
  ck_assert_int_eq(rig__docker_api_minor("1.x"), -1);
  ck_assert_int_eq(rig__docker_api_minor("1.41x"), -1);
  ck_assert_int_eq(rig__docker_api_minor(""), -1);
  ck_assert_int_eq(rig__docker_api_minor(NULL), -1);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* Stream demultiplexing                                                                  */

typedef struct collected {
  rig_buf streams[4];
  rig_buf order; /* stream kinds, consecutive repeats merged: "1213" */
  size_t calls;
  size_t stop_after; /* stop after this many calls; 0: never */
  int lines_whole;   /* every piece must end in '\n' (except at flush) */
  int bad;           /* pieces that broke the rules */
} collected;

static int collect(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  collected *c = userdata;
  /* Flags rather than assertions: Check records a mark point per assertion, too slow for
   * a callback called millions of times. */
  if ((unsigned)stream > 3 || len == 0) {
    c->bad++;
    return 1;
  }
  rig__buf_append(&c->streams[stream], data, len);
  char kind = (char)('0' + stream);
  if (c->order.len == 0 || c->order.data[c->order.len - 1] != kind)
    rig__buf_putc(&c->order, kind);
  c->calls++;
  return c->stop_after && c->calls >= c->stop_after;
}

static void collected_dispose(collected *c)
{
  for (int i = 0; i < 4; i++)
    rig__buf_dispose(&c->streams[i]);
  rig__buf_dispose(&c->order);
}

static void frame(rig_buf *out, int stream, const void *data, size_t len)
{
  unsigned char h[8] = {(unsigned char)stream,
                        0,
                        0,
                        0,
                        (unsigned char)(len >> 24),
                        (unsigned char)(len >> 16),
                        (unsigned char)(len >> 8),
                        (unsigned char)len};
  rig__buf_append(out, h, 8);
  rig__buf_append(out, data, len);
}

/* A small stream with every kind of frame: text, binary with NUL and 0xff, empty frames
 * (which carry nothing), one-byte frames, and the engine's own error stream. */
static void small_stream(rig_buf *s)
{
  frame(s, 1, "hello\n", 6);
  frame(s, 2, "", 0);
  frame(s, 2, "err\0\xff\n", 6);
  frame(s, 1, "x", 1);
  frame(s, 1, "", 0);
  frame(s, 1, "y\n", 2);
  frame(s, 3, "engine says no", 14);
  frame(s, 2, "z", 1);
}

static void check_small(collected *c)
{
  ck_assert_int_eq(c->bad, 0);
  ck_assert_uint_eq(c->streams[1].len, 9);
  ck_assert(memcmp(c->streams[1].data, "hello\nxy\n", 9) == 0);
  ck_assert_uint_eq(c->streams[2].len, 7);
  ck_assert(memcmp(c->streams[2].data, "err\0\xff\nz", 7) == 0);
  ck_assert_uint_eq(c->streams[3].len, 14);
  ck_assert_uint_eq(c->streams[0].len, 0);
  ck_assert_str_eq(c->order.data, "12132");
}

START_TEST(test_demux_every_split)
{
  rig_buf s = RIG_BUF_INIT;
  small_stream(&s);
  /* Two pieces split at every offset, then three pieces split at every pair of offsets. */
  for (size_t i = 0; i <= s.len; i++) {
    collected c;
    memset(&c, 0, sizeof c);
    rig__docker_demux d;
    rig__docker_demux_init(&d, 0, collect, &c);
    ck_assert_int_eq(rig__docker_demux_feed(&d, s.data, i), 0);
    ck_assert_int_eq(rig__docker_demux_feed(&d, s.data + i, s.len - i), 0);
    ck_assert_int_eq(rig__docker_demux_truncated(&d), 0);
    ck_assert_int_eq(d.malformed, 0);
    check_small(&c);
    collected_dispose(&c);
  }
  for (size_t i = 0; i <= s.len; i++) {
    for (size_t j = i; j <= s.len; j++) {
      collected c;
      memset(&c, 0, sizeof c);
      rig__docker_demux d;
      rig__docker_demux_init(&d, 0, collect, &c);
      rig__docker_demux_feed(&d, s.data, i);
      rig__docker_demux_feed(&d, s.data + i, j - i);
      rig__docker_demux_feed(&d, s.data + j, s.len - j);
      ck_assert_int_eq(rig__docker_demux_truncated(&d), 0);
      check_small(&c);
      collected_dispose(&c);
    }
  }
  /* One byte at a time. */
  collected c;
  memset(&c, 0, sizeof c);
  rig__docker_demux d;
  rig__docker_demux_init(&d, 0, collect, &c);
  for (size_t i = 0; i < s.len; i++)
    rig__docker_demux_feed(&d, s.data + i, 1);
  check_small(&c);
  collected_dispose(&c);
  rig__buf_dispose(&s);
}
END_TEST

START_TEST(test_demux_large_frames)
{
  size_t mib = 1u << 20;
  unsigned char *out = malloc(mib + 1), *err = malloc(mib);
  for (size_t i = 0; i < mib; i++) {
    out[i] = (unsigned char)(i * 7 + 3);
    err[i] = (unsigned char)(255 - (i & 255));
  }
  out[mib] = '\n';
  rig_buf s = RIG_BUF_INIT;
  frame(&s, 1, out, mib);
  frame(&s, 2, err, mib);
  frame(&s, 1, "", 0);
  frame(&s, 1, out + mib, 1);
  frame(&s, 2, err, 3);
  static const size_t chunks[] = {
      1, 3, 7, 8, 9, 13, 4096, 65535, 65536, 1u << 20, (1u << 20) + 8, (1u << 20) + 9, 1u << 22};
  for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
    collected c;
    memset(&c, 0, sizeof c);
    rig__docker_demux d;
    rig__docker_demux_init(&d, 0, collect, &c);
    int stopped = 0;
    for (size_t off = 0; off < s.len; off += chunks[k]) {
      size_t n = s.len - off < chunks[k] ? s.len - off : chunks[k];
      stopped |= rig__docker_demux_feed(&d, s.data + off, n);
    }
    ck_assert_int_eq(stopped, 0);
    ck_assert_int_eq(rig__docker_demux_truncated(&d), 0);
    ck_assert_int_eq(c.bad, 0);
    ck_assert_uint_eq(c.streams[1].len, mib + 1);
    ck_assert(memcmp(c.streams[1].data, out, mib + 1) == 0);
    ck_assert_uint_eq(c.streams[2].len, mib + 3);
    ck_assert(memcmp(c.streams[2].data, err, mib) == 0);
    ck_assert(memcmp(c.streams[2].data + mib, err, 3) == 0);
    ck_assert_str_eq(c.order.data, "1212");
    collected_dispose(&c);
  }
  rig__buf_dispose(&s);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_demux_raw_and_errors)
{
  /* A TTY stream is passed through as stdout, whatever its bytes. */
  collected c;
  memset(&c, 0, sizeof c);
  rig__docker_demux d;
  rig__docker_demux_init(&d, 1, collect, &c);
  rig__docker_demux_feed(&d, "\x01\0\0\0\0\0\0\x02hi", 10);
  rig__docker_demux_feed(&d, "", 0);
  ck_assert_uint_eq(c.streams[1].len, 10);
  ck_assert_int_eq(rig__docker_demux_truncated(&d), 0);
  collected_dispose(&c);

  /* An error body where frames were expected: nothing is delivered, malformed is set. */
  memset(&c, 0, sizeof c);
  rig__docker_demux_init(&d, 0, collect, &c);
  const char *body = "{\"message\":\"No such container: x\"}";
  ck_assert_int_eq(rig__docker_demux_feed(&d, body, strlen(body)), 0);
  ck_assert_int_eq(d.malformed, 1);
  ck_assert_uint_eq(c.calls, 0);
  collected_dispose(&c);

  /* Stream type 4 and non-zero padding are not headers. */
  memset(&c, 0, sizeof c);
  rig__docker_demux_init(&d, 0, collect, &c);
  rig__docker_demux_feed(&d, "\x04\0\0\0\0\0\0\x01x", 9);
  ck_assert_int_eq(d.malformed, 1);
  rig__docker_demux_init(&d, 0, collect, &c);
  rig__docker_demux_feed(&d, "\x01\0\x01\0\0\0\0\x01x", 9);
  ck_assert_int_eq(d.malformed, 1);
  ck_assert_uint_eq(c.calls, 0);
  collected_dispose(&c);

  /* Truncation inside a header and inside a payload. */
  memset(&c, 0, sizeof c);
  rig__docker_demux_init(&d, 0, collect, &c);
  rig__docker_demux_feed(&d, "\x01\0\0", 3);
  ck_assert_int_eq(rig__docker_demux_truncated(&d), 1);
  rig__docker_demux_init(&d, 0, collect, &c);
  rig__docker_demux_feed(&d,
                         "\x01\0\0\0\0\0\0\x05"
                         "abc",
                         11);
  ck_assert_int_eq(rig__docker_demux_truncated(&d), 1);
  ck_assert_uint_eq(c.streams[1].len, 3);
  collected_dispose(&c);

  /* The callback stops the stream: feed says so at once. */
  memset(&c, 0, sizeof c);
  c.stop_after = 1;
  rig_buf s = RIG_BUF_INIT;
  small_stream(&s);
  rig__docker_demux_init(&d, 0, collect, &c);
  ck_assert_int_ne(rig__docker_demux_feed(&d, s.data, s.len), 0);
  ck_assert_uint_eq(c.calls, 1);
  ck_assert_uint_eq(c.streams[1].len, 6);
  rig__buf_dispose(&s);
  collected_dispose(&c);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* Whole lines                                                                            */

static int collect_lines(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  collected *c = userdata;
  if (c->lines_whole && data[len - 1] != '\n')
    c->bad++;
  return collect(userdata, stream, data, len);
}

START_TEST(test_lines)
{
  /* Interleaved streams, lines cut anywhere, a line far longer than any chunk. */
  rig_buf s = RIG_BUF_INIT;
  size_t long_len = 100000;
  char *long_line = malloc(long_len + 1);
  memset(long_line, 'L', long_len);
  long_line[long_len] = '\n';
  frame(&s, 1, "one\ntw", 6);
  frame(&s, 2, "e1\ne", 4);
  frame(&s, 1, "o\nthr", 5);
  frame(&s, 2, "2\n", 2);
  frame(&s, 1, "ee\n", 3);
  frame(&s, 1, long_line, long_len / 2);
  frame(&s, 1, long_line + long_len / 2, long_len + 1 - long_len / 2);
  frame(&s, 2, "tail without newline", 20);
  for (size_t chunk = 1; chunk <= s.len; chunk = chunk * 3 + 1) {
    collected c;
    memset(&c, 0, sizeof c);
    c.lines_whole = 1;
    rig__docker_lines lines;
    rig__docker_lines_init(&lines, collect_lines, &c);
    rig__docker_demux d;
    rig__docker_demux_init(&d, 0, rig__docker_lines_feed, &lines);
    for (size_t off = 0; off < s.len; off += chunk)
      rig__docker_demux_feed(&d, s.data + off, s.len - off < chunk ? s.len - off : chunk);
    /* "one", "two", "three", the long line on stdout, "e1", "e2" on stderr. */
    ck_assert_uint_eq(c.calls, 6);
    ck_assert_int_eq(c.bad, 0);
    c.lines_whole = 0;
    ck_assert_int_eq(rig__docker_lines_flush(&lines), 0);
    ck_assert_uint_eq(c.calls, 7);
    ck_assert_uint_eq(c.streams[1].len, 14 + long_len + 1);
    ck_assert(memcmp(c.streams[1].data, "one\ntwo\nthree\n", 14) == 0);
    ck_assert(memcmp(c.streams[1].data + 14, long_line, long_len + 1) == 0);
    ck_assert_uint_eq(c.streams[2].len, 6 + 20);
    ck_assert(memcmp(c.streams[2].data, "e1\ne2\ntail without newline", 26) == 0);
    rig__docker_lines_dispose(&lines);
    collected_dispose(&c);
  }
  free(long_line);
  rig__buf_dispose(&s);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* JSON message streams                                                                   */

typedef struct messages {
  rig_buf actions;
  int stop_at;
  int count;
} messages;

static int on_message(void *userdata, json_object *obj, const char *line)
{
  messages *m = userdata;
  const char *action = rig__json_str(obj, "Action");
  rig__buf_printf(&m->actions, "%s;", action ? action : "?");
  ck_assert_ptr_nonnull(strstr(line, "Action"));
  m->count++;
  return m->stop_at && m->count >= m->stop_at;
}

START_TEST(test_jsonl)
{
  const char *text = "{\"Action\":\"start\"}\n\r\n  \n{\"Action\":\"health_status: healthy\"}\r\n"
                     "not json\n{\"Action\":\"die\",\"x\":\"a\\nb\"}\n{\"Action\":\"end\"}";
  size_t len = strlen(text);
  for (size_t i = 0; i <= len; i++) {
    messages m = {RIG_BUF_INIT, 0, 0};
    rig__docker_jsonl j;
    memset(&j, 0, sizeof j);
    j.on_message = on_message;
    j.userdata = &m;
    ck_assert_int_eq(rig__docker_jsonl_feed(&j, text, i), 0);
    ck_assert_int_eq(rig__docker_jsonl_feed(&j, text + i, len - i), 0);
    ck_assert_int_eq(rig__docker_jsonl_flush(&j), 0);
    ck_assert_str_eq(m.actions.data, "start;health_status: healthy;die;end;");
    ck_assert_int_eq(j.bad_lines, 1);
    rig__buf_dispose(&m.actions);
  }
  /* The callback stops it. */
  messages m = {RIG_BUF_INIT, 2, 0};
  rig__docker_jsonl j;
  memset(&j, 0, sizeof j);
  j.on_message = on_message;
  j.userdata = &m;
  ck_assert_int_ne(rig__docker_jsonl_feed(&j, text, len), 0);
  ck_assert_int_eq(m.count, 2);
  rig__docker_jsonl_flush(&j);
  rig__buf_dispose(&m.actions);
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* JSON bodies                                                                            */

static void assert_json_eq(const char *got, const char *want)
{
  json_object *g = json_tokener_parse(got);
  json_object *w = json_tokener_parse(want);
  ck_assert_msg(w != NULL, "expected JSON does not parse: %s", want);
  ck_assert_msg(g != NULL, "JSON does not parse: %s", got);
  ck_assert_msg(json_object_equal(g, w), "JSON differs:\n got: %s\nwant: %s",
                json_object_to_json_string_ext(g, JSON_C_TO_STRING_PLAIN),
                json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN));
  json_object_put(g);
  json_object_put(w);
}

START_TEST(test_filters_json)
{
  ck_assert_ptr_null(rig__docker_filters_json(NULL, 0));
  rig_docker_filter none[] = {{NULL, "x"}};
  ck_assert_ptr_null(rig__docker_filters_json(none, 1));
  rig_docker_filter f[] = {{"label", "com.docker.compose.project=demo"},
                           {"type", "container"},
                           {"label", "dev.stackrig.session"},
                           {"event", "die"},
                           {"event", "health_status"},
                           {"name", "a \"quoted\" name"}};
  char *json = rig__docker_filters_json(f, 6);
  assert_json_eq(json, "{\"label\":[\"com.docker.compose.project=demo\",\"dev.stackrig.session\"],"
                       "\"type\":[\"container\"],\"event\":[\"die\",\"health_status\"],"
                       "\"name\":[\"a \\\"quoted\\\" name\"]}");
  free(json);
  /* And the query string carries it percent-encoded. */
  rig_docker_list_options opts = RIG_DOCKER_LIST_OPTIONS_INIT;
  opts.all = 1;
  opts.filters = f;
  opts.filter_count = 2;
  char *path = rig__docker_list_path("/containers/json", &opts, 1);
  ck_assert_str_eq(path, "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker."
                         "compose.project%3Ddemo%22%5D%2C%22type%22%3A%5B%22container%22%5D%7D");
  free(path);
  path = rig__docker_list_path("/networks", &opts, 0);
  ck_assert_ptr_null(strstr(path, "all="));
  free(path);
  path = rig__docker_list_path("/volumes", NULL, 0);
  ck_assert_str_eq(path, "/volumes");
  free(path);
  /* An object's path: its name percent-encoded, then the rest as given. */
  path = rig__docker_path("containers", "a b/c", "/wait?condition=%s", "removed");
  ck_assert_str_eq(path, "/containers/a%20b%2Fc/wait?condition=removed");
  free(path);
  path = rig__docker_path("volumes", "data", NULL);
  ck_assert_str_eq(path, "/volumes/data");
  free(path);
}
END_TEST

START_TEST(test_create_body_full)
{
  static const char *const cmd[] = {"postgres", "-c", "fsync=off", NULL};
  static const char *const entrypoint[] = {"/entrypoint.sh", NULL};
  static const char *const env[] = {"POSTGRES_PASSWORD=secret", "A=b=c", NULL};
  static const char *const expose[] = {"9187", "5000/udp", NULL};
  static const char *const binds[] = {"/srv/init:/docker-entrypoint-initdb.d:ro", NULL};
  static const char *const cap_add[] = {"NET_ADMIN", NULL};
  static const char *const cap_drop[] = {"ALL", NULL};
  static const char *const tmpfs[] = {"/run", "/tmp:size=64m,mode=1777", NULL};
  static const char *const hosts[] = {"host.docker.internal:host-gateway", NULL};
  static const char *const test[] = {"CMD-SHELL", "pg_isready -U postgres", NULL};
  static const char *const aliases[] = {"postgres", "db", NULL};
  rig_docker_label labels[] = {{"com.docker.compose.project", "demo"},
                               {"com.docker.compose.service", "postgres"}};
  rig_docker_port_binding ports[] = {{5432, NULL, "127.0.0.1", 0, 0},
                                     {5432, "tcp", "::1", 15432, 0},
                                     {53, "udp", NULL, 8053, 8060}};
  rig_docker_mount mounts[] = {
      {RIG_DOCKER_MOUNT_VOLUME, "demo_pgdata", "/var/lib/postgresql/data", 0, 1, NULL, 0, 0},
      {RIG_DOCKER_MOUNT_BIND, "/srv/conf", "/etc/conf", 1, 0, "rslave", 0, 0},
      {RIG_DOCKER_MOUNT_TMPFS, NULL, "/scratch", 0, 0, NULL, 1048576, 01777}};
  rig_docker_ulimit ulimits[] = {{"nofile", 1024, 4096}};
  rig_docker_endpoint endpoints[] = {{"demo_default", aliases, "172.30.0.5"},
                                     {"demo_back", NULL, NULL}};
  rig_docker_container_spec s = RIG_DOCKER_CONTAINER_SPEC_INIT;
  s.name = "demo-postgres-1";
  s.image = "postgres:17";
  s.cmd = cmd;
  s.entrypoint = entrypoint;
  s.env = env;
  s.labels = labels;
  s.label_count = 2;
  s.expose = expose;
  s.hostname = "pg";
  s.domainname = "example";
  s.working_dir = "/var/lib/postgresql";
  s.user = "postgres";
  s.tty = 1;
  s.open_stdin = 1;
  s.stop_signal = "SIGINT";
  s.stop_timeout_set = 1;
  s.stop_timeout_s = 0;
  s.healthcheck.test = test;
  s.healthcheck.interval_ns = 1000000000;
  s.healthcheck.timeout_ns = 500000000;
  s.healthcheck.retries = 30;
  s.healthcheck.start_period_ns = 2000000000;
  s.ports = ports;
  s.port_count = 3;
  s.binds = binds;
  s.mounts = mounts;
  s.mount_count = 3;
  s.network_mode = "demo_default";
  s.restart_policy = "on-failure";
  s.restart_max_retries = 3;
  s.init = 1;
  s.privileged = 1;
  s.read_only_rootfs = 1;
  s.cap_add = cap_add;
  s.cap_drop = cap_drop;
  s.ulimits = ulimits;
  s.ulimit_count = 1;
  s.shm_size = 268435456;
  s.memory = 536870912;
  s.nano_cpus = 1500000000;
  s.tmpfs = tmpfs;
  s.extra_hosts = hosts;
  s.auto_remove = 1;
  s.endpoints = endpoints;
  s.endpoint_count = 2;
  char *body = NULL;
  ck_assert_int_eq(rig__docker_create_body(&body, &s, 41), RIG_OK);
  const char *want_41 =
      "{\"Image\":\"postgres:17\",\"Cmd\":[\"postgres\",\"-c\",\"fsync=off\"],"
      "\"Entrypoint\":[\"/entrypoint.sh\"],\"Env\":[\"POSTGRES_PASSWORD=secret\",\"A=b=c\"],"
      "\"Labels\":{\"com.docker.compose.project\":\"demo\",\"com.docker.compose.service\":"
      "\"postgres\"},"
      "\"ExposedPorts\":{\"5432/tcp\":{},\"53/udp\":{},\"9187/tcp\":{},\"5000/udp\":{}},"
      "\"Hostname\":\"pg\",\"Domainname\":\"example\",\"WorkingDir\":\"/var/lib/postgresql\","
      "\"User\":\"postgres\",\"Tty\":true,\"OpenStdin\":true,\"StopSignal\":\"SIGINT\","
      "\"StopTimeout\":0,"
      "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"pg_isready -U "
      "postgres\"],\"Interval\":1000000000,"
      "\"Timeout\":500000000,\"Retries\":30,\"StartPeriod\":2000000000},"
      "\"HostConfig\":{"
      "\"PortBindings\":{\"5432/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"},"
      "{\"HostIp\":\"::1\",\"HostPort\":\"15432\"}],\"53/"
      "udp\":[{\"HostIp\":\"\",\"HostPort\":\"8053-8060\"}]},"
      "\"Binds\":[\"/srv/init:/docker-entrypoint-initdb.d:ro\"],"
      "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"demo_pgdata\",\"Target\":\"/var/lib/"
      "postgresql/data\","
      "\"VolumeOptions\":{\"NoCopy\":true}},"
      "{\"Type\":\"bind\",\"Source\":\"/srv/conf\",\"Target\":\"/etc/conf\",\"ReadOnly\":true,"
      "\"BindOptions\":{\"Propagation\":\"rslave\"}},"
      "{\"Type\":\"tmpfs\",\"Target\":\"/"
      "scratch\",\"TmpfsOptions\":{\"SizeBytes\":1048576,\"Mode\":1023}}],"
      "\"NetworkMode\":\"demo_default\","
      "\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3},"
      "\"Init\":true,\"Privileged\":true,\"ReadonlyRootfs\":true,"
      "\"CapAdd\":[\"NET_ADMIN\"],\"CapDrop\":[\"ALL\"],"
      "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":4096}],"
      "\"ShmSize\":268435456,\"Memory\":536870912,\"NanoCpus\":1500000000,"
      "\"Tmpfs\":{\"/run\":\"\",\"/tmp\":\"size=64m,mode=1777\"},"
      "\"ExtraHosts\":[\"host.docker.internal:host-gateway\"],\"AutoRemove\":true},"
      "\"NetworkingConfig\":{\"EndpointsConfig\":{\"demo_default\":{\"Aliases\":[\"postgres\","
      "\"db\"],"
      "\"IPAMConfig\":{\"IPv4Address\":\"172.30.0.5\"}}}}}";
  assert_json_eq(body, want_41);
  free(body);
  /* From API 1.44 on every endpoint goes into create. */
  ck_assert_int_eq(rig__docker_create_body(&body, &s, 44), RIG_OK);
  json_object *parsed = json_tokener_parse(body);
  json_object *eps = rig__json_get(rig__json_get(parsed, "NetworkingConfig"), "EndpointsConfig");
  ck_assert_int_eq(json_object_object_length(eps), 2);
  ck_assert_ptr_nonnull(rig__json_get(eps, "demo_back"));
  json_object_put(parsed);
  free(body);
}
END_TEST

START_TEST(test_create_body_minimal_and_extra)
{
  rig_docker_container_spec s = RIG_DOCKER_CONTAINER_SPEC_INIT;
  char *body = NULL;
  ck_assert_int_eq(rig__docker_create_body(&body, &s, 41), RIG_EINVAL);
  ck_assert_ptr_null(body);
  s.image = "busybox";
  ck_assert_int_eq(rig__docker_create_body(&body, &s, 41), RIG_OK);
  assert_json_eq(body, "{\"Image\":\"busybox\",\"HostConfig\":{}}");
  free(body);

  /* Explicit "no": init false; an empty entrypoint; healthcheck disabled; zero stop timeout
   * is left out unless flagged. */
  static const char *const empty_entrypoint[] = {"", NULL};
  static const char *const none[] = {"NONE", NULL};
  static const char *const no_cmd[] = {NULL};
  s.init = -1;
  s.entrypoint = empty_entrypoint;
  s.cmd = no_cmd;
  s.healthcheck.test = none;
  ck_assert_int_eq(rig__docker_create_body(&body, &s, 41), RIG_OK);
  assert_json_eq(body, "{\"Image\":\"busybox\",\"Cmd\":[],\"Entrypoint\":[\"\"],"
                       "\"Healthcheck\":{\"Test\":[\"NONE\"]},\"HostConfig\":{\"Init\":false}}");
  free(body);

  /* Healthcheck timings without a test inherit the image's test. */
  rig_docker_container_spec h = RIG_DOCKER_CONTAINER_SPEC_INIT;
  h.image = "busybox";
  h.healthcheck.retries = 5;
  ck_assert_int_eq(rig__docker_create_body(&body, &h, 41), RIG_OK);
  assert_json_eq(body, "{\"Image\":\"busybox\",\"Healthcheck\":{\"Retries\":5},\"HostConfig\":{}}");
  free(body);

  /* extra_json: members replace, HostConfig merges one level down. */
  rig_docker_container_spec e = RIG_DOCKER_CONTAINER_SPEC_INIT;
  e.image = "busybox";
  e.network_mode = "bridge";
  e.extra_json = "{\"MacAddress\":\"02:42:ac:11:00:02\",\"Image\":\"other\","
                 "\"HostConfig\":{\"PidMode\":\"host\",\"NetworkMode\":\"none\"}}";
  ck_assert_int_eq(rig__docker_create_body(&body, &e, 41), RIG_OK);
  assert_json_eq(body, "{\"Image\":\"other\",\"MacAddress\":\"02:42:ac:11:00:02\","
                       "\"HostConfig\":{\"NetworkMode\":\"none\",\"PidMode\":\"host\"}}");
  free(body);
  e.extra_json = "{\"broken\":";
  ck_assert_int_eq(rig__docker_create_body(&body, &e, 41), RIG_EINVAL);
  e.extra_json = "[1,2]";
  ck_assert_int_eq(rig__docker_create_body(&body, &e, 41), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "extra_json"));
}
END_TEST

START_TEST(test_split_ref)
{
  static const char *const cases[][3] = {
      {"postgres", "postgres", "latest"},
      {"postgres:17", "postgres", "17"},
      {"library/postgres:17-alpine", "library/postgres", "17-alpine"},
      {"localhost:5000/x", "localhost:5000/x", "latest"},
      {"localhost:5000/x:1.2", "localhost:5000/x", "1.2"},
      {"ghcr.io/a/b@sha256:abcd", "ghcr.io/a/b", "sha256:abcd"},
      {"postgres:", "postgres", "latest"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *name = NULL, *tag = NULL;
    rig__docker_split_ref(&name, &tag, cases[i][0]);
    ck_assert_str_eq(name, cases[i][1]);
    ck_assert_str_eq(tag, cases[i][2]);
    free(name);
    free(tag);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* Error mapping of recorded engine answers                                               */

typedef struct error_case {
  long status;
  const char *body;
  int not_found_code;
  int code;
  const char *engine_message;
} error_case;

static const error_case error_cases[] = {
    {404, "{\"message\":\"No such image: postgres:17\"}\n", 0, RIG_ENOTFOUND,
     "No such image: postgres:17"},
    {404, "{\"message\":\"No such image: postgres:17\"}", RIG_EIMAGE, RIG_EIMAGE,
     "No such image: postgres:17"},
    {404, "{\"message\":\"No such container: abc\"}", 0, RIG_ENOTFOUND, "No such container: abc"},
    {409,
     "{\"message\":\"Conflict. The container name \\\"/web\\\" is already in use by container "
     "\\\"1234\\\". You have to remove (or rename) that container to be able to reuse that "
     "name.\"}",
     0, RIG_ECONFLICT, "Conflict. The container name \"/web\" is already in use"},
    {409, "{\"message\":\"Container 123 is not running\"}", 0, RIG_ECONFLICT,
     "Container 123 is not running"},
    {500, "{\"message\":\"driver failed programming external connectivity\"}", 0, RIG_EENGINE,
     "driver failed programming external connectivity"},
    {400, "{\"message\":\"invalid reference format\"}", 0, RIG_EENGINE, "invalid reference format"},
    {403, "{\"message\":\"error while removing network: network x has active endpoints\"}", 0,
     RIG_EENGINE, "has active endpoints"},
    /* Podman's answers carry cause, message and response. */
    {404,
     "{\"cause\":\"no such container\",\"message\":\"no container with name or ID \\\"x\\\" found: "
     "no such container\",\"response\":404}",
     0, RIG_ENOTFOUND, "no container with name or ID"},
    {500, "{\"cause\":\"something broke\"}", 0, RIG_EENGINE, "something broke"},
    /* Not JSON: the text, trimmed. */
    {404, "page not found\n", 0, RIG_ENOTFOUND, "page not found"},
    {502, "", 0, RIG_EENGINE, ""},
};

START_TEST(test_error_mapping)
{
  const error_case *c = &error_cases[_i];
  int rc = rig__docker_error(c->status, c->body, strlen(c->body), c->not_found_code,
                             "cannot do it to %s", "thing");
  ck_assert_int_eq(rc, c->code);
  const rig_error *err = rig_error_last();
  ck_assert_int_eq(err->code, c->code);
  ck_assert_msg(strncmp(err->message, "cannot do it to thing: ", 23) == 0, "message: %s",
                err->message);
  char status[16];
  snprintf(status, sizeof status, "%ld", c->status);
  ck_assert_str_eq(rig_error_detail_get(err, "status"), status);
  const char *em = rig_error_detail_get(err, "engine_message");
  ck_assert_ptr_nonnull(em);
  ck_assert_msg(strstr(em, c->engine_message) != NULL, "engine_message '%s' lacks '%s'", em,
                c->engine_message);
  if (*c->engine_message)
    ck_assert_ptr_nonnull(strstr(err->message, c->engine_message));
  else
    ck_assert_ptr_nonnull(strstr(err->message, "HTTP 502"));
}
END_TEST

/* ------------------------------------------------------------------------------------ */
/* A fake engine on a unix socket, answering recorded responses                           */

typedef struct route {
  const char *method;
  const char *path_prefix; /* after the version prefix, e.g. "/containers/x/json" */
  int status;
  const char *body; /* NULL: hold the connection open without answering */
} route;

typedef struct fake_engine {
  char dir[64];
  char socket_path[100];
  char host[112];
  int listen_fd;
  int stop_pipe[2];
  pthread_t thread;
  const route *routes;
  size_t route_count;
  const char *version_body;
  pthread_mutex_t mutex;
  rig_buf log; /* "METHOD path\n" per request */
  int held[16];
  size_t held_count;
} fake_engine;

static const route *match(fake_engine *f, const char *method, const char *path)
{
  /* Drop the "/v1.NN" prefix. */
  const char *p = path;
  if (strncmp(p, "/v1.", 4) == 0) {
    p = strchr(p + 1, '/');
    if (!p)
      p = "/";
  }
  for (size_t i = 0; i < f->route_count; i++)
    if (strcmp(f->routes[i].method, method) == 0 &&
        strncmp(p, f->routes[i].path_prefix, strlen(f->routes[i].path_prefix)) == 0)
      return &f->routes[i];
  return NULL;
}

static void serve_one(fake_engine *f, int fd)
{
  rig_buf req = RIG_BUF_INIT;
  size_t header_end = 0, body_len = 0;
  for (;;) {
    char *end = req.data ? strstr(req.data, "\r\n\r\n") : NULL;
    if (end) {
      header_end = (size_t)(end - req.data) + 4;
      const char *cl = strcasestr(req.data, "\r\nContent-Length:");
      body_len = (cl && cl < end) ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
      if (req.len >= header_end + body_len)
        break;
    }
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) {
      rig__buf_dispose(&req);
      close(fd);
      return;
    }
    rig__buf_append(&req, chunk, (size_t)n);
  }
  char method[16] = "", path[1024] = "";
  sscanf(req.data, "%15s %1023s", method, path);
  pthread_mutex_lock(&f->mutex);
  rig__buf_printf(&f->log, "%s %s\n", method, path);
  pthread_mutex_unlock(&f->mutex);
  int status = 404;
  const char *body = "{\"message\":\"page not found\"}";
  if (strcmp(path, "/version") == 0 ||
      strncmp(path + (strncmp(path, "/v1.", 4) == 0 ? 6 : 0), "/version", 8) == 0) {
    status = 200;
    body = f->version_body;
  } else {
    const route *r = match(f, method, path);
    if (r) {
      if (!r->body && f->held_count < 16) {
        f->held[f->held_count++] = fd; /* never answered: a stalled engine */
        rig__buf_dispose(&req);
        return;
      }
      status = r->status;
      body = r->body;
    }
  }
  char *head =
      rig__sprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   status, strlen(body));
  (void)!write(fd, head, strlen(head));
  (void)!write(fd, body, strlen(body));
  free(head);
  rig__buf_dispose(&req);
  close(fd);
}

static void *fake_main(void *arg)
{
  fake_engine *f = arg;
  for (;;) {
    struct pollfd fds[2] = {{f->listen_fd, POLLIN, 0}, {f->stop_pipe[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR)
      break;
    if (fds[1].revents)
      break;
    if (fds[0].revents & POLLIN) {
      int fd = accept(f->listen_fd, NULL, NULL);
      if (fd >= 0)
        serve_one(f, fd);
    }
  }
  return NULL;
}

static void fake_start(fake_engine *f, const char *version_body, const route *routes, size_t n)
{
  memset(f, 0, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/rig-fake-engine-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(f->dir));
  snprintf(f->socket_path, sizeof f->socket_path, "%s/engine.sock", f->dir);
  snprintf(f->host, sizeof f->host, "unix://%s", f->socket_path);
  f->version_body = version_body;
  f->routes = routes;
  f->route_count = n;
  pthread_mutex_init(&f->mutex, NULL);
  f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", f->socket_path);
  ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
  ck_assert_int_eq(listen(f->listen_fd, 16), 0);
  ck_assert_int_eq(pipe(f->stop_pipe), 0);
  ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(fake_engine *f)
{
  (void)!write(f->stop_pipe[1], "x", 1);
  pthread_join(f->thread, NULL);
  for (size_t i = 0; i < f->held_count; i++)
    close(f->held[i]);
  close(f->listen_fd);
  close(f->stop_pipe[0]);
  close(f->stop_pipe[1]);
  unlink(f->socket_path);
  rmdir(f->dir);
  rig__buf_dispose(&f->log);
  pthread_mutex_destroy(&f->mutex);
}

static int open_fake(rig_docker **out, fake_engine *f)
{
  rig_docker_options opts = RIG_DOCKER_OPTIONS_INIT;
  opts.host = f->host;
  return rig_docker_open(out, &opts);
}

#define VERSION_1_41                                                                               \
  "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\",\"Os\":\"linux\"}"

START_TEST(test_negotiation)
{
  static const struct {
    const char *version_body;
    int code;
    const char *api;
    int podman;
  } cases[] = {
      {VERSION_1_41, RIG_OK, "1.41", 0},
      {"{\"ApiVersion\":\"1.47\",\"Version\":\"27.3.1\"}", RIG_OK, "1.45", 0},
      {"{\"ApiVersion\":\"1.45\"}", RIG_OK, "1.45", 0},
      {"{\"ApiVersion\":\"1.24\"}", RIG_OK, "1.24", 0},
      {"{\"ApiVersion\":\"1.23\"}", RIG_EUNSUPPORTED, NULL, 0},
      {"{\"Version\":\"x\"}", RIG_EENGINE, NULL, 0},
      {"{\"Platform\":{\"Name\":\"linux/amd64/debian-12\"},\"Components\":[{\"Name\":\"Podman "
       "Engine\","
       "\"Version\":\"4.3.1\"}],\"ApiVersion\":\"1.41\",\"Version\":\"4.3.1\"}",
       RIG_OK, "1.41", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fake_engine f;
    fake_start(&f, cases[i].version_body, NULL, 0);
    rig_docker *docker = NULL;
    int rc = open_fake(&docker, &f);
    ck_assert_msg(rc == cases[i].code, "case %zu: %s (%s)", i, rig_error_name(rc),
                  rc ? rig_error_last()->text : "");
    if (rc == RIG_OK) {
      ck_assert_str_eq(rig_docker_api_version(docker), cases[i].api);
      ck_assert_int_eq(rig_docker_is_podman(docker), cases[i].podman);
      ck_assert_str_eq(rig_docker_host(docker), f.host);
      rig_docker_version_info *v = NULL;
      ck_assert_int_eq(rig_docker_version(&v, docker), RIG_OK);
      ck_assert_int_eq(v->is_podman, cases[i].podman);
      rig_docker_version_info_free(v);
    } else {
      ck_assert_ptr_null(docker);
      ck_assert_ptr_nonnull(strstr(rig_error_last()->message, f.host));
    }
    rig_docker_free(docker);
    fake_stop(&f);
  }
  /* A forced version is used as it is; DOCKER_API_VERSION forces too. */
  fake_engine f;
  fake_start(&f, VERSION_1_41, NULL, 0);
  rig_docker_options opts = RIG_DOCKER_OPTIONS_INIT;
  opts.host = f.host;
  opts.api_version = "1.30";
  rig_docker *docker = NULL;
  ck_assert_int_eq(rig_docker_open(&docker, &opts), RIG_OK);
  ck_assert_str_eq(rig_docker_api_version(docker), "1.30");
  rig_docker_free(docker);
  setenv("DOCKER_API_VERSION", "1.25", 1);
  ck_assert_int_eq(open_fake(&docker, &f), RIG_OK);
  ck_assert_str_eq(rig_docker_api_version(docker), "1.25");
  rig_docker_free(docker);
  setenv("DOCKER_API_VERSION", "banana", 1);
  ck_assert_int_eq(open_fake(&docker, &f), RIG_EINVAL);
  unsetenv("DOCKER_API_VERSION");
  fake_stop(&f);
}
END_TEST

static const route recorded[] = {
    {"GET", "/containers/missing/json", 404, "{\"message\":\"No such container: missing\"}"},
    {"POST", "/containers/create?name=noimage", 404,
     "{\"message\":\"No such image: postgres:17\"}"},
    {"POST", "/containers/create?name=nonet", 404,
     "{\"message\":\"network demo_default not found\"}"},
    {"POST", "/containers/create?name=taken", 409,
     "{\"message\":\"Conflict. The container name \\\"/taken\\\" is already in use\"}"},
    {"POST", "/containers/create?name=bad", 400, "{\"message\":\"invalid restart policy\"}"},
    {"POST", "/containers/up/start", 304, ""},
    {"POST", "/containers/down/stop", 304, ""},
    {"POST", "/containers/down/kill", 409, "{\"message\":\"Container down is not running\"}"},
    {"POST", "/containers/broken/start", 500,
     "{\"message\":\"driver failed programming external connectivity on endpoint x: Bind for "
     "127.0.0.1:5432 failed: port is already allocated\"}"},
    {"POST", "/images/create?fromImage=postgres&tag=17", 500,
     "{\"message\":\"Get \\\"https://registry-1.docker.io/v2/\\\": dial tcp: lookup "
     "registry-1.docker.io on 10.0.0.53:53: no such host\"}"},
    {"POST", "/images/create?fromImage=private%2Fx&tag=1", 200,
     "{\"status\":\"Pulling from private/x\",\"id\":\"1\"}\r\n"
     "{\"errorDetail\":{\"message\":\"pull access denied for private/x\"},\"error\":\"pull access "
     "denied for private/x\"}\r\n"},
    {"POST", "/images/create?fromImage=ok%2Fimage&tag=2", 200,
     "{\"status\":\"Pulling from ok/image\",\"id\":\"2\"}\r\n"
     "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":512,\"total\":1024},"
     "\"progress\":\"[=====>     ]\",\"id\":\"abc\"}\r\n"
     "{\"status\":\"Status: Downloaded newer image for ok/image:2\"}\r\n"},
    {"POST", "/images/create?fromImage=stall", 200, NULL},
    {"DELETE", "/networks/busy", 403,
     "{\"message\":\"error while removing network: network busy id 1 has active endpoints\"}"},
    {"GET", "/events", 400, "{\"message\":\"invalid filter 'bogus'\"}"},
};

START_TEST(test_recorded_answers)
{
  fake_engine f;
  fake_start(&f, VERSION_1_41, recorded, sizeof recorded / sizeof recorded[0]);
  rig_docker *docker = NULL;
  ck_assert_int_eq(open_fake(&docker, &f), RIG_OK);
  const rig_error *err;

  rig_docker_container *c = NULL;
  ck_assert_int_eq(rig_docker_container_inspect(&c, docker, "missing"), RIG_ENOTFOUND);
  ck_assert_ptr_null(c);
  err = rig_error_last();
  ck_assert_str_eq(err->message, "cannot inspect container missing: No such container: missing");
  ck_assert_str_eq(rig_error_detail_get(err, "status"), "404");

  rig_docker_container_spec spec = RIG_DOCKER_CONTAINER_SPEC_INIT;
  spec.image = "postgres:17";
  char *id = NULL;
  spec.name = "noimage";
  ck_assert_int_eq(rig_docker_container_create(&id, docker, &spec), RIG_EIMAGE);
  err = rig_error_last();
  ck_assert_str_eq(err->message, "cannot create container noimage: No such image: postgres:17");
  ck_assert_str_eq(rig_error_detail_get(err, "image"), "postgres:17");
  ck_assert_str_eq(rig_error_detail_get(err, "engine_message"), "No such image: postgres:17");
  spec.name = "nonet";
  ck_assert_int_eq(rig_docker_container_create(&id, docker, &spec), RIG_ENOTFOUND);
  spec.name = "taken";
  ck_assert_int_eq(rig_docker_container_create(&id, docker, &spec), RIG_ECONFLICT);
  spec.name = "bad";
  ck_assert_int_eq(rig_docker_container_create(&id, docker, &spec), RIG_EENGINE);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "status"), "400");
  ck_assert_ptr_null(id);

  ck_assert_int_eq(rig_docker_container_start(docker, "up"), RIG_OK);
  ck_assert_int_eq(rig_docker_container_stop(docker, "down", 5), RIG_OK);
  ck_assert_int_eq(rig_docker_container_kill(docker, "down", NULL), RIG_ECONFLICT);
  ck_assert_int_eq(rig_docker_container_start(docker, "broken"), RIG_EENGINE);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "port is already allocated"));

  /* A registry that cannot be reached: the image and the reason are named. */
  ck_assert_int_eq(rig_docker_image_pull(docker, "postgres:17", NULL), RIG_EIMAGE);
  err = rig_error_last();
  ck_assert_ptr_nonnull(strstr(err->message, "cannot pull image postgres:17: "));
  ck_assert_ptr_nonnull(strstr(err->message, "no such host"));
  ck_assert_str_eq(rig_error_detail_get(err, "reason"), "registry unreachable");
  ck_assert_str_eq(rig_error_detail_get(err, "image"), "postgres:17");
  /* An error inside a 200 stream. */
  ck_assert_int_eq(rig_docker_image_pull(docker, "private/x:1", NULL), RIG_EIMAGE);
  err = rig_error_last();
  ck_assert_str_eq(err->message, "cannot pull image private/x:1: pull access denied for private/x");
  ck_assert_ptr_null(rig_error_detail_get(err, "reason"));

  /* Network removal of a network in use. */
  ck_assert_int_eq(rig_docker_network_remove(docker, "busy"), RIG_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "active endpoints"));

  /* The version prefix is on every path (but /version). */
  pthread_mutex_lock(&f.mutex);
  ck_assert_ptr_nonnull(strstr(f.log.data, "GET /version\n"));
  ck_assert_ptr_nonnull(strstr(f.log.data, "GET /v1.41/containers/missing/json\n"));
  ck_assert_ptr_nonnull(strstr(f.log.data, "POST /v1.41/containers/down/kill?signal=SIGKILL\n"));
  ck_assert_ptr_nonnull(strstr(f.log.data, "POST /v1.41/containers/down/stop?t=5\n"));
  pthread_mutex_unlock(&f.mutex);
  rig_docker_free(docker);
  fake_stop(&f);
}
END_TEST

typedef struct progress_log {
  rig_buf text;
  int stop;
} progress_log;

static int on_progress(void *userdata, const rig_docker_progress *p)
{
  progress_log *log = userdata;
  rig__buf_printf(&log->text, "%s|%s|%lld/%lld;", p->status, p->id ? p->id : "-",
                  (long long)p->current, (long long)p->total);
  return log->stop;
}

static int never_called(void *userdata, const rig_docker_event *event)
{
  ck_abort_msg("an event arrived from a refused stream: %s", event->raw_json);
  return 1;
}

START_TEST(test_pull_progress_and_stall)
{
  fake_engine f;
  fake_start(&f, VERSION_1_41, recorded, sizeof recorded / sizeof recorded[0]);
  rig_docker *docker = NULL;
  ck_assert_int_eq(open_fake(&docker, &f), RIG_OK);
  progress_log log = {RIG_BUF_INIT, 0};
  rig_docker_pull_options opts = RIG_DOCKER_PULL_OPTIONS_INIT;
  opts.on_progress = on_progress;
  opts.userdata = &log;
  ck_assert_int_eq(rig_docker_image_pull(docker, "ok/image:2", &opts), RIG_OK);
  ck_assert_str_eq(log.text.data, "Pulling from ok/image|2|0/0;Downloading|abc|512/1024;"
                                  "Status: Downloaded newer image for ok/image:2|-|0/0;");
  /* The callback stops the pull. */
  log.stop = 1;
  ck_assert_int_eq(rig_docker_image_pull(docker, "ok/image:2", &opts), RIG_EINTERRUPTED);
  /* An engine that never answers: the stall timeout ends it, naming the image. */
  rig_docker_pull_options stall = RIG_DOCKER_PULL_OPTIONS_INIT;
  stall.stall_timeout_ms = 300;
  ck_assert_int_eq(rig_docker_image_pull(docker, "stall", &stall), RIG_ETIMEOUT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "cannot pull image stall"));
  /* The caller's cancel flag ends it as well. */
  volatile int cancel = 1;
  stall.stall_timeout_ms = 60000;
  stall.cancel = &cancel;
  ck_assert_int_eq(rig_docker_image_pull(docker, "stall", &stall), RIG_EINTERRUPTED);
  /* An events stream the engine refuses. */
  rig_docker_filter bogus = {"bogus", "1"};
  rig_docker_events_options eopts = RIG_DOCKER_EVENTS_OPTIONS_INIT;
  eopts.filters = &bogus;
  eopts.filter_count = 1;
  eopts.on_event = never_called;
  ck_assert_int_eq(rig_docker_events(docker, &eopts), RIG_EENGINE);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "invalid filter 'bogus'"));
  rig__buf_dispose(&log.text);
  rig_docker_free(docker);
  fake_stop(&f);
}
END_TEST

START_TEST(test_unreachable_engine)
{
  rig_docker_options opts = RIG_DOCKER_OPTIONS_INIT;
  opts.host = "unix:///nonexistent.sock";
  rig_docker *docker = NULL;
  ck_assert_int_eq(rig_docker_open(&docker, &opts), RIG_ECONNECT);
  ck_assert_ptr_null(docker);
  const rig_error *err = rig_error_last();
  ck_assert_str_eq(
      err->message,
      "cannot reach the Docker engine at unix:///nonexistent.sock: No such file or directory");
  ck_assert_ptr_null(err->cause);
  ck_assert_str_eq(rig_error_detail_get(err, "hint"),
                   "is the Docker daemon running? set DOCKER_HOST to point elsewhere");

  /* The same through DOCKER_HOST; a socket file nobody listens on is refused. */
  char *dir = rig_test_tempdir();
  char *path = rig__sprintf("%s/dead.sock", dir);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  close(fd);
  char *host = rig__sprintf("unix://%s", path);
  setenv("DOCKER_HOST", host, 1);
  ck_assert_int_eq(rig_docker_open(&docker, NULL), RIG_ECONNECT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "Connection refused"));
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, host));
  /* TLS is refused up front, saying why. */
  setenv("DOCKER_HOST", "tcp://127.0.0.1:2376", 1);
  setenv("DOCKER_TLS_VERIFY", "1", 1);
  ck_assert_int_eq(rig_docker_open(&docker, NULL), RIG_EUNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "TLS"));
  unsetenv("DOCKER_TLS_VERIFY");
  /* TCP to a closed port. */
  setenv("DOCKER_HOST", "tcp://127.0.0.1:1", 1);
  ck_assert_int_eq(rig_docker_open(&docker, NULL), RIG_ECONNECT);
  ck_assert_ptr_nonnull(
      strstr(rig_error_last()->message, "cannot reach the Docker engine at tcp://127.0.0.1:1: "));
  unsetenv("DOCKER_HOST");
  unlink(path);
  rig_test_rmtree(dir);
  free(host);
  free(path);
  free(dir);
}
END_TEST

static Suite *docker_suite(void)
{
  Suite *s = suite_create("docker");
  TCase *tc = tcase_create("pure");
  tcase_add_loop_test(tc, test_host_parse, 0, (int)(sizeof host_cases / sizeof host_cases[0]));
  tcase_add_test(tc, test_discover_order);
  tcase_add_test(tc, test_api_minor);
  tcase_add_test(tc, test_demux_every_split);
  tcase_add_test(tc, test_demux_large_frames);
  tcase_add_test(tc, test_demux_raw_and_errors);
  tcase_add_test(tc, test_lines);
  tcase_add_test(tc, test_jsonl);
  tcase_add_test(tc, test_filters_json);
  tcase_add_test(tc, test_create_body_full);
  tcase_add_test(tc, test_create_body_minimal_and_extra);
  tcase_add_test(tc, test_split_ref);
  tcase_add_loop_test(tc, test_error_mapping, 0, (int)(sizeof error_cases / sizeof error_cases[0]));
  suite_add_tcase(s, tc);
  TCase *fake = tcase_create("fake-engine");
  tcase_set_timeout(fake, 60);
  tcase_add_test(fake, test_negotiation);
  tcase_add_test(fake, test_recorded_answers);
  tcase_add_test(fake, test_pull_progress_and_stall);
  tcase_add_test(fake, test_unreachable_engine);
  suite_add_tcase(s, fake);
  return s;
}

int main(void)
{
  return rig_test_main(docker_suite());
}
