/* Growing arrays: one idiom for every list that grows as it is filled. */
#ifndef GILSTATS_ARRAY_H
#define GILSTATS_ARRAY_H

#include <stdlib.h>

/* Room for want elements of elem bytes in *v (capacity *cap), doubling
 * from first. Returns 0, or -1 with *v untouched when out of memory. */
static inline int array_reserve(void **v, size_t *cap, size_t want, size_t elem, size_t first)
{
	size_t ncap = *cap ? *cap : first;
	void *grown;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	if (!(grown = realloc(*v, ncap * elem)))
		return -1;
	*v = grown;
	*cap = ncap;
	return 0;
}

#endif
