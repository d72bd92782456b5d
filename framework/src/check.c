/*
 * check.c - the library side of the Check glue (stackrig/check.h): the diagnostic text the
 * assertion macros print. Nothing here links against Check; the macros call Check from the
 * user's test.
 */
#include "stackrig/check.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

#define MESSAGE_CAP 16384

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
  const rig_error *err = rig_error_last();
  rig_buf buf = RIG_BUF_INIT;
  if (err && err->code == code && code != RIG_OK) {
    rig__buf_puts(&buf, err->text);
    append_detail(&buf, err, "hint");
    append_detail(&buf, err, "artifact");
  } else {
    rig__buf_puts(&buf, rig_strerror(code));
  }
  rig__buf_printf(&buf, " [%s]", rig_error_name(code));
  size_t len = buf.len;
  if (len >= MESSAGE_CAP) {
    len = MESSAGE_CAP - 1;
    memcpy(buf.data + len - 3, "...", 3);
  }
  memcpy(message, buf.data, len);
  message[len] = '\0';
  rig__buf_dispose(&buf);
  return message;
}
