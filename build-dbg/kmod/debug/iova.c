// SPDX-License-Identifier: GPL-2.0-only
/*
 * iova.c - the IOVA space of a container: the tree of mappings and the
 * list of valid IOVA ranges.
 *
 * Mappings never overlap, so a plain rbtree ordered by first IOVA finds
 * the lowest mapping that reaches a given address in O(log n).  Lookups
 * take inclusive [start, last] bounds: [0, U64_MAX] is expressible.
 *
 * Valid ranges are a short sorted list of disjoint, non-adjacent inclusive
 * ranges: the IOMMU apertures minus the reserved regions of the attached
 * groups (domain.c builds it).  An empty list means "unrestricted": no
 * IOMMU-backed group is attached, as for a container of mediated devices.
 *
 * Everything here runs under lu_iommu.lock (the callers assert it).
 */
#include <linux/slab.h>

#include "lu.h"

/**
 * lu_dma_first - lowest mapping that overlaps [@start, @last]
 * @iommu: the container (lock held)
 * @start: first IOVA of the range
 * @last: last IOVA of the range (inclusive)
 *
 * Return: the mapping, or NULL if none overlaps.
 */
struct lu_dma *lu_dma_first(struct lu_iommu *iommu, dma_addr_t start,
			    dma_addr_t last)
{
	struct rb_node *node = iommu->dmas.rb_node;
	struct lu_dma *found = NULL;

	lockdep_assert_held(&iommu->lock);

	/* Find the lowest mapping that ends at or after start... */
	while (node) {
		struct lu_dma *dma = rb_entry(node, struct lu_dma, node);

		if (lu_dma_last(dma) < start) {
			node = node->rb_right;
		} else {
			found = dma;
			node = node->rb_left;
		}
	}
	/* ...it overlaps if it also begins at or before last. */
	if (found && found->iova > last)
		return NULL;
	return found;
}

struct lu_dma *lu_dma_next(struct lu_dma *dma)
{
	struct rb_node *node = rb_next(&dma->node);

	return node ? rb_entry(node, struct lu_dma, node) : NULL;
}

/* Insert @dma; the caller has checked that it overlaps nothing. */
void lu_dma_link(struct lu_iommu *iommu, struct lu_dma *dma)
{
	struct rb_node **link = &iommu->dmas.rb_node, *parent = NULL;

	lockdep_assert_held(&iommu->lock);

	while (*link) {
		struct lu_dma *cur = rb_entry(*link, struct lu_dma, node);

		parent = *link;
		if (dma->iova < cur->iova)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&dma->node, parent, link);
	rb_insert_color(&dma->node, &iommu->dmas);
}

void lu_dma_unlink(struct lu_iommu *iommu, struct lu_dma *dma)
{
	lockdep_assert_held(&iommu->lock);
	rb_erase(&dma->node, &iommu->dmas);
	RB_CLEAR_NODE(&dma->node);
}

void lu_ranges_free(struct list_head *ranges)
{
	struct lu_range *r, *tmp;

	list_for_each_entry_safe(r, tmp, ranges, next) {
		list_del(&r->next);
		kfree(r);
	}
}

/*
 * Keep only what lies inside [start, last].  Only shrinks: cannot fail.
 * An empty list stays empty (the caller seeds it with [0, U64_MAX]).
 */
void lu_ranges_clip(struct list_head *ranges, dma_addr_t start,
		    dma_addr_t last)
{
	struct lu_range *r, *tmp;

	list_for_each_entry_safe(r, tmp, ranges, next) {
		if (r->last < start || r->start > last) {
			list_del(&r->next);
			kfree(r);
			continue;
		}
		r->start = max(r->start, start);
		r->last = min(r->last, last);
	}
}

/*
 * Remove [start, last] from the list; splitting a range in two allocates.
 * On -ENOMEM the list is still sorted and valid, but only partly updated:
 * callers work on a private copy and discard it on error.
 */
int lu_ranges_exclude(struct list_head *ranges, dma_addr_t start,
		      dma_addr_t last)
{
	struct lu_range *r, *tmp;

	list_for_each_entry_safe(r, tmp, ranges, next) {
		if (r->last < start || r->start > last)
			continue;

		if (r->start < start && r->last > last) {
			/* The hole is strictly inside: split. */
			struct lu_range *upper = kmalloc(sizeof(*upper),
							 GFP_KERNEL_ACCOUNT);

			if (!upper)
				return -ENOMEM;
			upper->start = last + 1;
			upper->last = r->last;
			r->last = start - 1;
			list_add(&upper->next, &r->next);
			return 0;
		}
		if (r->start < start) {
			r->last = start - 1;
		} else if (r->last > last) {
			r->start = last + 1;
		} else {
			list_del(&r->next);
			kfree(r);
		}
	}
	return 0;
}

/* Does [start, last] lie within one valid range?  Empty list: anything. */
bool lu_ranges_contain(struct list_head *ranges, dma_addr_t start,
		       dma_addr_t last)
{
	struct lu_range *r;

	if (list_empty(ranges))
		return true;
	list_for_each_entry(r, ranges, next) {
		if (start >= r->start && last <= r->last)
			return true;
	}
	return false;
}

/* Would every existing mapping still be valid under @ranges? */
bool lu_ranges_fit_dmas(struct lu_iommu *iommu, struct list_head *ranges)
{
	struct lu_range *r;
	struct lu_dma *dma;
	dma_addr_t gap_start = 0;

	lockdep_assert_held(&iommu->lock);

	if (list_empty(ranges))
		return true;

	/* Look for a mapping in each gap between valid ranges. */
	list_for_each_entry(r, ranges, next) {
		if (r->start > gap_start &&
		    lu_dma_first(iommu, gap_start, r->start - 1))
			return false;
		if (r->last == U64_MAX)
			return true;
		gap_start = r->last + 1;
	}
	dma = lu_dma_first(iommu, gap_start, U64_MAX);
	return !dma;
}

unsigned int lu_ranges_count(struct list_head *ranges)
{
	struct lu_range *r;
	unsigned int n = 0;

	list_for_each_entry(r, ranges, next)
		n++;
	return n;
}

/* ---- pages pinned by devices in one mapping (struct lu_pfn, by iova) ---- */

struct lu_pfn *lu_pfn_find(struct lu_dma *dma, dma_addr_t iova)
{
	struct rb_node *node = dma->pfns.rb_node;

	while (node) {
		struct lu_pfn *p = rb_entry(node, struct lu_pfn, node);

		if (iova < p->iova)
			node = node->rb_left;
		else if (iova > p->iova)
			node = node->rb_right;
		else
			return p;
	}
	return NULL;
}

void lu_pfn_link(struct lu_dma *dma, struct lu_pfn *new)
{
	struct rb_node **link = &dma->pfns.rb_node, *parent = NULL;

	while (*link) {
		struct lu_pfn *p = rb_entry(*link, struct lu_pfn, node);

		parent = *link;
		link = new->iova < p->iova ? &parent->rb_left :
					     &parent->rb_right;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &dma->pfns);
}
