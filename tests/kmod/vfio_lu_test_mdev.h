/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio_lu_test_mdev.h - UAPI of the TEST-ONLY mediated device driver
 * vfio_lu_test_mdev.ko (test_mdev.c beside this header).  It lives with the
 * tests, not in include/: nothing but the tests may depend on it.
 *
 * The module exists so that tests can make the kernel exercise the parts of
 * a VFIO IOMMU backend that only mediated ("emulated IOMMU") devices reach:
 * vfio_pin_pages(), vfio_unpin_pages(), vfio_dma_rw() and the dma_unmap
 * notification.  It is loaded only by tests (tools/vm-run --insmod) and
 * must never be installed.
 *
 * sysfs: the module registers one mdev parent, the device
 * /sys/class/mdev_bus/VFIO_LU_TEST_MDEV_PARENT, with one type,
 * VFIO_LU_TEST_MDEV_TYPE.  Write a UUID to
 *   /sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/create
 * to create an instance and "1" to /sys/bus/mdev/devices/<uuid>/remove to
 * remove it.  Each instance is a vfio_device in its own emulated-IOMMU
 * group (/sys/bus/mdev/devices/<uuid>/iommu_group); the VFIO device name to
 * pass to VFIO_GROUP_GET_DEVICE_FD is the UUID.
 *
 * Device ioctls (on the VFIO device fd).  Their numbers are VFIO_BASE + 64
 * and up: upstream VFIO allocates its numbers densely from VFIO_BASE (0..21
 * in Linux 6.12, 22 is the vfio_iommu_lu container ioctl
 * VFIO_CHANGE_DMA_OWNER), so this range stays clear of present and
 * near-future VFIO numbers.  Every argument structure starts with
 * argsz/flags; argsz must be at least the size of the structure as defined
 * here (EINVAL otherwise), larger values are accepted and the tail ignored.
 * Unknown flag bits and non-zero reserved fields give EINVAL.  The numbers
 * are defined with plain _IO() (no size or direction encoded), as VFIO's
 * own are: the size travels in argsz.
 *
 * Pin bookkeeping: the driver counts, per IOVA page, how many times it
 * pinned that page (the backend refcounts repeated pins of one page the
 * same way).  VFIO_LU_TEST_MDEV_UNPIN only releases pins the driver holds;
 * the dma_unmap notification releases every pin it holds inside the
 * unmapped range (unless the device is in VFIO_LU_TEST_MDEV_MODE_HOLD);
 * closing the device fd releases all of them.
 */
#ifndef _UAPI_VFIO_LU_TEST_MDEV_H
#define _UAPI_VFIO_LU_TEST_MDEV_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

#define VFIO_LU_TEST_MDEV_PARENT	"vfio_lu_test_mdev"
/* Directory name under mdev_supported_types: "<parent class>-<type>". */
#define VFIO_LU_TEST_MDEV_TYPE		"vfio_lu_test_mdev-pin"
/* Instances the parent allows at once. */
#define VFIO_LU_TEST_MDEV_MAX_INSTANCES	64

/*
 * Largest npage VFIO_LU_TEST_MDEV_PIN forwards to vfio_pin_pages().  It is
 * deliberately above the VFIO core's own limit (VFIO_PIN_PAGES_MAX_ENTRIES,
 * 512 on x86_64) so that tests see the core's E2BIG, not ours.
 */
#define VFIO_LU_TEST_MDEV_PIN_MAX	4096
/* Largest len of one VFIO_LU_TEST_MDEV_DMA_RW. */
#define VFIO_LU_TEST_MDEV_RW_MAX	(1u << 20)

/**
 * VFIO_LU_TEST_MDEV_PIN - _IO(VFIO_TYPE, VFIO_BASE + 64),
 *                         struct vfio_lu_test_mdev_pin
 *
 * Calls vfio_pin_pages(iova, npage, prot) for this device and, on success,
 * records one pin reference for each of the npage pages.  If @pfns is not
 * zero, the host page frame number of each pinned page is written to the
 * user array of npage __u64 it points to.
 *
 * @flags: VFIO_LU_TEST_MDEV_PIN_READ / _WRITE become IOMMU_READ /
 *	IOMMU_WRITE in prot (none is allowed and passed on as prot 0).
 * @iova: first IOVA; must be page aligned (EINVAL): the pin bookkeeping is
 *	per page.
 * @npage: number of pages; 0 and values above the core's limit are passed
 *	on (the core answers EINVAL / E2BIG); above VFIO_LU_TEST_MDEV_PIN_MAX
 *	the driver answers E2BIG itself.
 *
 * Return: 0 when all npage pages were pinned; otherwise the error
 * vfio_pin_pages() returned (then nothing stays pinned), or EINVAL (bad
 * argsz, flags, alignment), E2BIG, ENOMEM (driver bookkeeping), EFAULT
 * (argument or @pfns not accessible: the pages are unpinned again),
 * EREMOTEIO (the backend reported fewer pages than asked without an
 * error: they are unpinned again; a backend bug).
 */
struct vfio_lu_test_mdev_pin {
	__u32	argsz;
	__u32	flags;
#define VFIO_LU_TEST_MDEV_PIN_READ	(1 << 0)
#define VFIO_LU_TEST_MDEV_PIN_WRITE	(1 << 1)
	__aligned_u64	iova;
	__u32	npage;
	__u32	reserved;	/* must be 0 */
	__aligned_u64	pfns;	/* user pointer to __u64[npage], or 0 */
};
#define VFIO_LU_TEST_MDEV_PIN		_IO(VFIO_TYPE, VFIO_BASE + 64)

/**
 * VFIO_LU_TEST_MDEV_UNPIN - _IO(VFIO_TYPE, VFIO_BASE + 65),
 *                           struct vfio_lu_test_mdev_unpin
 *
 * Drops one of this device's pin references on each page of
 * [iova, iova + npage pages) with vfio_unpin_pages().
 *
 * @flags: must be 0.
 * @iova: page aligned.
 * @npage: 1..VFIO_LU_TEST_MDEV_PIN_MAX.
 *
 * Return: 0; EINVAL if argsz, flags, alignment or npage are bad, or if the
 * device holds no pin on some page of the range (then nothing is unpinned:
 * the driver never asks the backend to unpin what it did not pin; stock
 * type1 answers an unpin of an IOVA no mapping covers with a kernel WARN).
 */
struct vfio_lu_test_mdev_unpin {
	__u32	argsz;
	__u32	flags;
	__aligned_u64	iova;
	__u32	npage;
	__u32	reserved;	/* must be 0 */
};
#define VFIO_LU_TEST_MDEV_UNPIN		_IO(VFIO_TYPE, VFIO_BASE + 65)

/**
 * VFIO_LU_TEST_MDEV_DMA_RW - _IO(VFIO_TYPE, VFIO_BASE + 66),
 *                            struct vfio_lu_test_mdev_rw
 *
 * Calls vfio_dma_rw(): with VFIO_LU_TEST_MDEV_RW_WRITE, copies @len bytes
 * from the user buffer @data to IOVA @iova (the device "writes" guest
 * memory); without it, copies from @iova into @data.  No alignment is
 * required.  The copy goes through a kernel bounce buffer.
 *
 * Return: 0; the error vfio_dma_rw() returned (len 0 reaches the core,
 * which answers EINVAL); EINVAL (argsz, flags); E2BIG (len above
 * VFIO_LU_TEST_MDEV_RW_MAX); ENOMEM; EFAULT (@data not accessible).
 */
struct vfio_lu_test_mdev_rw {
	__u32	argsz;
	__u32	flags;
#define VFIO_LU_TEST_MDEV_RW_WRITE	(1 << 0)
	__aligned_u64	iova;
	__aligned_u64	len;
	__aligned_u64	data;	/* user pointer */
};
#define VFIO_LU_TEST_MDEV_DMA_RW	_IO(VFIO_TYPE, VFIO_BASE + 66)

/**
 * VFIO_LU_TEST_MDEV_STATUS - _IO(VFIO_TYPE, VFIO_BASE + 67),
 *                            struct vfio_lu_test_mdev_status
 *
 * Reports the driver's bookkeeping for this device, so that tests can see
 * that the backend delivered dma_unmap notifications and what they
 * released.  Counters start at 0 when the device fd is opened.
 *
 * @flags: input must be 0; output 0.
 * @pinned_pages: distinct IOVA pages the device holds pinned now.
 * @pin_refs: pin references it holds now (>= pinned_pages).
 * @unmap_calls: dma_unmap notifications received.
 * @unmap_released: pin references released by those notifications.
 * @last_unmap_iova, @last_unmap_length: arguments of the latest one.
 * @held_refs: pin references the device kept when notified in
 *	VFIO_LU_TEST_MDEV_MODE_HOLD (appended: reported when argsz covers the whole structure).
 * @stalled: a notification is waiting now in VFIO_LU_TEST_MDEV_MODE_STALL
 *	(appended, likewise).
 *
 * Return: 0; EINVAL (argsz, flags); EFAULT.
 */
struct vfio_lu_test_mdev_status {
	__u32	argsz;
	__u32	flags;
	__aligned_u64	pinned_pages;
	__aligned_u64	pin_refs;
	__aligned_u64	unmap_calls;
	__aligned_u64	unmap_released;
	__aligned_u64	last_unmap_iova;
	__aligned_u64	last_unmap_length;
	__aligned_u64	held_refs;
	__aligned_u64	stalled;
};
#define VFIO_LU_TEST_MDEV_STATUS	_IO(VFIO_TYPE, VFIO_BASE + 67)

/**
 * VFIO_LU_TEST_MDEV_SET_MODE - _IO(VFIO_TYPE, VFIO_BASE + 68),
 *                              struct vfio_lu_test_mdev_mode
 *
 * Chooses how the device answers the backend's dma_unmap notification, so
 * that tests can see that the backend asks devices to drop their pins and
 * what it does with a device that does not.  The mode is reset to 0 (the
 * default) when the device fd is opened.
 *
 * @flags: 0, the default: a notification releases every pin the device
 *	holds in the range (vfio_unpin_pages()), as a vendor driver must.
 *	VFIO_LU_TEST_MDEV_MODE_HOLD: a notification is only counted
 *	(unmap_calls); the device does not unpin.  It forgets the pins it
 *	held in the range (adding them to held_refs) without unpinning, so
 *	that it never later unpins pages the backend may have released with
 *	the mapping meanwhile.  For the backend those pages stay pinned by a
 *	device that does not let go.  Never use it on stock
 *	vfio_iommu_type1, which retries such an unmap and then BUGs.
 *	VFIO_LU_TEST_MDEV_MODE_STALL: a notification first waits until the
 *	mode is set again without this flag (or 10 seconds pass), holding
 *	none of the device's own locks, then goes on as the other flags
 *	say; status.stalled shows it waiting.  It keeps a backend's unmap or
 *	teardown in progress for as long as a test needs to look at it.
 *	Only for vfio_iommu_lu, which notifies without its own lock held
 *	(stock type1 notifies with its locks held).
 *
 * Return: 0; EINVAL (argsz, unknown flags); EFAULT.
 */
struct vfio_lu_test_mdev_mode {
	__u32	argsz;
	__u32	flags;
#define VFIO_LU_TEST_MDEV_MODE_HOLD	(1 << 0)
#define VFIO_LU_TEST_MDEV_MODE_STALL	(1 << 1)
};
#define VFIO_LU_TEST_MDEV_SET_MODE	_IO(VFIO_TYPE, VFIO_BASE + 68)

/**
 * VFIO_LU_TEST_MDEV_RSVD - _IO(VFIO_TYPE, VFIO_BASE + 69),
 *                          struct vfio_lu_test_mdev_rsvd
 *
 * The device owns one page of RAM marked reserved, as a driver's DMA
 * buffer is, which mmap() of the device fd (offset 0, one page, shared)
 * maps with remap_pfn_range(): VM_PFNMAP memory backed by a page with a
 * struct page, the kind a backend maps without pinning or charging.
 * This ioctl stands for the driver handing that page back to the
 * allocator and the page being reused as ordinary RAM, without freeing
 * it (a test must not corrupt the VM): it only changes the reserved mark.
 *
 * @flags: VFIO_LU_TEST_MDEV_RSVD_CLEAR: no longer reserved;
 *	VFIO_LU_TEST_MDEV_RSVD_SET: reserved again (set it back before the
 *	device goes).  Exactly one.
 * @pfn: out: the page's pfn
 *
 * Return: 0; EINVAL (argsz, flags); EFAULT.
 */
struct vfio_lu_test_mdev_rsvd {
	__u32	argsz;
	__u32	flags;
#define VFIO_LU_TEST_MDEV_RSVD_CLEAR	(1 << 0)
#define VFIO_LU_TEST_MDEV_RSVD_SET	(1 << 1)
	__aligned_u64	pfn;
};
#define VFIO_LU_TEST_MDEV_RSVD		_IO(VFIO_TYPE, VFIO_BASE + 69)

#endif /* _UAPI_VFIO_LU_TEST_MDEV_H */
