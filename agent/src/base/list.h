/*
 * list.h: an intrusive, circular, doubly linked list (HAProxy's list.h,
 * the Linux kernel's list_head): a struct list is embedded in each
 * element, and container_of() goes back from the link to the element.
 * Header only, no allocation; an empty list and an unlinked element both
 * point at themselves, so list_del() of an unlinked element is harmless.
 */
#ifndef SPOA_LIST_H
#define SPOA_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
	struct list *prev, *next;
};

/*
 * container_of(ptr, type, member): the ${type} whose field ${member} is at
 * ${ptr}.
 */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* list_init(h): ${h} becomes an empty list (or an unlinked element). */
static inline void
list_init(struct list *h)
{
	h->prev = h->next = h;
}

/* list_empty(h): true if ${h} has no element (or is unlinked). */
static inline bool
list_empty(const struct list *h)
{
	return (h->next == h);
}

/* list_add_head(h, l): link ${l} first in ${h}. */
static inline void
list_add_head(struct list *h, struct list *l)
{
	l->next = h->next;
	l->prev = h;
	h->next->prev = l;
	h->next = l;
}

/* list_add_tail(h, l): link ${l} last in ${h}. */
static inline void
list_add_tail(struct list *h, struct list *l)
{
	l->prev = h->prev;
	l->next = h;
	h->prev->next = l;
	h->prev = l;
}

/* list_del(l): unlink ${l} from its list; ${l} is then unlinked. */
static inline void
list_del(struct list *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

/* list_move_tail(h, l): unlink ${l} and link it last in ${h}. */
static inline void
list_move_tail(struct list *h, struct list *l)
{
	list_del(l);
	list_add_tail(h, l);
}

/* list_first(h): the first link of ${h}, or NULL if it is empty. */
static inline struct list *
list_first(const struct list *h)
{
	return (list_empty(h) ? NULL : h->next);
}

/*
 * list_for_each_safe(pos, tmp, h): walk ${h} from the head; ${pos} may be
 * unlinked (or freed) in the body, not ${tmp}.
 */
#define list_for_each_safe(pos, tmp, h) \
	for ((pos) = (h)->next, (tmp) = (pos)->next; (pos) != (h); \
	    (pos) = (tmp), (tmp) = (pos)->next)

#endif /* !SPOA_LIST_H */
