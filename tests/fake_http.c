/*
 * fake_http.c - the fake HTTP server of the unit suites (see fake_http.h).
 */
#include "fake_http.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

struct fake_http {
  int listen_fd;
  int stop_pipe[2];
  pthread_t thread;
  char url[64];
  fake_http_handler handler;
  void *userdata;
  pthread_mutex_t lock; /* guards what follows: tests read it while the thread serves */
  int requests;
  rig_buf log;
  char *last_request;
};

/* Waits until fd is readable or the server is told to stop; 0 on stop. */
static int wait_readable(fake_http *fake, int fd)
{
  struct pollfd fds[2] = {{fd, POLLIN, 0}, {fake->stop_pipe[0], POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || (fds[1].revents & (POLLIN | POLLHUP)))
      return 0;
    if (fds[0].revents)
      return 1;
  }
}

static int read_request(fake_http *fake, int fd, rig_buf *req, size_t *header_end, size_t *body_len)
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
    if (!wait_readable(fake, fd))
      return 0;
    char chunk[16384];
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

static void serve_connection(fake_http *fake, int fd)
{
  rig_buf req = RIG_BUF_INIT;
  size_t header_end = 0, body_len = 0;
  while (read_request(fake, fd, &req, &header_end, &body_len)) {
    char method[16] = "", target[4096] = "";
    sscanf(req.data, "%15s %4095s", method, target);
    char path[4096];
    snprintf(path, sizeof path, "%s", target);
    char *query = strchr(path, '?');
    if (query)
      *query++ = '\0';
    char *body = rig__strndup(req.data + header_end, body_len);
    fake_http_request request = {method, target,  path, body_len > 0 ? body : (query ? query : ""),
                                 body,   body_len};
    fake_http_reply reply = {200, NULL};
    char *answer_body = fake->handler(fake->userdata, &request, &reply);
    pthread_mutex_lock(&fake->lock);
    fake->requests++;
    rig__buf_printf(&fake->log, "%s\n", target);
    free(fake->last_request);
    fake->last_request = rig__strndup(req.data, header_end + body_len);
    pthread_mutex_unlock(&fake->lock);
    /* One write per answer: a header and a body in two small writes meet Nagle's algorithm
     * and the client's delayed ACK, 40 ms per request. */
    rig_buf answer = RIG_BUF_INIT;
    rig__buf_printf(&answer,
                    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                    "%s\r\n%s",
                    reply.status, answer_body ? strlen(answer_body) : 0,
                    reply.headers ? reply.headers : "", answer_body ? answer_body : "");
    send_all(fd, answer.data, answer.len);
    rig__buf_dispose(&answer);
    free(reply.headers);
    free(answer_body);
    free(body);
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
  fake_http *fake = arg;
  while (wait_readable(fake, fake->listen_fd)) {
    int fd = accept(fake->listen_fd, NULL, NULL);
    if (fd < 0)
      continue;
    serve_connection(fake, fd);
  }
  return NULL;
}

fake_http *fake_http_start(fake_http_handler handler, void *userdata)
{
  fake_http *fake = rig__calloc(1, sizeof *fake);
  fake->handler = handler;
  fake->userdata = userdata;
  pthread_mutex_init(&fake->lock, NULL);
  fake->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fake->listen_fd, 0);
  int one = 1;
  setsockopt(fake->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fake->listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
  ck_assert_int_eq(listen(fake->listen_fd, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(fake->listen_fd, (struct sockaddr *)&addr, &len);
  snprintf(fake->url, sizeof fake->url, "http://127.0.0.1:%d", ntohs(addr.sin_port));
  ck_assert_int_eq(pipe(fake->stop_pipe), 0);
  ck_assert_int_eq(pthread_create(&fake->thread, NULL, server_main, fake), 0);
  return fake;
}

const char *fake_http_url(const fake_http *fake)
{
  return fake->url;
}

int fake_http_requests(const fake_http *fake)
{
  fake_http *mutable_fake = (fake_http *)fake;
  pthread_mutex_lock(&mutable_fake->lock);
  int n = fake->requests;
  pthread_mutex_unlock(&mutable_fake->lock);
  return n;
}

char *fake_http_log(const fake_http *fake)
{
  fake_http *mutable_fake = (fake_http *)fake;
  pthread_mutex_lock(&mutable_fake->lock);
  char *copy = rig__strdup(fake->log.data ? fake->log.data : "");
  pthread_mutex_unlock(&mutable_fake->lock);
  return copy;
}

char *fake_http_last_request(const fake_http *fake)
{
  fake_http *mutable_fake = (fake_http *)fake;
  pthread_mutex_lock(&mutable_fake->lock);
  char *copy = fake->last_request ? rig__strdup(fake->last_request) : NULL;
  pthread_mutex_unlock(&mutable_fake->lock);
  return copy;
}

void fake_http_stop(fake_http *fake)
{
  if (!fake)
    return;
  ssize_t n = write(fake->stop_pipe[1], "x", 1);
  (void)n;
  pthread_join(fake->thread, NULL);
  close(fake->listen_fd);
  close(fake->stop_pipe[0]);
  close(fake->stop_pipe[1]);
  pthread_mutex_destroy(&fake->lock);
  rig__buf_dispose(&fake->log);
  free(fake->last_request);
  free(fake);
}

static int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (char)tolower((unsigned char)c);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

char *fake_http_form_get(const char *form, const char *key)
{
  size_t key_len = strlen(key);
  for (const char *p = form; p && *p;) {
    const char *end = strchr(p, '&');
    if (!end)
      end = p + strlen(p);
    if ((size_t)(end - p) > key_len && strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
      rig_buf value = RIG_BUF_INIT;
      for (const char *v = p + key_len + 1; v < end; v++) {
        if (*v == '+') {
          rig__buf_putc(&value, ' ');
        } else if (*v == '%' && end - v > 2 && hex_value(v[1]) >= 0 && hex_value(v[2]) >= 0) {
          rig__buf_putc(&value, (char)(hex_value(v[1]) * 16 + hex_value(v[2])));
          v += 2;
        } else {
          rig__buf_putc(&value, *v);
        }
      }
      return rig__buf_detach(&value);
    }
    p = *end ? end + 1 : end;
  }
  return NULL;
}

char *fake_http_closed_url(void)
{
  return rig__sprintf("http://127.0.0.1:%d", rig_test_free_port());
}
