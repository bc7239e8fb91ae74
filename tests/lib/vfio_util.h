/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Containers, groups and backends, raw map/unmap and dirty-tracking calls
 * that return -errno instead of asserting, and readers for the kernel's
 * accounting (VmLck, pinned-page counters).  Part of vfio_lu_test.h,
 * which is what a test includes.
 */
#ifndef VFIO_UTIL_H
#define VFIO_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include <vfio_lu.h>

/* A syscall's result as 0 (or its non-negative value) or -errno. */
static inline int neg_errno(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

/* close(*fd) if it is open, and mark it closed (-1): for teardowns. */
static inline void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* One backend under test: the VFIO_SET_IOMMU type that selects it. */
struct backend {
	const char *name;
	unsigned long type;
	bool ours;
};

#define BACKEND_STOCK	{ .name = "stock vfio_iommu_type1", \
			  .type = VFIO_TYPE1v2_IOMMU, .ours = false }
#define BACKEND_OURS	{ .name = "vfio_iommu_lu", \
			  .type = VFIO_LU_TYPE1v2_IOMMU, .ours = true }
#define OURS_MODULE	"vfio_iommu_lu"
extern const struct backend backend_stock, backend_ours;

/* Is the running kernel at least major.minor (uname)?  Tests of behaviour
 * that depends on a kernel feature (mseal in 6.10, vfio's per-device
 * inode in 6.10) check the documented behaviour of each kernel. */
bool kernel_at_least(int major, int minor);

/* Open /dev/vfio/vfio; returns the fd or -errno. */
int vfio_open_container(void);
/* Open /dev/vfio/<nr>, check it is viable and add it to container.
 * Returns the group fd or -errno. */
int vfio_open_group(int container, int group_nr);
/* The edu device's IOMMU group number and PCI address, from the
 * environment tools/vm-run sets (EDU_GROUP, EDU_BDF); -1/NULL if unset. */
int edu_group_nr(void);
const char *edu_bdf(void);
/* VFIO_SET_IOMMU; returns 0 or -errno. */
int vfio_set_iommu(int container, unsigned long type);
/*
 * VFIO_SET_IOMMU with be's type, then PROVE which backend answered: after
 * SET_IOMMU only the chosen backend answers VFIO_CHECK_EXTENSION, only
 * vfio_iommu_lu knows its private id, and ours must offer VFIO_DMA_OWNER.
 * (Catches vfio_iommu_lu loaded with type1v2=1 taking over the stock id.)
 * 0, -errno from SET_IOMMU, or -EPROTO if the wrong backend answered.
 */
int backend_set(int container, const struct backend *be);
/*
 * A new container holding the edu device's group, set to backend be and
 * proven (backend_set()).  Waits for a group an exiting process has just
 * released.  0 and *container, *group set; -ENODEV without an edu device;
 * -errno (nothing left open).
 */
int edu_container_open(const struct backend *be, int *container, int *group);

/* VFIO_IOMMU_MAP_DMA / UNMAP_DMA with every field given; 0 or -errno.
 * *unmapped (optional) receives the size the kernel reports. */
int vfio_map_raw(int container, uint32_t argsz, uint32_t flags,
		 uint64_t vaddr, uint64_t iova, uint64_t size);
int vfio_map(int container, void *vaddr, uint64_t iova, uint64_t size);
int vfio_unmap_raw(int container, uint32_t argsz, uint32_t flags,
		   uint64_t iova, uint64_t size, uint64_t *unmapped);
int vfio_unmap(int container, uint64_t iova, uint64_t size);
/* UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL: the bytes it removed (0: the
 * container was empty), ~0 on error. */
uint64_t vfio_unmap_all(int container);
/* MAP_DMA with VFIO_DMA_MAP_FLAG_VADDR: stage a new vaddr for the mapping
 * [iova, iova + size), taking effect at the next VFIO_CHANGE_DMA_OWNER. */
int vfio_stage_vaddr(int container, void *vaddr, uint64_t iova,
		     uint64_t size);

/* A shared memfd mapping of size bytes; *fd receives the memfd (may be
 * NULL to close it).  MAP_FAILED on error. */
void *memfd_buffer(size_t size, int *fd);

/* VFIO_CHANGE_DMA_OWNER on container: 0 or -errno. */
int change_owner(int container);

/* A "Field:   N kB" line of /proc/<pid>/status in kB (pid 0 = self),
 * -1 if absent. */
long proc_status_kb(pid_t pid, const char *field);
/* VmLck of pid (0 = self) in kB, -1 if unreadable. */
long vmlck_kb(pid_t pid);
/* A /proc/vmstat counter, after folding per-CPU deltas; -1 if absent. */
long vmstat_read(const char *name);
/* Pages pinned and not yet released system wide (FOLL_PIN); -1 if the
 * counters are unreadable. */
long pinned_pages_now(void);
/* Pages pinned and not yet released, read until two readings agree. */
long pinned_base(void);
/* CLOCK_MONOTONIC in seconds. */
double now_seconds(void);
/* Pages pinned and not yet released, once they reach want (or after
 * 20 s). */
long pinned_settled(long want);
/*
 * Pins ever acquired system wide (nr_foll_pin_acquired), -1 if unreadable.
 * Unlike the net count, it shows a re-pin that was released again: a
 * handoff that pins nothing leaves it unchanged.
 */
long pin_acquired_now(void);

#endif
