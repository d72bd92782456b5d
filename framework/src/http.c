/*
 * http.c - the HTTP client every other module talks through: one reusable libcurl easy
 * handle per client (keep-alive), unix sockets for the Docker engine, response buffers
 * that grow, streamed bodies, and curl multi for concurrent requests.
 */
#include "stackrig/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stackrig/error.h"
#include "util.h"

struct rig_http {
  CURL *easy;
  char *base_url;
  char *unix_socket;
  char *user_agent;
  int64_t connect_timeout_ms;
  int64_t timeout_ms;
};

/* What one transfer collects while it runs. */
typedef struct transfer {
  const rig_http_request *req;
  rig_buf body;
  char **headers;
  size_t header_count;
  size_t header_cap;
  int stopped_by_callback;
  struct curl_slist *request_headers;
  char *url;
  char errbuf[CURL_ERROR_SIZE];
} transfer;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

int rig_http_new(rig_http **out, const char *base_url, const rig_http_options *opts)
{
  if (!out || !base_url ||
      (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0))
    return rig_error_set(RIG_EINVAL, "invalid base URL '%s': expected http:// or https://",
                         base_url ? base_url : "(null)");
  pthread_once(&curl_once, curl_init_once);
  CURL *easy = curl_easy_init();
  if (!easy)
    return rig_error_set(RIG_ENOMEM, "cannot create an HTTP handle");
  rig_http *client = rig__calloc(1, sizeof *client);
  client->easy = easy;
  size_t len = strlen(base_url);
  while (len > 0 && base_url[len - 1] == '/')
    len--;
  client->base_url = rig__strndup(base_url, len);
  client->connect_timeout_ms = 5000;
  client->timeout_ms = 30000;
  if (opts) {
    if (opts->unix_socket)
      client->unix_socket = rig__strdup(opts->unix_socket);
    if (opts->connect_timeout_ms > 0)
      client->connect_timeout_ms = opts->connect_timeout_ms;
    if (opts->timeout_ms != 0)
      client->timeout_ms = opts->timeout_ms;
    if (opts->user_agent)
      client->user_agent = rig__strdup(opts->user_agent);
  }
  if (!client->user_agent)
    client->user_agent = rig__strdup("stackrig/" RIG_VERSION_STRING);
  *out = client;
  return RIG_OK;
}

void rig_http_free(rig_http *client)
{
  if (!client)
    return;
  curl_easy_cleanup(client->easy);
  free(client->base_url);
  free(client->unix_socket);
  free(client->user_agent);
  free(client);
}

const char *rig_http_base_url(const rig_http *client)
{
  return client ? client->base_url : NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
  transfer *t = userdata;
  size_t len = size * nmemb;
  if (t->req->on_data) {
    if (t->req->on_data(t->req->userdata, data, len) != 0) {
      t->stopped_by_callback = 1;
      return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return len;
  }
  rig__buf_append(&t->body, data, len);
  return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
  transfer *t = userdata;
  size_t len = size * nmemb;
  size_t trimmed = len;
  while (trimmed > 0 && (data[trimmed - 1] == '\r' || data[trimmed - 1] == '\n'))
    trimmed--;
  if (trimmed == 0)
    return len;
  if (trimmed >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    /* A new status line (after a 100 Continue or a redirect): start the list again. */
    for (size_t i = 0; i < t->header_count; i++)
      free(t->headers[i]);
    t->header_count = 0;
    return len;
  }
  if (t->header_count + 2 > t->header_cap) {
    t->header_cap = t->header_cap ? t->header_cap * 2 : 16;
    t->headers = rig__realloc(t->headers, t->header_cap * sizeof *t->headers);
  }
  t->headers[t->header_count++] = rig__strndup(data, trimmed);
  t->headers[t->header_count] = NULL;
  return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
  transfer *t = userdata;
  return (t->req->cancel && *t->req->cancel) ? 1 : 0;
}

static void transfer_dispose(transfer *t)
{
  rig__buf_dispose(&t->body);
  if (t->headers) {
    for (size_t i = 0; i < t->header_count; i++)
      free(t->headers[i]);
    free(t->headers);
  }
  curl_slist_free_all(t->request_headers);
  free(t->url);
  memset(t, 0, sizeof *t);
}

static const char *method_of(const rig_http_request *req)
{
  if (req->method)
    return req->method;
  return req->body ? "POST" : "GET";
}

static void setup(rig_http *client, transfer *t, const rig_http_request *req)
{
  CURL *easy = client->easy;
  memset(t, 0, sizeof *t);
  t->req = req;
  curl_easy_reset(easy);
  t->url = rig__sprintf("%s%s", client->base_url, req->path ? req->path : "");
  curl_easy_setopt(easy, CURLOPT_URL, t->url);
  if (client->unix_socket)
    curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, client->unix_socket);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, client->user_agent);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)client->connect_timeout_ms);
  int64_t timeout = req->timeout_ms ? req->timeout_ms : client->timeout_ms;
  if (timeout > 0)
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
  if (req->cancel) {
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  }
  const char *method = method_of(req);
  if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
      strcmp(method, "PATCH") == 0) {
    size_t len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
  }
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
  else if (strcmp(method, "GET") == 0)
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  /* Never wait for "100 Continue": the servers we talk to answer at once. */
  t->request_headers = curl_slist_append(NULL, "Expect:");
  for (const char *const *h = req->headers; h && *h; h++)
    t->request_headers = curl_slist_append(t->request_headers, *h);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->request_headers);
}

static int finish(rig_http *client, transfer *t, CURLcode rc, rig_http_response *resp)
{
  const char *method = method_of(t->req);
  const char *where = client->unix_socket ? client->unix_socket : "";
  const char *sep = client->unix_socket ? " " : "";
  int code = RIG_OK;
  if (rc == CURLE_WRITE_ERROR && t->stopped_by_callback)
    rc = CURLE_OK;
  if (rc != CURLE_OK) {
    const char *reason = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      code = RIG_ECONNECT;
      break;
    case CURLE_OPERATION_TIMEDOUT: {
      double connect_time = 0;
      curl_easy_getinfo(client->easy, CURLINFO_CONNECT_TIME, &connect_time);
      code = connect_time > 0 ? RIG_ETIMEOUT : RIG_ECONNECT;
      break;
    }
    case CURLE_ABORTED_BY_CALLBACK:
      code = RIG_EINTERRUPTED;
      break;
    default:
      code = RIG_EIO;
      break;
    }
    rig_error_set(code, "%s %s%s%s: %s", method, where, sep, t->url, reason);
    rig_error_add_detail("url", "%s", t->url);
    transfer_dispose(t);
    return code;
  }
  memset(resp, 0, sizeof *resp);
  curl_easy_getinfo(client->easy, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_easy_getinfo(client->easy, CURLINFO_TOTAL_TIME, &resp->total_seconds);
  resp->body_len = t->body.len;
  resp->body = rig__buf_detach(&t->body);
  if (!t->headers)
    t->headers = rig__calloc(1, sizeof *t->headers);
  resp->headers = t->headers;
  t->headers = NULL;
  t->header_count = 0;
  transfer_dispose(t);
  return RIG_OK;
}

/* How often a cancellable transfer looks at its cancel flag while nothing arrives. */
#define CANCEL_POLL_MS 20

/* curl_easy_perform() calls the progress callback, where the cancel flag is seen, only
 * about once a second while a stream is idle: an events stream would outlive its purpose
 * by up to a second. Driving the transfer through a multi handle lets us look at the flag
 * between short polls. */
static CURLcode perform_cancellable(rig_http *client, const volatile int *cancel)
{
  CURLM *multi = curl_multi_init();
  if (!multi)
    return curl_easy_perform(client->easy);
  if (curl_multi_add_handle(multi, client->easy) != CURLM_OK) {
    curl_multi_cleanup(multi);
    return curl_easy_perform(client->easy);
  }
  CURLcode rc = CURLE_OK;
  int running = 1;
  while (running) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      rc = CURLE_FAILED_INIT;
      break;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)))
      if (msg->msg == CURLMSG_DONE)
        rc = msg->data.result;
    if (!running)
      break;
    if (*cancel) {
      rc = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    curl_multi_poll(multi, NULL, 0, CANCEL_POLL_MS, NULL);
  }
  curl_multi_remove_handle(multi, client->easy);
  curl_multi_cleanup(multi);
  return rc;
}

int rig_http_do(rig_http *client, const rig_http_request *req, rig_http_response *resp)
{
  if (!client || !req || !resp)
    return rig_error_set(RIG_EINVAL, "rig_http_do: client, request and response are required");
  transfer t;
  setup(client, &t, req);
  CURLcode rc =
      req->cancel ? perform_cancellable(client, req->cancel) : curl_easy_perform(client->easy);
  return finish(client, &t, rc, resp);
}

int rig_http_do_many(rig_http *const *clients, const rig_http_request *requests,
                     rig_http_response *responses, int *results, size_t n)
{
  if (n == 0)
    return RIG_OK;
  if (!clients || !requests || !responses || !results)
    return rig_error_set(RIG_EINVAL, "rig_http_do_many: arguments are required");
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (clients[i] == clients[j])
        return rig_error_set(RIG_EINVAL, "rig_http_do_many: a client appears twice");
  CURLM *multi = curl_multi_init();
  if (!multi)
    return rig_error_set(RIG_ENOMEM, "cannot create an HTTP multi handle");
  transfer *transfers = rig__calloc(n, sizeof *transfers);
  for (size_t i = 0; i < n; i++) {
    setup(clients[i], &transfers[i], &requests[i]);
    curl_easy_setopt(clients[i]->easy, CURLOPT_PRIVATE, (void *)(uintptr_t)i);
    curl_multi_add_handle(multi, clients[i]->easy);
  }
  int running = 1;
  while (running) {
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK)
      break;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      void *priv = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      size_t i = (size_t)(uintptr_t)priv;
      CURLcode rc = msg->data.result;
      curl_multi_remove_handle(multi, clients[i]->easy);
      results[i] = finish(clients[i], &transfers[i], rc, &responses[i]);
    }
    if (running)
      curl_multi_poll(multi, NULL, 0, 100, NULL);
  }
  curl_multi_cleanup(multi);
  free(transfers);
  return RIG_OK;
}

const char *rig_http_response_header(const rig_http_response *resp, const char *name)
{
  if (!resp || !resp->headers || !name)
    return NULL;
  size_t name_len = strlen(name);
  for (char **h = resp->headers; *h; h++) {
    if (strncasecmp(*h, name, name_len) == 0 && (*h)[name_len] == ':') {
      const char *value = *h + name_len + 1;
      while (*value == ' ' || *value == '\t')
        value++;
      return value;
    }
  }
  return NULL;
}

void rig_http_response_dispose(rig_http_response *resp)
{
  if (!resp)
    return;
  free(resp->body);
  if (resp->headers) {
    for (char **h = resp->headers; *h; h++)
      free(*h);
    free(resp->headers);
  }
  memset(resp, 0, sizeof *resp);
}

int rig_http_escape(char **out, const char *text)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_put_percent_encoded(&buf, text ? text : "", "");
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}
