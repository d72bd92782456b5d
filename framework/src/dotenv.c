/*
 * dotenv.c - .env files read the way docker compose v2 reads them, so that one file serves
 * both `docker compose` and stackrig:
 *
 *   KEY=value            unquoted: the rest of the line, " #" starts a comment, trimmed
 *   export KEY=value     the export prefix is ignored; "KEY: value" is accepted too
 *   KEY='literal'        single quotes: no escapes except \' and no interpolation
 *   KEY="a\nb ${X}"      double quotes: \a \b \f \n \r \t \v \\ \" \$ \0NNN, may span lines
 *   KEY=                 empty value (so is KEY="")
 *   KEY                  no "=": the value is taken from the process environment when it is
 *                        set there and the key is left out otherwise (compose's rule)
 *   # comment            whole-line comments and blank lines are skipped
 *
 * Unquoted and double-quoted values are interpolated ($VAR, ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, $$ for "$"), looking
 * names up in the process environment first and then in the keys read so far, as compose
 * does; a "$" that starts no variable ("$5") stays. A UTF-8 byte order mark is skipped;
 * CRLF line endings work because "\r" counts as space at the end of a line (inside a
 * multi-line quoted value it stays, as in compose). A later duplicate key wins. Variable
 * names are letters, digits, "_", ".", "-", "[" and "]".
 *
 * Where compose silently misreads a malformed file, this parser reports it instead: text
 * after a closing quote that is not a comment (compose reads it as the next statement), an
 * empty name before "=" (compose stores it under ""), tabs inside a name (compose only
 * rejects spaces), NUL bytes. A bare name on the last line without a newline is inherited
 * like any other (compose stores it as the value of ""). An unterminated quote is reported
 * on the line where the value starts. Error messages name filename:line and the variable,
 * never the value (it may be secret).
 */
#include "stackrig/config.h"

#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "util.h"

typedef struct parser {
  const char *text;
  size_t len;
  size_t pos;
  int line;
  const char *filename;
  rig_env *env;
} parser;

/* Space that does not end a line (compose's isSpace, ASCII part). */
static int is_inline_space(char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static int is_name_start(char c)
{
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_name_char(char c)
{
  return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Letters (any script: bytes of multi-byte UTF-8), digits and the punctuation compose allows. */
static int is_key_byte(unsigned char c)
{
  return is_name_char((char)c) || c == '.' || c == '-' || c == '[' || c == ']' || c >= 0x80;
}

static int parse_error(const parser *p, int line, const char *fmt, ...) RIG_PRINTF(3, 4);

static int parse_error(const parser *p, int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *reason = rig__vsprintf(fmt, ap);
  va_end(ap);
  rig_error_set(RIG_EPARSE, "%s:%d: %s", p->filename, line, reason);
  free(reason);
  rig_error_add_detail("file", "%s", p->filename);
  rig_error_add_detail("line", "%d", line);
  return RIG_EPARSE;
}

/* ---- interpolation ---- */

typedef struct interp {
  const parser *p;
  const char *key; /* the variable whose value is being interpolated, for messages */
  int line;
} interp;

static const char *interp_lookup(const interp *in, const char *name)
{
  const char *value = getenv(name);
  return value ? value : rig_env_get(in->p->env, name);
}

static int interpolate(const interp *in, rig_buf *out, const char *s, size_t len);

/* Index of the "}" closing the "${" at s[0], counting nested "${", or len when none. */
static size_t closing_brace(const char *s, size_t len)
{
  int depth = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
      depth++;
      i++;
    } else if (s[i] == '}' && --depth == 0) {
      return i;
    }
  }
  return len;
}

static int invalid_template(const interp *in, const char *s, size_t len)
{
  size_t shown = len > 32 ? 32 : len;
  rig_error_set(RIG_EPARSE, "%s:%d: %s: invalid interpolation \"%.*s%s\"", in->p->filename,
                in->line, in->key, (int)shown, s, shown < len ? "..." : "");
  rig_error_add_detail("hint", "write $$ for a literal $, or use single quotes");
  return RIG_EPARSE;
}

/* body is what stands between "${" and "}". */
static int interpolate_braced(const interp *in, rig_buf *out, const char *body, size_t len)
{
  size_t n = 0;
  if (len == 0 || !is_name_start(body[0]))
    return RIG_EINVAL;
  while (n < len && is_name_char(body[n]))
    n++;
  char *name = rig__strndup(body, n);
  const char *value = interp_lookup(in, name);
  int rc = RIG_OK;
  if (n == len) {
    rig__buf_puts(out, value ? value : "");
    goto cleanup;
  }
  int colon = body[n] == ':';
  size_t op_at = n + (size_t)colon;
  if (op_at >= len || (body[op_at] != '-' && body[op_at] != '?' && body[op_at] != '+')) {
    rc = RIG_EINVAL;
    goto cleanup;
  }
  char op = body[op_at];
  rig_buf operand = RIG_BUF_INIT;
  rc = interpolate(in, &operand, body + op_at + 1, len - op_at - 1);
  if (rc != RIG_OK) {
    rig__buf_dispose(&operand);
    goto cleanup;
  }
  /* With ":" an empty value counts as unset, as in the shell. */
  int present = value && (!colon || *value);
  if (op == '-') {
    rig__buf_puts(out, present ? value : (operand.data ? operand.data : ""));
  } else if (op == '+') {
    rig__buf_puts(out, present ? (operand.data ? operand.data : "") : "");
  } else if (present) {
    rig__buf_puts(out, value);
  } else {
    const char *why = operand.data ? operand.data : "";
    rig_error_set(RIG_EPARSE, "%s:%d: %s: required variable %s is missing a value%s%s",
                  in->p->filename, in->line, in->key, name, *why ? ": " : "", why);
    rc = RIG_EPARSE;
  }
  rig__buf_dispose(&operand);
cleanup:
  free(name);
  return rc;
}

static int interpolate(const interp *in, rig_buf *out, const char *s, size_t len)
{
  rig__buf_append(out, "", 0); /* terminated even when nothing follows */
  for (size_t i = 0; i < len;) {
    if (s[i] != '$') {
      rig__buf_putc(out, s[i++]);
      continue;
    }
    if (i + 1 < len && s[i + 1] == '$') {
      rig__buf_putc(out, '$');
      i += 2;
    } else if (i + 1 < len && is_name_start(s[i + 1])) {
      size_t end = i + 1;
      while (end < len && is_name_char(s[end]))
        end++;
      char *name = rig__strndup(s + i + 1, end - i - 1);
      const char *value = interp_lookup(in, name);
      rig__buf_puts(out, value ? value : "");
      free(name);
      i = end;
    } else if (i + 1 < len && s[i + 1] == '{') {
      size_t close = closing_brace(s + i, len - i);
      if (close == len - i)
        return invalid_template(in, s + i, len - i);
      int rc = interpolate_braced(in, out, s + i + 2, close - 2);
      if (rc == RIG_EINVAL)
        return invalid_template(in, s + i, close + 1);
      if (rc != RIG_OK)
        return rc;
      i += close + 1;
    } else {
      /* A "$" that starts no variable ("$1", "a$", "$ ") is kept, as compose does. */
      rig__buf_putc(out, s[i++]);
    }
  }
  return RIG_OK;
}

/* ---- values ---- */

static void put_utf8(rig_buf *out, unsigned cp)
{
  if (cp < 0x80) {
    rig__buf_putc(out, (char)cp);
  } else {
    rig__buf_putc(out, (char)(0xC0 | (cp >> 6)));
    rig__buf_putc(out, (char)(0x80 | (cp & 0x3F)));
  }
}

/*
 * The escapes of a double-quoted value. "\$" becomes "$$" so that interpolation, which
 * runs next, leaves a literal "$". "\0NNN" is the octal code point NNN (at most 377);
 * unknown escapes such as "\q" stay as they are, backslash included.
 */
static void expand_escapes(rig_buf *out, const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '\\' || i + 1 >= len) {
      rig__buf_putc(out, s[i]);
      continue;
    }
    char c = s[i + 1];
    const char *simple = strchr("abfnrtv", c);
    if (c && simple) {
      static const char controls[] = "\a\b\f\n\r\t\v";
      rig__buf_putc(out, controls[simple - "abfnrtv"]);
      i++;
    } else if (c == '\\' || c == '"') {
      rig__buf_putc(out, c);
      i++;
    } else if (c == '$') {
      rig__buf_puts(out, "$$");
      i++;
    } else if (c == '0') {
      /* "\0" takes up to three digits; only three octal ones up to 377 make a character,
       * otherwise the "0" alone drops ("\012" reads "\12"), as in compose. */
      size_t digits = 0;
      while (digits < 3 && i + 2 + digits < len && s[i + 2 + digits] >= '0' &&
             s[i + 2 + digits] <= '9')
        digits++;
      const char *d = s + i + 2;
      if (digits == 3 && d[0] <= '3' && d[1] <= '7' && d[2] <= '7') {
        put_utf8(out, (unsigned)((d[0] - '0') * 64 + (d[1] - '0') * 8 + (d[2] - '0')));
      } else {
        rig__buf_putc(out, '\\');
        rig__buf_append(out, d, digits);
      }
      i += 1 + digits;
    } else {
      rig__buf_putc(out, '\\');
    }
  }
}

/*
 * Reads the quoted value starting at the quote at p->pos. A backslash before the quote
 * character drops; before anything else both characters are kept for expand_escapes().
 */
static int read_quoted(parser *p, rig_buf *raw, const char *key)
{
  char quote = p->text[p->pos];
  int start_line = p->line;
  int escaped = 0;
  for (size_t i = p->pos + 1; i < p->len; i++) {
    char c = p->text[i];
    if (c == '\n')
      p->line++;
    if (escaped) {
      escaped = 0;
      if (c != quote)
        rig__buf_putc(raw, '\\');
      rig__buf_putc(raw, c);
    } else if (c == '\\') {
      escaped = 1;
    } else if (c == quote) {
      p->pos = i + 1;
      return RIG_OK;
    } else {
      rig__buf_putc(raw, c);
    }
  }
  return parse_error(p, start_line, "unterminated %s-quoted value of %s",
                     quote == '"' ? "double" : "single", key);
}

static int read_value(parser *p, const char *key, rig_buf *value)
{
  int line = p->line;
  interp in = {p, key, line};
  rig_buf raw = RIG_BUF_INIT;
  int rc = RIG_OK;
  char first = p->pos < p->len ? p->text[p->pos] : '\0';

  if (first == '"' || first == '\'') {
    rc = read_quoted(p, &raw, key);
    if (rc != RIG_OK)
      goto cleanup;
    while (p->pos < p->len && is_inline_space(p->text[p->pos]))
      p->pos++;
    if (p->pos < p->len && p->text[p->pos] != '\n' && p->text[p->pos] != '#') {
      rc = parse_error(p, p->line,
                       "unexpected text after the closing quote of %s "
                       "(a comment starts with #)",
                       key);
      goto cleanup;
    }
    if (first == '\'') {
      rig__buf_append(value, raw.data ? raw.data : "", raw.len);
    } else {
      rig_buf expanded = RIG_BUF_INIT;
      expand_escapes(&expanded, raw.data ? raw.data : "", raw.len);
      rc = interpolate(&in, value, expanded.data ? expanded.data : "", expanded.len);
      rig__buf_dispose(&expanded);
    }
    goto cleanup;
  }

  size_t start = p->pos;
  const char *nl = memchr(p->text + start, '\n', p->len - start);
  size_t end = nl ? (size_t)(nl - p->text) : p->len;
  p->pos = end;
  /* Only " #" starts a comment, so that "a#b" and URLs with fragments survive. */
  for (size_t i = start; i + 1 < end; i++) {
    if (p->text[i] == ' ' && p->text[i + 1] == '#') {
      end = i;
      break;
    }
  }
  while (end > start && (is_inline_space(p->text[end - 1])))
    end--;
  rc = interpolate(&in, value, p->text + start, end - start);

cleanup:
  rig__buf_dispose(&raw);
  return rc;
}

/* ---- statements ---- */

static void skip_blank_and_comments(parser *p)
{
  while (p->pos < p->len) {
    char c = p->text[p->pos];
    if (c == '\n') {
      p->line++;
      p->pos++;
    } else if (is_inline_space(c)) {
      p->pos++;
    } else if (c == '#') {
      const char *nl = memchr(p->text + p->pos, '\n', p->len - p->pos);
      p->pos = nl ? (size_t)(nl - p->text) : p->len;
    } else {
      return;
    }
  }
}

static int parse_statement(parser *p)
{
  const char *t = p->text;
  int line = p->line;
  if (p->len - p->pos > 6 && memcmp(t + p->pos, "export", 6) == 0 &&
      is_inline_space(t[p->pos + 6])) {
    p->pos += 6;
    while (p->pos < p->len && is_inline_space(t[p->pos]))
      p->pos++;
  }

  size_t key_start = p->pos;
  while (p->pos < p->len) {
    unsigned char c = (unsigned char)t[p->pos];
    if (c == '=' || c == ':' || c == '\n')
      break;
    if (!is_inline_space((char)c) && !is_key_byte(c)) {
      size_t shown = p->pos - key_start + 1;
      return parse_error(p, line, "unexpected character \"%c\" in variable name \"%.*s\"", c,
                         (int)shown, t + key_start);
    }
    p->pos++;
  }
  size_t key_end = p->pos;
  while (key_end > key_start && is_inline_space(t[key_end - 1]))
    key_end--;
  char *key = rig__strndup(t + key_start, key_end - key_start);
  int rc = RIG_OK;
  for (const char *k = key; *k; k++) {
    if (is_inline_space(*k)) {
      rc = parse_error(p, line, "variable name \"%s\" cannot contain a space", key);
      goto cleanup;
    }
  }
  /* "export" and nothing else: compose skips the line, but fails at the end of the file. */
  if (!*key && p->pos < p->len && t[p->pos] == '\n')
    goto cleanup;
  if (!*key && p->pos >= p->len) {
    rc = parse_error(p, line, "missing variable name after \"export\"");
    goto cleanup;
  }
  if (!*key) {
    rc = parse_error(p, line, "missing variable name before \"%c\"", t[p->pos]);
    goto cleanup;
  }

  if (p->pos >= p->len || t[p->pos] == '\n') {
    /* No value: inherit it from the environment, or leave the key out. */
    const char *value = getenv(key);
    if (value)
      rig_env_set(p->env, key, value);
    goto cleanup;
  }

  p->pos++; /* "=" or ":" */
  while (p->pos < p->len && is_inline_space(t[p->pos]))
    p->pos++;
  rig_buf value = RIG_BUF_INIT;
  rc = read_value(p, key, &value);
  if (rc == RIG_OK)
    rig_env_set(p->env, key, value.data ? value.data : "");
  rig__buf_dispose(&value);

cleanup:
  free(key);
  return rc;
}

int rig_dotenv_parse(rig_env **out, const char *text, size_t len, const char *filename)
{
  if (!out || (!text && len))
    return rig_error_set(RIG_EINVAL, "rig_dotenv_parse: %s is NULL", !out ? "out" : "text");
  parser p = {NULL, 0, 0, 1, filename ? filename : "<stdin>", NULL};
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    text += 3;
    len -= 3;
  }

  const char *nul = len ? memchr(text, '\0', len) : NULL;
  if (nul) {
    int line = 1;
    for (const char *c = text; c < nul; c++)
      line += *c == '\n';
    return parse_error(&p, line, "NUL byte in a .env file");
  }
  p.text = text;
  p.len = len;
  rig_env_new(&p.env);

  int rc = RIG_OK;
  for (;;) {
    skip_blank_and_comments(&p);
    if (p.pos >= p.len)
      break;
    rc = parse_statement(&p);
    if (rc != RIG_OK)
      break;
  }
  if (rc != RIG_OK) {
    rig_env_free(p.env);
    return rc;
  }
  *out = p.env;
  return RIG_OK;
}

int rig_dotenv_load(rig_env **out, const char *path)
{
  char *text = NULL;
  size_t len = 0;
  if (!out || !path)
    return rig_error_set(RIG_EINVAL, "rig_dotenv_load: %s is NULL", !out ? "out" : "path");
  int rc = rig__read_file(&text, &len, path);
  if (rc != RIG_OK)
    return rc;
  rc = rig_dotenv_parse(out, text, len, path);
  free(text);
  return rc;
}
