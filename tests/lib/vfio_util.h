/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers the VM tests share: opening containers and groups, raw
 * map/unmap calls that return -errno instead of asserting, and readers for
 * the kernel's accounting (VmLck, pinned-page counters).
 */
#ifndef VFIO_UTIL_H
#define VFIO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <vfio_lu.h>

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

/* VFIO_IOMMU_MAP_DMA / UNMAP_DMA with every field given; 0 or -errno.
 * *unmapped (optional) receives the size the kernel reports. */
int vfio_map_raw(int container, uint32_t argsz, uint32_t flags,
		 uint64_t vaddr, uint64_t iova, uint64_t size);
int vfio_map(int container, void *vaddr, uint64_t iova, uint64_t size);
int vfio_unmap_raw(int container, uint32_t argsz, uint32_t flags,
		   uint64_t iova, uint64_t size, uint64_t *unmapped);
int vfio_unmap(int container, uint64_t iova, uint64_t size);

/* A shared memfd mapping of size bytes; *fd receives the memfd (may be
 * NULL to close it).  MAP_FAILED on error. */
void *memfd_buffer(size_t size, int *fd);

/* A "Field:   N kB" line of /proc/<pid>/status in kB (pid 0 = self),
 * -1 if absent. */
long proc_status_kb(pid_t pid, const char *field);
/* A /proc/vmstat counter, after folding per-CPU deltas; -1 if absent. */
long vmstat_read(const char *name);
/* Pages pinned and not yet released system wide (FOLL_PIN). */
long pinned_pages_now(void);

#endif
