/*
 * check_http.c - the HTTP client against a real server that this test runs in a thread,
 * over TCP and over a unix socket: statuses, bodies that need the buffer to grow, request
 * bodies and headers, streaming, cancellation, timeouts, refused connections, curl multi.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <stackrig.h>

#include "testutil.h"
#include "util.h"

/* ---- a tiny HTTP/1.1 server: one thread, one connection at a time, keep-alive ---- */

typedef struct server {
  int listen_fd;
  pthread_t thread;
  char url[64];
  char socket_path[108];
  volatile int connections;
} server;

static int read_request(int fd, rig_buf *req, size_t *header_end, size_t *body_len)
{
  for (;;) {
    char *end = req->data ? strstr(req->data, "\r\n\r\n") : NULL;
    if (end) {
      *header_end = (size_t)(end - req->data) + 4;
      const char *cl = strcasestr(req->data, "\r\nContent-Length:");
      *body_len = (cl && cl < end) ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
      if (req->len >= *header_end + *body_len)
        return 1;
    }
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0)
      return 0;
    rig__buf_append(req, chunk, (size_t)n);
  }
}

static void send_all(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    data += n;
    len -= (size_t)n;
  }
}

static void respond(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
  char head[512];
  int n =
      snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nX-Test: yes\r\n%s\r\n",
               status, len, extra_headers ? extra_headers : "");
  send_all(fd, head, (size_t)n);
  send_all(fd, body, len);
}

static void serve_connection(server *srv, int fd)
{
  srv->connections++;
  rig_buf req = RIG_BUF_INIT;
  size_t header_end = 0, body_len = 0;
  while (read_request(fd, &req, &header_end, &body_len)) {
    char method[16] = "", path[256] = "";
    sscanf(req.data, "%15s %255s", method, path);
    if (strcmp(path, "/hello") == 0) {
      respond(fd, 200, "Content-Type: text/plain\r\n", "hello", 5);
    } else if (strncmp(path, "/status/", 8) == 0) {
      respond(fd, atoi(path + 8), NULL, "status", 6);
    } else if (strcmp(path, "/echo") == 0) {
      rig_buf out = RIG_BUF_INIT;
      const char *ua = strcasestr(req.data, "\r\nX-Echo:");
      char echo_header[64] = "";
      if (ua && ua < req.data + header_end)
        sscanf(ua + 9, " %63[^\r]", echo_header);
      rig__buf_printf(&out, "%s %s [%s] ", method, path, echo_header);
      rig__buf_append(&out, req.data + header_end, body_len);
      respond(fd, 200, NULL, out.data, out.len);
      rig__buf_dispose(&out);
    } else if (strcmp(path, "/big") == 0) {
      size_t len = 3 * 1024 * 1024 + 17;
      char *body = rig__malloc(len);
      for (size_t i = 0; i < len; i++)
        body[i] = (char)('a' + i % 26);
      respond(fd, 200, NULL, body, len);
      free(body);
    } else if (strcmp(path, "/slow") == 0) {
      sleep(3);
      respond(fd, 200, NULL, "late", 4);
    } else if (strcmp(path, "/stream") == 0) {
      const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      send_all(fd, head, strlen(head));
      for (int i = 0; i < 5; i++) {
        char chunk[32];
        int n = snprintf(chunk, sizeof chunk, "6\r\npart-%d\r\n", i);
        send_all(fd, chunk, (size_t)n);
        usleep(20000);
      }
      send_all(fd, "0\r\n\r\n", 5);
    } else if (strcmp(path, "/forever") == 0) {
      /* Streams a line every 50 ms until the client goes away. */
      const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      send_all(fd, head, strlen(head));
      for (int i = 0; i < 400; i++) {
        if (send(fd, "5\r\ntick\n\r\n", 10, MSG_NOSIGNAL) <= 0)
          break;
        usleep(50000);
      }
      break;
    } else {
      respond(fd, 404, NULL, "no such path", 12);
    }
    size_t used = header_end + body_len;
    memmove(req.data, req.data + used, req.len - used);
    req.len -= used;
    req.data[req.len] = '\0';
  }
  rig__buf_dispose(&req);
  close(fd);
}

static void *server_main(void *arg)
{
  server *srv = arg;
  for (;;) {
    int fd = accept(srv->listen_fd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      return NULL;
    }
    serve_connection(srv, fd);
  }
}

static server *server_start(int unix_socket)
{
  server *srv = rig__calloc(1, sizeof *srv);
  if (unix_socket) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(srv->socket_path, sizeof srv->socket_path, "/tmp/rig-http-%ld.sock", (long)getpid());
    unlink(srv->socket_path);
    strcpy(addr.sun_path, srv->socket_path);
    srv->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    strcpy(srv->url, "http://localhost");
  } else {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ck_assert_int_eq(bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(srv->listen_fd, (struct sockaddr *)&addr, &len);
    snprintf(srv->url, sizeof srv->url, "http://127.0.0.1:%d", ntohs(addr.sin_port));
  }
  ck_assert_int_eq(listen(srv->listen_fd, 16), 0);
  pthread_create(&srv->thread, NULL, server_main, srv);
  return srv;
}

static void server_stop(server *srv)
{
  shutdown(srv->listen_fd, SHUT_RDWR);
  close(srv->listen_fd);
  pthread_join(srv->thread, NULL);
  if (srv->socket_path[0])
    unlink(srv->socket_path);
  free(srv);
}

static rig_http *client_for(server *srv, int64_t timeout_ms)
{
  rig_http_options opts = RIG_HTTP_OPTIONS_INIT;
  opts.unix_socket = srv->socket_path[0] ? srv->socket_path : NULL;
  opts.timeout_ms = timeout_ms;
  rig_http *client = NULL;
  ck_assert_int_eq(rig_http_new(&client, srv->url, &opts), RIG_OK);
  return client;
}

static int get(rig_http *client, const char *path, rig_http_response *resp)
{
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = path;
  return rig_http_do(client, &req, resp);
}

/* Each test runs over TCP (_i == 0) and over a unix socket (_i == 1). */

START_TEST(get_ok_and_headers)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, 0);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(get(client, "/hello", &resp), RIG_OK);
  ck_assert_int_eq(resp.status, 200);
  ck_assert_str_eq(resp.body, "hello");
  ck_assert_uint_eq(resp.body_len, 5);
  ck_assert_str_eq(rig_http_response_header(&resp, "content-type"), "text/plain");
  ck_assert_str_eq(rig_http_response_header(&resp, "X-TEST"), "yes");
  ck_assert_ptr_null(rig_http_response_header(&resp, "X-Missing"));
  rig_http_response_dispose(&resp);
  ck_assert_ptr_null(resp.body);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(error_statuses_are_answers)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, 0);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(get(client, "/status/503", &resp), RIG_OK);
  ck_assert_int_eq(resp.status, 503);
  rig_http_response_dispose(&resp);
  ck_assert_int_eq(get(client, "/nowhere", &resp), RIG_OK);
  ck_assert_int_eq(resp.status, 404);
  ck_assert_str_eq(resp.body, "no such path");
  rig_http_response_dispose(&resp);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(keep_alive_reuses_one_connection)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, 0);
  for (int i = 0; i < 5; i++) {
    rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
    ck_assert_int_eq(get(client, "/hello", &resp), RIG_OK);
    ck_assert_int_eq(resp.status, 200);
    rig_http_response_dispose(&resp);
  }
  ck_assert_int_eq(srv->connections, 1);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(large_body_grows_buffer)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, 0);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(get(client, "/big", &resp), RIG_OK);
  ck_assert_uint_eq(resp.body_len, 3 * 1024 * 1024 + 17);
  for (size_t i = 0; i < resp.body_len; i += 4099)
    ck_assert_int_eq(resp.body[i], 'a' + (int)(i % 26));
  ck_assert_int_eq(resp.body[resp.body_len], '\0');
  rig_http_response_dispose(&resp);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(post_body_method_and_headers)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, 0);
  const char *headers[] = {"X-Echo: seen", "Content-Type: application/json", NULL};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = "/echo";
  req.headers = headers;
  req.body = "{\"a\":1}";
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(rig_http_do(client, &req, &resp), RIG_OK);
  ck_assert_str_eq(resp.body, "POST /echo [seen] {\"a\":1}");
  rig_http_response_dispose(&resp);

  rig_http_request del = RIG_HTTP_REQUEST_INIT;
  del.method = "DELETE";
  del.path = "/echo";
  ck_assert_int_eq(rig_http_do(client, &del, &resp), RIG_OK);
  ck_assert_str_eq(resp.body, "DELETE /echo [] ");
  rig_http_response_dispose(&resp);

  /* Binary body with an explicit length, NUL bytes included. */
  rig_http_request bin = RIG_HTTP_REQUEST_INIT;
  bin.method = "PUT";
  bin.path = "/echo";
  bin.body = "a\0b";
  bin.body_len = 3;
  ck_assert_int_eq(rig_http_do(client, &bin, &resp), RIG_OK);
  ck_assert_uint_eq(resp.body_len, strlen("PUT /echo [] ") + 3);
  ck_assert_int_eq(memcmp(resp.body + resp.body_len - 3, "a\0b", 3), 0);
  rig_http_response_dispose(&resp);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

typedef struct collected {
  rig_buf data;
  int calls;
  int stop_after;
} collected;

static int collect(void *userdata, const char *data, size_t len)
{
  collected *c = userdata;
  rig__buf_append(&c->data, data, len);
  c->calls++;
  return c->stop_after && c->calls >= c->stop_after;
}

START_TEST(stream_delivers_pieces)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, 0);
  collected c = {RIG_BUF_INIT, 0, 0};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = "/stream";
  req.on_data = collect;
  req.userdata = &c;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(rig_http_do(client, &req, &resp), RIG_OK);
  ck_assert_int_eq(resp.status, 200);
  ck_assert_uint_eq(resp.body_len, 0);
  ck_assert_str_eq(c.data.data, "part-0part-1part-2part-3part-4");
  ck_assert_int_ge(c.calls, 2);
  rig__buf_dispose(&c.data);
  rig_http_response_dispose(&resp);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(stream_stops_when_callback_says_so)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, -1);
  collected c = {RIG_BUF_INIT, 0, 3};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = "/forever";
  req.on_data = collect;
  req.userdata = &c;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(rig_http_do(client, &req, &resp), RIG_OK);
  ck_assert_int_eq(c.calls, 3);
  ck_assert_str_eq(c.data.data, "tick\ntick\ntick\n");
  rig__buf_dispose(&c.data);
  rig_http_response_dispose(&resp);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

typedef struct canceller {
  volatile int flag;
} canceller;

static void *cancel_later(void *arg)
{
  usleep(200000);
  ((canceller *)arg)->flag = 1;
  return NULL;
}

START_TEST(cancel_flag_interrupts)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, -1);
  canceller cancel = {0};
  collected c = {RIG_BUF_INIT, 0, 0};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = "/forever";
  req.on_data = collect;
  req.userdata = &c;
  req.cancel = &cancel.flag;
  pthread_t thread;
  pthread_create(&thread, NULL, cancel_later, &cancel);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(rig_http_do(client, &req, &resp), RIG_EINTERRUPTED);
  pthread_join(thread, NULL);
  ck_assert_int_ge(c.calls, 1);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "/forever"));
  rig__buf_dispose(&c.data);
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(timeout_is_reported)
{
  server *srv = server_start(_i);
  rig_http *client = client_for(srv, 300);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(get(client, "/slow", &resp), RIG_ETIMEOUT);
  const rig_error *err = rig_error_last();
  ck_assert_int_eq(err->code, RIG_ETIMEOUT);
  ck_assert_ptr_nonnull(strstr(err->message, "GET "));
  ck_assert_ptr_nonnull(strstr(err->message, "/slow"));
  ck_assert_ptr_null(resp.body); /* untouched on failure */
  rig_http_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(refused_connection_names_url)
{
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", rig_test_free_port());
  rig_http *client = NULL;
  ck_assert_int_eq(rig_http_new(&client, url, NULL), RIG_OK);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(get(client, "/x", &resp), RIG_ECONNECT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, url));
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "url"), strcat(url, "/x"));
  rig_http_free(client);

  rig_http_options opts = RIG_HTTP_OPTIONS_INIT;
  opts.unix_socket = "/nonexistent/docker.sock";
  ck_assert_int_eq(rig_http_new(&client, "http://localhost", &opts), RIG_OK);
  ck_assert_int_eq(get(client, "/_ping", &resp), RIG_ECONNECT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "/nonexistent/docker.sock"));
  rig_http_free(client);
}
END_TEST

START_TEST(bad_base_url)
{
  rig_http *client = (rig_http *)0x1;
  ck_assert_int_eq(rig_http_new(&client, "ftp://x", NULL), RIG_EINVAL);
  ck_assert_ptr_eq(client, (rig_http *)0x1);
  ck_assert_int_eq(rig_http_new(&client, NULL, NULL), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "base URL"));
  rig_http_free(NULL);
}
END_TEST

START_TEST(base_url_trailing_slash_trimmed)
{
  rig_http *client = NULL;
  ck_assert_int_eq(rig_http_new(&client, "http://127.0.0.1:1/", NULL), RIG_OK);
  ck_assert_str_eq(rig_http_base_url(client), "http://127.0.0.1:1");
  rig_http_free(client);
}
END_TEST

START_TEST(many_requests_concurrently)
{
  server *fast = server_start(0);
  server *fast2 = server_start(1);
  server *slow = server_start(0);
  rig_http *clients[3] = {client_for(fast, 0), client_for(fast2, 0), client_for(slow, 500)};
  rig_http_request reqs[3] = {RIG_HTTP_REQUEST_INIT, RIG_HTTP_REQUEST_INIT, RIG_HTTP_REQUEST_INIT};
  reqs[0].path = "/hello";
  reqs[1].path = "/status/204";
  reqs[2].path = "/slow";
  rig_http_response resps[3] = {RIG_HTTP_RESPONSE_INIT, RIG_HTTP_RESPONSE_INIT,
                                RIG_HTTP_RESPONSE_INIT};
  int results[3] = {99, 99, 99};
  ck_assert_int_eq(rig_http_do_many(clients, reqs, resps, results, 3), RIG_OK);
  ck_assert_int_eq(results[0], RIG_OK);
  ck_assert_int_eq(resps[0].status, 200);
  ck_assert_str_eq(resps[0].body, "hello");
  ck_assert_int_eq(results[1], RIG_OK);
  ck_assert_int_eq(resps[1].status, 204);
  ck_assert_int_eq(results[2], RIG_ETIMEOUT);
  /* The clients are usable again afterwards. */
  rig_http_response again = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(get(clients[0], "/hello", &again), RIG_OK);
  ck_assert_str_eq(again.body, "hello");
  rig_http_response_dispose(&again);
  rig_http *dup[2] = {clients[0], clients[0]};
  ck_assert_int_eq(rig_http_do_many(dup, reqs, resps, results, 2), RIG_EINVAL);
  for (int i = 0; i < 3; i++) {
    rig_http_response_dispose(&resps[i]);
    rig_http_free(clients[i]);
  }
  server_stop(fast);
  server_stop(fast2);
  server_stop(slow);
}
END_TEST

START_TEST(escape)
{
  char *out = NULL;
  ck_assert_int_eq(rig_http_escape(&out, "a b/c?d=é&x~_.-"), RIG_OK);
  ck_assert_str_eq(out, "a%20b%2Fc%3Fd%3D%C3%A9%26x~_.-");
  free(out);
  ck_assert_int_eq(rig_http_escape(&out, ""), RIG_OK);
  ck_assert_str_eq(out, "");
  free(out);
}
END_TEST

static Suite *http_suite(void)
{
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("client");
  tcase_set_timeout(tc, 30);
  tcase_add_loop_test(tc, get_ok_and_headers, 0, 2);
  tcase_add_loop_test(tc, error_statuses_are_answers, 0, 2);
  tcase_add_loop_test(tc, keep_alive_reuses_one_connection, 0, 2);
  tcase_add_loop_test(tc, large_body_grows_buffer, 0, 2);
  tcase_add_loop_test(tc, post_body_method_and_headers, 0, 2);
  tcase_add_loop_test(tc, stream_delivers_pieces, 0, 2);
  tcase_add_loop_test(tc, stream_stops_when_callback_says_so, 0, 2);
  tcase_add_loop_test(tc, cancel_flag_interrupts, 0, 2);
  tcase_add_loop_test(tc, timeout_is_reported, 0, 2);
  tcase_add_test(tc, refused_connection_names_url);
  tcase_add_test(tc, bad_base_url);
  tcase_add_test(tc, base_url_trailing_slash_trimmed);
  tcase_add_test(tc, many_requests_concurrently);
  tcase_add_test(tc, escape);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(http_suite());
}
