/*
 * json_strict.h: a strict RFC 8259 validator for JSON text, run before cJSON
 * sees it.
 *
 * cJSON keeps the first of two duplicate keys (jwt.md S12: a payload
 * {"sub":"alice","sub":"admin"} means different things to different
 * parsers), is lax about some invalid input, and truncates strings at
 * \u0000 (a kid "k\u0000x" would become "k").  json_strict_check() rejects
 * all of that in one pass, so that whatever passes means the same thing to
 * every RFC 8259 parser, cJSON included.
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
};

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
 *    members of any one object or array <= ${lim}->max_members, values
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
 * (by hash first) with the earlier keys of its own object only.  Memory:
 * about 2 KiB of stack plus, for documents with more than 64 keys open at
 * once, a heap array of at most ${len} / 4 key records, freed on return.
 */
int json_strict_check(const char *buf, size_t len,
    const struct json_limits *lim, const char **why);

/*
 * The two pieces of json_strict_check() that read bytes rather than
 * structure, for a parser that validates and builds in one pass (jws.c):
 * whatever they accept, json_strict_check() accepts in that position, and
 * the other way round.
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
 * *${outlen} to the unescaped length (no NUL inside), or return NULL and
 * set *${why} (if not NULL) to one of JSON_STRICT_REASONS.
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
