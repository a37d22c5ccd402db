/*
 * test_json_strict.c: the one strict tokenizer (jwt.md S11, S12, S18): its
 * verdicts, its events, where it says an error is, and the cJSON trees
 * json_doc_parse() builds from its events.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include <cjson/cJSON.h>

#include "json_doc.h"
#include "json_strict.h"
#include "util.h"

static const struct json_limits lim_any = { 32, 2048, 0, 0, 0 };
static const struct json_limits lim_obj = { 32, 2048, 1, 0, 0 };

static const char *
check_n(const char *s, size_t n, const struct json_limits *lim)
{
	const char *why = "unset";

	if (json_strict_check(s, n, lim, &why) == 0)
		return (NULL);
	assert_non_null(why);
	assert_string_not_equal(why, "unset");
	return (why);
}

static const char *
check(const char *s, const struct json_limits *lim)
{
	return (check_n(s, strlen(s), lim));
}

#define ACCEPT(s) do {							\
	const char *w_ = check((s), &lim_any);				\
	if (w_ != NULL)							\
		fail_msg("rejected %s: %s", #s, w_);			\
} while (0)

#define REJECT(s, why) do {						\
	const char *w_ = check((s), &lim_any);				\
	if (w_ == NULL)							\
		fail_msg("accepted %s", #s);				\
	if (strcmp(w_, (why)) != 0)					\
		fail_msg("%s: got \"%s\", want \"%s\"", #s, w_, (why));	\
} while (0)

static void
test_valid_documents(void **state)
{
	(void)state;
	ACCEPT("{}");
	ACCEPT("[]");
	ACCEPT(" \t\r\n{ \t\r\n} \t\r\n");
	ACCEPT("0");
	ACCEPT("-0");
	ACCEPT("-0.0e-0");
	ACCEPT("1.5e9");
	ACCEPT("1E+400");
	ACCEPT("123456789012345678901234567890123456789012345678901234567890"
	    "1234567890");
	ACCEPT("\"\"");
	ACCEPT("true");
	ACCEPT("null");
	ACCEPT("{\"a\":[1,2,{\"b\":null}],\"c\":{\"d\":false}}");
	ACCEPT("{\"a\" : 1 , \"b\" : 2}");
	ACCEPT("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
	ACCEPT("\"\\u0001\\u001f\\u00e9\\uFFFF\\ud83d\\ude00\"");
	ACCEPT("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
	ACCEPT("\"\xef\xbf\xbe\"");	/* U+FFFE: a noncharacter, still valid */
	/* Same key in different objects is fine. */
	ACCEPT("{\"a\":{\"a\":1},\"b\":{\"a\":2}}");
	ACCEPT("[{\"a\":1},{\"a\":1}]");
	/* Keys that differ only after the common prefix or by case. */
	ACCEPT("{\"a\":1,\"A\":2,\"ab\":3,\"a \":4,\"\":5}");
	/* Wycheproof tc 376/377: whitespace inside the header JSON. */
	ACCEPT("{ \"kid\" : \"hs256-key\", \"alg\" : \"HS256\" }");
	ACCEPT("{\"kid\":\"hs256-key\",\n\t\"alg\":\"HS256\"}");
}

static void
test_grammar_errors(void **state)
{
	(void)state;
	REJECT("", "empty document");
	REJECT("   \n", "empty document");
	REJECT("{\"a\":1,}", "trailing comma");
	REJECT("[1,]", "trailing comma");
	REJECT("[1,,2]", "unexpected character");
	REJECT("{,}", "object key expected");
	REJECT("{\"a\":1 \"b\":2}", "unexpected character");
	REJECT("{\"a\" 1}", "colon expected");
	REJECT("{a:1}", "object key expected");
	REJECT("{'a':1}", "object key expected");
	REJECT("['a']", "unexpected character");
	REJECT("{\"a\":1}/*c*/", "data after the JSON value");
	REJECT("{\"a\":1 // c\n}", "unexpected character");
	REJECT("[NaN]", "unexpected character");
	REJECT("[nan]", "invalid literal");
	REJECT("[Infinity]", "unexpected character");
	REJECT("[-Infinity]", "invalid number");
	REJECT("[01]", "number with a leading zero");
	REJECT("[-01]", "number with a leading zero");
	REJECT("[+1]", "unexpected character");
	REJECT("[.5]", "unexpected character");
	REJECT("[1.]", "invalid number");
	REJECT("[1.e5]", "invalid number");
	REJECT("[1e]", "invalid number");
	REJECT("[1e+]", "invalid number");
	REJECT("[0x10]", "unexpected character");
	REJECT("[-]", "invalid number");
	REJECT("[tru]", "invalid literal");
	REJECT("[True]", "unexpected character");
	REJECT("[nul]", "invalid literal");
	REJECT("{}{}", "data after the JSON value");
	REJECT("{} x", "data after the JSON value");
	REJECT("{\"a\":1", "unexpected character");
	REJECT("[", "unexpected character");
	REJECT("{\"a\":", "unexpected character");
	REJECT("{\"a", "unterminated string");
	REJECT("\"abc", "unterminated string");
	REJECT("\"abc\\", "unterminated string");
	REJECT("]", "unexpected character");
	/* Whitespace RFC 8259 does not list. */
	REJECT("{\f}", "object key expected");
	REJECT("\v{}", "unexpected character");
	REJECT("{}\xc2\xa0", "data after the JSON value");
	REJECT("\xef\xbb\xbf{}", "byte-order mark");
}

static void
test_strings(void **state)
{
	char raw[8];

	(void)state;
	REJECT("\"a\tb\"", "control character in string");
	REJECT("\"a\nb\"", "control character in string");
	REJECT("\"\x1f\"", "control character in string");
	ACCEPT("\"\x7f\"");
	REJECT("\"\\x41\"", "invalid escape");
	REJECT("\"\\'\"", "invalid escape");
	REJECT("\"\\U0041\"", "invalid escape");
	REJECT("\"\\u004\"", "invalid escape");
	REJECT("\"\\u00g1\"", "invalid escape");
	REJECT("\"\\u0000\"", "\\u0000 in string");
	REJECT("{\"kid\":\"k\\u0000x\"}", "\\u0000 in string");
	REJECT("{\"k\\u0000\":1}", "\\u0000 in string");
	REJECT("\"\\ud800\"", "unpaired surrogate escape");
	REJECT("\"\\ud800x\"", "unpaired surrogate escape");
	REJECT("\"\\ud800\\u0041\"", "unpaired surrogate escape");
	REJECT("\"\\ud800\\ud800\"", "unpaired surrogate escape");
	REJECT("\"\\udc00\"", "unpaired surrogate escape");
	REJECT("\"\\ude00\\ud83d\"", "unpaired surrogate escape");
	/* A raw NUL byte inside a string is a control character. */
	memcpy(raw, "\"a\0b\"", 5);
	assert_string_equal(check_n(raw, 5, &lim_any),
	    "control character in string");
}

static void
test_utf8(void **state)
{
	(void)state;
	REJECT("\"\x80\"", "invalid UTF-8");		/* lone continuation */
	REJECT("\"\xc0\xaf\"", "invalid UTF-8");	/* overlong '/' */
	REJECT("\"\xc1\xbf\"", "invalid UTF-8");	/* overlong */
	REJECT("\"\xe0\x80\xaf\"", "invalid UTF-8");	/* overlong 3-byte */
	REJECT("\"\xf0\x80\x80\xaf\"", "invalid UTF-8"); /* overlong 4-byte */
	REJECT("\"\xed\xa0\x80\"", "invalid UTF-8");	/* U+D800 encoded */
	REJECT("\"\xed\xbf\xbf\"", "invalid UTF-8");	/* U+DFFF encoded */
	REJECT("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* U+110000 */
	REJECT("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
	REJECT("\"\xff\"", "invalid UTF-8");
	REJECT("\"\xc3\"", "invalid UTF-8");		/* truncated */
	REJECT("\"\xe2\x82\"", "invalid UTF-8");	/* truncated */
	REJECT("\"\xc3\x28\"", "invalid UTF-8");	/* bad continuation */
	/* Truncated at the end of the buffer itself. */
	assert_string_equal(check_n("\"\xe2\x82", 3, &lim_any),
	    "invalid UTF-8");
	ACCEPT("\"\xed\x9f\xbf\"");			/* U+D7FF */
	ACCEPT("\"\xee\x80\x80\"");			/* U+E000 */
	ACCEPT("\"\xf0\x90\x80\x80\"");			/* U+10000 */
	/* Non-ASCII outside a string. */
	REJECT("{\"a\":\xc3\xa9}", "unexpected character");
}

/* S12: duplicate keys, compared after unescaping, at every depth. */
static void
test_s12_duplicate_keys(void **state)
{
	(void)state;
	REJECT("{\"sub\":\"alice\",\"sub\":\"admin\"}", "duplicate key");
	REJECT("{\"alg\":\"RS256\",\"alg\":\"none\"}", "duplicate key");
	REJECT("{\"alg\":\"RS256\",\"\\u0061lg\":\"none\"}", "duplicate key");
	REJECT("{\"\\u0061\\u006C\\u0067\":1,\"alg\":2}", "duplicate key");
	REJECT("{\"a/b\":1,\"a\\/b\":2}", "duplicate key");
	REJECT("{\"caf\xc3\xa9\":1,\"caf\\u00e9\":2}", "duplicate key");
	REJECT("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
	    "duplicate key");
	REJECT("{\"\":1,\"\":2}", "duplicate key");
	REJECT("{\"sub\":\"x\",\"cnf\":{\"x5t#S256\":\"a\",\"x5t#S256\":\"b\"}}",
	    "duplicate key");
	REJECT("{\"a\":[{\"b\":{\"c\":1,\"d\":2,\"c\":3}}]}", "duplicate key");
	/* Not adjacent, after a closed nested object. */
	REJECT("{\"a\":1,\"n\":{\"a\":1,\"b\":2},\"b\":2,\"a\":3}",
	    "duplicate key");
	ACCEPT("{\"a\":1,\"n\":{\"a\":1,\"b\":2},\"b\":2}");
}

/* More than 64 keys open at once moves the key records to the heap. */
static void
test_many_keys(void **state)
{
	char *buf = malloc(200000);
	size_t n = 0;

	(void)state;
	assert_non_null(buf);
	buf[n++] = '{';
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(buf + n, 200000 - n, "%s\"k%d\":%d",
		    i ? "," : "", i, i);
	buf[n++] = '}';
	assert_null(check_n(buf, n, &lim_any));
	/* The same with the last key a duplicate of the first, escaped. */
	n--;
	n += (size_t)snprintf(buf + n, 200000 - n, ",\"\\u006b0\":1}");
	assert_string_equal(check_n(buf, n, &lim_any), "duplicate key");
	free(buf);
}

/* S11: nesting and member caps. */
static void
test_s11_caps(void **state)
{
	struct json_limits l = { 3, 4, 0, 0, 0 };
	char *deep;
	size_t n = 0;

	(void)state;
	assert_null(check("[[[1]]]", &l));
	assert_string_equal(check("[[[[1]]]]", &l), "nesting too deep");
	assert_string_equal(check("{\"a\":{\"b\":{\"c\":{}}}}", &l),
	    "nesting too deep");
	assert_null(check("[1,2,3,4]", &l));
	assert_string_equal(check("[1,2,3,4,5]", &l), "too many members");
	assert_null(check("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", &l));
	assert_string_equal(check("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}",
	    &l), "too many members");
	/* The cap is per container, not a total. */
	assert_null(check("[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]", &l));
	/* max_values is the total: containers, keys' values and the root. */
	l.max_values = 21;
	assert_null(check("[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]", &l));
	l.max_values = 20;
	assert_string_equal(check("[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]",
	    &l), "too many values");
	l.max_values = 3;
	assert_null(check("{\"a\":{\"b\":1}}", &l));
	assert_null(check("{\"a\":1,\"b\":{}}", &l));
	assert_string_equal(check("{\"a\":{\"b\":[1]}}", &l),
	    "too many values");
	l.max_values = 0;

	/* 10 000-deep nesting, with the payload limits of jws. */
	deep = malloc(20001);
	assert_non_null(deep);
	for (int i = 0; i < 10000; i++)
		deep[n++] = '[';
	for (int i = 0; i < 10000; i++)
		deep[n++] = ']';
	assert_string_equal(check_n(deep, n, &lim_any), "nesting too deep");
	/* max_depth above the hard ceiling is reduced to it. */
	l.max_depth = 100000;
	l.max_members = 10;
	assert_string_equal(check_n(deep, n, &l), "nesting too deep");
	free(deep);

	/* Zero caps. */
	l.max_depth = 0;
	assert_string_equal(check("[]", &l), "nesting too deep");
	assert_null(check("1", &l));
	l.max_depth = 1;
	l.max_members = 0;
	assert_null(check("{}", &l));
	assert_string_equal(check("[1]", &l), "too many members");
}

static void
test_require_object(void **state)
{
	(void)state;
	assert_null(check("{}", &lim_obj));
	assert_null(check(" {\"a\":1} ", &lim_obj));
	assert_string_equal(check("\"foo\"", &lim_obj),
	    "top-level value is not an object");
	assert_string_equal(check("[{}]", &lim_obj),
	    "top-level value is not an object");
	assert_string_equal(check("123400", &lim_obj),
	    "top-level value is not an object");
	assert_string_equal(check("", &lim_obj), "empty document");
}

/* The buffer is (buf, len): bytes after len are never looked at. */
static void
test_length_bounded(void **state)
{
	char *exact;

	(void)state;
	assert_null(check_n("{\"a\":1}garbage", 7, &lim_any));
	assert_string_equal(check_n("{\"a\":1}", 6, &lim_any),
	    "unexpected character");
	/* An exact-size heap copy: ASan catches any over-read. */
	static const char *const cuts[] = { "\"\\u12", "\"\\ud83d\\ude0",
	    "tru", "-", "1e", "{\"a\"", "\"\\" };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t n = strlen(cuts[i]);
		exact = malloc(n);
		assert_non_null(exact);
		memcpy(exact, cuts[i], n);
		assert_non_null(check_n(exact, n, &lim_any));
		free(exact);
	}
	assert_string_equal(check_n(NULL, 0, &lim_any), "empty document");
	/* why may be NULL. */
	assert_int_equal(json_strict_check("[", 1, &lim_any, NULL), -1);
}

/*
 * json_strict_string: the decoded bytes and the end of the quoted string;
 * every refusal with json_strict_check()'s reason; never a read at or
 * past ${end} (the input is cut just before its closing quote).
 */
static void
test_string_decode(void **state)
{
	static const struct {
		const char *quoted, *want;
	} u[] = {
		{ "\"\"", "" },
		{ "\"plain\"", "plain" },
		{ "\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d" },
		{ "\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t" },
		{ "\"\\u0041\\u00e9\\u20ac\"", "A\xc3\xa9\xe2\x82\xac" },
		{ "\"x\\ud83d\\ude00y\"", "x\xf0\x9f\x98\x80y" },
		{ "\"\xc3\xa9\\u00E9\"", "\xc3\xa9\xc3\xa9" },
		{ "\"longer than eight bytes, then \\n and more\"",
		    "longer than eight bytes, then \n and more" },
	};
	static const char *const bad[] = {
		"\"\\u0000\"", "\"\\ud83d\"", "\"\\x\"", "\"a\x01\"",
		"\"\xc0\xaf\"", "\"12345678\xff\"", "\"\\u12\"",
	};
	char out[128];
	const char *why, *want_why, *q;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		size_t ql = strlen(u[i].quoted);

		/* A byte after the string must not be consumed. */
		char buf[128];

		assert_true(ql + 1 < sizeof(buf));
		memcpy(buf, u[i].quoted, ql);
		buf[ql] = ',';
		why = NULL;
		q = json_strict_string(buf, buf + ql + 1, out, &n, &why);
		if (q != buf + ql)
			fail_msg("%s: %s", u[i].quoted, why ? why : "bad end");
		assert_int_equal(n, strlen(u[i].want));
		assert_memory_equal(out, u[i].want, n);
		assert_int_equal(out[n], '\0');
		/* Cut before the closing quote: unterminated, no overread. */
		assert_null(json_strict_string(buf, buf + ql - 1, out, &n, &why));
		assert_string_equal(why, "unterminated string");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t bl = strlen(bad[i]);

		why = want_why = NULL;
		assert_int_equal(json_strict_check(bad[i], bl, &lim_any,
		    &want_why), -1);
		assert_null(json_strict_string(bad[i], bad[i] + bl, out, &n,
		    &why));
		assert_non_null(why);
		assert_string_equal(why, want_why);
	}
}

/* json_strict_utf8_len: the RFC 3629 table, at its edges. */
static void
test_utf8_len(void **state)
{
	static const struct {
		const char *b;
		size_t n, want;
	} v[] = {
		{ "\xc2\x80", 2, 2 }, { "\xdf\xbf", 2, 2 },
		{ "\xc1\xbf", 2, 0 },			/* overlong */
		{ "\xe0\xa0\x80", 3, 3 }, { "\xe0\x9f\xbf", 3, 0 },
		{ "\xed\x9f\xbf", 3, 3 }, { "\xed\xa0\x80", 3, 0 },	/* surrogate */
		{ "\xf0\x90\x80\x80", 4, 4 }, { "\xf0\x8f\xbf\xbf", 4, 0 },
		{ "\xf4\x8f\xbf\xbf", 4, 4 }, { "\xf4\x90\x80\x80", 4, 0 },
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "\xe2\x82", 2, 0 },			/* cut short */
		{ "\xe2\x28\xa1", 3, 0 },		/* bad continuation */
		{ "\x80", 1, 0 }, { "A", 1, 0 }, { "", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (json_strict_utf8_len((const uint8_t *)v[i].b, v[i].n) !=
		    v[i].want)
			fail_msg("case %zu", i);
}

/* Events rendered as text, one per event: "<depth><type>[key=]value;". */
struct evlog {
	char text[1024];
	size_t n;
	int refuse_at;		/* refuse the event of this index (-1: none) */
	int count;
};

static const char *
log_event(void *arg, const struct json_event *ev)
{
	static const char *const names[] = { "{", "[", "}", "s", "n", "t",
	    "f", "0" };
	struct evlog *l = arg;
	int w;

	if (l->count++ == l->refuse_at)
		return ("refused by the consumer");
	w = snprintf(l->text + l->n, sizeof(l->text) - l->n, "%u%s%s%s%.*s@%zu;",
	    ev->depth, names[ev->type], ev->key != NULL ? ev->key : "",
	    ev->key != NULL ? "=" : "", (int)ev->len,
	    ev->str != NULL ? ev->str : "", ev->off);
	assert_true(w > 0 && (size_t)w < sizeof(l->text) - l->n);
	l->n += (size_t)w;
	return (NULL);
}

/*
 * json_strict_parse() events: document order, depth, keys only in objects,
 * strings unescaped, numbers and literals as their text, offsets of each
 * value's first byte (of the closing byte for an end).
 */
static void
test_events(void **state)
{
	static const char doc[] =
	    "{\"a\":[1,-2.5e3,\"x\\u00e9\\n\"],\"b\\/c\":{},\"d\":true,"
	    "\"e\":null,\"f\":[[]],\"g\":false}";
	struct evlog l = { .refuse_at = -1 };
	struct json_error e;

	(void)state;
	assert_int_equal(json_strict_parse(doc, strlen(doc), &lim_obj,
	    log_event, &l, &e), 0);
	assert_string_equal(l.text,
	    "0{@0;1[a=@5;2n1@6;2n-2.5e3@8;2sx\xc3\xa9\n@15;1}@26;"
	    "1{b/c=@35;1}@36;1td=true@42;10e=null@51;1[f=@60;2[@61;2}@62;"
	    "1}@63;1fg=false@69;0}@74;");
	/* A top-level scalar has depth 0 and no key. */
	l.n = 0;
	l.text[0] = '\0';
	assert_int_equal(json_strict_parse(" \"k\" ", 5, &lim_any, log_event,
	    &l, &e), 0);
	assert_string_equal(l.text, "0sk@1;");
	/* No callback: the plain check. */
	assert_int_equal(json_strict_parse(doc, strlen(doc), &lim_obj, NULL,
	    NULL, NULL), 0);
}

/* A consumer that refuses stops the parse, with its reason, at its event. */
static void
test_event_refused(void **state)
{
	static const char doc[] = "{\"a\":1,\n \"b\":[2,3]}";
	struct evlog l = { .refuse_at = 3 };	/* {, 1, [, then 2 */
	struct json_error e;

	(void)state;
	assert_int_equal(json_strict_parse(doc, strlen(doc), &lim_obj,
	    log_event, &l, &e), -1);
	assert_string_equal(e.why, "refused by the consumer");
	assert_int_equal(e.off, 14);
	assert_int_equal(e.line, 2);
	assert_int_equal(e.col, 7);
	assert_string_equal(l.text, "0{@0;1na=1@5;1[b=@13;");
}

/*
 * Where an error is: the byte that breaks a string rule (not the string's
 * opening quote), the second of two equal keys, the byte after a trailing
 * comma, the first data after the value; 1-based line and byte column.
 */
static void
test_error_position(void **state)
{
	static const struct {
		const char *doc;
		size_t off, line, col;
		const char *why;
	} v[] = {
		{ "{\"a\":\"b\x01\"}", 7, 1, 8, "control character in string" },
		{ "{\"a\":\n \"bc\xc3\x28\"}", 10, 2, 5, "invalid UTF-8" },
		{ "{\"a\":\"\\u0000\"}", 6, 1, 7, "\\u0000 in string" },
		{ "{\"a\":\"\\q\"}", 6, 1, 7, "invalid escape" },
		{ "{\"a\":1,\r\n\"\\u0061\":2}", 9, 2, 1, "duplicate key" },
		{ "{\"a\":1,}", 7, 1, 8, "trailing comma" },
		{ "{} x", 3, 1, 4, "data after the JSON value" },
		{ "{\"a\":\"bc", 8, 1, 9, "unterminated string" },
		{ "", 0, 1, 1, "empty document" },
	};
	struct json_error e;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(json_strict_parse(v[i].doc, strlen(v[i].doc),
		    &lim_any, NULL, NULL, &e), -1);
		if (strcmp(e.why, v[i].why) != 0 || e.off != v[i].off ||
		    e.line != v[i].line || e.col != v[i].col)
			fail_msg("case %zu: %s at %zu (%zu:%zu), want %s at %zu "
			    "(%zu:%zu)", i, e.why, e.off, e.line, e.col,
			    v[i].why, v[i].off, v[i].line, v[i].col);
	}
}

/* max_keys caps the keys of an object, not the elements of an array. */
static void
test_max_keys(void **state)
{
	struct json_limits l = { 8, 100, 0, 0, 2 };

	(void)state;
	assert_null(check("{\"a\":1,\"b\":2}", &l));
	assert_string_equal(check("{\"a\":1,\"b\":2,\"c\":3}", &l),
	    "too many members");
	assert_null(check("[1,2,3,4,5]", &l));
	l.max_keys = 0;		/* 0: max_members */
	assert_null(check("{\"a\":1,\"b\":2,\"c\":3}", &l));
	l.max_keys = 1000;	/* never above max_members */
	l.max_members = 2;
	assert_string_equal(check("{\"a\":1,\"b\":2,\"c\":3}", &l),
	    "too many members");
}

/*
 * json_doc_parse(): the tree cJSON_Parse builds (an ordinary tree:
 * cJSON_Delete, cJSON_Detach and cJSON_Replace work on it, as ASan
 * checks), and the tokenizer's verdicts and positions.
 */
static void
test_doc_parse(void **state)
{
	static const char doc[] = "{\"s\":\"a\\u00e9\\ud83d\\ude00\",\"n\":"
	    "[0,-1.5,1e300,2147483648,12345678901234567890],\"t\":true,"
	    "\"o\":{\"x\":null,\"y\":false},\"e\":[]}";
	cJSON *ours, *ref, *it;
	struct json_error e;
	char *a, *b;

	(void)state;
	ours = json_doc_parse(doc, strlen(doc), &lim_obj, &e);
	ref = cJSON_Parse(doc);
	assert_non_null(ours);
	assert_non_null(ref);
	a = cJSON_PrintUnformatted(ours);
	b = cJSON_PrintUnformatted(ref);
	assert_string_equal(a, b);
	cJSON_free(a);
	cJSON_free(b);
	assert_true(cJSON_Compare(ours, ref, 1));
	/* 1e400: inf, as cJSON_Parse reads it (Compare cannot say). */
	cJSON_Delete(ref);
	ref = json_doc_parse("[1e400]", 7, &lim_any, &e);
	assert_non_null(ref);
	assert_true(isinf(cJSON_GetArrayItem(ref, 0)->valuedouble));
	cJSON_Delete(ref);
	ref = cJSON_Parse(doc);
	it = cJSON_GetArrayItem(cJSON_GetObjectItem(ours, "n"), 3);
	assert_true(it->valuedouble == 2147483648.0);
	assert_int_equal(it->valueint, 2147483647);	/* saturated, as cJSON */
	/* An ordinary tree: detach, replace, delete. */
	cJSON_Delete(cJSON_DetachItemFromObject(ours, "o"));
	assert_true(cJSON_ReplaceItemInObject(ours, "s",
	    cJSON_CreateString("z")));
	cJSON_Delete(ours);
	cJSON_Delete(ref);
	/* Refused documents build nothing (and leak nothing: ASan). */
	assert_null(json_doc_parse("{\"a\":[1,2,{\"b\":3,\"b\":4}]}", 25,
	    &lim_obj, &e));
	assert_string_equal(e.why, "duplicate key");
	assert_int_equal(e.off, 17);
	assert_null(json_doc_parse("[1]", 3, &lim_obj, &e));
	assert_string_equal(e.why, "top-level value is not an object");
	ours = json_doc_parse("[1]", 3, &lim_any, &e);
	assert_non_null(ours);
	assert_true(cJSON_IsArray(ours));
	cJSON_Delete(ours);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_documents),
		cmocka_unit_test(test_grammar_errors),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_s12_duplicate_keys),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_s11_caps),
		cmocka_unit_test(test_require_object),
		cmocka_unit_test(test_length_bounded),
		cmocka_unit_test(test_string_decode),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_event_refused),
		cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_max_keys),
		cmocka_unit_test(test_doc_parse),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
