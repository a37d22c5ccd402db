/*
 * json_doc.c: see json_doc.h.
 *
 * A consumer of json_strict_parse() events: every value becomes a cJSON
 * node made by cJSON's constructors and is attached at once to its parent
 * (the open containers are kept on a stack indexed by event depth), so a
 * parse that fails half-way releases everything with one cJSON_Delete() of
 * the root.
 */
#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util.h"
#include "json_doc.h"

struct builder {
	cJSON *root;
	cJSON *open[JSON_STRICT_DEPTH_MAX];	/* containers, by depth */
	char *text;             /* json_doc_parse_ref(): names and strings */
	size_t used, cap;
};

static const char nomem[] = "out of memory";

/*
 * The number ${p} of ${n} bytes (the tokenizer checked its grammar) as a
 * double, as cJSON reads one: strtod, with the locale's decimal point.
 * -1 if out of memory or strtod does not take all of it.
 */
static int
number_value(const char *p, size_t n, double *v)
{
	char tmp[64], *num, *e, dp;
	bool ok;

	num = n < sizeof(tmp) ? tmp : malloc(n + 1);
	if (num == NULL)
		return (-1);
	memcpy(num, p, n);
	num[n] = '\0';
	dp = localeconv()->decimal_point[0];
	if (dp != '.' && dp != '\0')
		for (size_t i = 0; i < n; i++)
			if (num[i] == '.')
				num[i] = dp;
	*v = strtod(num, &e);
	ok = (e == num + n);
	if (num != tmp)
		free(num);
	return (ok ? 0 : -1);
}

/*
 * ${n} bytes at ${p} and a NUL, copied into the builder's text block.  The
 * block holds all the unescaped names and strings of the document: each
 * comes from at least its length plus two quotes of input, so ${len} + 1
 * bytes (one for a top-level string) always suffice.
 */
static const char *
keep(struct builder *b, const char *p, size_t n)
{
	char *s = b->text + b->used;

	SPOA_ASSERT(n < b->cap - b->used);
	memcpy(s, p, n);
	s[n] = '\0';
	b->used += n + 1;
	return (s);
}

static const char *
on_event(void *arg, const struct json_event *ev)
{
	struct builder *b = arg;
	cJSON *node, *parent;
	double v;
	bool ok;

	switch (ev->type) {
	case JSON_EV_END:
		return (NULL);
	case JSON_EV_OBJECT:
		node = cJSON_CreateObject();
		break;
	case JSON_EV_ARRAY:
		node = cJSON_CreateArray();
		break;
	case JSON_EV_STRING:
		node = b->text != NULL ?
		    cJSON_CreateStringReference(keep(b, ev->str, ev->len)) :
		    cJSON_CreateString(ev->str);
		break;
	case JSON_EV_NUMBER:
		if (number_value(ev->str, ev->len, &v) != 0)
			return (nomem);
		node = cJSON_CreateNumber(v);
		break;
	case JSON_EV_TRUE:
		node = cJSON_CreateTrue();
		break;
	case JSON_EV_FALSE:
		node = cJSON_CreateFalse();
		break;
	default:
		node = cJSON_CreateNull();
		break;
	}
	if (node == NULL)
		return (nomem);
	if (ev->depth == 0) {
		b->root = node;
	} else {
		parent = b->open[ev->depth - 1];
		if (ev->key == NULL)
			ok = cJSON_AddItemToArray(parent, node);
		else if (b->text != NULL)
			ok = cJSON_AddItemToObjectCS(parent, keep(b, ev->key,
			    ev->key_len), node);
		else
			ok = cJSON_AddItemToObject(parent, ev->key, node);
		if (!ok) {
			cJSON_Delete(node);
			return (nomem);
		}
	}
	if (ev->type == JSON_EV_OBJECT || ev->type == JSON_EV_ARRAY)
		b->open[ev->depth] = node;
	return (NULL);
}

cJSON *
json_doc_parse(const char *buf, size_t len, const struct json_limits *lim,
    struct json_error *err)
{
	struct builder b;

	b.root = NULL;
	b.text = NULL;
	if (json_strict_parse(buf, len, lim, on_event, &b, err) != 0) {
		cJSON_Delete(b.root);
		return (NULL);
	}
	return (b.root);
}

cJSON *
json_doc_parse_ref(const char *buf, size_t len, const struct json_limits *lim,
    struct json_error *err, char **text)
{
	struct builder b;

	*text = NULL;
	b.root = NULL;
	b.used = 0;
	b.cap = len + 1;
	if ((b.text = malloc(b.cap)) == NULL) {
		if (err != NULL) {
			memset(err, 0, sizeof(*err));
			err->why = nomem;
		}
		return (NULL);
	}
	if (json_strict_parse(buf, len, lim, on_event, &b, err) != 0) {
		cJSON_Delete(b.root);
		free(b.text);
		return (NULL);
	}
	*text = b.text;
	return (b.root);
}
