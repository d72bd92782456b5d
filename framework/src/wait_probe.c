/*
 * wait_probe.c - one attempt of each polled readiness probe (tcp, http, sql, exec), each
 * bounded by a timeout and reporting why it was not ready yet, so that a timeout can say
 * what the service last answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stackrig/docker.h"
#include "stackrig/error.h"
#include "stackrig/http.h"
#include "util.h"
#include "wait_internal.h"

/* The text of the thread's last error, consumed. */
static char *take_error(const char *fallback)
{
  const rig_error *err = rig_error_last();
  char *text = rig__strdup(err && err->text ? err->text : fallback);
  rig_error_clear();
  return text;
}

static int poll_one(int fd, short events, int64_t deadline_ms)
{
  for (;;) {
    int64_t left = deadline_ms - rig__now_ms();
    if (left < 0)
      left = 0;
    struct pollfd pfd = {fd, events, 0};
    int n = poll(&pfd, 1, (int)left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n; /* 0: timed out */
    return pfd.revents ? pfd.revents : events;
  }
}

/* ---- tcp ---- */

int rig__probe_tcp(char **detail, const rig__probe_target *target, int64_t timeout_ms)
{
  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, target->host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)target->host_port);
    addr_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, target->host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)target->host_port);
    addr_len = sizeof *v6;
  } else {
    *detail = rig__sprintf("%s is not an IP address", target->host);
    return 0;
  }
  int64_t deadline = rig__now_ms() + timeout_ms;
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *detail = rig__sprintf("socket: %s", strerror(errno));
    return 0;
  }
  int ready = 0;
  if (connect(fd, (struct sockaddr *)&addr, addr_len) != 0 && errno != EINPROGRESS) {
    *detail =
        rig__sprintf("connect to %s:%d: %s", target->host, target->host_port, strerror(errno));
    goto done;
  }
  int events = poll_one(fd, POLLOUT, deadline);
  if (events <= 0) {
    *detail = rig__sprintf("connect to %s:%d: timed out", target->host, target->host_port);
    goto done;
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error) {
    *detail =
        rig__sprintf("connect to %s:%d: %s", target->host, target->host_port, strerror(so_error));
    goto done;
  }
  /* The engine's userland proxy accepts on the published port whether or not the container
   * listens, and closes at once when it does not: a connection that survives a moment (or
   * carries a greeting) reached the service. */
  int64_t settle = rig__now_ms() + RIG__TCP_SETTLE_MS;
  events = poll_one(fd, POLLIN, settle < deadline ? settle : deadline);
  if (events == 0) {
    ready = 1;
  } else if (events > 0) {
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK);
    if (n > 0)
      ready = 1;
    else
      *detail = rig__sprintf("%s:%d accepted the connection and closed it at once (nothing "
                             "listens behind the published port yet)",
                             target->host, target->host_port);
  } else {
    *detail = rig__sprintf("%s:%d: %s", target->host, target->host_port, strerror(errno));
  }
done:
  close(fd);
  return ready;
}

/* ---- http ---- */

static int status_accepted(const rig_wait_spec *spec, long status)
{
  for (size_t i = 0; i < spec->status_count; i++)
    if (status >= spec->statuses[i].low && status <= spec->statuses[i].high)
      return 1;
  return 0;
}

/* The start of a body for a message: one line, at most 200 bytes. */
static char *body_excerpt(const char *body, size_t len)
{
  size_t n = len < 200 ? len : 200;
  char *text = rig__strndup(body ? body : "", n);
  for (char *p = text; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
  return text;
}

int rig__probe_http(char **detail, rig_http **client, const rig_wait_spec *spec,
                    const rig__probe_target *target, int64_t timeout_ms)
{
  if (!*client) {
    char *base = strchr(target->host, ':')
                     ? rig__sprintf("http://[%s]:%d", target->host, target->host_port)
                     : rig__sprintf("http://%s:%d", target->host, target->host_port);
    rig_http_options opts = RIG_HTTP_OPTIONS_INIT;
    opts.connect_timeout_ms = 1000;
    int rc = rig_http_new(client, base, &opts);
    free(base);
    if (rc != RIG_OK) {
      *detail = take_error("cannot make an HTTP client");
      return 0;
    }
  }
  char *content_type =
      spec->content_type ? rig__sprintf("Content-Type: %s", spec->content_type) : NULL;
  const char *headers[] = {content_type, NULL};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.method = spec->method;
  req.path = spec->path;
  req.headers = content_type ? headers : NULL;
  req.body = spec->request_body;
  req.body_len = spec->request_body ? strlen(spec->request_body) : 0;
  if (spec->request_body && !*spec->request_body)
    req.body = NULL;
  req.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig_http_do(*client, &req, &resp);
  free(content_type);
  if (rc != RIG_OK) {
    *detail = take_error("request failed");
    rig_http_response_dispose(&resp);
    return 0;
  }
  int ready = 0;
  const char *url = rig_http_base_url(*client);
  if (!status_accepted(spec, resp.status)) {
    char *excerpt = body_excerpt(resp.body, resp.body_len);
    *detail = rig__sprintf("%s %s%s answered %ld%s%s", spec->method, url, spec->path, resp.status,
                           *excerpt ? ": " : "", excerpt);
    free(excerpt);
  } else if (spec->body_pattern &&
             regexec(&spec->body_regex, resp.body ? resp.body : "", 0, NULL, 0) != 0) {
    char *excerpt = body_excerpt(resp.body, resp.body_len);
    *detail = rig__sprintf("%s %s%s answered %ld but the body does not match /%s/: %s",
                           spec->method, url, spec->path, resp.status, spec->body_pattern, excerpt);
    free(excerpt);
  } else if (spec->header_name) {
    const char *value = rig_http_response_header(&resp, spec->header_name);
    if (!value)
      *detail = rig__sprintf("%s %s%s answered %ld without a %s header", spec->method, url,
                             spec->path, resp.status, spec->header_name);
    else if (spec->header_pattern && regexec(&spec->header_regex, value, 0, NULL, 0) != 0)
      *detail = rig__sprintf("%s %s%s answered %ld with %s: %s, which does not match /%s/",
                             spec->method, url, spec->path, resp.status, spec->header_name, value,
                             spec->header_pattern);
    else
      ready = 1;
  } else {
    ready = 1;
  }
  rig_http_response_dispose(&resp);
  return ready;
}

/* ---- sql ---- */

static char *pq_message(const char *prefix, const char *message)
{
  char *text = rig__sprintf("%s%s", prefix, message && *message ? message : "failed");
  size_t len = strlen(text);
  while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
    text[--len] = '\0';
  for (char *p = text; *p; p++)
    if (*p == '\n')
      *p = ' ';
  return text;
}

int rig__probe_sql(char **detail, const rig_wait_spec *spec, const rig__probe_target *target,
                   int64_t timeout_ms)
{
  char port[16];
  snprintf(port, sizeof port, "%d", target->host_port);
  const char *user = spec->user ? spec->user : "postgres";
  const char *const keys[] = {
      "host", "port", "user", "password", "dbname", "sslmode", "application_name", NULL};
  const char *const values[] = {target->host,
                                port,
                                user,
                                spec->password ? spec->password : "",
                                spec->database ? spec->database : user,
                                "disable",
                                "stackrig-ready",
                                NULL};
  int64_t deadline = rig__now_ms() + timeout_ms;
  PGconn *conn = PQconnectStartParams(keys, values, 0);
  if (!conn) {
    *detail = rig__strdup("libpq: out of memory");
    return 0;
  }
  int ready = 0;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  if (PQstatus(conn) == CONNECTION_BAD) {
    *detail = pq_message("login: ", PQerrorMessage(conn));
    goto done;
  }
  /* Non-blocking, so the attempt honours a deadline in milliseconds (libpq's own
   * connect_timeout counts whole seconds, at least 2). */
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      *detail = pq_message("login: ", PQerrorMessage(conn));
      goto done;
    }
    int events =
        poll_one(PQsocket(conn), state == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (events <= 0) {
      *detail = rig__strdup("login: timed out");
      goto done;
    }
    state = PQconnectPoll(conn);
  }
  if (!PQsendQuery(conn, spec->query ? spec->query : "SELECT 1")) {
    *detail = pq_message("query: ", PQerrorMessage(conn));
    goto done;
  }
  int ok = 1;
  for (;;) {
    while (PQisBusy(conn)) {
      if (poll_one(PQsocket(conn), POLLIN, deadline) <= 0) {
        *detail = rig__strdup("query: timed out");
        goto done;
      }
      if (!PQconsumeInput(conn)) {
        *detail = pq_message("query: ", PQerrorMessage(conn));
        goto done;
      }
    }
    PGresult *res = PQgetResult(conn);
    if (!res)
      break;
    ExecStatusType status = PQresultStatus(res);
    if (ok && status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      char *prefix = rig__sprintf("query: SQLSTATE %s ", sqlstate ? sqlstate : "?????");
      *detail = pq_message(prefix, PQresultErrorMessage(res));
      free(prefix);
      ok = 0;
    }
    PQclear(res);
  }
  ready = ok;
done:
  PQfinish(conn);
  return ready;
}

/* ---- exec ---- */

static char *output_excerpt(const rig_docker_exec_result *res)
{
  const char *text = res->stderr_len ? res->stderr_data : res->stdout_data;
  size_t len = res->stderr_len ? res->stderr_len : res->stdout_len;
  while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
    len--;
  size_t start = len > 300 ? len - 300 : 0;
  char *excerpt = rig__strndup(text + start, len - start);
  for (char *p = excerpt; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return excerpt;
}

int rig__probe_exec(char **detail, rig_docker *docker, const rig_wait_spec *spec,
                    const rig__probe_target *target, int64_t timeout_ms)
{
  rig_docker_exec_options opts = RIG_DOCKER_EXEC_OPTIONS_INIT;
  opts.cmd = (const char *const *)spec->command;
  opts.user = spec->exec_user;
  opts.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
  rig_docker_exec_result *res = NULL;
  int rc = rig_docker_exec(&res, docker, target->container, &opts);
  if (rc != RIG_OK) {
    *detail = take_error("exec failed");
    return 0;
  }
  int ready = res->exit_code == 0;
  if (!ready) {
    char *excerpt = output_excerpt(res);
    *detail = rig__sprintf("%s exited with code %lld%s%s", spec->command[0],
                           (long long)res->exit_code, *excerpt ? ": " : "", excerpt);
    free(excerpt);
  }
  rig_docker_exec_result_free(res);
  return ready;
}

/* ---- time ---- */

int64_t rig__wait_parse_time(const char *text)
{
  if (!text)
    return 0;
  int year, month, day, hour, minute, second, consumed = 0;
  if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
             &consumed) != 6 ||
      year < 1970)
    return 0;
  const char *p = text + consumed;
  int64_t nanos = 0;
  if (*p == '.') {
    int64_t scale = 100000000;
    for (p++; *p >= '0' && *p <= '9'; p++) {
      nanos += (*p - '0') * scale;
      scale /= 10;
    }
  }
  int64_t offset_s = 0;
  if (*p == '+' || *p == '-') {
    int oh = 0, om = 0;
    if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
      return 0;
    offset_s = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
  } else if (*p != 'Z' && *p != 'z') {
    return 0;
  }
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t seconds = timegm(&tm);
  return ((int64_t)seconds - offset_s) * 1000000000LL + nanos;
}
