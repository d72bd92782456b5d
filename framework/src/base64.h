/*
 * base64.h - base64 (RFC 4648), internal to libstackrig: OTLP JSON carries bytes in the
 * standard alphabet with padding, JWTs in the URL-safe one without (RFC 7515 section 2).
 */
#ifndef RIG_BASE64_H
#define RIG_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef enum rig__base64_alphabet {
  RIG_BASE64_STANDARD, /* '+' '/', padded with '=' */
  RIG_BASE64_URL,      /* '-' '_', no padding */
  RIG_BASE64_EITHER    /* decoding only: accepts both alphabets */
} rig__base64_alphabet;

/* Appends the encoding of len bytes (RIG_BASE64_STANDARD or RIG_BASE64_URL). */
void rig__base64_encode(rig_buf *buf, const void *data, size_t len, rig__base64_alphabet alphabet);

/* Decodes len characters of text; trailing '=' padding is tolerated in every alphabet.
 * On success *out (NUL-terminated for convenience, owned by the caller) and *out_len are
 * set and 0 is returned; -1 for a character outside the alphabet or an impossible length,
 * with the outputs untouched. */
int rig__base64_decode(uint8_t **out, size_t *out_len, const char *text, size_t len,
                       rig__base64_alphabet alphabet);

#endif
