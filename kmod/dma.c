// SPDX-License-Identifier: GPL-2.0-only
/*
 * dma.c - the mapping ioctls (VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA,
 * VFIO_IOMMU_UNMAP_DMA) and the life cycle of a mapping.
 *
 * Handlers validate, do the work under lu_iommu.lock, and respond.  A
 * failing call changes nothing.  Semantics are Type1v2's:
 *   - a mapping is created whole or not at all, and unmapped whole: an
 *     unmap that would split one (bisect it) fails with EINVAL; an unmap
 *     may cover any number of whole mappings and returns their total size;
 *   - IOVA, vaddr and size are multiples of the smallest IOMMU page size.
 * Deliberate differences (docs/backend.md): VFIO_DMA_UNMAP_FLAG_VADDR is
 * refused; VFIO_DMA_MAP_FLAG_VADDR only stages a vaddr for the next
 * VFIO_CHANGE_DMA_OWNER (docs/ownership.md); only the owner's address
 * space may add mappings (owner.c).  Dirty tracking (bitmaps, the
 * migration capability) is dirty.c's.
 */
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "lu.h"

/*
 * Mappings come from a cache of their own: struct lu_dma is 104 bytes on
 * 64-bit, which kmalloc rounds up to 128 (docs/performance.md, kernel
 * memory per mapping).
 */
static struct kmem_cache *lu_dma_cache;

int lu_dma_cache_init(void)
{
	lu_dma_cache = KMEM_CACHE(lu_dma, SLAB_ACCOUNT);
	return lu_dma_cache ? 0 : -ENOMEM;
}

void lu_dma_cache_fini(void)
{
	kmem_cache_destroy(lu_dma_cache);
}

/* Notifications of one mapping before its devices' pins count as stuck. */
#define LU_NOTIFY_RETRIES	10

/**
 * lu_dma_remove - unmap, unpin, unaccount and free one mapping
 * @iommu: the container (lock held)
 * @dma: the mapping, which is freed
 *
 * Devices should have released their pins (the unmap ioctl asks them);
 * at container release any that remain are released here.  Never fails.
 * The caller unlocks with lu_unlock().
 */
void lu_dma_remove(struct lu_iommu *iommu, struct lu_dma *dma)
{
	lockdep_assert_held(&iommu->lock);

	if (dma->pinned) {
		lu_unmap_unpin(iommu, NULL, dma, dma->iova, dma->size);
		dma->pinned = false;
	}
	lu_pfns_release(iommu, dma);
	if (WARN_ON(dma->locked_vm))
		lu_uncharge(iommu, dma, dma->locked_vm);
	lu_dma_unlink(iommu, dma);
	lu_object_drop(iommu, dma);	/* put at lu_unlock() */
	lu_dma_unstage(dma);
	lu_dirty_free(dma);
	kmem_cache_free(lu_dma_cache, dma);
	iommu->dma_avail++;
}

void lu_dma_remove_all(struct lu_iommu *iommu)
{
	struct rb_node *node;

	lockdep_assert_held(&iommu->lock);

	while ((node = rb_first(&iommu->dmas))) {
		lu_dma_remove(iommu, rb_entry(node, struct lu_dma, node));
		cond_resched();
	}
}

/* VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: where mappings may go. */
static int lu_cap_iova_ranges(struct lu_iommu *iommu,
			      struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_info_cap_header *header;
	unsigned int n = lu_ranges_count(&iommu->ranges), i = 0;
	struct lu_range *r;

	/* No IOMMU-backed group: no restriction to report (as type1). */
	if (!n)
		return 0;

	header = vfio_info_cap_add(caps, struct_size(cap, iova_ranges, n),
				   VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (IS_ERR(header))
		return PTR_ERR(header);
	cap = container_of(header, struct vfio_iommu_type1_info_cap_iova_range,
			   header);
	cap->nr_iovas = n;
	list_for_each_entry(r, &iommu->ranges, next) {
		cap->iova_ranges[i].start = r->start;
		cap->iova_ranges[i].end = r->last;
		i++;
	}
	return 0;
}

/* VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: how many more mappings fit. */
static int lu_cap_dma_avail(struct lu_iommu *iommu,
			    struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
		.header.version = 1,
		.avail = iommu->dma_avail,
	};

	return vfio_info_add_capability(caps, &cap.header, sizeof(cap));
}

/*
 * Capability chain of VFIO_IOMMU_GET_INFO, in Type1v2's order (the
 * migration capability comes from dirty.c).
 */
static int (*const lu_info_caps[])(struct lu_iommu *iommu,
				   struct vfio_info_cap *caps) = {
	lu_dirty_cap_migration,
	lu_cap_dma_avail,
	lu_cap_iova_ranges,
};

/**
 * lu_ioctl_get_info - VFIO_IOMMU_GET_INFO
 * @iommu: the container
 * @uarg: struct vfio_iommu_type1_info in userspace
 * @ucmd: its fixed part, up to iova_pgsizes (argsz checked)
 *
 * Reports the IOMMU page sizes and, as a capability chain, the valid IOVA
 * ranges and the number of mappings still available.  If argsz is too
 * small for the chain, argsz is raised and cap_offset left 0.
 *
 * Return: 0; -EFAULT, -ENOMEM.
 */
long lu_ioctl_get_info(struct lu_iommu *iommu, void __user *uarg,
		       union lu_ucmd *ucmd)
{
	struct vfio_iommu_type1_info info = ucmd->info;
	struct vfio_info_cap caps = {};
	size_t outsz;
	unsigned int i;
	int ret = 0;

	outsz = min_t(size_t, info.argsz, sizeof(info));

	mutex_lock(&iommu->lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommu->pgsize_bitmap;
	for (i = 0; i < ARRAY_SIZE(lu_info_caps) && !ret; i++)
		ret = lu_info_caps[i](iommu, &caps);
	mutex_unlock(&iommu->lock);
	if (ret)
		goto out_free;

	if (caps.size) {
		info.flags |= VFIO_IOMMU_INFO_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(uarg + sizeof(info), caps.buf,
					 caps.size)) {
				ret = -EFAULT;
				goto out_free;
			}
			info.cap_offset = sizeof(info);
		}
	}
	if (copy_to_user(uarg, &info, outsz))
		ret = -EFAULT;
out_free:
	kfree(caps.buf);
	return ret;
}

/*
 * Create the mapping [iova, iova + size) -> vaddr.  Return: 0; -EINVAL
 * (zero size, misaligned, wrapping, outside the valid IOVA ranges),
 * -EEXIST (overlaps a mapping), -ENOSPC (dma_entry_limit reached),
 * -EPERM (another process owns the container's mappings), -ENOMEM
 * (memory, or RLIMIT_MEMLOCK), -ESRCH, -EINTR, or the pin error for a bad
 * vaddr (-EFAULT, ...).
 */
static int lu_map(struct lu_iommu *iommu, dma_addr_t iova,
		  unsigned long vaddr, size_t size, int prot)
{
	struct lu_claim claim;
	struct mm_struct *mm;
	struct lu_dma *dma;
	size_t pgsize;
	int ret;

	mutex_lock(&iommu->lock);

	pgsize = lu_pgsize(iommu);
	ret = -EINVAL;
	if (!size || ((iova | vaddr | size) & (pgsize - 1)))
		goto out_unlock;
	if (iova + size - 1 < iova || vaddr + size - 1 < vaddr)
		goto out_unlock;

	ret = -EEXIST;
	if (lu_dma_first(iommu, iova, iova + size - 1))
		goto out_unlock;
	ret = -ENOSPC;
	if (!iommu->dma_avail)
		goto out_unlock;
	ret = -EINVAL;
	if (!lu_ranges_contain(&iommu->ranges, iova, iova + size - 1))
		goto out_unlock;

	/* Provisional until the mapping exists: a failure changes no owner. */
	ret = lu_owner_claim(iommu, &claim);
	if (ret)
		goto out_unlock;

	ret = -ENOMEM;
	dma = kmem_cache_zalloc(lu_dma_cache, GFP_KERNEL_ACCOUNT);
	if (!dma)
		goto err_unclaim;
	dma->iova = iova;
	dma->vaddr = vaddr;
	dma->size = size;
	dma->prot = prot;
	dma->pfns = RB_ROOT;
	/* What every pin and a later owner's vaddr must map (object.c). */
	ret = lu_object_record(dma, current->mm);
	if (ret)
		goto err_free;
	/* While dirty tracking runs, its bitmap (before pinning: no undo). */
	ret = lu_dirty_map(iommu, dma);
	if (ret)
		goto err_free;

	/* With an IOMMU-backed domain, pin and map now; else on demand. */
	if (!list_empty(&iommu->domains)) {
		mm = lu_owner_mmget(iommu);
		if (!mm) {
			ret = -ESRCH;
			goto err_free;
		}
		ret = lu_pin_map_dma(iommu, NULL, dma, mm);
		mmput_async(mm);
		if (ret)
			goto err_free;
		dma->pinned = true;
	}

	/* The mapping exists: now the owner may be final (its canary). */
	ret = lu_owner_claimed(iommu, &claim);
	if (ret)
		goto err_unpin;
	lu_dma_link(iommu, dma);
	iommu->dma_avail--;
	mutex_unlock(&iommu->lock);
	return 0;

err_unpin:
	if (dma->pinned)
		lu_unmap_unpin(iommu, NULL, dma, dma->iova, dma->size);
err_free:
	lu_object_drop(iommu, dma);
	lu_dirty_free(dma);
	kmem_cache_free(lu_dma_cache, dma);
err_unclaim:
	lu_owner_unclaim(iommu, &claim);
out_unlock:
	lu_unlock(iommu);
	return ret;
}

/**
 * lu_ioctl_map_dma - VFIO_IOMMU_MAP_DMA
 * @iommu: the container
 * @uarg: struct vfio_iommu_type1_dma_map in userspace
 * @ucmd: its copy (argsz and flags checked)
 *
 * Flags: VFIO_DMA_MAP_FLAG_READ and/or _WRITE (at least one): a new
 * mapping.  VFIO_DMA_MAP_FLAG_VADDR alone: stage new vaddrs for the
 * whole consecutive mappings that iova and size cover (one, as in Type1v2,
 * or several), installed by the next VFIO_CHANGE_DMA_OWNER (owner.c);
 * with READ or WRITE: EINVAL.
 *
 * Return: 0; -EINVAL; the errors of lu_map() or lu_owner_stage_vaddr().
 */
long lu_ioctl_map_dma(struct lu_iommu *iommu, void __user *uarg,
		      union lu_ucmd *ucmd)
{
	struct vfio_iommu_type1_dma_map map = ucmd->map;
	int prot = 0;

	/* Don't let a 64-bit field be truncated. */
	if (map.iova != (dma_addr_t)map.iova ||
	    map.vaddr != (unsigned long)map.vaddr ||
	    map.size != (size_t)map.size)
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_VADDR) {
		/* A staged vaddr carries no permissions of its own. */
		if (map.flags != VFIO_DMA_MAP_FLAG_VADDR)
			return -EINVAL;
		return lu_owner_stage_vaddr(iommu, map.iova, map.vaddr,
					    map.size);
	}

	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (!prot)
		return -EINVAL;

	return lu_map(iommu, map.iova, map.vaddr, map.size, prot);
}

/*
 * Remove the mappings in [iova, iova + size), or all of them.  Devices
 * that pinned pages inside are asked to unpin first, without the lock;
 * the checks are then redone, as the mappings may have changed.
 *
 * Return: 0 and *@unmapped; -EINVAL (misaligned, zero or wrapping size,
 * bisects a mapping, ALL with a range), -EBUSY (a device keeps pages
 * pinned after being asked LU_NOTIFY_RETRIES times), -EINTR (killed while
 * waiting for devices).  On error, no mapping was removed.
 */
static int lu_unmap(struct lu_iommu *iommu, dma_addr_t iova, u64 size,
		    bool all, const struct vfio_bitmap *bitmap, u64 *unmapped)
{
	dma_addr_t last, notified_iova = 0;
	unsigned int retries = 0;
	struct lu_dma *dma, *next;
	struct lu_fault fault = {};
	size_t pgsize;
	u64 total = 0;
	int ret;

	mutex_lock(&iommu->lock);
again:
	pgsize = lu_pgsize(iommu);
	ret = -EINVAL;
	if (iova & (pgsize - 1))
		goto out_unlock;
	if (all) {
		if (iova || size)
			goto out_unlock;
		last = U64_MAX;
	} else {
		if (!size || (size & (pgsize - 1)) || iova + size - 1 < iova)
			goto out_unlock;
		last = iova + size - 1;
		/* v2: the range must not split a mapping at either end. */
		dma = lu_dma_first(iommu, iova, iova);
		if (dma && dma->iova != iova)
			goto out_unlock;
		dma = lu_dma_first(iommu, last, last);
		if (dma && lu_dma_last(dma) != last)
			goto out_unlock;
	}

	/* GET_DIRTY_BITMAP: tracking must run (before bothering devices). */
	if (bitmap) {
		ret = lu_dirty_unmap_ready(iommu, bitmap);
		if (ret)
			goto out_unlock;
	}

	/* Devices let go of their pins in the range first. */
	for (dma = lu_dma_first(iommu, iova, last); dma && dma->iova <= last;
	     dma = lu_dma_next(dma)) {
		dma_addr_t niova = dma->iova;
		size_t nsize = dma->size;

		if (RB_EMPTY_ROOT(&dma->pfns))
			continue;
		if (retries && niova == notified_iova) {
			if (retries++ > LU_NOTIFY_RETRIES) {
				pr_warn_ratelimited("vfio_iommu_lu: devices keep pages of IOVA 0x%llx pinned after unmap requests\n",
						    (u64)niova);
				ret = -EBUSY;
				goto out_unlock;
			}
		} else {
			notified_iova = niova;
			retries = 1;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out_unlock;
		}
		mutex_unlock(&iommu->lock);
		lu_notify_dma_unmap(iommu, niova, nsize);
		mutex_lock(&iommu->lock);
		goto again;
	}

	/* The bits of what goes, all copied before anything is removed. */
	if (bitmap) {
		ret = lu_dirty_unmap_report(iommu, iova, last, bitmap,
					    &fault);
		if (ret == -EAGAIN) {
			/* Never fault the user bitmap in under the lock. */
			mutex_unlock(&iommu->lock);
			ret = lu_fault_in_mm(current->mm, &fault, true);
			if (ret)
				return ret;
			mutex_lock(&iommu->lock);
			goto again;
		}
		if (ret)
			goto out_unlock;
	}
	for (dma = lu_dma_first(iommu, iova, last); dma && dma->iova <= last;
	     dma = next) {
		next = lu_dma_next(dma);
		total += dma->size;
		lu_dma_remove(iommu, dma);
		cond_resched();
	}
	*unmapped = total;
	ret = 0;
out_unlock:
	lu_unlock(iommu);
	return ret;
}

/**
 * lu_ioctl_unmap_dma - VFIO_IOMMU_UNMAP_DMA
 * @iommu: the container
 * @uarg: struct vfio_iommu_type1_dma_unmap in userspace
 * @ucmd: its fixed part, up to size (argsz and flags checked)
 *
 * Flags: VFIO_DMA_UNMAP_FLAG_ALL (iova and size must be 0).  Refused with
 * EINVAL: VFIO_DMA_UNMAP_FLAG_VADDR (never offered).
 * VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (not with FLAG_ALL, only while
 * dirty tracking runs): a struct vfio_bitmap follows; it receives the
 * dirty bits of the mappings removed (dirty.c).  On success .size is set
 * to the number of bytes unmapped (0 if the range held no mapping).
 *
 * Return: 0; -EFAULT; -EINVAL; the errors of lu_unmap().
 */
long lu_ioctl_unmap_dma(struct lu_iommu *iommu, void __user *uarg,
			union lu_ucmd *ucmd)
{
	struct vfio_iommu_type1_dma_unmap unmap = ucmd->unmap;
	struct vfio_iommu_type1_dma_unmap __user *u = uarg;
	struct vfio_bitmap bitmap, *pbitmap = NULL;
	u64 unmapped = 0;
	int ret;

	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR)
		return -EINVAL;
	if (unmap.iova != (dma_addr_t)unmap.iova)
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		/* As Type1v2: a bitmap needs a range (dirty.c checks it). */
		if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL)
			return -EINVAL;
		ret = lu_dirty_unmap_check(uarg, unmap.argsz, unmap.size,
					   &bitmap);
		if (ret)
			return ret;
		pbitmap = &bitmap;
	}

	/*
	 * The result cannot be taken back once mappings are gone: make sure
	 * it can be stored before (rewriting the value the user passed).
	 */
	if (put_user(unmap.size, &u->size))
		return -EFAULT;

	ret = lu_unmap(iommu, unmap.iova, unmap.size,
		       unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL, pbitmap, &unmapped);
	if (ret)
		return ret;
	return put_user(unmapped, &u->size) ? -EFAULT : 0;
}
