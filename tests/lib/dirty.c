// SPDX-License-Identifier: GPL-2.0
/* Dirty page tracking ioctls as plain calls; see vfio_lu_test.h. */
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

int dirty_unmap_bitmap(int container, uint64_t iova, uint64_t size,
		       uint32_t flags, uint64_t pgsize, void *bits,
		       uint64_t bits_size, uint64_t *unmapped)
{
	struct {
		struct vfio_iommu_type1_dma_unmap u;
		struct vfio_bitmap b;
	} a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.u.argsz = sizeof(a);
	a.u.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | flags;
	a.u.iova = iova;
	a.u.size = size;
	a.b.pgsize = pgsize;
	a.b.size = bits_size;
	a.b.data = bits;
	ret = neg_errno(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &a));
	if (unmapped)
		*unmapped = a.u.size;
	return ret;
}
