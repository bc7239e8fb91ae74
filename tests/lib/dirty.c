// SPDX-License-Identifier: GPL-2.0
/* Dirty page tracking ioctls as plain calls; see vfio_lu_test.h.  The
 * unmap with a bitmap is beside the other unmaps, in vfio_util.c. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/ioctl.h>

#include "vfio_lu_test.h"

int dirty_flag(int container, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d),
		.flags = flag,
	};

	return neg_errno(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d));
}

int dirty_get_bitmap(int container, uint64_t iova, uint64_t size,
		     uint64_t pgsize, void *bits, uint64_t bits_size)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} a;

	memset(&a, 0, sizeof(a));
	a.d.argsz = sizeof(a);
	a.d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	a.g.iova = iova;
	a.g.size = size;
	a.g.bitmap.pgsize = pgsize;
	a.g.bitmap.size = bits_size;
	a.g.bitmap.data = bits;
	return neg_errno(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &a));
}
