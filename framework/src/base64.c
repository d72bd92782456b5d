/*
 * base64.c - base64 in both RFC 4648 alphabets, for OTLP JSON bytes and JWT segments.
 */
#include "base64.h"

#include <stdlib.h>

static const char standard_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void rig__base64_encode(rig_buf *buf, const void *data, size_t len, rig__base64_alphabet alphabet)
{
  const uint8_t *in = data;
  const char *chars = alphabet == RIG_BASE64_URL ? url_chars : standard_chars;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    char quad[4] = {chars[v >> 18], chars[(v >> 12) & 63], chars[(v >> 6) & 63], chars[v & 63]};
    rig__buf_append(buf, quad, 4);
  }
  if (i == len)
    return;
  /* One or two bytes left: two or three characters, padded to four in the standard form. */
  uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
  char quad[4] = {chars[v >> 18], chars[(v >> 12) & 63], i + 1 < len ? chars[(v >> 6) & 63] : '=',
                  '='};
  size_t significant = i + 1 < len ? 3 : 2;
  rig__buf_append(buf, quad, alphabet == RIG_BASE64_URL ? significant : 4);
}

static int char_value(char c, rig__base64_alphabet alphabet)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  int standard = alphabet != RIG_BASE64_URL, url = alphabet != RIG_BASE64_STANDARD;
  if ((c == '+' && standard) || (c == '-' && url))
    return 62;
  if ((c == '/' && standard) || (c == '_' && url))
    return 63;
  return -1;
}

int rig__base64_decode(uint8_t **out, size_t *out_len, const char *text, size_t len,
                       rig__base64_alphabet alphabet)
{
  while (len > 0 && text[len - 1] == '=')
    len--;
  if (len % 4 == 1)
    return -1; /* one leftover character cannot hold a whole byte */
  uint8_t *bytes = rig__malloc(len / 4 * 3 + 3);
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = char_value(text[i], alphabet);
    if (v < 0) {
      free(bytes);
      return -1;
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[n++] = (uint8_t)(acc >> bits);
    }
  }
  bytes[n] = '\0';
  *out = bytes;
  *out_len = n;
  return 0;
}
