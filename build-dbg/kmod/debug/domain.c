// SPDX-License-Identifier: GPL-2.0-only
/*
 * domain.c - attached groups, the IOMMU domains they share, reserved
 * regions, and replaying existing mappings into a new domain.
 *
 * An IOMMU-backed group (VFIO_IOMMU, e.g. vfio-pci) gets a paging domain
 * allocated on its first device and attached with iommu_attach_group().
 * If an existing domain of the container is compatible (same IOMMU driver
 * ops, same cache-coherency enforcement), the group moves there and the
 * new domain is dropped; otherwise the new domain receives every existing
 * mapping: copied from the reference domain's page tables when the
 * container already has a domain (nothing is pinned twice), or pinned from
 * the owner's mm when it is the first one.
 *
 * An emulated group (VFIO_EMULATED_IOMMU, mediated devices) has no domain;
 * its devices pin pages on demand (mdev.c).
 *
 * Valid IOVA ranges are rebuilt from scratch: [0, U64_MAX], clipped to
 * every domain's aperture, minus every IOMMU-backed group's reserved
 * regions (except IOMMU_RESV_DIRECT_RELAXABLE, as type1).  A group whose
 * aperture or reserved regions would leave an existing mapping invalid
 * cannot be attached (EINVAL).  Attach is all or nothing; detach and
 * release never fail (if rebuilding the ranges fails for lack of memory
 * after a detach, the old ranges, a subset of the new, stay).
 */
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>

#include "lu.h"

static struct lu_group *lu_group_in(struct list_head *groups,
				    struct iommu_group *iommu_group)
{
	struct lu_group *g;

	list_for_each_entry(g, groups, next) {
		if (g->iommu_group == iommu_group)
			return g;
	}
	return NULL;
}

/* The domain @iommu_group is attached to, or NULL (emulated or absent). */
static struct lu_domain *lu_domain_of(struct lu_iommu *iommu,
				      struct iommu_group *iommu_group,
				      struct lu_group **group)
{
	struct lu_domain *d;

	list_for_each_entry(d, &iommu->domains, next) {
		*group = lu_group_in(&d->groups, iommu_group);
		if (*group)
			return d;
	}
	*group = NULL;
	return NULL;
}

struct lu_group *lu_group_find(struct lu_iommu *iommu,
			       struct iommu_group *iommu_group)
{
	struct lu_group *group;

	lockdep_assert_held(&iommu->lock);

	if (lu_domain_of(iommu, iommu_group, &group))
		return group;
	return lu_group_in(&iommu->emulated_groups, iommu_group);
}

static void lu_group_free(struct lu_group *group)
{
	struct iommu_resv_region *r, *tmp;

	list_for_each_entry_safe(r, tmp, &group->resv, list) {
		list_del(&r->list);
		kfree(r);
	}
	kfree(group);
}

/* Page sizes every domain supports, never finer than PAGE_SIZE. */
static unsigned long lu_pgsize_common(struct lu_iommu *iommu,
				      struct lu_domain *extra)
{
	unsigned long bitmap = ULONG_MAX;
	struct lu_domain *d;

	list_for_each_entry(d, &iommu->domains, next)
		bitmap &= d->domain->pgsize_bitmap;
	if (extra)
		bitmap &= extra->domain->pgsize_bitmap;
	/*
	 * Pinning works in PAGE_SIZE units; an IOMMU with smaller pages can
	 * map PAGE_SIZE chunks too.
	 */
	if (bitmap & ~PAGE_MASK) {
		bitmap &= PAGE_MASK;
		bitmap |= PAGE_SIZE;
	}
	return bitmap;
}

static int lu_ranges_exclude_group(struct list_head *ranges,
				   struct lu_group *group)
{
	struct iommu_resv_region *r;
	int ret;

	list_for_each_entry(r, &group->resv, list) {
		dma_addr_t last;

		if (r->type == IOMMU_RESV_DIRECT_RELAXABLE || !r->length)
			continue;
		last = r->start + r->length - 1;
		if (last < r->start)
			last = U64_MAX;
		ret = lu_ranges_exclude(ranges, r->start, last);
		if (ret)
			return ret;
	}
	return 0;
}

static int lu_ranges_apply_domain(struct list_head *ranges,
				  struct lu_domain *d)
{
	struct lu_group *g;
	int ret;

	lu_ranges_clip(ranges, d->domain->geometry.aperture_start,
		       d->domain->geometry.aperture_end);
	list_for_each_entry(g, &d->groups, next) {
		ret = lu_ranges_exclude_group(ranges, g);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Build into @out (empty) the valid IOVA ranges of the listed domains plus
 * @extra (with its groups), or nothing (unrestricted) if there is no
 * domain at all.  Return: 0; -ENOMEM; -EINVAL if nothing would be valid.
 */
static int lu_ranges_build(struct lu_iommu *iommu, struct lu_domain *extra,
			   struct list_head *out)
{
	struct lu_range *all;
	struct lu_domain *d;
	int ret;

	if (list_empty(&iommu->domains) && !extra)
		return 0;

	all = kmalloc(sizeof(*all), GFP_KERNEL_ACCOUNT);
	if (!all)
		return -ENOMEM;
	all->start = 0;
	all->last = U64_MAX;
	list_add(&all->next, out);

	list_for_each_entry(d, &iommu->domains, next) {
		ret = lu_ranges_apply_domain(out, d);
		if (ret)
			goto err_free;
	}
	if (extra) {
		ret = lu_ranges_apply_domain(out, extra);
		if (ret)
			goto err_free;
	}
	ret = -EINVAL;
	if (list_empty(out))
		goto err_free;
	return 0;

err_free:
	lu_ranges_free(out);
	return ret;
}

static void lu_ranges_replace(struct lu_iommu *iommu,
			      struct list_head *ranges)
{
	lu_ranges_free(&iommu->ranges);
	list_splice_init(ranges, &iommu->ranges);
}

static int lu_domain_alloc_cb(struct device *dev, void *data)
{
	struct iommu_domain **domain = data;

	*domain = lu_compat_domain_alloc(dev);
	return 1;	/* one device is enough */
}

/* A paging domain for @iommu_group, not attached.  ERR_PTR on failure. */
static struct lu_domain *lu_domain_alloc(struct iommu_group *iommu_group)
{
	struct iommu_domain *domain = ERR_PTR(-ENODEV);
	struct lu_domain *d;

	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&d->groups);

	iommu_group_for_each_dev(iommu_group, &domain, lu_domain_alloc_cb);
	if (IS_ERR_OR_NULL(domain)) {
		kfree(d);
		return domain ? ERR_CAST(domain) : ERR_PTR(-ENODEV);
	}
	d->domain = domain;
	return d;
}

static void lu_domain_free(struct lu_domain *d)
{
	iommu_domain_free(d->domain);
	kfree(d);
}

/* Give @d the software MSI window its group needs (not on x86). */
static int lu_domain_msi_cookie(struct lu_domain *d, struct lu_group *group)
{
	struct iommu_resv_region *r;
	phys_addr_t base = 0;
	bool sw_msi = false;
	int ret;

	list_for_each_entry(r, &group->resv, list) {
		if (r->type == IOMMU_RESV_MSI)
			return 0;	/* hardware MSI window wins */
		if (r->type == IOMMU_RESV_SW_MSI) {
			base = r->start;
			sw_msi = true;
		}
	}
	if (!sw_msi)
		return 0;
	ret = iommu_get_msi_cookie(d->domain, base);
	return ret == -ENODEV ? 0 : ret;
}

/*
 * Map every mapping into @new by copying the reference domain's page
 * tables.  Nothing is pinned.  On error @new may hold some mappings: the
 * caller discards it.
 */
static int lu_replay_copy(struct lu_iommu *iommu, struct lu_domain *new)
{
	struct lu_domain *ref = list_first_entry(&iommu->domains,
						 struct lu_domain, next);
	struct rb_node *node;
	int ret;

	for (node = rb_first(&iommu->dmas); node; node = rb_next(node)) {
		struct lu_dma *dma = rb_entry(node, struct lu_dma, node);
		dma_addr_t iova = dma->iova, end = dma->iova + dma->size;

		if (WARN_ON(!dma->pinned))
			return -EINVAL;
		while (iova < end) {
			phys_addr_t phys = iommu_iova_to_phys(ref->domain, iova);
			size_t len;

			if (WARN_ON(!phys))
				return -EINVAL;
			for (len = PAGE_SIZE; iova + len < end; len += PAGE_SIZE) {
				if (iommu_iova_to_phys(ref->domain, iova + len) !=
				    phys + len)
					break;
			}
			ret = lu_compat_iommu_map(new->domain, iova, phys, len,
						  dma->prot | IOMMU_CACHE);
			if (ret)
				return ret;
			iova += len;
		}
		cond_resched();
	}
	return 0;
}

/*
 * First IOMMU-backed domain: pin every mapping from the owner's mm and
 * map it into @new.  All or nothing.
 */
static int lu_replay_pin(struct lu_iommu *iommu, struct lu_domain *new)
{
	struct rb_node *node, *done;
	struct mm_struct *mm;
	int ret = 0;

	if (RB_EMPTY_ROOT(&iommu->dmas))
		return 0;
	mm = lu_owner_mmget(iommu);
	if (!mm)
		return -ESRCH;

	for (node = rb_first(&iommu->dmas); node; node = rb_next(node)) {
		ret = lu_pin_map_dma(iommu, new,
				     rb_entry(node, struct lu_dma, node), mm);
		if (ret)
			break;
	}
	if (ret) {
		for (done = rb_first(&iommu->dmas); done != node;
		     done = rb_next(done)) {
			struct lu_dma *dma = rb_entry(done, struct lu_dma, node);

			lu_unmap_unpin(iommu, new, dma, dma->iova, dma->size);
		}
	}
	mmput_async(mm);
	return ret;
}

/**
 * lu_attach_group - ops->attach_group
 * @iommu_data: the container
 * @iommu_group: the group to attach
 * @type: VFIO_IOMMU or VFIO_EMULATED_IOMMU
 *
 * Return: 0; -EINVAL (already attached, unsupported group type, the
 * group's aperture or reserved regions conflict with existing mappings or
 * leave no valid IOVA, no common IOMMU page size); -EPERM (no interrupt
 * remapping and allow_unsafe_interrupts not set); -ENOMEM; -ESRCH (the
 * owner's address space is gone while mappings must be pinned); errors of
 * the IOMMU layer and of pinning.  On error nothing changed.
 */
int lu_attach_group(void *iommu_data, struct iommu_group *iommu_group,
		    enum vfio_group_type type)
{
	struct lu_iommu *iommu = iommu_data;
	struct lu_domain *domain, *d;
	struct lu_group *group;
	LIST_HEAD(ranges);
	struct rb_node *node;
	bool first;
	int ret;

	mutex_lock(&iommu->lock);

	ret = -EINVAL;
	if (lu_group_find(iommu, iommu_group))
		goto out_unlock;
	if (type != VFIO_IOMMU && type != VFIO_EMULATED_IOMMU)
		goto out_unlock;

	ret = -ENOMEM;
	group = kzalloc(sizeof(*group), GFP_KERNEL_ACCOUNT);
	if (!group)
		goto out_unlock;
	group->iommu_group = iommu_group;
	INIT_LIST_HEAD(&group->resv);

	if (type == VFIO_EMULATED_IOMMU) {
		/* Its devices can only write through pins: in scope. */
		group->pinned_scope = true;
		list_add_tail(&group->next, &iommu->emulated_groups);
		mutex_unlock(&iommu->lock);
		return 0;
	}

	ret = iommu_get_group_resv_regions(iommu_group, &group->resv);
	if (ret)
		goto err_free_group;

	domain = lu_domain_alloc(iommu_group);
	if (IS_ERR(domain)) {
		ret = PTR_ERR(domain);
		goto err_free_group;
	}
	ret = iommu_attach_group(domain->domain, iommu_group);
	if (ret)
		goto err_free_domain;
	list_add(&group->next, &domain->groups);

	if (!lu_param_allow_unsafe_interrupts &&
	    !lu_compat_isolated_msi(iommu_group)) {
		pr_warn("vfio_iommu_lu: no interrupt remapping; set allow_unsafe_interrupts to use this group anyway\n");
		ret = -EPERM;
		goto err_detach;
	}

	/* Aperture and reserved regions: new ranges, existing mappings. */
	ret = lu_ranges_build(iommu, domain, &ranges);
	if (ret)
		goto err_detach;
	ret = -EINVAL;
	if (!lu_ranges_fit_dmas(iommu, &ranges))
		goto err_ranges;
	if (!lu_pgsize_common(iommu, domain))
		goto err_ranges;

	if (domain->domain->ops->enforce_cache_coherency)
		domain->enforce_cc =
			domain->domain->ops->enforce_cache_coherency(
				domain->domain);

	/* Share a compatible domain: mappings are already there. */
	list_for_each_entry(d, &iommu->domains, next) {
		if (d->domain->ops != domain->domain->ops ||
		    d->enforce_cc != domain->enforce_cc)
			continue;
		iommu_detach_group(domain->domain, iommu_group);
		if (!iommu_attach_group(d->domain, iommu_group)) {
			list_move(&group->next, &d->groups);
			lu_domain_free(domain);
			goto done;
		}
		ret = iommu_attach_group(domain->domain, iommu_group);
		if (ret) {
			/* Attached nowhere now: nothing to detach. */
			lu_ranges_free(&ranges);
			list_del(&group->next);
			goto err_free_domain;
		}
	}

	ret = lu_domain_msi_cookie(domain, group);
	if (ret)
		goto err_ranges;

	first = list_empty(&iommu->domains);
	ret = first ? lu_replay_pin(iommu, domain) :
		      lu_replay_copy(iommu, domain);
	if (ret)
		goto err_ranges;

	/* Listed last: the reference domain stays the same. */
	list_add_tail(&domain->next, &iommu->domains);
	if (first) {
		for (node = rb_first(&iommu->dmas); node; node = rb_next(node))
			rb_entry(node, struct lu_dma, node)->pinned = true;
	}
	iommu->pgsize_bitmap = lu_pgsize_common(iommu, NULL);
done:
	lu_ranges_replace(iommu, &ranges);
	/* Until it pins, assume its devices may write anywhere mapped. */
	iommu->nr_unscoped_groups++;
	mutex_unlock(&iommu->lock);
	return 0;

err_ranges:
	lu_ranges_free(&ranges);
err_detach:
	list_del(&group->next);
	iommu_detach_group(domain->domain, iommu_group);
err_free_domain:
	lu_domain_free(domain);
err_free_group:
	lu_group_free(group);
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

/**
 * lu_group_detach - detach and forget one group.  Never fails.
 * @iommu: the container (lock held)
 * @iommu_group: an attached group
 *
 * When the last IOMMU-backed domain goes, the IOMMU path releases every
 * page (pages devices pinned stay pinned, and stay charged).  What goes
 * with the last group of any kind is the caller's (main.c).
 */
void lu_group_detach(struct lu_iommu *iommu, struct iommu_group *iommu_group)
{
	struct lu_group *group;
	struct lu_domain *d;
	LIST_HEAD(ranges);
	struct rb_node *node;

	lockdep_assert_held(&iommu->lock);

	group = lu_group_in(&iommu->emulated_groups, iommu_group);
	if (group) {
		list_del(&group->next);
		lu_group_free(group);
		return;
	}

	d = lu_domain_of(iommu, iommu_group, &group);
	if (WARN_ON(!d))
		return;

	/*
	 * Its device may have written any page it could reach since the
	 * last read, which only counted it while it was attached: mark them
	 * before the domain (and with it dma->pinned) can go.
	 */
	if (!group->pinned_scope) {
		lu_dirty_mark_unscoped(iommu);
		iommu->nr_unscoped_groups--;
	}
	iommu_detach_group(d->domain, iommu_group);
	list_del(&group->next);
	lu_group_free(group);

	if (list_empty(&d->groups)) {
		if (list_is_singular(&iommu->domains)) {
			/* d is the reference domain: read it, then drop it. */
			for (node = rb_first(&iommu->dmas); node;
			     node = rb_next(node)) {
				struct lu_dma *dma = rb_entry(node, struct lu_dma,
							      node);

				lu_unmap_unpin(iommu, NULL, dma, dma->iova,
					       dma->size);
				dma->pinned = false;
				cond_resched();
			}
		}
		list_del(&d->next);
		lu_domain_free(d);
		iommu->pgsize_bitmap = lu_pgsize_common(iommu, NULL);
	}

	if (!lu_ranges_build(iommu, NULL, &ranges))
		lu_ranges_replace(iommu, &ranges);
}

/* Release: detach and forget every group; domains stay for unmapping. */
void lu_groups_release(struct lu_iommu *iommu)
{
	struct lu_group *group, *gtmp;
	struct lu_domain *d;

	lockdep_assert_held(&iommu->lock);

	list_for_each_entry(d, &iommu->domains, next) {
		list_for_each_entry_safe(group, gtmp, &d->groups, next) {
			iommu_detach_group(d->domain, group->iommu_group);
			list_del(&group->next);
			lu_group_free(group);
		}
	}
	list_for_each_entry_safe(group, gtmp, &iommu->emulated_groups, next) {
		list_del(&group->next);
		lu_group_free(group);
	}
	iommu->nr_unscoped_groups = 0;
}

/* Release, after every mapping is gone: free the domains. */
void lu_domains_release(struct lu_iommu *iommu)
{
	struct lu_domain *d, *dtmp;

	lockdep_assert_held(&iommu->lock);

	list_for_each_entry_safe(d, dtmp, &iommu->domains, next) {
		list_del(&d->next);
		lu_domain_free(d);
	}
	iommu->pgsize_bitmap = PAGE_MASK;
}

/* VFIO_DMA_CC_IOMMU: every domain blocks no-snoop (true with none). */
bool lu_domains_enforce_cc(struct lu_iommu *iommu)
{
	struct lu_domain *d;
	bool ret = true;

	mutex_lock(&iommu->lock);
	list_for_each_entry(d, &iommu->domains, next) {
		if (!d->enforce_cc) {
			ret = false;
			break;
		}
	}
	mutex_unlock(&iommu->lock);
	return ret;
}

/* ops->group_iommu_domain */
struct iommu_domain *lu_group_iommu_domain(void *iommu_data,
					   struct iommu_group *iommu_group)
{
	struct iommu_domain *domain = ERR_PTR(-ENODEV);
	struct lu_iommu *iommu = iommu_data;
	struct lu_group *group;
	struct lu_domain *d;

	if (!iommu || !iommu_group)
		return ERR_PTR(-EINVAL);
	mutex_lock(&iommu->lock);
	d = lu_domain_of(iommu, iommu_group, &group);
	if (d)
		domain = d->domain;
	mutex_unlock(&iommu->lock);
	return domain;
}
