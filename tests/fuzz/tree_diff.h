/*
 * tree_diff.h: for the fuzz targets that compare the trees json_doc_parse()
 * builds from the strict tokenizer's events with cJSON_Parse's (fuzz_jws,
 * fuzz_json_strict): every field cJSON readers see (valueint of numbers
 * only: cJSON_Parse sets it to 1 on true, cJSON_CreateTrue does not), and
 * the sibling links cJSON keeps (prev of the first child is the last one).
 */
#ifndef SPOA_TREE_DIFF_H
#define SPOA_TREE_DIFF_H

#include <string.h>

#include <cjson/cJSON.h>

/* Our tree ${a} against cJSON_Parse's ${b}; 0 if equal.  Ours may hold
 * its strings and names by reference (json_doc_parse_ref(): the
 * cJSON_IsReference and cJSON_StringIsConst flags), nothing else differs. */
static int
tree_diff(const cJSON *a, const cJSON *b, int depth)
{
	const cJSON *x, *y;
	int at = a->type & ~(cJSON_IsReference | cJSON_StringIsConst);

	if ((a->type & cJSON_IsReference) && (a->type & 0xff) != cJSON_String)
		return (1);
	if ((a->type & cJSON_StringIsConst) && a->string == NULL)
		return (1);
	if (depth > 200 || at != b->type ||
	    ((a->type & 0xff) == cJSON_Number && a->valueint != b->valueint) ||
	    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0)
		return (1);
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string != NULL && strcmp(a->string, b->string) != 0))
		return (1);
	if ((a->valuestring == NULL) != (b->valuestring == NULL) ||
	    (a->valuestring != NULL &&
	    strcmp(a->valuestring, b->valuestring) != 0))
		return (1);
	for (x = a->child, y = b->child; x != NULL && y != NULL;
	    x = x->next, y = y->next)
		if (tree_diff(x, y, depth + 1) != 0)
			return (1);
	if (x != NULL || y != NULL)
		return (1);
	if (a->child != NULL) {
		for (x = a->child; x->next != NULL; x = x->next)
			if (x->next->prev != x)
				return (1);
		if (a->child->prev != x)
			return (1);
	}
	return (0);
}

#endif /* !SPOA_TREE_DIFF_H */
