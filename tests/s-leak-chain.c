// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-chain: a lost list and a kept list.
 *   lost_list  a 48-byte head, nothing points to it, holds a list of 5
 *              nodes of 32 bytes (node_new): head leaked, nodes indirectly
 *              leaked
 *   kept_list  a 24-byte head in the global kept, with a list of 2 nodes of
 *              40 bytes (node_new too): all reachable */
#include <stdlib.h>

#include "leak.h"

struct node {
	struct node *next;
};

struct head {
	struct node *first;
};

struct head *kept;

__attribute__((noinline)) struct node *node_new(size_t size, struct node *next)
{
	struct node *n = calloc(1, size);

	n->next = next;
	return n;
}

__attribute__((noinline)) struct head *head_new(size_t size, int nodes, size_t node_size)
{
	struct head *h = calloc(1, size);

	for (int i = 0; i < nodes; i++)
		h->first = node_new(node_size, h->first);
	return h;
}

__attribute__((noinline)) void lost_list(void)
{
	struct head *volatile h = head_new(48, 5, 32);

	h = NULL;
	(void)h;
}

__attribute__((noinline)) void kept_list(void)
{
	kept = head_new(24, 2, 40);
}

int main(void)
{
	lost_list();
	kept_list();
	LEAK_WIPE();
	return 0;
}
