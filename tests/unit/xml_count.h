/* Counting elements of a parsed SVG, for the tests of what draws one. */
#ifndef GILSTATS_TEST_XML_COUNT_H
#define GILSTATS_TEST_XML_COUNT_H

#include <libxml/tree.h>
#include <string.h>

/* Elements named name in node, its siblings after it and their trees. */
static inline size_t count_elements(xmlNode *node, const char *name)
{
	size_t n = 0;

	for (; node; node = node->next)
		n += (node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, name) == 0) +
		     count_elements(node->children, name);
	return n;
}

#endif
