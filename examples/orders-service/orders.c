/*
 * orders.c - a small HTTP service instrumented with OpenTelemetry through libstackrig: the
 * service that examples/check_orders.c tests. Teaching code: simplicity over speed.
 *
 *   POST /orders      {"item": "widget", "qty": 2}  -> 201 {"id": 1, "item": "widget", "qty": 2}
 *   GET  /orders/{id}                               -> 200 {...}, or 404
 *   GET  /healthz                                   -> 200 {"status": "ok"} (database reached)
 *
 * Telemetry goes to the OpenTelemetry Collector over OTLP/HTTP JSON:
 *   traces   each request continues the caller's W3C traceparent (or starts a new trace) in a
 *            SERVER span "POST /orders", with a CLIENT child span "INSERT orders" for the SQL
 *   metrics  a cumulative monotonic Sum "orders_requests" by http.status_code, pushed every
 *            METRICS_INTERVAL_MS and at exit; Prometheus calls it orders_requests_total
 *
 * usage: orders [--dsn DSN] [--otlp URL] [--instance ID] [PORT]   (orders --help)
 *
 * One thread, one request at a time: poll() waits for a connection or for the next metrics
 * push; each connection carries one request and is closed after the answer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <json-c/json_pointer.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stackrig.h>

#define SERVICE_NAME "orders"
#define SERVICE_VERSION "1.0.0"
#define METRICS_INTERVAL_MS 250
#define MAX_HEADER_BYTES 16384
#define MAX_BODY_BYTES 65536
#define MAX_STATUSES 16

/* What the service keeps between requests. */
typedef struct service {
  PGconn *db;
  rig_otlp_exporter *traces; /* NULL: telemetry off */
  rig_http *collector;       /* for POST /v1/metrics; NULL: telemetry off */
  char instance[64];         /* service.instance.id */
  int port;
  int64_t start_unix_ns; /* when the cumulative counters started */
  struct {
    int status;
    int64_t count;
  } requests[MAX_STATUSES];
  int status_count;
  int metrics_dirty; /* something was counted since the last push */
  int push_failing;  /* the last push failed (reported once) */
} service;

/* One request: what was read, its spans, and the answer. */
typedef struct request {
  char method[8];
  char path[256];
  char traceparent[128];
  char *body;
  rig_otlp_batch *batch; /* this request's spans, exported once it is answered */
  rig_otlp_resource *resource;
  rig_otlp_span *span; /* the SERVER span; NULL when telemetry is off */
  int status;
  char *response; /* the JSON body of the answer */
} request;

static volatile sig_atomic_t stopping;

static void on_signal(int signo)
{
  (void)signo;
  stopping = 1;
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_unix_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* libstackrig explains each failure in rig_error_last(): the URL, the status, the cause. */
static void warn_rig(const char *what)
{
  const rig_error *err = rig_error_last();
  fprintf(stderr, "orders: %s: %s\n", what, err ? err->text : "unknown error");
}

/* ---- metrics: a hand-written OTLP JSON ExportMetricsServiceRequest ---- */

static void count_request(service *svc, int status)
{
  int i = 0;
  while (i < svc->status_count && svc->requests[i].status != status)
    i++;
  if (i == MAX_STATUSES)
    return;
  if (i == svc->status_count) {
    svc->requests[i].status = status;
    svc->requests[i].count = 0;
    svc->status_count++;
  }
  svc->requests[i].count++;
  svc->metrics_dirty = 1;
}

/* The request's shape, from the OTLP JSON encoding: lowerCamelCase names, enums as numbers.
 * aggregationTemporality 2 is CUMULATIVE: each push carries the total since
 * startTimeUnixNano, so a lost push loses nothing. The collector's prometheus exporter makes
 * service.name and service.instance.id the job and instance labels, turns http.status_code
 * into http_status_code, drops the {request} annotation and adds "_total" to a counter. */
static const char metrics_skeleton[] =
    "{\"resourceMetrics\": [{"
    "  \"resource\": {\"attributes\": ["
    "    {\"key\": \"service.name\", \"value\": {\"stringValue\": \"" SERVICE_NAME "\"}},"
    "    {\"key\": \"service.version\", \"value\": {\"stringValue\": \"" SERVICE_VERSION "\"}}]},"
    "  \"scopeMetrics\": [{"
    "    \"scope\": {\"name\": \"" SERVICE_NAME "\", \"version\": \"" SERVICE_VERSION "\"},"
    "    \"metrics\": [{"
    "      \"name\": \"orders_requests\", \"unit\": \"{request}\","
    "      \"description\": \"HTTP requests answered, by status code\","
    "      \"sum\": {\"aggregationTemporality\": 2, \"isMonotonic\": true, \"dataPoints\": []}"
    "}]}]}]}";

/* OTLP JSON writes 64-bit integers as decimal strings (JSON numbers may lose precision). */
static json_object *int64_string(int64_t value)
{
  char text[24];
  snprintf(text, sizeof text, "%lld", (long long)value);
  return json_object_new_string(text);
}

/* {"key": key, "value": {type: value}}, type being "stringValue", "intValue", ... */
static json_object *attribute(const char *key, const char *type, json_object *value)
{
  json_object *attr = json_object_new_object(), *any = json_object_new_object();
  json_object_object_add(any, type, value);
  json_object_object_add(attr, "key", json_object_new_string(key));
  json_object_object_add(attr, "value", any);
  return attr;
}

static char *metrics_json(const service *svc)
{
  json_object *root = json_tokener_parse(metrics_skeleton), *resource_attrs, *points;
  json_pointer_get(root, "/resourceMetrics/0/resource/attributes", &resource_attrs);
  json_object_array_add(resource_attrs, attribute("service.instance.id", "stringValue",
                                                  json_object_new_string(svc->instance)));
  json_pointer_get(root, "/resourceMetrics/0/scopeMetrics/0/metrics/0/sum/dataPoints", &points);
  for (int i = 0; i < svc->status_count; i++) {
    json_object *point = json_object_new_object(), *attrs = json_object_new_array();
    json_object_array_add(
        attrs, attribute("http.status_code", "intValue", int64_string(svc->requests[i].status)));
    json_object_object_add(point, "attributes", attrs);
    json_object_object_add(point, "startTimeUnixNano", int64_string(svc->start_unix_ns));
    json_object_object_add(point, "timeUnixNano", int64_string(now_unix_ns()));
    json_object_object_add(point, "asInt", int64_string(svc->requests[i].count));
    json_object_array_add(points, point);
  }
  char *text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(root);
  return text;
}

static void push_metrics(service *svc)
{
  if (!svc->collector || !svc->metrics_dirty)
    return;
  char *body = metrics_json(svc);
  const char *headers[] = {"Content-Type: application/json", NULL};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.method = "POST";
  req.path = "/v1/metrics";
  req.headers = headers;
  req.body = body;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int failed = rig_http_do(svc->collector, &req, &resp) != RIG_OK || resp.status != 200;
  /* Until it works, the next round tries again; say so once, not every round. */
  if (failed && !svc->push_failing) {
    if (resp.status)
      fprintf(stderr, "orders: metrics push: HTTP %ld: %s (retrying)\n", resp.status, resp.body);
    else
      warn_rig("metrics push (retrying)");
  } else if (!failed && svc->push_failing) {
    fprintf(stderr, "orders: metrics push works again\n");
  }
  svc->push_failing = failed;
  svc->metrics_dirty = failed;
  rig_http_response_dispose(&resp);
  free(body);
}

/* ---- traces ---- */

/* Starts the SERVER span of a request: the child of the caller's span when a valid
 * traceparent came with it, else the root of a new trace. */
static void start_server_span(service *svc, request *req)
{
  if (!svc->traces || rig_otlp_batch_new(&req->batch) != RIG_OK ||
      rig_otlp_batch_add_resource(&req->resource, req->batch, SERVICE_NAME) != RIG_OK)
    return;
  rig_otlp_attrs *resource_attrs = rig_otlp_resource_attributes(req->resource);
  rig_otlp_attrs_set_string(resource_attrs, "service.instance.id", svc->instance);
  rig_otlp_attrs_set_string(resource_attrs, "service.version", SERVICE_VERSION);
  /* The span is named after the route, not the path: names must not grow with every id. */
  const char *http_route = strcmp(req->path, "/orders") == 0        ? "/orders"
                           : strncmp(req->path, "/orders/", 8) == 0 ? "/orders/{id}"
                                                                    : NULL;
  char name[64];
  snprintf(name, sizeof name, "%s%s%s", req->method, http_route ? " " : "",
           http_route ? http_route : "");
  rig_traceparent caller;
  int rc = req->traceparent[0] && rig_traceparent_parse(&caller, req->traceparent) == RIG_OK
               ? rig_otlp_span_start_remote(&req->span, req->resource, name, &caller)
               : rig_otlp_span_start(&req->span, req->resource, name, NULL);
  if (rc != RIG_OK)
    return;
  rig_otlp_span_set_kind(req->span, RIG_SPAN_KIND_SERVER);
  rig_otlp_span_set_scope(req->span, SERVICE_NAME, SERVICE_VERSION);
  rig_otlp_attrs *attrs = rig_otlp_span_attributes(req->span);
  rig_otlp_attrs_set_string(attrs, "http.request.method", req->method);
  if (http_route)
    rig_otlp_attrs_set_string(attrs, "http.route", http_route);
  rig_otlp_attrs_set_string(attrs, "url.path", req->path);
  rig_otlp_attrs_set_string(attrs, "url.scheme", "http");
  rig_otlp_attrs_set_string(attrs, "server.address", "127.0.0.1");
  rig_otlp_attrs_set_int(attrs, "server.port", svc->port);
}

/* Runs one parameterized statement inside a CLIENT span named like "INSERT orders", with
 * OpenTelemetry's database attributes. @return the result, or NULL after an error */
static PGresult *traced_query(service *svc, request *req, const char *span_name, const char *sql,
                              int param_count, const char *const *params)
{
  rig_otlp_span *span = NULL;
  if (req->span && rig_otlp_span_start(&span, req->resource, span_name, req->span) == RIG_OK) {
    rig_otlp_span_set_kind(span, RIG_SPAN_KIND_CLIENT);
    rig_otlp_span_set_scope(span, SERVICE_NAME, SERVICE_VERSION);
    rig_otlp_attrs *attrs = rig_otlp_span_attributes(span);
    rig_otlp_attrs_set_string(attrs, "db.system", "postgresql");
    rig_otlp_attrs_set_string(attrs, "db.name", PQdb(svc->db));
    rig_otlp_attrs_set_string(attrs, "db.statement", sql);
    rig_otlp_attrs_set_string(attrs, "server.address", PQhost(svc->db));
    rig_otlp_attrs_set_int(attrs, "server.port", atoi(PQport(svc->db)));
  }
  if (PQstatus(svc->db) != CONNECTION_OK)
    PQreset(svc->db); /* the server went away: reconnect once before giving up */
  PGresult *res = PQexecParams(svc->db, sql, param_count, NULL, params, NULL, NULL, 0);
  ExecStatusType status = PQresultStatus(res);
  int ok = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
  if (!ok)
    fprintf(stderr, "orders: %s: %s", span_name, PQerrorMessage(svc->db));
  if (span) {
    rig_otlp_span_set_status(span, ok ? RIG_STATUS_OK : RIG_STATUS_ERROR,
                             ok ? NULL : PQerrorMessage(svc->db));
    rig_otlp_span_end(span);
  }
  if (!ok) {
    PQclear(res);
    res = NULL;
  }
  return res;
}

/* ---- handlers: each one sets req->status and req->response ---- */

static void answer(request *req, int status, json_object *body)
{
  req->status = status;
  req->response = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(body);
}

static void answer_error(request *req, int status, const char *message)
{
  json_object *body = json_object_new_object();
  json_object_object_add(body, "error", json_object_new_string(message));
  answer(req, status, body);
}

static json_object *order_json(const char *id, const char *item, const char *qty)
{
  json_object *order = json_object_new_object();
  json_object_object_add(order, "id", json_object_new_int64(strtoll(id, NULL, 10)));
  json_object_object_add(order, "item", json_object_new_string(item));
  json_object_object_add(order, "qty", json_object_new_int64(strtoll(qty, NULL, 10)));
  return order;
}

/* POST /orders {"item": "...", "qty": n} */
static void create_order(service *svc, request *req)
{
  json_object *body = json_tokener_parse(req->body), *item = NULL, *qty = NULL;
  if (!json_object_object_get_ex(body, "item", &item) ||
      !json_object_is_type(item, json_type_string) || json_object_get_string_len(item) == 0 ||
      !json_object_object_get_ex(body, "qty", &qty) || !json_object_is_type(qty, json_type_int) ||
      json_object_get_int64(qty) < 1 || json_object_get_int64(qty) > 1000000) {
    answer_error(req, 400, "expected {\"item\": \"<non-empty>\", \"qty\": <1..1000000>}");
    json_object_put(body);
    return;
  }
  char qty_text[24];
  snprintf(qty_text, sizeof qty_text, "%lld", (long long)json_object_get_int64(qty));
  const char *params[] = {json_object_get_string(item), qty_text};
  PGresult *res =
      traced_query(svc, req, "INSERT orders",
                   "INSERT INTO orders (item, qty) VALUES ($1, $2) RETURNING id", 2, params);
  if (res)
    answer(req, 201, order_json(PQgetvalue(res, 0, 0), params[0], params[1]));
  else
    answer_error(req, 500, "the order could not be stored");
  PQclear(res);
  json_object_put(body);
}

/* GET /orders/{id} */
static void get_order(service *svc, request *req, const char *id)
{
  if (id[0] == '\0' || strlen(id) > 18 || strspn(id, "0123456789") != strlen(id)) {
    answer_error(req, 404, "no such order");
    return;
  }
  const char *params[] = {id};
  PGresult *res = traced_query(svc, req, "SELECT orders",
                               "SELECT id, item, qty FROM orders WHERE id = $1", 1, params);
  if (!res)
    answer_error(req, 500, "the order could not be read");
  else if (PQntuples(res) == 0)
    answer_error(req, 404, "no such order");
  else
    answer(req, 200,
           order_json(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2)));
  PQclear(res);
}

static void route(service *svc, request *req)
{
  int post = strcmp(req->method, "POST") == 0, get = strcmp(req->method, "GET") == 0;
  if (strcmp(req->path, "/orders") == 0 && post)
    create_order(svc, req);
  else if (strncmp(req->path, "/orders/", 8) == 0 && get)
    get_order(svc, req, req->path + 8);
  else
    answer_error(req, 404, "no such route: POST /orders, GET /orders/{id}, GET /healthz");
}

/* ---- HTTP/1.1, one request per connection ---- */

static const char *status_text(int status)
{
  static const struct {
    int status;
    const char *text;
  } texts[] = {{200, "OK"},        {201, "Created"},           {400, "Bad Request"},
               {404, "Not Found"}, {413, "Content Too Large"}, {503, "Service Unavailable"}};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (texts[i].status == status)
      return texts[i].text;
  return "Internal Server Error";
}

static int send_all(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL); /* a client gone is no reason to die */
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Copies the value of header `name` (any case) from the request head into out, or "". */
static void header_value(const char *head, const char *name, char *out, size_t size)
{
  size_t name_len = strlen(name);
  out[0] = '\0';
  for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
      const char *value = line + name_len + 1 + strspn(line + name_len + 1, " \t");
      snprintf(out, size, "%.*s", (int)strcspn(value, " \t\r"), value);
      return;
    }
  }
}

/* Reads the request line, the headers and a Content-Length body.
 * @return 0, an HTTP status for a request that cannot be served, or -1 to just hang up */
static int read_request(int fd, request *req)
{
  char head[MAX_HEADER_BYTES + 1], *end = NULL;
  size_t used = 0;
  while (!end) {
    if (used == MAX_HEADER_BYTES)
      return 413;
    ssize_t n = recv(fd, head + used, MAX_HEADER_BYTES - used, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1; /* closed, or silent past the receive timeout */
    used += (size_t)n;
    head[used] = '\0';
    end = strstr(head, "\r\n\r\n");
  }
  if (sscanf(head, "%7s %255s HTTP/1.", req->method, req->path) != 2)
    return 400;
  char length_text[32];
  header_value(head, "traceparent", req->traceparent, sizeof req->traceparent);
  header_value(head, "content-length", length_text, sizeof length_text);
  long length = strtol(length_text, NULL, 10);
  if (length < 0 || length > MAX_BODY_BYTES)
    return 413;
  /* The last read may already hold the start of the body. */
  size_t have = used - (size_t)(end + 4 - head);
  have = have > (size_t)length ? (size_t)length : have;
  req->body = malloc((size_t)length + 1);
  memcpy(req->body, end + 4, have);
  while (have < (size_t)length) {
    ssize_t n = recv(fd, req->body + have, (size_t)length - have, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    have += (size_t)n;
  }
  req->body[length] = '\0';
  return 0;
}

static void write_response(int fd, const request *req)
{
  char head[256];
  int len = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     req->status, status_text(req->status), strlen(req->response));
  if (send_all(fd, head, (size_t)len) == 0)
    send_all(fd, req->response, strlen(req->response));
}

static void handle_connection(service *svc, int fd)
{
  request req = {0};
  int64_t began = now_ms();
  int unreadable = read_request(fd, &req);
  if (unreadable < 0)
    goto cleanup;
  /* Health checks are neither traced nor counted: they are probes, not traffic. */
  int health = unreadable == 0 && strcmp(req.path, "/healthz") == 0;
  if (health) {
    if (PQstatus(svc->db) != CONNECTION_OK)
      PQreset(svc->db);
    int ok = PQstatus(svc->db) == CONNECTION_OK;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "status", json_object_new_string(ok ? "ok" : "no database"));
    answer(&req, ok ? 200 : 503, body);
  } else if (unreadable) {
    answer_error(&req, unreadable, status_text(unreadable));
  } else {
    start_server_span(svc, &req);
    route(svc, &req);
  }
  write_response(fd, &req);
  if (req.span) {
    rig_otlp_attrs_set_int(rig_otlp_span_attributes(req.span), "http.response.status_code",
                           req.status);
    /* HTTP's conventions: only a 5xx makes a server span an error. */
    if (req.status >= 500)
      rig_otlp_span_set_status(req.span, RIG_STATUS_ERROR, status_text(req.status));
    else
      rig_otlp_span_set_status(req.span, RIG_STATUS_OK, NULL);
    rig_otlp_span_end(req.span);
  }
  if (!health)
    count_request(svc, req.status);
  char trace_id[RIG_TRACE_ID_HEX_LEN + 1] = "-";
  if (req.span)
    rig_otlp_span_trace_id_hex(trace_id, req.span);
  fprintf(stderr, "orders: %s %s %d %lldms trace %s\n", req.method, req.path, req.status,
          (long long)(now_ms() - began), trace_id);
cleanup:
  close(fd); /* answer first, export after: the caller need not wait for the collector */
  if (req.batch && req.span && rig_otlp_exporter_send(svc->traces, req.batch) != RIG_OK)
    warn_rig("span export");
  rig_otlp_batch_free(req.batch);
  free(req.body);
  free(req.response);
}

/* ---- start-up and the main loop ---- */

static int listen_on(int port, int *bound_port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    fprintf(stderr, "orders: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    close(fd);
    return -1;
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

static const char usage[] =
    "usage: orders [--dsn DSN] [--otlp URL] [--instance ID] [PORT]\n"
    "  PORT  on 127.0.0.1; 0 (default): a free one. The first line on stdout names it:\n"
    "        \"orders: listening on 127.0.0.1:PORT\"\n"
    "  DSN   libpq connection string or URI; default $STACKRIG_PG_DSN\n"
    "  URL   the collector's OTLP/HTTP base URL; default $OTEL_EXPORTER_OTLP_ENDPOINT, else\n"
    "        $STACKRIG_OTLP_HTTP_ENDPOINT; without one, no telemetry is sent\n"
    "  ID    service.instance.id (Prometheus' instance label); default: random hex\n";

int main(int argc, char **argv)
{
  const char *dsn = getenv("STACKRIG_PG_DSN"), *otlp = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (!otlp || !*otlp)
    otlp = getenv("STACKRIG_OTLP_HTTP_ENDPOINT");
  service svc = {.start_unix_ns = now_unix_ns()};
  static const struct option options[] = {{"dsn", required_argument, NULL, 'd'},
                                          {"otlp", required_argument, NULL, 'o'},
                                          {"instance", required_argument, NULL, 'i'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  for (int c; (c = getopt_long(argc, argv, "d:o:i:h", options, NULL)) != -1;) {
    if (c == 'd')
      dsn = optarg;
    else if (c == 'o')
      otlp = optarg;
    else if (c == 'i')
      snprintf(svc.instance, sizeof svc.instance, "%s", optarg);
    else {
      fputs(usage, c == 'h' ? stdout : stderr);
      return c == 'h' ? 0 : 2;
    }
  }
  char *end = NULL;
  long port = optind < argc ? strtol(argv[optind], &end, 10) : 0;
  if (optind + 1 < argc || (end && *end) || port < 0 || port > 65535 || !dsn) {
    fprintf(stderr, "orders: %s\n%s", dsn ? "bad arguments" : "no database: give --dsn", usage);
    return 2;
  }
  if (!svc.instance[0]) {
    uint8_t id[16];
    rig_random_bytes(id, sizeof id);
    rig_trace_id_to_hex(svc.instance, id);
  }

  svc.db = PQconnectdb(dsn);
  if (PQstatus(svc.db) != CONNECTION_OK) {
    fprintf(stderr, "orders: cannot connect to the database: %s", PQerrorMessage(svc.db));
    PQfinish(svc.db);
    return 1;
  }
  if (otlp && *otlp) {
    /* Short timeouts: a collector that does not answer must not stall the service long. */
    rig_otlp_exporter_options export_opts = RIG_OTLP_EXPORTER_OPTIONS_INIT;
    export_opts.request_timeout_ms = 2000;
    export_opts.deadline_ms = 5000;
    rig_http_options http_opts = RIG_HTTP_OPTIONS_INIT;
    http_opts.timeout_ms = 2000;
    if (rig_otlp_exporter_new(&svc.traces, otlp, &export_opts) != RIG_OK ||
        rig_http_new(&svc.collector, otlp, &http_opts) != RIG_OK) {
      warn_rig(otlp);
      return 2;
    }
  }
  int listen_fd = listen_on((int)port, &svc.port);
  if (listen_fd < 0)
    return 1;
  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll() returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("orders: listening on 127.0.0.1:%d\n", svc.port);
  fflush(stdout);
  fprintf(stderr, "orders: instance %s, database %s, telemetry to %s\n", svc.instance, PQdb(svc.db),
          otlp && *otlp ? otlp : "nowhere");

  int64_t next_push = now_ms() + METRICS_INTERVAL_MS;
  while (!stopping) {
    int64_t wait_ms = next_push - now_ms();
    struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
    if (poll(&pfd, 1, wait_ms > 0 ? (int)wait_ms : 0) > 0) {
      int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) {
        /* A client that stalls mid-request must not block everyone behind it for long. */
        struct timeval timeout = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        handle_connection(&svc, fd);
      }
    }
    if (now_ms() >= next_push) {
      push_metrics(&svc);
      next_push = now_ms() + METRICS_INTERVAL_MS;
    }
  }

  push_metrics(&svc); /* what was counted since the last push */
  fprintf(stderr, "orders: stopped\n");
  close(listen_fd);
  rig_http_free(svc.collector);
  rig_otlp_exporter_free(svc.traces);
  PQfinish(svc.db);
  return 0;
}
