/*
 * json_doc.h: JSON text to a cJSON tree, through the strict tokenizer.
 *
 * The one entry point for every JSON document the agent reads (config and
 * policy documents, key sets, discovery documents, token responses) and for
 * the header and payload of a token: json_strict_parse() checks the text
 * (UTF-8, duplicate keys, depth and member caps, RFC 8259 grammar) and
 * each of its events adds one node through cJSON's own constructors
 * (cJSON_CreateObject, cJSON_AddItemToObject, ...).  The result is an
 * ordinary cJSON tree: read it with the cJSON API, release it with
 * cJSON_Delete().  cJSON's parser is not used, so its process-wide error
 * position (cJSON_GetErrorPtr) is neither written nor read: errors come
 * back in a struct json_error, with a byte offset, line and column.
 */
#ifndef SPOA_JSON_DOC_H
#define SPOA_JSON_DOC_H

#include <stddef.h>

#include "json_strict.h"

struct cJSON;

/*
 * json_doc_parse(buf, len, lim, err):
 * Parse the ${len} bytes at ${buf} (not NUL-terminated; never read past
 * ${len}) under the rules and ceilings ${lim} of json_strict_check().
 * Return the tree (caller frees with cJSON_Delete()), or NULL with *${err}
 * filled (if not NULL): a JSON_STRICT_REASONS text and where.  Numbers are
 * read as cJSON reads them (strtod of the number's text: valuedouble, and
 * valueint saturated); strings and keys are the unescaped bytes.
 */
struct cJSON *json_doc_parse(const char *buf, size_t len,
    const struct json_limits *lim, struct json_error *err);

/*
 * json_doc_parse_ref(buf, len, lim, err, text):
 * json_doc_parse(), with every member name and string value of the tree
 * in one block of at most ${len} + 1 bytes instead of an allocation each:
 * the nodes are made with cJSON's reference constructors
 * (cJSON_CreateStringReference, cJSON_AddItemToObjectCS), which
 * cJSON_Delete() leaves alone.  On success *${text} is that block: the
 * caller frees it with free(), after cJSON_Delete() of the tree, which
 * must not outlive it.  For a tree read once and dropped, a token's
 * payload: it saves two allocations and two frees per member.
 */
struct cJSON *json_doc_parse_ref(const char *buf, size_t len,
    const struct json_limits *lim, struct json_error *err, char **text);

#endif /* !SPOA_JSON_DOC_H */
