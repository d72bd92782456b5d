/*
 * traffic_request.c - the request a traffic run sends: options checked up front (so that
 * a typo is a usage error naming the thing, never a run of failed requests), the body file
 * read once, and the libcurl easy handle and header list set up from it.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stackrig/error.h"
#include "traffic_internal.h"
#include "util.h"

#define TRACEPARENT_NAME "traceparent: "
#define MAX_CONNECTIONS 100000

int rig__traffic_validate_url(const char *url)
{
  if (!url || !*url)
    return rig_error_set(RIG_EINVAL, "traffic: no URL");
  CURLU *parsed = curl_url();
  if (!parsed)
    return rig_error_set(RIG_ENOMEM, "traffic: cannot parse URL '%s'", url);
  int rc = RIG_OK;
  char *scheme = NULL, *host = NULL;
  CURLUcode uc = curl_url_set(parsed, CURLUPART_URL, url, 0);
  if (uc != CURLUE_OK) {
#if LIBCURL_VERSION_NUM >= 0x075000
    rc = rig_error_set(RIG_EINVAL, "malformed URL '%s': %s", url, curl_url_strerror(uc));
#else
    rc = rig_error_set(RIG_EINVAL, "malformed URL '%s'", url);
#endif
    goto cleanup;
  }
  if (curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
    rc = rig_error_set(RIG_EINVAL, "malformed URL '%s': expected http:// or https://", url);
    goto cleanup;
  }
  if (curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
    rc = rig_error_set(RIG_EINVAL, "malformed URL '%s': no host", url);
    goto cleanup;
  }
cleanup:
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(parsed);
  return rc;
}

/* RFC 9110 token characters, which method and header names are made of. */
static int is_token_char(char c)
{
  return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int rig__traffic_validate_method(const char *method)
{
  if (!method || !*method)
    return rig_error_set(RIG_EINVAL, "traffic: empty HTTP method");
  for (const char *p = method; *p; p++)
    if (!is_token_char(*p))
      return rig_error_set(RIG_EINVAL, "malformed HTTP method '%s'", method);
  return RIG_OK;
}

int rig__traffic_validate_header(const char *header)
{
  if (!header)
    return rig_error_set(RIG_EINVAL, "traffic: NULL header");
  const char *colon = strchr(header, ':');
  if (!colon || colon == header)
    return rig_error_set(RIG_EINVAL, "malformed header '%s': expected 'Name: value'", header);
  for (const char *p = header; p < colon; p++)
    if (!is_token_char(*p))
      return rig_error_set(RIG_EINVAL,
                           "malformed header '%s': the name '%.*s' has a character "
                           "that is not allowed",
                           header, (int)(colon - header), header);
  if (strpbrk(colon, "\r\n"))
    return rig_error_set(RIG_EINVAL, "malformed header '%s': line breaks are not allowed", header);
  return RIG_OK;
}

const char *rig__traffic_method(const char *method, int has_body)
{
  return method ? method : has_body ? "POST" : "GET";
}

static int check_numbers(const rig_traffic_options *opts)
{
  if (opts->connections < 0 || opts->connections > MAX_CONNECTIONS)
    return rig_error_set(RIG_EINVAL, "traffic: connections %d out of range 1..%d",
                         opts->connections, MAX_CONNECTIONS);
  if (!(opts->rate >= 0) || !isfinite(opts->rate) || opts->rate > 1e8)
    return rig_error_set(RIG_EINVAL,
                         "traffic: rate %g is not a number of requests per second "
                         "(above 0, at most 1e8; 0 for the closed model)",
                         opts->rate);
  if (opts->duration_ms < 0)
    return rig_error_set(RIG_EINVAL, "traffic: negative duration");
  if (opts->warmup_ms < 0)
    return rig_error_set(RIG_EINVAL, "traffic: negative warm-up");
  if (opts->timeout_ms < 0 || opts->connect_timeout_ms < 0)
    return rig_error_set(RIG_EINVAL, "traffic: negative timeout");
  if (opts->progress_interval_ms < 0)
    return rig_error_set(RIG_EINVAL, "traffic: negative progress interval");
  return RIG_OK;
}

void rig__traffic_spec_dispose(rig__traffic_spec *spec)
{
  if (!spec)
    return;
  for (size_t i = 0; spec->headers && spec->headers[i]; i++)
    free(spec->headers[i]);
  free(spec->headers);
  free(spec->method);
  free(spec->url);
  free(spec->auth_header);
  free(spec->body);
  memset(spec, 0, sizeof *spec);
}

int rig__traffic_spec_init(rig__traffic_spec *out, const rig_traffic_options *opts)
{
  if (!opts)
    return rig_error_set(RIG_EINVAL, "traffic: no options");
  if (opts->version != RIG_TRAFFIC_OPTIONS_VERSION)
    return rig_error_set(RIG_EINVAL,
                         "traffic: options version %u, expected %u (use "
                         "RIG_TRAFFIC_OPTIONS_INIT)",
                         opts->version, RIG_TRAFFIC_OPTIONS_VERSION);
  const rig_traffic_request *req = &opts->request;
  int rc;
  if ((rc = rig__traffic_validate_url(req->url)) != RIG_OK)
    return rc;
  if (req->method && (rc = rig__traffic_validate_method(req->method)) != RIG_OK)
    return rc;
  for (size_t i = 0; req->headers && req->headers[i]; i++)
    if ((rc = rig__traffic_validate_header(req->headers[i])) != RIG_OK)
      return rc;
  if ((rc = check_numbers(opts)) != RIG_OK)
    return rc;
  if (opts->body_file && req->body)
    return rig_error_set(RIG_EINVAL, "traffic: give the body inline or as a file, not both");
  if (opts->bearer_token && (!*opts->bearer_token || strpbrk(opts->bearer_token, "\r\n")))
    return rig_error_set(RIG_EINVAL, "traffic: the bearer token is empty or has a line break");

  rig__traffic_spec spec;
  memset(&spec, 0, sizeof spec);
  if (opts->body_file) {
    char *data = NULL;
    size_t len = 0;
    if ((rc = rig__read_file(&data, &len, opts->body_file)) != RIG_OK)
      return rig_error_wrap(rc, "traffic: body file");
    spec.body = data;
    spec.body_len = len;
    spec.has_body = 1;
  } else if (req->body) {
    spec.body_len = req->body_len ? req->body_len : strlen(req->body);
    spec.body = rig__strndup(req->body, spec.body_len);
    spec.has_body = 1;
  }
  spec.method = rig__strdup(rig__traffic_method(req->method, spec.has_body));
  spec.url = rig__strdup(req->url);
  size_t count = 0;
  while (req->headers && req->headers[count])
    count++;
  spec.headers = rig__calloc(count + 1, sizeof *spec.headers);
  for (size_t i = 0; i < count; i++)
    spec.headers[i] = rig__strdup(req->headers[i]);
  if (opts->bearer_token)
    spec.auth_header = rig__sprintf("Authorization: Bearer %s", opts->bearer_token);
  *out = spec;
  return RIG_OK;
}

void rig__traffic_easy_request(CURL *easy, const char *method, const char *url, const char *body,
                               size_t body_len, int has_body, int copy_body)
{
  curl_easy_setopt(easy, CURLOPT_URL, url);
  /* HTTPGET first: it resets what an earlier request's body or HEAD left behind */
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, NULL);
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    return;
  }
  if (has_body) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    if (copy_body)
      curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, body);
    else
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
  }
  if (strcmp(method, has_body ? "POST" : "GET") != 0)
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
}

static struct curl_slist *append(struct curl_slist *list, const char *line)
{
  struct curl_slist *longer = curl_slist_append(list, line);
  if (!longer)
    abort(); /* only out of memory, where rig__malloc aborts too */
  return longer;
}

struct curl_slist *rig__traffic_header_list(const char *const *headers, const char *auth_header,
                                            int has_body, int traceparent, char **traceparent_value)
{
  struct curl_slist *list = NULL;
  int own_agent = 0;
  for (size_t i = 0; headers && headers[i]; i++) {
    list = append(list, headers[i]);
    own_agent |= strncasecmp(headers[i], "User-Agent:", 11) == 0;
  }
  /* A plain header rather than CURLOPT_USERAGENT: libcurl formats that option into a fresh
   * "User-Agent: ...\r\n" string for every transfer (about 5% of its work per request). */
  if (!own_agent)
    list = append(list, "User-Agent: stackrig/" RIG_VERSION_STRING);
  if (auth_header)
    list = append(list, auth_header);
  if (has_body)
    list = append(list, "Expect:");
  if (traceparent) {
    /* placeholder of the right length; the value is rewritten in place before each send */
    list = append(list, TRACEPARENT_NAME "00-00000000000000000000000000000000-"
                                         "0000000000000000-00");
    struct curl_slist *last = list;
    while (last && last->next)
      last = last->next;
    *traceparent_value = last ? last->data + strlen(TRACEPARENT_NAME) : NULL;
  }
  return list;
}
