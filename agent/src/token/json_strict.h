/*
 * json_strict.h: the agent's one strict RFC 8259 tokenizer for JSON text.
 *
 * cJSON keeps the first of two duplicate keys (jwt.md S12: a payload
 * {"sub":"alice","sub":"admin"} means different things to different
 * parsers), is lax about some invalid input, and truncates strings at
 * \u0000 (a kid "k\u0000x" would become "k").  This tokenizer rejects all
 * of that in one pass, so that whatever passes means the same thing to
 * every RFC 8259 parser, cJSON included.  Every JSON text the agent reads
 * goes through it: json_doc.h builds cJSON trees from its events (config,
 * policy, key sets, discovery documents, token responses, token header
 * and payload); json_strict_check() only validates.  A reader that wants a
 * few values and no tree (an extractor) takes the events itself.
 */
#ifndef SPOA_JSON_STRICT_H
#define SPOA_JSON_STRICT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The reasons json_strict_check() gives, as X(id, text).  Listed here so
 * that a caller can build its own prefixed copies ("header: " text) with
 * the same macro instead of formatting strings at run time.
 */
#define JSON_STRICT_REASONS(X)						\
	X(EMPTY,	"empty document")				\
	X(BOM,		"byte-order mark")				\
	X(UNEXPECTED,	"unexpected character")				\
	X(TRAILING,	"data after the JSON value")			\
	X(NOT_OBJECT,	"top-level value is not an object")		\
	X(TOO_DEEP,	"nesting too deep")				\
	X(TOO_MANY,	"too many members")				\
	X(TOO_MANY_VALUES, "too many values")				\
	X(TRAILING_COMMA, "trailing comma")				\
	X(KEY_EXPECTED,	"object key expected")				\
	X(COLON,	"colon expected")				\
	X(DUP_KEY,	"duplicate key")				\
	X(NUMBER,	"invalid number")				\
	X(LEADING_ZERO,	"number with a leading zero")			\
	X(LITERAL,	"invalid literal")				\
	X(UNTERMINATED,	"unterminated string")				\
	X(CONTROL,	"control character in string")			\
	X(ESCAPE,	"invalid escape")				\
	X(NUL_ESCAPE,	"\\u0000 in string")				\
	X(SURROGATE,	"unpaired surrogate escape")			\
	X(UTF8,		"invalid UTF-8")				\
	X(NOMEM,	"out of memory")

/* Hard ceiling on json_limits.max_depth; larger values are reduced to it. */
#define JSON_STRICT_DEPTH_MAX	128

struct json_limits {
	unsigned max_depth;	/* nesting of objects/arrays; the top one is 1 */
	unsigned max_members;	/* per object (keys) or array (elements) */
	int require_object;	/* the top-level value must be an object */
	unsigned max_values;	/* values in the whole document (containers
				 * included); 0: no limit */
	unsigned max_keys;	/* per object, if lower than max_members (a
				 * key is checked against the earlier keys of
				 * its object: large objects cost more than
				 * large arrays); 0: max_members */
};

/* The kinds of events json_strict_parse() reports. */
enum json_ev {
	JSON_EV_OBJECT,		/* '{': an object opens */
	JSON_EV_ARRAY,		/* '[': an array opens */
	JSON_EV_END,		/* the innermost open object or array closes */
	JSON_EV_STRING,
	JSON_EV_NUMBER,
	JSON_EV_TRUE,
	JSON_EV_FALSE,
	JSON_EV_NULL,
};

/*
 * One event.  Pointers are valid until json_strict_parse() returns (they
 * point into its scratch buffer or into the input).
 */
struct json_event {
	enum json_ev type;
	unsigned depth;		/* containers open around the value: 0 for
				 * the top-level value; for JSON_EV_END, that
				 * of the container that closes */
	const char *key;	/* member name, unescaped and NUL-terminated,
				 * if the value is an object member (not for
				 * JSON_EV_END); NULL otherwise */
	size_t key_len;
	const char *str;	/* JSON_EV_STRING: the unescaped bytes,
				 * NUL-terminated (no NUL inside);
				 * JSON_EV_NUMBER, _TRUE, _FALSE, _NULL: the
				 * token's text in the input (not
				 * NUL-terminated; a number is exactly the
				 * RFC 8259 grammar's span) */
	size_t len;		/* bytes at str, without the NUL */
	size_t off;		/* offset of the value's first byte (for
				 * JSON_EV_END, of the closing byte) */
};

/*
 * A consumer of events: return NULL to go on, or a constant reason (no
 * input bytes in it) to stop the parse, which then fails with that reason
 * at ${ev}->off.
 */
typedef const char *json_event_fn(void *arg, const struct json_event *ev);

/* Where and why a parse failed. */
struct json_error {
	const char *why;	/* a JSON_STRICT_REASONS text, or the
				 * callback's reason */
	size_t off;		/* byte offset of the failing byte or token */
	size_t line, col;	/* the same, 1-based; col counts bytes */
};

/*
 * json_strict_parse(buf, len, lim, fn, arg, err):
 * Check the ${len} bytes at ${buf} (not NUL-terminated; never read past
 * ${len}) by the rules of json_strict_check() below, and hand every value
 * to ${fn}(${arg}, event) in document order (if ${fn} is not NULL): an
 * object or array as JSON_EV_OBJECT / JSON_EV_ARRAY when it opens, then
 * its members, then JSON_EV_END; a scalar as one event once it has been
 * checked.  Events come only for what has passed the rules so far: a
 * document that fails later has had some events already (a consumer
 * building something releases it on failure).  A member's key has been
 * checked against the earlier keys of its object before its value's
 * event.  Return 0 if the text passes and ${fn} never refused.  Otherwise
 * return -1 and fill *${err} (if not NULL).  No global state; memory: a
 * scratch buffer of ${len} + 1 bytes (on the stack below 1 KiB) plus the
 * key records of json_strict_check(), freed on return.
 */
int json_strict_parse(const char *buf, size_t len,
    const struct json_limits *lim, json_event_fn *fn, void *arg,
    struct json_error *err);

/*
 * json_strict_line_col(buf, len, off, line, col):
 * The 1-based line and byte column of offset ${off} (at most ${len}) in
 * the ${len} bytes at ${buf}, for error messages.
 */
void json_strict_line_col(const char *buf, size_t len, size_t off,
    size_t *line, size_t *col);

/*
 * json_strict_check(buf, len, lim, why):
 * Validate the ${len} bytes at ${buf} (not NUL-terminated; never read past
 * ${len}) as exactly one JSON text per RFC 8259, with these extra rules:
 *  - the text is valid UTF-8 (RFC 3629: no overlong forms, no encoded
 *    surrogates, nothing above U+10FFFF), no byte-order mark;
 *  - no \u0000 escape (cJSON cannot represent it), and a \u escape of a
 *    surrogate must be a high surrogate immediately followed by a \u low
 *    surrogate;
 *  - no two keys of one object are equal after unescaping ("a" and
 *    "\u0061" collide), at every depth;
 *  - nesting depth <= ${lim}->max_depth (capped at JSON_STRICT_DEPTH_MAX),
 *    members of any one object or array <= ${lim}->max_members (keys of
 *    an object <= ${lim}->max_keys too, when that is not 0), values
 *    in the whole document <= ${lim}->max_values when it is not 0 (what a
 *    parser building a tree will allocate a node for), and if
 *    ${lim}->require_object the top-level value is an object.
 * Everything RFC 8259 forbids is rejected: trailing commas, comments,
 * NaN/Infinity, leading zeros or '+', single quotes, raw control characters
 * in strings, unknown escapes, whitespace other than SP/HT/LF/CR, and data
 * after the value.  Numbers are checked for grammar only (1e400 passes; the
 * reader of the value checks its range).
 * Return 0 if the text passes.  Otherwise return -1 and set *${why} (if
 * ${why} is not NULL) to a short constant English reason that never
 * contains input bytes (one of JSON_STRICT_REASONS).
 * Work is bounded by O(${len} * ${lim}->max_members): each key is compared
 * (by a hash filter and hash first) with the earlier keys of its own object
 * only.  Memory: a few KiB of stack, a scratch copy of ${len} + 1 bytes
 * (json_strict_parse()) and, for documents with more than 64 keys open at
 * once, a heap array of at most ${len} / 4 key records, freed on return.
 */
int json_strict_check(const char *buf, size_t len,
    const struct json_limits *lim, const char **why);

/*
 * The pieces of the tokenizer that read bytes rather than structure (it
 * uses them itself): whatever they accept, json_strict_check() accepts in
 * that position, and the other way round.
 */

/*
 * json_strict_string(p, end, out, outlen, why):
 * Validate the JSON string whose opening quote is at ${p} (${end} bounds
 * the input; never read at or past it) by the rules of json_strict_check()
 * (UTF-8, known escapes, no \u0000, paired surrogates, no raw control
 * character) and write its unescaped bytes and a NUL to ${out}, which must
 * hold at least ${end} - ${p} bytes (the unescaped string and its NUL never
 * need more than the quoted text; bytes past the NUL may be written too,
 * within that room).  Return a pointer just past the closing quote and set
 * *${outlen} to the unescaped length (no NUL inside), or return NULL, set
 * *${outlen} to the offset from ${p} of the byte that breaks the rule (the
 * backslash of a bad escape, the first byte of bad UTF-8, ${end} for an
 * unterminated string) and *${why} (if not NULL) to one of
 * JSON_STRICT_REASONS.
 */
const char *json_strict_string(const char *p, const char *end, char *out,
    size_t *outlen, const char **why);

/*
 * json_strict_utf8_len(p, n):
 * The length (2..4) of the well-formed UTF-8 sequence of a non-ASCII
 * character at ${p} (${n} bytes available), or 0 if it is not one (RFC
 * 3629: overlong forms, encoded surrogates, above U+10FFFF, cut short, or
 * p[0] < 0x80).
 */
size_t json_strict_utf8_len(const uint8_t *p, size_t n);

/*
 * json_strict_number(p, end, why):
 * Check the RFC 8259 number grammar at ${p} (a '-' or a digit; ${end}
 * bounds the input) and return a pointer just past the number, or NULL
 * with *${why} (if not NULL) set to the "invalid number" or "number with a
 * leading zero" reason.  What follows the number is not looked at.
 */
const char *json_strict_number(const char *p, const char *end,
    const char **why);

#endif /* !SPOA_JSON_STRICT_H */
