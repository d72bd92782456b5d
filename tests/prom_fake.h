/*
 * prom_fake.h - a tiny HTTP/1.1 server in a thread that answers like the Prometheus API
 * with whatever a test's handler returns: canned answers, a sequence of answers, answers
 * that depend on the query. It tests the polling logic of the prom module and the Check
 * glue without Docker; the integration suites use the real Prometheus.
 */
#ifndef RIG_PROM_FAKE_H
#define RIG_PROM_FAKE_H

#include <stddef.h>

typedef struct prom_fake prom_fake;

/* One request as the server read it. form is the POST body, or the GET query string. */
typedef struct prom_fake_request {
  const char *method;
  const char *path; /* without the query string */
  const char *form;
} prom_fake_request;

/* Fills *status and returns a malloc'ed body (the server frees it). */
typedef char *(*prom_fake_handler)(void *userdata, const prom_fake_request *req, int *status);

/* Starts the server on 127.0.0.1 and a free port. ck_abort on failure. */
prom_fake *prom_fake_start(prom_fake_handler handler, void *userdata);
/* "http://127.0.0.1:PORT" */
const char *prom_fake_url(const prom_fake *fake);
/* Number of requests answered so far. */
int prom_fake_requests(const prom_fake *fake);
/* Stops the thread (closing any open connection) and frees the server; NULL-safe. */
void prom_fake_stop(prom_fake *fake);

/* The decoded value of key in an x-www-form-urlencoded text, or NULL; free() it. */
char *prom_fake_form_get(const char *form, const char *key);

/* A body read from fixtures/prometheus/NAME.json; free() it. ck_abort when missing. */
char *prom_fake_fixture(const char *name);

/* A URL where nothing listens (a port that was just bound and closed). */
char *prom_fake_closed_url(void);

#endif
