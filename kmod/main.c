// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - vfio_iommu_lu: module parameters, registration as a VFIO IOMMU
 * backend, container open/release and the ioctl dispatch table.
 *
 * The backend registers with vfio_register_iommu_driver().  The VFIO core
 * asks the most recently registered backend first, so loaded after the
 * stock vfio_iommu_type1 it is chosen for VFIO_LU_TYPE1v2_IOMMU always
 * and, with type1v2=1, for VFIO_TYPE1v2_IOMMU too (include/vfio_lu.h).
 *
 * Extensions answered by VFIO_CHECK_EXTENSION (before VFIO_SET_IOMMU with
 * no container, after it for the container):
 *   VFIO_LU_TYPE1v2_IOMMU  1
 *   VFIO_TYPE1v2_IOMMU     the type1v2 module parameter
 *   VFIO_UNMAP_ALL         1
 *   VFIO_DMA_OWNER         1: VFIO_CHANGE_DMA_OWNER, staged
 *                          VFIO_DMA_MAP_FLAG_VADDR, close-on-exit/exec
 *   VFIO_DMA_CC_IOMMU      1 if every domain enforces cache coherency
 *                          (0 without a container, as type1)
 *   anything else          0: notably VFIO_TYPE1_IOMMU (v1 semantics),
 *                          VFIO_TYPE1_NESTING_IOMMU and VFIO_UPDATE_VADDR,
 *                          deliberately not offered (docs/backend.md)
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include <vfio_lu.h>

#include "lu.h"

bool lu_param_type1v2;
module_param_named(type1v2, lu_param_type1v2, bool, 0644);
MODULE_PARM_DESC(type1v2,
		 "Also serve VFIO_TYPE1v2_IOMMU, not only VFIO_LU_TYPE1v2_IOMMU (default: no)");

unsigned int lu_param_dma_entry_limit = U16_MAX;
module_param_named(dma_entry_limit, lu_param_dma_entry_limit, uint, 0644);
MODULE_PARM_DESC(dma_entry_limit,
		 "Maximum number of DMA mappings per container, read when the container is set up (65535)");

bool lu_param_allow_unsafe_interrupts;
module_param_named(allow_unsafe_interrupts, lu_param_allow_unsafe_interrupts,
		   bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Accept IOMMU groups without interrupt remapping (default: no)");

static bool lu_serves_type(unsigned long type)
{
	return type == VFIO_LU_TYPE1v2_IOMMU ||
	       (type == VFIO_TYPE1v2_IOMMU && READ_ONCE(lu_param_type1v2));
}

/* ops->open, from VFIO_SET_IOMMU: a new, empty container. */
static void *lu_open(unsigned long type)
{
	struct lu_iommu *iommu;

	if (!lu_serves_type(type))
		return ERR_PTR(-EINVAL);

	iommu = kzalloc(sizeof(*iommu), GFP_KERNEL_ACCOUNT);
	if (!iommu)
		return ERR_PTR(-ENOMEM);
	if (lu_batch_init(&iommu->batch)) {
		kfree(iommu);
		return ERR_PTR(-ENOMEM);
	}
	mutex_init(&iommu->lock);
	init_rwsem(&iommu->devices_rwsem);
	INIT_LIST_HEAD(&iommu->devices);
	iommu->dmas = RB_ROOT;
	iommu->dma_avail = READ_ONCE(lu_param_dma_entry_limit);
	INIT_LIST_HEAD(&iommu->domains);
	INIT_LIST_HEAD(&iommu->emulated_groups);
	INIT_LIST_HEAD(&iommu->ranges);
	iommu->pgsize_bitmap = PAGE_MASK;
	INIT_WORK(&iommu->owner_gone, lu_owner_gone_work);
	INIT_LIST_HEAD(&iommu->canaries);
	INIT_LIST_HEAD(&iommu->dead_segs);
	return iommu;
}

/* Notifications of a mapping before its devices' pins count as stuck. */
#define LU_GONE_NOTIFY_ROUNDS	10

/*
 * Ask devices to drop the pins they hold in mappings of a dead owner, a
 * bounded number of rounds.  Each step rechecks, under the lock, that the
 * owner is still dead: once the container was emptied and mapped again by
 * a new owner, nothing may be notified on the old one's behalf.
 */
static void lu_owner_gone_notify(struct lu_iommu *iommu)
{
	unsigned int round;

	for (round = 0; round < LU_GONE_NOTIFY_ROUNDS; round++) {
		dma_addr_t cursor = 0;
		bool found = false;

		for (;;) {
			dma_addr_t iova = 0;
			size_t size = 0;
			struct lu_dma *dma;

			mutex_lock(&iommu->lock);
			if (!lu_owner_dead(iommu)) {
				mutex_unlock(&iommu->lock);
				return;
			}
			for (dma = lu_dma_first(iommu, cursor, U64_MAX); dma;
			     dma = lu_dma_next(dma)) {
				if (!RB_EMPTY_ROOT(&dma->pfns)) {
					iova = dma->iova;
					size = dma->size;
					break;
				}
			}
			mutex_unlock(&iommu->lock);
			if (!size)
				break;
			found = true;
			lu_notify_dma_unmap(iommu, iova, size);
			cursor = iova + size;
			if (!cursor)
				break;	/* the last mapping ends at 2^64 */
		}
		if (!found)
			return;
	}
}

/**
 * lu_owner_gone_work - close-on-exit/exec, in process context
 * @work: lu_iommu.owner_gone
 *
 * The owner's canary fired: devices are asked to drop their pins, then
 * every mapping is unmapped, unpinned and unaccounted (the dead mm's
 * locked_vm needs no refund) and the owner forgotten: anyone may map into
 * the empty container again.  A mapping in which a device still holds
 * pins after being asked is left in place, with its pins, and reported:
 * pages are never pulled from under a live driver.  Such mappings go with
 * a later unmap (once the device lets go) or with the container.  Runs in
 * the normal lock order (lu_iommu.lock, then an mmap_lock).
 */
void lu_owner_gone_work(struct work_struct *work)
{
	struct lu_iommu *iommu = container_of(work, struct lu_iommu,
					      owner_gone);
	struct rb_node *node, *next;
	unsigned long stuck = 0;

	mutex_lock(&iommu->lock);
	if (!lu_owner_dead(iommu)) {
		/* Ownership moved before we ran: nothing is ours to do. */
		mutex_unlock(&iommu->lock);
		return;
	}
	mutex_unlock(&iommu->lock);

	lu_owner_gone_notify(iommu);

	mutex_lock(&iommu->lock);
	if (lu_owner_dead(iommu)) {
		for (node = rb_first(&iommu->dmas); node; node = next) {
			struct lu_dma *dma = rb_entry(node, struct lu_dma, node);

			next = rb_next(node);
			if (!RB_EMPTY_ROOT(&dma->pfns)) {
				stuck++;
				continue;
			}
			lu_dma_remove(iommu, dma);
			cond_resched();
		}
		if (stuck) {
			pr_warn_ratelimited("vfio_iommu_lu: owner gone, but devices keep pages of %lu mappings pinned; they stay until unmapped\n",
					    stuck);
		} else {
			WARN_ON(iommu->locked_vm);
			lu_owner_release(iommu);
		}
	}
	lu_unlock(iommu);
}

/*
 * ops->release: the last group left, or VFIO_SET_IOMMU failed.  Groups
 * are detached before anything is unpinned, so no device can reach a page
 * once it is released.  Never fails.
 */
static void lu_release(void *iommu_data)
{
	struct lu_iommu *iommu = iommu_data;

	/* The canary vmas may outlive us: they must not queue work any more. */
	mutex_lock(&iommu->lock);
	if (iommu->owner.canary) {
		/* Borrowed from the list about to go; refunds need the mm. */
		lu_canary_disarm(iommu->owner.canary);
		iommu->owner.canary = NULL;
	}
	lu_canaries_release(iommu);
	mutex_unlock(&iommu->lock);
	cancel_work_sync(&iommu->owner_gone);

	mutex_lock(&iommu->lock);
	lu_groups_release(iommu);
	lu_dma_remove_all(iommu);
	lu_domains_release(iommu);
	lu_ranges_free(&iommu->ranges);
	WARN_ON(iommu->locked_vm);
	lu_owner_release(iommu);
	lu_unlock(iommu);

	WARN_ON(!list_empty(&iommu->devices));
	lu_batch_fini(&iommu->batch);
	mutex_destroy(&iommu->lock);
	kfree(iommu);
}

/* ops->detach_group.  Never fails. */
static void lu_detach_group(void *iommu_data, struct iommu_group *iommu_group)
{
	struct lu_iommu *iommu = iommu_data;

	mutex_lock(&iommu->lock);
	lu_group_detach(iommu, iommu_group);
	/* Holding a group is what entitles a container to its mappings. */
	if (list_empty(&iommu->domains) && list_empty(&iommu->emulated_groups))
		lu_dma_remove_all(iommu);
	lu_unlock(iommu);
}

static long lu_check_extension(struct lu_iommu *iommu, unsigned long ext)
{
	switch (ext) {
	case VFIO_LU_TYPE1v2_IOMMU:
		return 1;
	case VFIO_TYPE1v2_IOMMU:
		/*
		 * Before VFIO_SET_IOMMU the parameter decides whether we may be
		 * chosen for this id.  Once a container is ours it has the v2
		 * semantics whatever the id it was opened with, as type1 says.
		 */
		return iommu ? 1 : lu_serves_type(ext);
	case VFIO_UNMAP_ALL:
	case VFIO_DMA_OWNER:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return iommu ? lu_domains_enforce_cc(iommu) : 0;
	default:
		return 0;
	}
}

/*
 * Container ioctls other than VFIO_CHECK_EXTENSION.  Each names the fixed
 * part of its argument (copied in, and the least argsz accepted) and the
 * flags it knows; lu_ioctl() makes those checks once, in Type1v2's order:
 * the copy (EFAULT), then argsz and unknown flags (EINVAL).  GET_INFO's
 * flags are an output and are not checked; CHANGE_DMA_OWNER takes no
 * argument.
 */
struct lu_ioctl_op {
	unsigned int	cmd;
	size_t		min_size;
	bool		check_flags;
	u32		known_flags;
	long (*fn)(struct lu_iommu *iommu, void __user *uarg,
		   union lu_ucmd *ucmd);
};

#define LU_IOCTL_OP(_cmd, _fn, _struct, _last, _flags) {		\
	.cmd = _cmd, .fn = _fn,						\
	.min_size = offsetofend(_struct, _last),			\
	.check_flags = true, .known_flags = _flags,			\
}

static const struct lu_ioctl_op lu_ioctls[] = {
	{
		.cmd = VFIO_IOMMU_GET_INFO, .fn = lu_ioctl_get_info,
		.min_size = offsetofend(struct vfio_iommu_type1_info,
					iova_pgsizes),
	},
	LU_IOCTL_OP(VFIO_IOMMU_MAP_DMA, lu_ioctl_map_dma,
		    struct vfio_iommu_type1_dma_map, size,
		    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
		    VFIO_DMA_MAP_FLAG_VADDR),
	LU_IOCTL_OP(VFIO_IOMMU_UNMAP_DMA, lu_ioctl_unmap_dma,
		    struct vfio_iommu_type1_dma_unmap, size,
		    VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
		    VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL),
	LU_IOCTL_OP(VFIO_IOMMU_DIRTY_PAGES, lu_ioctl_dirty_pages,
		    struct vfio_iommu_type1_dirty_bitmap, flags,
		    VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
		    VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
		    VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP),
	{ .cmd = VFIO_CHANGE_DMA_OWNER, .fn = lu_ioctl_change_owner },
};

/*
 * ops->ioctl.  @iommu_data is NULL only for VFIO_CHECK_EXTENSION before
 * VFIO_SET_IOMMU.  Unknown commands: -ENOTTY.
 */
static long lu_ioctl(void *iommu_data, unsigned int cmd, unsigned long arg)
{
	struct lu_iommu *iommu = iommu_data;
	void __user *uarg = (void __user *)arg;
	const struct lu_ioctl_op *op = NULL;
	union lu_ucmd ucmd = {};
	unsigned int i;

	if (cmd == VFIO_CHECK_EXTENSION)
		return lu_check_extension(iommu, arg);
	if (!iommu)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(lu_ioctls); i++) {
		if (lu_ioctls[i].cmd == cmd)
			op = &lu_ioctls[i];
	}
	if (!op)
		return -ENOTTY;
	if (op->min_size) {
		if (copy_from_user(&ucmd, uarg, op->min_size))
			return -EFAULT;
		if (ucmd.hdr.argsz < op->min_size ||
		    (op->check_flags && (ucmd.hdr.flags & ~op->known_flags)))
			return -EINVAL;
	}
	return op->fn(iommu, uarg, &ucmd);
}

static const struct vfio_iommu_driver_ops lu_ops = {
	.name			= "vfio-iommu-lu",
	.owner			= THIS_MODULE,
	.open			= lu_open,
	.release		= lu_release,
	.ioctl			= lu_ioctl,
	.attach_group		= lu_attach_group,
	.detach_group		= lu_detach_group,
	.pin_pages		= lu_pin_pages,
	.unpin_pages		= lu_unpin_pages,
	.register_device	= lu_register_device,
	.unregister_device	= lu_unregister_device,
	.dma_rw			= lu_dma_rw,
	.group_iommu_domain	= lu_group_iommu_domain,
};

static int __init lu_init(void)
{
	int ret;

	lu_fault_init();	/* test-only injection points (fault.h) */
	ret = lu_dma_cache_init();
	if (ret)
		goto err_fault;
	ret = vfio_register_iommu_driver(&lu_ops);
	if (ret)
		goto err_cache;
	return 0;

err_cache:
	lu_dma_cache_fini();
err_fault:
	lu_fault_exit();
	return ret;
}

static void __exit lu_exit(void)
{
	vfio_unregister_iommu_driver(&lu_ops);
	lu_dma_cache_fini();
	lu_fault_exit();
}

module_init(lu_init);
module_exit(lu_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO IOMMU backend, Type1v2-compatible, for VMM live update");
