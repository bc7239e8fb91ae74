// SPDX-License-Identifier: GPL-2.0
/*
 * test_mdev.c - vfio_lu_test_mdev: a TEST-ONLY mediated device driver.
 *
 * Each instance is a vfio_device registered with
 * vfio_register_emulated_iommu_dev(), so its group is an "emulated IOMMU"
 * group and every DMA it does goes through the container backend's
 * pin_pages / unpin_pages / dma_rw ops instead of an IOMMU.  Its device fd
 * offers the ioctls of vfio_lu_test_mdev.h, which let a test make
 * the kernel pin, unpin and read/write guest memory exactly as an mdev
 * vendor driver would, and see the backend's dma_unmap notifications.
 * The conformance suite (tests/vm/conformance_mdev.c) runs them against
 * the stock vfio_iommu_type1 and against vfio_iommu_lu.
 *
 * Bookkeeping: @pins maps an IOVA page number (iova >> PAGE_SHIFT) to the
 * number of pin references this device holds on it.  The backend
 * refcounts repeated pins of a page, so the device must drop exactly as
 * many references as it took: on UNPIN, on a dma_unmap notification
 * covering the page (the backend retries, and stock type1 finally BUGs,
 * while a notified range stays pinned), and at close.
 *
 * Locking.  The backend notifies dma_unmap with its own locks partly held
 * (stock type1: with iommu->device_list_lock, having taken it while
 * holding iommu->lock), and vfio_pin_pages()/vfio_unpin_pages() take the
 * backend's iommu->lock.  A driver mutex held across vfio_pin_pages() and
 * also taken in the notifier would close the cycle
 *   iommu->lock -> device_list_lock -> driver lock -> iommu->lock
 * which lockdep reports.  So @lock is a leaf: it is never held while
 * calling into VFIO, and only protects @busy and the counters.  The
 * sequences that call into VFIO and change @pins (pin, unpin, the
 * notifier, close) serialise on the @busy flag instead: the notifier waits
 * for an in-flight pin to finish and be recorded, then unpins it.
 * Trade-off, said honestly: @busy is a lock lockdep cannot see.  It can
 * deadlock only if two threads unmap pinned ranges of one container while
 * a third pins through this device (the type1 notifier design makes any
 * driver that must synchronise with in-flight pins exposed to that); the
 * tests never do that.
 *
 * This module must never wait for userspace and never unpin what it did not
 * pin (stock type1 WARNs when asked to unpin an IOVA outside any mapping).
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/mdev.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vfio.h>
#include <linux/wait.h>
#include <linux/xarray.h>

/*
 * Debian 6.1 (the module's second kernel): no vm_flags_set() (6.3), no
 * emulated iommufd binding for vfio devices (6.2), classes not const
 * (6.4).  Everything else is the same.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define TMDEV_CLASS_CONST
#else
#define TMDEV_CLASS_CONST const
#endif
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void tmdev_vm_flags_set(struct vm_area_struct *vma, vm_flags_t f)
{
	vma->vm_flags |= f;
}
#else
#define tmdev_vm_flags_set vm_flags_set
#endif

#include "vfio_lu_test_mdev.h"

#define TMDEV_NAME	VFIO_LU_TEST_MDEV_PARENT

/**
 * struct tmdev - one test mdev instance
 * @vdev: the VFIO device (must stay first for vfio_alloc_device())
 * @lock: leaf lock, never held while calling into VFIO; protects @busy and
 *	the counters
 * @busy: a sequence that calls into VFIO and changes @pins is running
 * @idle: woken when @busy clears
 * @pins: IOVA page number -> xa_mk_value(pin references held); changed
 *	only by the owner of @busy
 * @pinned_pages: entries of @pins
 * @pin_refs: sum of the references in @pins
 * @unmap_calls, @unmap_released, @last_unmap_iova, @last_unmap_length:
 *	dma_unmap notification statistics, reset at open
 * @hold: VFIO_LU_TEST_MDEV_MODE_HOLD: notifications do not unpin; reset
 *	at open
 * @held_refs: references forgotten without unpinning in @hold mode
 * @stall: VFIO_LU_TEST_MDEV_MODE_STALL: notifications wait on @idle until
 *	it clears; reset at open
 * @stalled: notifications waiting now
 * @rsvd: a reserved page of RAM, mmap()able (VFIO_LU_TEST_MDEV_RSVD);
 *	allocated with the device, freed with it (vmas hold the device)
 */
struct tmdev {
	struct vfio_device vdev;
	struct mutex lock;
	bool busy;
	wait_queue_head_t idle;
	struct xarray pins;
	u64 pinned_pages;
	u64 pin_refs;
	u64 unmap_calls;
	u64 unmap_released;
	u64 last_unmap_iova;
	u64 last_unmap_length;
	bool hold;
	u64 held_refs;
	bool stall;
	u64 stalled;
	struct page *rsvd;
};

static struct tmdev *to_tmdev(struct vfio_device *vdev)
{
	return container_of(vdev, struct tmdev, vdev);
}

/* Become the one sequence allowed to call into VFIO and change @pins. */
static void tmdev_claim(struct tmdev *t)
{
	mutex_lock(&t->lock);
	while (t->busy) {
		mutex_unlock(&t->lock);
		wait_event(t->idle, !READ_ONCE(t->busy));
		mutex_lock(&t->lock);
	}
	t->busy = true;
	mutex_unlock(&t->lock);
}

static void tmdev_unclaim(struct tmdev *t)
{
	mutex_lock(&t->lock);
	t->busy = false;
	mutex_unlock(&t->lock);
	wake_up_all(&t->idle);
}

static unsigned long tmdev_refs(struct tmdev *t, unsigned long index)
{
	void *entry = xa_load(&t->pins, index);

	return entry ? xa_to_value(entry) : 0;
}

/*
 * Change the references held on one page; caller owns @busy.  Only an
 * increment of a page not yet present allocates (and can fail).
 */
static int tmdev_adjust(struct tmdev *t, unsigned long index, long delta)
{
	unsigned long refs = tmdev_refs(t, index) + delta;
	int ret = 0;

	if (refs)
		ret = xa_err(xa_store(&t->pins, index, xa_mk_value(refs),
				      GFP_KERNEL));
	else
		xa_erase(&t->pins, index);
	if (ret)
		return ret;

	mutex_lock(&t->lock);
	t->pin_refs += delta;
	if (refs == 0)
		t->pinned_pages--;
	else if (refs == (unsigned long)delta)
		t->pinned_pages++;
	mutex_unlock(&t->lock);
	return 0;
}

/* vfio_unpin_pages() takes at most VFIO_PIN_PAGES_MAX_ENTRIES pages. */
static void tmdev_unpin_range(struct tmdev *t, u64 iova, unsigned long npage)
{
	while (npage) {
		unsigned long n = min_t(unsigned long, npage,
					VFIO_PIN_PAGES_MAX_ENTRIES);

		vfio_unpin_pages(&t->vdev, iova, n);
		iova += (u64)n << PAGE_SHIFT;
		npage -= n;
	}
}

/*
 * Drop every reference held on pages [first, last]; caller owns @busy.
 * With @unpin false (VFIO_LU_TEST_MDEV_MODE_HOLD) they are only forgotten:
 * the backend still sees the pages pinned by this device, and the device
 * never unpins later what the backend may have released by then.
 * Returns the number of references dropped.
 */
static u64 tmdev_release_range(struct tmdev *t, unsigned long first,
			       unsigned long last, bool unpin)
{
	unsigned long index;
	u64 released = 0;
	void *entry;

	xa_for_each_range(&t->pins, index, entry, first, last) {
		unsigned long refs = xa_to_value(entry);
		unsigned long i;

		for (i = 0; unpin && i < refs; i++)
			vfio_unpin_pages(&t->vdev, (u64)index << PAGE_SHIFT, 1);
		released += refs;
		tmdev_adjust(t, index, -(long)refs);	/* erases: cannot fail */
	}
	return released;
}

static long tmdev_ioctl_pin(struct tmdev *t, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_lu_test_mdev_pin, pfns);
	struct vfio_lu_test_mdev_pin arg;
	struct page **pages;
	u64 *pfns = NULL;
	unsigned long first;
	int prot = 0;
	long ret;
	u32 i;

	if (copy_from_user(&arg, uarg, minsz))
		return -EFAULT;
	if (arg.argsz < minsz || arg.reserved ||
	    arg.flags & ~(VFIO_LU_TEST_MDEV_PIN_READ | VFIO_LU_TEST_MDEV_PIN_WRITE))
		return -EINVAL;
	if (arg.iova & ~PAGE_MASK)
		return -EINVAL;
	if (arg.npage > VFIO_LU_TEST_MDEV_PIN_MAX)
		return -E2BIG;
	if (arg.flags & VFIO_LU_TEST_MDEV_PIN_READ)
		prot |= IOMMU_READ;
	if (arg.flags & VFIO_LU_TEST_MDEV_PIN_WRITE)
		prot |= IOMMU_WRITE;
	first = arg.iova >> PAGE_SHIFT;

	/* One element even for npage 0, which the core itself rejects. */
	pages = kvcalloc(max_t(u32, arg.npage, 1), sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	if (arg.pfns && arg.npage) {
		pfns = kvcalloc(arg.npage, sizeof(*pfns), GFP_KERNEL);
		if (!pfns) {
			ret = -ENOMEM;
			goto out_free;
		}
	}

	tmdev_claim(t);
	ret = vfio_pin_pages(&t->vdev, arg.iova, arg.npage, prot, pages);
	if (ret < 0)
		goto out_unclaim;
	if (ret != arg.npage) {
		/* A backend that pins fewer pages without saying why. */
		if (ret > 0)
			tmdev_unpin_range(t, arg.iova, ret);
		ret = -EREMOTEIO;
		goto out_unclaim;
	}

	for (i = 0; i < arg.npage; i++) {
		ret = tmdev_adjust(t, first + i, 1);
		if (ret)
			goto err_unrecord;
	}

	if (pfns) {
		for (i = 0; i < arg.npage; i++)
			pfns[i] = page_to_pfn(pages[i]);
		if (copy_to_user(u64_to_user_ptr(arg.pfns), pfns,
				 (size_t)arg.npage * sizeof(*pfns))) {
			ret = -EFAULT;
			i = arg.npage;
			goto err_unrecord;
		}
	}
	ret = 0;
	goto out_unclaim;

err_unrecord:
	while (i--)
		tmdev_adjust(t, first + i, -1);
	tmdev_unpin_range(t, arg.iova, arg.npage);
out_unclaim:
	tmdev_unclaim(t);
	kvfree(pfns);
out_free:
	kvfree(pages);
	return ret;
}

static long tmdev_ioctl_unpin(struct tmdev *t, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_lu_test_mdev_unpin, reserved);
	struct vfio_lu_test_mdev_unpin arg;
	unsigned long first;
	long ret = 0;
	u32 i;

	if (copy_from_user(&arg, uarg, minsz))
		return -EFAULT;
	if (arg.argsz < minsz || arg.flags || arg.reserved ||
	    arg.iova & ~PAGE_MASK || !arg.npage ||
	    arg.npage > VFIO_LU_TEST_MDEV_PIN_MAX)
		return -EINVAL;
	first = arg.iova >> PAGE_SHIFT;
	/* The page numbers must not wrap. */
	if (first + arg.npage - 1 < first)
		return -EINVAL;

	tmdev_claim(t);
	for (i = 0; i < arg.npage; i++) {
		if (!tmdev_refs(t, first + i)) {
			ret = -EINVAL;
			goto out_unclaim;
		}
	}
	tmdev_unpin_range(t, arg.iova, arg.npage);
	for (i = 0; i < arg.npage; i++)
		tmdev_adjust(t, first + i, -1);	/* no allocation: cannot fail */
out_unclaim:
	tmdev_unclaim(t);
	return ret;
}

static long tmdev_ioctl_dma_rw(struct tmdev *t, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_lu_test_mdev_rw, data);
	struct vfio_lu_test_mdev_rw arg;
	bool write;
	void *buf;
	long ret;

	if (copy_from_user(&arg, uarg, minsz))
		return -EFAULT;
	if (arg.argsz < minsz || arg.flags & ~VFIO_LU_TEST_MDEV_RW_WRITE)
		return -EINVAL;
	if (arg.len > VFIO_LU_TEST_MDEV_RW_MAX)
		return -E2BIG;
	write = arg.flags & VFIO_LU_TEST_MDEV_RW_WRITE;

	/* One byte even for len 0, which the core itself rejects. */
	buf = kvzalloc(max_t(u64, arg.len, 1), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (write && copy_from_user(buf, u64_to_user_ptr(arg.data), arg.len)) {
		ret = -EFAULT;
		goto out_free;
	}
	ret = vfio_dma_rw(&t->vdev, arg.iova, buf, arg.len, write);
	if (!ret && !write &&
	    copy_to_user(u64_to_user_ptr(arg.data), buf, arg.len))
		ret = -EFAULT;
out_free:
	kvfree(buf);
	return ret;
}

static long tmdev_ioctl_status(struct tmdev *t, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_lu_test_mdev_status,
				   last_unmap_length);
	struct vfio_lu_test_mdev_status arg;

	if (copy_from_user(&arg, uarg, minsz))
		return -EFAULT;
	if (arg.argsz < minsz || arg.flags)
		return -EINVAL;
	/* held_refs was appended: only for callers that know it. */
	if (arg.argsz >= sizeof(arg))
		minsz = sizeof(arg);

	mutex_lock(&t->lock);
	arg.pinned_pages = t->pinned_pages;
	arg.pin_refs = t->pin_refs;
	arg.unmap_calls = t->unmap_calls;
	arg.unmap_released = t->unmap_released;
	arg.last_unmap_iova = t->last_unmap_iova;
	arg.last_unmap_length = t->last_unmap_length;
	arg.held_refs = t->held_refs;
	arg.stalled = t->stalled;
	mutex_unlock(&t->lock);

	return copy_to_user(uarg, &arg, minsz) ? -EFAULT : 0;
}

static long tmdev_ioctl_set_mode(struct tmdev *t, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_lu_test_mdev_mode, flags);
	struct vfio_lu_test_mdev_mode arg;

	if (copy_from_user(&arg, uarg, minsz))
		return -EFAULT;
	if (arg.argsz < minsz ||
	    arg.flags & ~(VFIO_LU_TEST_MDEV_MODE_HOLD |
			  VFIO_LU_TEST_MDEV_MODE_STALL))
		return -EINVAL;

	mutex_lock(&t->lock);
	t->hold = arg.flags & VFIO_LU_TEST_MDEV_MODE_HOLD;
	t->stall = arg.flags & VFIO_LU_TEST_MDEV_MODE_STALL;
	mutex_unlock(&t->lock);
	wake_up_all(&t->idle);		/* a stalled notification goes on */
	return 0;
}

/* A device with nothing to offer but the ioctls above. */
static long tmdev_ioctl_get_info(void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PLATFORM;
	info.num_regions = 0;
	info.num_irqs = 0;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static long tmdev_ioctl_rsvd(struct tmdev *t, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_lu_test_mdev_rsvd, pfn);
	struct vfio_lu_test_mdev_rsvd arg;

	if (copy_from_user(&arg, uarg, minsz))
		return -EFAULT;
	if (arg.argsz < minsz ||
	    (arg.flags != VFIO_LU_TEST_MDEV_RSVD_CLEAR &&
	     arg.flags != VFIO_LU_TEST_MDEV_RSVD_SET))
		return -EINVAL;
	if (arg.flags == VFIO_LU_TEST_MDEV_RSVD_CLEAR)
		ClearPageReserved(t->rsvd);
	else
		SetPageReserved(t->rsvd);
	arg.pfn = page_to_pfn(t->rsvd);
	return copy_to_user(uarg, &arg, minsz) ? -EFAULT : 0;
}

static long tmdev_ioctl(struct vfio_device *vdev, unsigned int cmd,
			unsigned long arg)
{
	struct tmdev *t = to_tmdev(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return tmdev_ioctl_get_info(uarg);
	case VFIO_LU_TEST_MDEV_PIN:
		return tmdev_ioctl_pin(t, uarg);
	case VFIO_LU_TEST_MDEV_UNPIN:
		return tmdev_ioctl_unpin(t, uarg);
	case VFIO_LU_TEST_MDEV_DMA_RW:
		return tmdev_ioctl_dma_rw(t, uarg);
	case VFIO_LU_TEST_MDEV_STATUS:
		return tmdev_ioctl_status(t, uarg);
	case VFIO_LU_TEST_MDEV_SET_MODE:
		return tmdev_ioctl_set_mode(t, uarg);
	case VFIO_LU_TEST_MDEV_RSVD:
		return tmdev_ioctl_rsvd(t, uarg);
	}
	return -ENOTTY;
}

/*
 * The reserved page, as a driver maps its DMA buffer: VM_PFNMAP, no page
 * reference taken.  Only offset 0, one page, shared.
 */
static int tmdev_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	struct tmdev *t = to_tmdev(vdev);

	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != PAGE_SIZE ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	tmdev_vm_flags_set(vma, VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	return remap_pfn_range(vma, vma->vm_start, page_to_pfn(t->rsvd),
			       PAGE_SIZE, vma->vm_page_prot);
}

/*
 * The backend is about to unmap [iova, iova + length): drop every pin held
 * inside it (in @hold mode: only count the call, see tmdev_release_range()).
 * Waits for an in-flight pin or unpin of this device to finish first, so a
 * pin that lands in the range is released here, not missed.
 */
static void tmdev_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct tmdev *t = to_tmdev(vdev);
	unsigned long first = iova >> PAGE_SHIFT, last;
	u64 released = 0, held = 0;
	bool hold;

	if (length && iova + length - 1 >= iova)
		last = (iova + length - 1) >> PAGE_SHIFT;
	else
		last = ULONG_MAX;	/* wraps: up to the end of the space */

	/*
	 * @stall: wait, bounded, before claiming @busy, so that the device's
	 * own ioctls (SET_MODE ends the wait) still run meanwhile.
	 */
	mutex_lock(&t->lock);
	if (t->stall) {
		t->stalled++;
		mutex_unlock(&t->lock);
		wait_event_timeout(t->idle, !READ_ONCE(t->stall), 10 * HZ);
		mutex_lock(&t->lock);
		t->stalled--;
	}
	mutex_unlock(&t->lock);

	tmdev_claim(t);
	mutex_lock(&t->lock);
	hold = t->hold;
	mutex_unlock(&t->lock);
	if (length && hold)
		held = tmdev_release_range(t, first, last, false);
	else if (length)
		released = tmdev_release_range(t, first, last, true);
	mutex_lock(&t->lock);
	t->unmap_calls++;
	t->unmap_released += released;
	t->held_refs += held;
	t->last_unmap_iova = iova;
	t->last_unmap_length = length;
	mutex_unlock(&t->lock);
	tmdev_unclaim(t);
}

static int tmdev_open_device(struct vfio_device *vdev)
{
	struct tmdev *t = to_tmdev(vdev);

	mutex_lock(&t->lock);
	t->unmap_calls = 0;
	t->unmap_released = 0;
	t->last_unmap_iova = 0;
	t->last_unmap_length = 0;
	t->hold = false;
	t->held_refs = 0;
	t->stall = false;
	mutex_unlock(&t->lock);
	return 0;
}

/* Last fd closed; the device is still open for VFIO, so unpinning works. */
static void tmdev_close_device(struct vfio_device *vdev)
{
	struct tmdev *t = to_tmdev(vdev);

	tmdev_claim(t);
	tmdev_release_range(t, 0, ULONG_MAX, true);
	tmdev_unclaim(t);
}

static int tmdev_init_dev(struct vfio_device *vdev)
{
	struct tmdev *t = to_tmdev(vdev);

	t->rsvd = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!t->rsvd)
		return -ENOMEM;
	SetPageReserved(t->rsvd);
	mutex_init(&t->lock);
	init_waitqueue_head(&t->idle);
	xa_init(&t->pins);
	return 0;
}

static void tmdev_release_dev(struct vfio_device *vdev)
{
	struct tmdev *t = to_tmdev(vdev);

	WARN_ON(!xa_empty(&t->pins));
	xa_destroy(&t->pins);
	mutex_destroy(&t->lock);
	ClearPageReserved(t->rsvd);
	__free_page(t->rsvd);
}

static const struct vfio_device_ops tmdev_dev_ops = {
	.name		= TMDEV_NAME,
	.init		= tmdev_init_dev,
	.release	= tmdev_release_dev,
	.open_device	= tmdev_open_device,
	.close_device	= tmdev_close_device,
	.ioctl		= tmdev_ioctl,
	.mmap		= tmdev_mmap,
	.dma_unmap	= tmdev_dma_unmap,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	.bind_iommufd	= vfio_iommufd_emulated_bind,
	.unbind_iommufd	= vfio_iommufd_emulated_unbind,
	.attach_ioas	= vfio_iommufd_emulated_attach_ioas,
	.detach_ioas	= vfio_iommufd_emulated_detach_ioas,
#endif
};

static int tmdev_probe(struct mdev_device *mdev)
{
	struct tmdev *t;
	int ret;

	t = vfio_alloc_device(tmdev, vdev, &mdev->dev, &tmdev_dev_ops);
	if (IS_ERR(t))
		return PTR_ERR(t);

	ret = vfio_register_emulated_iommu_dev(&t->vdev);
	if (ret)
		goto err_put;
	dev_set_drvdata(&mdev->dev, t);
	return 0;

err_put:
	vfio_put_device(&t->vdev);
	return ret;
}

static void tmdev_remove(struct mdev_device *mdev)
{
	struct tmdev *t = dev_get_drvdata(&mdev->dev);

	vfio_unregister_group_dev(&t->vdev);
	vfio_put_device(&t->vdev);
}

static ssize_t tmdev_show_description(struct mdev_type *mtype, char *buf)
{
	return sysfs_emit(buf, "test-only: pins, unpins and copies guest memory on request\n");
}

static struct mdev_driver tmdev_driver = {
	/*
	 * No real device API fits; a platform device with no region and
	 * no interrupt is the most honest description.
	 */
	.device_api	= VFIO_DEVICE_API_PLATFORM_STRING,
	.max_instances	= VFIO_LU_TEST_MDEV_MAX_INSTANCES,
	.probe		= tmdev_probe,
	.remove		= tmdev_remove,
	.show_description = tmdev_show_description,
	.driver = {
		.name		= TMDEV_NAME,
		.owner		= THIS_MODULE,
		.mod_name	= KBUILD_MODNAME,
	},
};

static struct mdev_type tmdev_type = {
	.sysfs_name	= "pin",
	.pretty_name	= "vfio_lu test mdev",
};

static struct mdev_type *tmdev_types[] = { &tmdev_type };

static TMDEV_CLASS_CONST struct class tmdev_class = {
	.name = TMDEV_NAME,
};

static struct device *tmdev_parent_dev;
static struct mdev_parent tmdev_parent;

static int __init tmdev_init(void)
{
	int ret;

	ret = mdev_register_driver(&tmdev_driver);
	if (ret)
		return ret;

	ret = class_register(&tmdev_class);
	if (ret)
		goto err_driver;

	/* The mdev type directory is named "<class name>-<sysfs_name>". */
	tmdev_parent_dev = device_create(&tmdev_class, NULL, MKDEV(0, 0), NULL,
					 TMDEV_NAME);
	if (IS_ERR(tmdev_parent_dev)) {
		ret = PTR_ERR(tmdev_parent_dev);
		goto err_class;
	}

	ret = mdev_register_parent(&tmdev_parent, tmdev_parent_dev,
				   &tmdev_driver, tmdev_types,
				   ARRAY_SIZE(tmdev_types));
	if (ret)
		goto err_device;

	pr_info("%s: test-only mdev parent registered\n", TMDEV_NAME);
	return 0;

err_device:
	device_unregister(tmdev_parent_dev);
err_class:
	class_unregister(&tmdev_class);
err_driver:
	mdev_unregister_driver(&tmdev_driver);
	return ret;
}

static void __exit tmdev_exit(void)
{
	mdev_unregister_parent(&tmdev_parent);
	device_unregister(tmdev_parent_dev);
	class_unregister(&tmdev_class);
	mdev_unregister_driver(&tmdev_driver);
}

module_init(tmdev_init);
module_exit(tmdev_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST ONLY: mediated device exercising VFIO pin/unpin/dma_rw");
