/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio_lu.h - UAPI of the vfio_iommu_lu VFIO IOMMU backend.
 *
 * Shared by the kernel module (kmod/) and userspace (liveupdate/, tests/).
 * Everything not defined here is the standard VFIO Type1v2 interface of
 * <linux/vfio.h>, which the backend implements with the differences listed
 * below (docs/backend.md gives the reasons).
 */
#ifndef _UAPI_VFIO_LU_H
#define _UAPI_VFIO_LU_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

/**
 * VFIO_LU_TYPE1v2_IOMMU - the backend's private IOMMU type id.
 *
 * VFIO_SET_IOMMU with this id always selects vfio_iommu_lu, so it can be
 * loaded beside the stock vfio_iommu_type1 and chosen explicitly.  The
 * module parameter "type1v2" (runtime writable,
 * /sys/module/vfio_iommu_lu/parameters/type1v2) makes it answer
 * VFIO_TYPE1v2_IOMMU as well; the VFIO core asks the most recently
 * registered backend first, so with type1v2=1 an unpatched VMM asking for
 * VFIO_TYPE1v2_IOMMU gets this backend.  Default: 0 (private id only).
 *
 * Extensions (VFIO_CHECK_EXTENSION; before VFIO_SET_IOMMU the VFIO core
 * polls every backend, after it only the container's):
 *
 * - VFIO_LU_TYPE1v2_IOMMU: 1.
 * - VFIO_TYPE1v2_IOMMU: 1 if the module parameter type1v2 is set, else 0.
 * - VFIO_UNMAP_ALL: 1.
 * - VFIO_DMA_CC_IOMMU: 1 if every IOMMU domain of the container enforces
 *   cache coherency (also with no domain); 0 without a container.
 * - VFIO_TYPE1_IOMMU, VFIO_TYPE1_NESTING_IOMMU, VFIO_UPDATE_VADDR: 0, by
 *   design: no v1 unmap semantics, no nesting (never usable on x86, gone
 *   upstream in 6.13), and no VFIO_DMA_UNMAP_FLAG_VADDR (it lets userspace
 *   block mediated devices indefinitely; VFIO_DMA_MAP_FLAG_VADDR gets a
 *   new meaning with the VFIO_DMA_OWNER extension instead).
 * - Anything else: 0.
 *
 * Module parameters: type1v2 (above); dma_entry_limit (mappings per
 * container, read when the container is set up, default 65535, reported
 * by the VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL capability);
 * allow_unsafe_interrupts (accept IOMMU groups without interrupt
 * remapping, default 0).
 */
#define VFIO_LU_TYPE1v2_IOMMU		0x4c5501

/**
 * DOC: Container ioctls of vfio_iommu_lu (VFIO_LU_TYPE1v2_IOMMU)
 *
 * VFIO_IOMMU_GET_INFO - struct vfio_iommu_type1_info, as Type1v2.
 *	Reports VFIO_IOMMU_INFO_PGSIZES and a capability chain with
 *	VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL and, once an IOMMU-backed group is
 *	attached, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE (the apertures minus
 *	the reserved regions of the attached groups).  No migration
 *	capability (dirty page tracking is not offered yet).  If argsz is too
 *	small for the chain, argsz is raised and cap_offset is 0.
 *	Errors: EINVAL (argsz below the fixed part), EFAULT, ENOMEM.
 *
 * VFIO_IOMMU_MAP_DMA - struct vfio_iommu_type1_dma_map, as Type1v2.
 *	Flags: VFIO_DMA_MAP_FLAG_READ and/or VFIO_DMA_MAP_FLAG_WRITE.
 *	While an IOMMU-backed group is attached, the memory is pinned and
 *	charged to RLIMIT_MEMLOCK at once; otherwise (mediated devices only)
 *	pages are pinned on demand.  VM_PFNMAP memory (a device BAR mmap) is
 *	mapped but neither pinned nor charged.  All mappings of a container
 *	belong to one process, the first to map into the empty container.
 *	Errors: EINVAL (argsz, unknown flags, VFIO_DMA_MAP_FLAG_VADDR, no
 *	READ/WRITE, zero size, iova/vaddr/size not aligned to the smallest
 *	IOMMU page size, iova or vaddr range wrapping, iova outside the valid
 *	ranges); EEXIST (overlaps a mapping); ENOSPC (dma_entry_limit
 *	reached); EPERM (the container's mappings belong to another
 *	process); ENOMEM (memory, or RLIMIT_MEMLOCK exceeded without
 *	CAP_IPC_LOCK); EFAULT and other pin errors (bad vaddr, write access to
 *	read-only memory); EINTR (killed); ESRCH (owner gone); EFAULT
 *	(argument).  On error nothing is mapped, pinned or charged.
 *
 * VFIO_IOMMU_UNMAP_DMA - struct vfio_iommu_type1_dma_unmap, as Type1v2.
 *	Removes every mapping inside [iova, iova + size); a range that would
 *	split a mapping fails.  With VFIO_DMA_UNMAP_FLAG_ALL (iova and size
 *	0) removes all.  Mediated devices holding pins in the range are asked
 *	to release them first.  On success .size is the number of bytes
 *	unmapped (0 if there was no mapping in the range).
 *	Errors: EINVAL (argsz, unknown flags, VFIO_DMA_UNMAP_FLAG_VADDR,
 *	VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (not offered yet), iova or size
 *	misaligned, size 0 or wrapping without FLAG_ALL, iova/size not 0 with
 *	FLAG_ALL, the range splits a mapping); EBUSY (a device kept pages
 *	pinned despite repeated requests); EINTR (killed while waiting for
 *	devices); EFAULT (argument not readable or .size not writable; then
 *	nothing was unmapped).  On error nothing is unmapped.
 *
 * Other ioctls, including VFIO_IOMMU_DIRTY_PAGES for now: ENOTTY.
 */

#endif /* _UAPI_VFIO_LU_H */
