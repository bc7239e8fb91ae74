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
 * DOC: General ioctl conventions
 *
 * Every container ioctl below takes, as VFIO does, a structure that starts
 * with argsz (the size userspace passes, covering what follows it) and
 * flags, except VFIO_CHANGE_DMA_OWNER, which takes no argument.  Structures
 * grow only by appending.  For every ioctl:
 *
 * - EINVAL: argsz smaller than the fixed part of the structure (or than
 *   what the flags given require to follow it), or a flag this ioctl does
 *   not know.  Further EINVAL cases are listed with each ioctl.
 * - EFAULT: the argument, or a user buffer it names, cannot be read, or a
 *   result cannot be written back.
 * - EINTR: the caller was killed while waiting (for the owner's address
 *   space lock, or for mediated devices to release their pins).
 * - ESRCH: the container's owner has exited or exec'd and its mappings are
 *   being torn down (close-on-exit/exec, VFIO_DMA_OWNER); any ioctl that
 *   pins, charges or copies through the owner's address space fails so
 *   until the teardown is done.
 * - ENOTTY: not an ioctl of this backend.
 *
 * A failing ioctl changes nothing: no mapping, pin, charge, dirty bit,
 * owner or staged vaddr is left different from before the call.  Each
 * entry below lists only the errnos of its own.
 *
 * Numbers borrowed from the seed series.  VFIO_DMA_OWNER (extension 11) and
 * VFIO_CHANGE_DMA_OWNER (VFIO_BASE + 22) are the values the unmerged "vfio
 * virtual address update redo" series proposed; <linux/vfio.h> up to at
 * least 6.12 uses neither (its last extension is VFIO_UPDATE_VADDR, 10,
 * and VFIO_BASE + 22 is free; the VFIO core passes every container ioctl
 * but the first three to the backend).  Keeping the seed's numbers lets a
 * VMM written for that series run unchanged.  If upstream merges the
 * series with these numbers, the definitions here are identical to its and
 * go away.  If upstream gives either number another meaning, this header
 * moves ours to new values in the backend's private range (as
 * VFIO_LU_TYPE1v2_IOMMU) with a new extension, and the old numbers stop
 * being answered; until then a VMM should check VFIO_DMA_OWNER after
 * VFIO_SET_IOMMU(VFIO_LU_TYPE1v2_IOMMU), when only this backend answers,
 * not before it, when every registered backend does.
 */

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
 * - VFIO_DMA_OWNER: 1 (VFIO_CHANGE_DMA_OWNER, the staging
 *   VFIO_DMA_MAP_FLAG_VADDR and close-on-exit/exec, below).
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
 * VFIO_DMA_OWNER - extension: DMA ownership (the seed series' number,
 * see "General ioctl conventions").
 *
 * Covers VFIO_CHANGE_DMA_OWNER, VFIO_DMA_MAP_FLAG_VADDR as redefined
 * below, and close-on-exit/exec:
 *
 * - A container's mappings all belong to one owner, a process and its
 *   address space: the first process to map into the empty container, or
 *   the last to call VFIO_CHANGE_DMA_OWNER successfully.  Pages are pinned
 *   from, and charged to the locked_vm (RLIMIT_MEMLOCK) of, the owner's
 *   address space; mediated-device pins and copies (vfio_pin_pages,
 *   vfio_dma_rw) use it too, and wait at most for one container ioctl,
 *   never for another process's userspace (a page of the owner's that must
 *   be faulted in first, from a FUSE server or a userfaultfd, is faulted
 *   in without the container lock held).  Once the owner is gone they
 *   fail at once with ESRCH, a new reference on a page already pinned
 *   included.
 * - Only the owner may VFIO_IOMMU_MAP_DMA (EPERM for anyone else while the
 *   container holds mappings).  Anyone holding the descriptor may unmap.
 * - Close-on-exit/exec: when the owner exits or execs while it still owns
 *   mappings, they are all unmapped, unpinned and unaccounted (shortly
 *   after, from a work item), except a mapping in which a mediated device
 *   still holds pins after being asked to release them: that one stays,
 *   with its pins, until it is unmapped or the container goes (pages are
 *   never pulled from under a live driver); meanwhile the owner is gone
 *   and MAP_DMA and VFIO_CHANGE_DMA_OWNER fail with ESRCH.  The backend
 *   detects the exit with a one-page sealed PROT_NONE mapping
 *   ("[vfio_iommu_lu owner]"), not inherited by fork, in the owner's
 *   address space, mapped when a MAP_DMA or VFIO_CHANGE_DMA_OWNER makes
 *   the process the owner and kept, one per container, until it exits or
 *   execs (re-armed if it becomes the owner again).
 * - The memory object behind a mapping (what VFIO_CHANGE_DMA_OWNER
 *   compares) is the shared file's address_space and offset; while a
 *   mapping exists the backend holds the file's path, so the file system
 *   it lives on cannot be unmounted (EBUSY; a lazy unmount completes when
 *   the mapping goes).  Every pin is checked against it: a vaddr remapped
 *   to other memory after MAP_DMA makes later pins fail with EFAULT.
 */
#define VFIO_DMA_OWNER			11

/**
 * VFIO_CHANGE_DMA_OWNER - _IO(VFIO_TYPE, VFIO_BASE + 22)
 *
 * The seed series' number, see "General ioctl conventions".
 *
 * Container ioctl, no argument.  Makes the caller the owner of every
 * mapping of the container, all or nothing: the caller's address space
 * pins and pays for them from now on, the locked_vm of all mappings moves
 * from the old owner's mm to the caller's (checked against the caller's
 * RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK), and after success only the
 * caller may map.
 *
 * For every mapping, the vaddr to use in the caller's address space is
 * the one the caller staged with VFIO_DMA_MAP_FLAG_VADDR or, if the caller
 * staged nothing, the current one (same vaddr, as after fork); vaddrs
 * staged by other processes are ignored.  It must map the same SHARED
 * memory object as the mapping (the same file's address_space at the same
 * offset: a memfd reopened through /proc is the same, another anon-inode
 * file is not), over the whole length, with the same read/write/PFNMAP
 * kind.  Private or anonymous memory (including MAP_DMA over a hole, and a
 * MAP_SHARED mapping of a file opened O_RDONLY, which the kernel does not
 * make shared) therefore can never change owner, and neither can memory
 * marked MADV_DONTFORK after a fork.  The object is compared, not its
 * pages: if the file replaced pages that are pinned (a hole punched, or
 * truncated and grown again), ownership still moves and nothing is pinned
 * anew; the device keeps the old pages, the caller's vaddr sees the new
 * ones, and the old pages are released when the mapping goes.  On success
 * the caller's staged vaddrs are installed and cleared.
 *
 * Called by the current owner with nothing staged: succeeds, does nothing.
 * On a container without mappings: the caller becomes the owner.
 *
 * Return: 0 on success; on error -1 with errno, and nothing changed
 * (owner, vaddrs, locked_vm, staged vaddrs all as before):
 *
 * - ESRCH: also when the caller has no address space.
 * - EINVAL: the caller staged vaddrs for some mappings but not all.
 * - ENXIO: a new or unchanged vaddr does not map the same shared memory
 *   object with the same length and permissions as the pinned pages.
 * - ENOMEM: out of memory, or the caller's RLIMIT_MEMLOCK cannot take the
 *   locked_vm of all mappings (without CAP_IPC_LOCK).
 *
 * Availability: VFIO_DMA_OWNER.
 */
#define VFIO_CHANGE_DMA_OWNER		_IO(VFIO_TYPE, VFIO_BASE + 22)

/**
 * DOC: Container ioctls of vfio_iommu_lu (VFIO_LU_TYPE1v2_IOMMU)
 *
 * VFIO_IOMMU_GET_INFO - struct vfio_iommu_type1_info, as Type1v2.
 *	Reports VFIO_IOMMU_INFO_PGSIZES and a capability chain with, in
 *	Type1v2's order, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION (flags 0,
 *	pgsize_bitmap the smallest IOMMU page size, max_dirty_bitmap_size
 *	the bytes of a bitmap of INT_MAX pages, as Type1v2),
 *	VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL and, once an IOMMU-backed group is
 *	attached, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE (the apertures minus
 *	the reserved regions of the attached groups).  If argsz is too
 *	small for the chain, argsz is raised and cap_offset is 0.
 *	Errors: ENOMEM.
 *
 * VFIO_IOMMU_MAP_DMA - struct vfio_iommu_type1_dma_map, as Type1v2.
 *	Flags: VFIO_DMA_MAP_FLAG_READ and/or VFIO_DMA_MAP_FLAG_WRITE.
 *	While an IOMMU-backed group is attached, the memory is pinned and
 *	charged to RLIMIT_MEMLOCK at once; otherwise (mediated devices only)
 *	pages are pinned on demand.  VM_PFNMAP memory (a device BAR mmap) is
 *	mapped but neither pinned nor charged.  All mappings of a container
 *	belong to one owner (VFIO_DMA_OWNER).
 *	With VFIO_DMA_MAP_FLAG_VADDR alone (VFIO_DMA_OWNER): does not map;
 *	stages .vaddr as the new base vaddr of the mapping whose iova and
 *	size are exactly .iova and .size, effective at the next successful
 *	VFIO_CHANGE_DMA_OWNER by the same process (nothing is checked
 *	before).  [.iova, .iova + .size) may also cover several whole
 *	mappings that follow each other with no gap: each is then staged at
 *	.vaddr + (its iova - .iova), so that a process mapping guest RAM at
 *	a new base stages every mapping in one call (Type1v2 takes exactly
 *	one mapping and rejects such a range with EINVAL: a deliberate
 *	difference).  All or nothing: a range that starts or ends inside a
 *	mapping, or spans a gap, stages nothing.  Anyone holding the
 *	descriptor may stage; a staged vaddr
 *	belongs to the process that staged it, one per mapping (staging
 *	again, by anyone, replaces it).  With .size 0 (and .iova and .vaddr
 *	0): withdraws every vaddr the caller staged.  Errors: EINVAL (READ
 *	or WRITE given too, vaddr misaligned or wrapping, the range is not
 *	whole consecutive mappings, a withdrawal with iova or vaddr not 0).
 *	Errors of a new mapping: EINVAL (no READ/WRITE, zero size,
 *	iova/vaddr/size not aligned to the smallest IOMMU page size, iova or
 *	vaddr range wrapping, iova outside the valid ranges); EEXIST
 *	(overlaps a mapping); ENOSPC (dma_entry_limit reached); EPERM (the
 *	container's mappings belong to another process); ENOMEM (memory, or
 *	RLIMIT_MEMLOCK exceeded without CAP_IPC_LOCK); EFAULT and other pin
 *	errors (bad vaddr, write access to read-only memory, the vaddr
 *	remapped to other memory while the call ran).  On error nothing is
 *	mapped, pinned or charged, and the owner is unchanged.
 *
 * VFIO_IOMMU_UNMAP_DMA - struct vfio_iommu_type1_dma_unmap, as Type1v2.
 *	Removes every mapping inside [iova, iova + size); a range that would
 *	split a mapping fails.  With VFIO_DMA_UNMAP_FLAG_ALL (iova and size
 *	0) removes all.  Mediated devices holding pins in the range are asked
 *	to release them first.  On success .size is the number of bytes
 *	unmapped (0 if there was no mapping in the range).
 *	With VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP a struct vfio_bitmap
 *	follows the structure (argsz covers it): it receives the dirty bits
 *	of the mappings removed, bit 0 standing for .iova, exactly as
 *	VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP would report them; they are
 *	copied before anything is removed, so a fault unmaps nothing.
 *	Errors: EINVAL (VFIO_DMA_UNMAP_FLAG_VADDR, iova or size
 *	misaligned, size 0 or wrapping without FLAG_ALL, iova/size not 0
 *	with FLAG_ALL, the range splits a mapping; with GET_DIRTY_BITMAP:
 *	FLAG_ALL, argsz without room for the bitmap, bitmap pgsize other
 *	than the smallest IOMMU page size, bitmap smaller than one bit per
 *	page of .size rounded up to 8 bytes or not in user space, dirty
 *	tracking not started); EBUSY (a device kept pages pinned despite
 *	repeated requests).  EFAULT includes .size or the bitmap not being
 *	writable, found before anything is removed.  On error nothing is
 *	unmapped.
 *
 * VFIO_IOMMU_DIRTY_PAGES - struct vfio_iommu_type1_dirty_bitmap, as
 *	Type1v2 (docs/dirty.md).  Exactly one flag:
 *	START: dirty tracking starts (again: nothing changes); pages that
 *	mediated devices hold pinned are dirty at once.  STOP: it stops and
 *	every bit is dropped (when not started: nothing happens).
 *	GET_BITMAP, followed by struct vfio_iommu_type1_dirty_bitmap_get:
 *	writes the pages of the mappings in [iova, iova + size) dirtied
 *	since the previous read (or START) into bitmap.data, one bit per
 *	bitmap.pgsize, bit 0 for iova, in u64 words; only the words covering
 *	mappings are written, whole (bits past a mapping's end are 0, bits
 *	of the first word below it are kept).  Then clears them, except for
 *	pages still pinned by a mediated device; a page unpinned since is
 *	reported by this read and not the next.  Dirty are: pages pinned by
 *	a mediated device (while pinned, and once after), pages written by
 *	vfio_dma_rw (marked before the copy: a write that fails half way is
 *	reported) and, while an IOMMU-backed group that never pinned
 *	through vfio_pin_pages is attached, every page of every mapping;
 *	when such a group detaches or pins for the first time, every one of
 *	those pages is marked, so the next read still reports what its
 *	device wrote.  Bits and tracking are untouched by
 *	VFIO_CHANGE_DMA_OWNER and staged vaddrs.  bitmap.data is never
 *	faulted in under the container lock (it may be a FUSE file or a
 *	userfaultfd region): the read waits for it unlocked and starts again.
 *	A read that fails (EFAULT, EINTR) consumes no bit.
 *	Errors: EINVAL (no flag or several; GET_BITMAP: argsz without room
 *	for the range structure, range wrapping, empty or misaligned,
 *	splitting a mapping, pgsize other than the smallest IOMMU page
 *	size, bitmap.size smaller than one bit per page of the range rounded
 *	up to 8 bytes, larger than the capability's max_dirty_bitmap_size,
 *	or bitmap not in user space, tracking not started); ENOMEM (START:
 *	memory for the bitmaps, one bit per mapped page).
 */

#endif /* _UAPI_VFIO_LU_H */
