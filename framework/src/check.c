/*
 * check.c - the library side of the Check glue (stackrig/check.h): the diagnostic text the
 * assertion macros print. Nothing here links against Check; the macros call Check from the
 * user's test.
 */
#include "stackrig/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MESSAGE_CAP 16384

/* Check refuses an assertion message longer than its limit (4 KiB unless CK_MAX_MSG_SIZE
 * says otherwise) and then reports the failure without any message at all, so the
 * diagnostic is cut to fit, keeping its hints and code. The margin covers Check's own
 * framing of the message. */
static size_t message_limit(void)
{
  const char *env = getenv("CK_MAX_MSG_SIZE");
  long limit = env ? strtol(env, NULL, 10) : 0;
  size_t usable = limit > 0 ? (size_t)limit - (limit > 96 ? 96 : 0) : 4000;
  if (usable < 256)
    usable = 256;
  return usable < MESSAGE_CAP - 1 ? usable : MESSAGE_CAP - 1;
}

/* A fixed buffer per thread: the text must outlive the call without anyone freeing it. */
static _Thread_local char message[MESSAGE_CAP];

static void append_detail(rig_buf *buf, const rig_error *err, const char *key)
{
  const char *value = rig_error_detail_get(err, key);
  if (value)
    rig__buf_printf(buf, "\n  %s: %s", key, value);
}

const char *rig_check_message(int code)
{
  return rig_check_message_call(code, NULL);
}

const char *rig_check_message_call(int code, const char *call)
{
  const rig_error *err = rig_error_last();
  const char *text = rig_strerror(code);
  rig_buf head = RIG_BUF_INIT;
  rig_buf tail = RIG_BUF_INIT;
  if (err && err->code == code && code != RIG_OK) {
    text = err->text;
    append_detail(&tail, err, "hint");
    append_detail(&tail, err, "artifact");
  }
  rig__buf_printf(&tail, " [%s]", rig_error_name(code));
  if (call)
    rig__buf_printf(&head, "%s: ", call);
  rig__buf_puts(&head, text);
  /* Only the text in the middle gives way: the call, the hints and the code stay whole
   * unless they alone are past the limit. */
  size_t limit = message_limit();
  size_t head_len = head.len;
  if (head.len + tail.len > limit) {
    size_t room = limit > tail.len + 3 ? limit - tail.len - 3 : 0;
    head_len = room < head.len ? room : head.len;
    memcpy(message, head.data, head_len);
    memcpy(message + head_len, "...", 3);
    head_len += 3;
  } else {
    memcpy(message, head.data, head_len);
  }
  size_t left = limit > head_len ? limit - head_len : 0;
  size_t tail_len = tail.len < left ? tail.len : left;
  memcpy(message + head_len, tail.data, tail_len);
  message[head_len + tail_len] = '\0';
  rig__buf_dispose(&head);
  rig__buf_dispose(&tail);
  return message;
}
