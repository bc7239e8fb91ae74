// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfio.c - the container calls of an update: stage vaddrs, commit with
 * VFIO_CHANGE_DMA_OWNER, map regions into this process, the re-pinning
 * slow path, and the dirty-tracking probe.
 *
 * Each call that takes the container's lock is timed into *locked_ns: a
 * mediated device's vfio_pin_pages() or vfio_dma_rw() waits at most that
 * long for the update (the backend never waits for userspace under it).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vfio_lu.h>

#include "lu_int.h"

static int timed_ioctl(int fd, unsigned long cmd, void *arg, uint64_t *locked_ns)
{
	uint64_t t = lu_now_ns();
	int ret = ioctl(fd, cmd, arg);
	int err = errno;

	if (locked_ns)
		*locked_ns += lu_now_ns() - t;
	errno = err;
	return ret < 0 ? -err : ret;
}

static int map_flags(uint32_t prot)
{
	return (prot & LIVEUPDATE_PROT_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
	       (prot & LIVEUPDATE_PROT_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0);
}

static void *region_vaddr(const struct liveupdate *lu, void *const *vaddrs,
			  unsigned int i)
{
	return vaddrs ? vaddrs[i] : lu->regions[i].vaddr;
}

/*
 * Regions [first, end) that one staging call can cover: each follows the
 * previous in IOVA and in vaddr (guest RAM mapped at a new base, cut into
 * several mappings).  vfio_iommu_lu stages such a run at once
 * (include/vfio_lu.h).
 */
static unsigned int stage_run_end(const struct liveupdate *lu,
				  void *const *vaddrs, unsigned int first)
{
	unsigned int i = first + 1;

	while (i < lu->nr_regions) {
		const struct liveupdate_region *p = &lu->regions[i - 1];

		if (lu->regions[i].iova != p->iova + p->size ||
		    (uintptr_t)region_vaddr(lu, vaddrs, i) !=
		    (uintptr_t)region_vaddr(lu, vaddrs, i - 1) + p->size)
			break;
		i++;
	}
	return i;
}

static int stage_one(int container, void *vaddr, uint64_t iova, uint64_t size,
		     uint64_t *locked_ns)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return timed_ioctl(container, VFIO_IOMMU_MAP_DMA, &m, locked_ns);
}

int lu_stage_all(const struct liveupdate *lu, void *const *vaddrs,
		 uint64_t *locked_ns)
{
	unsigned int i = 0, end;
	int ret = 0;

	for (; i < lu->nr_regions && !ret; i = end) {
		const struct liveupdate_region *r = &lu->regions[i];

		end = stage_run_end(lu, vaddrs, i);
		if (end - i > 1) {
			const struct liveupdate_region *l = &lu->regions[end - 1];

			ret = stage_one(lu->container, region_vaddr(lu, vaddrs, i),
					r->iova, l->iova + l->size - r->iova,
					locked_ns);
			if (ret != -EINVAL)
				continue;
			/* A backend without ranges: one mapping at a time. */
		}
		ret = 0;
		for (unsigned int k = i; k < end && !ret; k++)
			ret = stage_one(lu->container, region_vaddr(lu, vaddrs, k),
					lu->regions[k].iova, lu->regions[k].size,
					locked_ns);
	}
	if (ret)
		lu_stage_withdraw(lu->container);
	return ret;
}

void lu_stage_withdraw(int container)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_VADDR,
	};
	int err = errno;

	ioctl(container, VFIO_IOMMU_MAP_DMA, &m);
	errno = err;
}

int lu_change_owner(int container, uint64_t *locked_ns)
{
	return timed_ioctl(container, VFIO_CHANGE_DMA_OWNER, NULL, locked_ns);
}

int lu_map_regions(const struct liveupdate *lu, void **vaddrs, bool *mapped)
{
	for (unsigned int i = 0; i < lu->nr_regions; i++) {
		const struct liveupdate_region *r = &lu->regions[i];
		int prot = (r->prot & LIVEUPDATE_PROT_READ ? PROT_READ : 0) |
			   (r->prot & LIVEUPDATE_PROT_WRITE ? PROT_WRITE : 0);
		void *p;

		if (vaddrs[i])
			continue;
		p = mmap(NULL, r->size, prot, MAP_SHARED, r->fd, r->offset);
		if (p == MAP_FAILED) {
			int err = errno;

			lu_unmap_regions(lu, vaddrs, mapped);
			errno = err;
			return -err;
		}
		vaddrs[i] = p;
		mapped[i] = true;
	}
	return 0;
}

void lu_unmap_regions(const struct liveupdate *lu, void **vaddrs, bool *mapped)
{
	for (unsigned int i = 0; i < lu->nr_regions; i++)
		if (mapped[i]) {
			munmap(vaddrs[i], lu->regions[i].size);
			vaddrs[i] = NULL;
			mapped[i] = false;
		}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * The owner died while it owned the mappings (the holder crashed): the
 * backend tears its mappings down from a work item and refuses MAP_DMA
 * with ESRCH until it is done.  Unmap whatever is left (anyone may), then
 * map every region from this process: this re-pins all guest memory, the
 * cost the update exists to avoid, so callers report it.  The guest's
 * memory itself is safe: it lives in the regions' memory objects.
 */
int lu_remap_all(const struct liveupdate *lu, uint64_t *locked_ns)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};
	int ret = 0;

	/* Up to 10 s: the teardown asks devices to drop their pins. */
	for (int i = 0; i < 1000; i++) {
		ret = timed_ioctl(lu->container, VFIO_IOMMU_UNMAP_DMA, &u, locked_ns);
		if (ret != -ESRCH && ret != -EBUSY)
			break;
		sleep_ms(10);
	}
	if (ret)
		return ret;
	for (unsigned int i = 0; i < lu->nr_regions; i++) {
		const struct liveupdate_region *r = &lu->regions[i];
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = map_flags(r->prot),
			.vaddr = (uintptr_t)r->vaddr,
			.iova = r->iova,
			.size = r->size,
		};

		for (int k = 0; k < 1000; k++) {
			ret = timed_ioctl(lu->container, VFIO_IOMMU_MAP_DMA, &m, locked_ns);
			if (ret != -ESRCH)
				break;
			sleep_ms(10);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * VFIO has no "is dirty tracking on?" query, and a bitmap read consumes
 * bits, which the orchestrator must never do on the VMM's behalf.  A read
 * of one page that no mapping covers reports nothing and consumes
 * nothing, but still fails with EINVAL when tracking is off (Type1v2 and
 * vfio_iommu_lu alike).  The page just above the highest mapping is used.
 */
int lu_dirty_probe(const struct liveupdate *lu)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap h;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} a;
	uint64_t bits = 0, top = 0, pg = sysconf(_SC_PAGESIZE);

	for (unsigned int i = 0; i < lu->nr_regions; i++) {
		uint64_t end = lu->regions[i].iova + lu->regions[i].size;

		if (end > top)
			top = end;
	}
	if (!lu->nr_regions || top + pg < top)
		return -1;
	memset(&a, 0, sizeof(a));
	a.h.argsz = sizeof(a);
	a.h.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	a.g.iova = top;
	a.g.size = pg;
	a.g.bitmap.pgsize = pg;
	a.g.bitmap.size = sizeof(bits);
	a.g.bitmap.data = (void *)&bits;
	if (!ioctl(lu->container, VFIO_IOMMU_DIRTY_PAGES, &a))
		return 1;
	return errno == EINVAL ? 0 : -1;
}
