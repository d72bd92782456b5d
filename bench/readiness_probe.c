/*
 * readiness_probe.c - bench/readiness's independent observer: tries a service's real
 * protocol in a tight loop (an attempt every 2 ms) and prints the wall-clock time (ns since
 * the epoch) at which the first successful attempt began. It uses libpq and libcurl
 * directly, none of stackrig's code, so that it measures stackrig rather than agreeing
 * with it.
 *
 *   readiness_probe pg HOST PORT USER PASSWORD DBNAME     login + SELECT 1
 *   readiness_probe http URL [URL...]                     every URL answers 200 (a URL
 *                                                          written POST:URL is posted {})
 *
 * Gives up after 300 s (exit 1).
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long wall_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pause_ms(long ms)
{
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static void notice_sink(void *arg, const char *message)
{
  (void)arg;
  (void)message;
}

static int pg_ready(char **argv)
{
  const char *keys[] = {"host",    "port", "user", "password", "dbname", "connect_timeout",
                        "sslmode", NULL};
  const char *values[] = {argv[0], argv[1], argv[2], argv[3], argv[4], "2", "disable", NULL};
  PGconn *conn = PQconnectdbParams(keys, values, 0);
  int ok = 0;
  if (PQstatus(conn) == CONNECTION_OK) {
    PQsetNoticeProcessor(conn, notice_sink, NULL);
    PGresult *res = PQexec(conn, "SELECT 1");
    ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
  }
  PQfinish(conn);
  return ok;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
  (void)data;
  (void)userdata;
  return size * n;
}

static int http_ready(CURL *curl, const char *spec)
{
  int post = strncmp(spec, "POST:", 5) == 0;
  const char *url = post ? spec + 5 : spec;
  struct curl_slist *headers = NULL;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  if (post) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{}");
  }
  long status = 0;
  int ok = curl_easy_perform(curl) == CURLE_OK &&
           curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
  curl_slist_free_all(headers);
  return ok;
}

int main(int argc, char **argv)
{
  if (argc < 3 || (strcmp(argv[1], "pg") == 0 && argc != 7)) {
    fprintf(stderr, "usage: readiness_probe pg HOST PORT USER PASSWORD DBNAME\n"
                    "       readiness_probe http URL [URL...]\n");
    return 2;
  }
  int pg = strcmp(argv[1], "pg") == 0;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *curl = pg ? NULL : curl_easy_init();
  long long give_up = wall_ns() + 300LL * 1000000000LL;
  while (wall_ns() < give_up) {
    long long began = wall_ns();
    int ok = 1;
    if (pg)
      ok = pg_ready(argv + 2);
    else
      for (int i = 2; i < argc && ok; i++)
        ok = http_ready(curl, argv[i]);
    if (ok) {
      printf("%lld\n", began);
      return 0;
    }
    pause_ms(2);
  }
  return 1;
}
