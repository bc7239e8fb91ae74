/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lu.h - private header of vfio_iommu_lu, a Type1v2-compatible VFIO IOMMU
 * container backend (see docs/backend.md for the design).
 *
 * Objects.  Everything belongs to one container (struct lu_iommu, created
 * by VFIO_SET_IOMMU through ops->open):
 *
 *   lu_iommu   the container: mappings, domains, groups, owner, devices
 *   lu_owner   the process whose memory is mapped and whose RLIMIT_MEMLOCK
 *              pays for it (one per container, not one per mapping)
 *   lu_dma     one VFIO_IOMMU_MAP_DMA mapping, IOVA [iova, iova + size)
 *   lu_pfn     one page of a mapping pinned by a mediated device
 *   lu_domain  an IOMMU paging domain, shared by compatible groups
 *   lu_group   an attached iommu_group: in a domain, or emulated (mdev)
 *   lu_range   one valid IOVA range, inclusive [start, last]
 *
 * IOVA conventions: a mapping is (iova, size) with size in bytes; lookups
 * take an inclusive last address, so that a range reaching 2^64 - 1 (for
 * example VFIO_DMA_UNMAP_FLAG_ALL) never overflows.
 *
 * Lock order, outermost first:
 *
 *   (VFIO core) container group_lock  held around attach/detach/release
 *   (VFIO core) vfio_group group_lock held around register/unregister
 *   1. lu_iommu.devices_rwsem         held for read across device
 *                                     dma_unmap callbacks
 *   2. lu_iommu.lock                  everything else in the container
 *   2a. lu_canary_map_lock (global)   held around mapping a canary
 *                                     (inside lock 2 when that is held,
 *                                     outside the mmap_lock; canary.c)
 *   3. owner mm's mmap_lock           pinning, locked_vm, user copies
 *   4. iommu_group / IOMMU driver locks (iommu_attach_group, iommu_map)
 *   5. lu_canary.lock (spinlock)      taken by the canary vma's close
 *                                     callback under the dying mm's
 *                                     mmap_lock; nothing is taken inside it
 *
 * Rules:
 *   - never call a device's dma_unmap callback with lu_iommu.lock held: the
 *     device answers by unpinning, which takes it;
 *   - hold mmget() on the owner's mm only for the duration of one pin,
 *     charge or copy, and release it with mmput_async() (we may be the last
 *     user; the mm's teardown must not run under lu_iommu.lock); the
 *     container itself keeps only mmgrab();
 *   - never wait for userspace with lu_iommu.lock held: user copies and
 *     device pins under it fault nothing in (page faults disabled,
 *     FOLL_NOFAULT) and, when a page is missing, drop the lock, fault it
 *     in and start again (struct lu_fault); the one exception, as in
 *     type1, is the owner's own MAP_DMA, whose pinning faults in its own
 *     memory (docs/backend.md, "Known limits");
 *   - put what a removed mapping held (lu_seg paths) after the lock is
 *     dropped, through lu_unlock(): it may evict an inode;
 *   - a failing ioctl or attach changes nothing; teardown never fails.
 */
#ifndef VFIO_IOMMU_LU_H
#define VFIO_IOMMU_LU_H

#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include <drivers/vfio/vfio.h>

#include "compat.h"

/* Module parameters (main.c). */
extern bool lu_param_type1v2;
extern unsigned int lu_param_dma_entry_limit;
extern bool lu_param_allow_unsafe_interrupts;

struct lu_canary;

/**
 * struct lu_owner - the process that owns a container's mappings
 * @task: its thread group leader (referenced); RLIMIT_MEMLOCK is read here
 * @mm: its address space: mmgrab()ed for as long as it is the owner;
 *	mmget_not_zero() only for the moment we pin, charge or copy
 * @lock_cap: CAP_IPC_LOCK, as last seen in a MAP_DMA by the owner; exempts
 *	charges from RLIMIT_MEMLOCK (they are still counted in locked_vm)
 * @canary: the armed canary vma in @mm (close-on-exit/exec), or NULL;
 *	borrowed from lu_iommu.canaries (canary.c)
 *
 * Every mapping's pages are pinned from @mm and charged to @mm->locked_vm.
 * Kept in one place so that ownership moves as a whole
 * (VFIO_CHANGE_DMA_OWNER).  Protected by lu_iommu.lock.  The pointers are
 * NULL until the first MAP_DMA (owner.c).
 */
struct lu_owner {
	struct task_struct	*task;
	struct mm_struct	*mm;
	bool			lock_cap;
	struct lu_canary	*canary;
};

/* What lu_owner_unclaim() needs to undo lu_owner_claim() (owner.c). */
struct lu_claim {
	struct lu_owner		old;
	bool			switched;
};

/**
 * struct lu_seg - one piece of the memory object behind a mapping
 * @mapping: the object's identity (object.c), NULL if it has none
 *	(anonymous or private memory, a hole, an anon-inode file)
 * @path: holds @mapping's inode and its mount, when @mapping is the
 *	file's own; empty otherwise
 * @ino: @mapping's inode number (hardens the identity of objects we
 *	cannot hold)
 * @first: index in the mapping of its first page
 * @pgoff: page offset in @mapping of the first page
 * @npages: length in pages
 * @flags: VM_READ, VM_WRITE, VM_SHARED, VM_PFNMAP of the vma it came from
 *
 * Recorded at MAP_DMA from the vmas behind the vaddr; every pin is checked
 * against it, and a new owner's vaddr must show the same pieces
 * (VFIO_CHANGE_DMA_OWNER, else ENXIO).
 */
struct lu_seg {
	struct address_space	*mapping;
	struct path		path;
	unsigned long		ino;
	unsigned long		first;
	pgoff_t			pgoff;
	unsigned long		npages;
	unsigned long		flags;
};
struct lu_segs;

/*
 * Scratch space for pinning: page pointers from GUP and the pfns they turn
 * into (VM_PFNMAP memory yields pfns only).  Entries [next, nr) of @pfns
 * are pinned (or PFNMAP) but not yet consumed; @pfnmap says which (a
 * batch is never both).  One per container, used under lu_iommu.lock.
 */
struct lu_batch {
	struct page		**pages;
	unsigned long		*pfns;
	unsigned int		capacity;
	unsigned int		nr;
	unsigned int		next;
	bool			pfnmap;
};

/*
 * Physical runs unmapped from the reference domain but not yet unpinned:
 * pages may be unpinned only after the IOTLB flush (iommu_iotlb_sync).
 */
#define LU_UNPIN_RUNS	32
struct lu_unpin_run {
	dma_addr_t		iova;
	unsigned long		pfn;
	unsigned long		npages;
};

/**
 * struct lu_iommu - one container
 * @lock: protects every field below except @devices_rwsem, and every
 *	lu_dma, lu_pfn, lu_domain, lu_group and lu_range of the container.
 *	Taken inside @devices_rwsem and outside the owner's mmap_lock.
 * @devices_rwsem: @devices may be walked with this held for read, without
 *	@lock (to call dma_unmap); changes hold it for write and @lock too,
 *	so that a walk under @lock alone is also safe.
 * @devices: vfio_devices with a dma_unmap callback (vfio_device.iommu_entry)
 * @owner: see struct lu_owner
 * @dmas: struct lu_dma by iova, non-overlapping
 * @dma_avail: mappings that may still be created (dma_entry_limit at open)
 * @locked_vm: pages charged to @owner.mm, the sum of every lu_dma.locked_vm
 * @domains: struct lu_domain; the first is the reference domain, the one
 *	whose page tables tell which pfns the IOMMU path pinned
 * @emulated_groups: struct lu_group of VFIO_EMULATED_IOMMU groups
 * @ranges: struct lu_range, sorted: where MAP_DMA may map.  Empty means
 *	unrestricted (no IOMMU-backed group attached).
 * @pgsize_bitmap: IOMMU page sizes common to all domains (PAGE_MASK if none)
 * @nr_unscoped_groups: IOMMU-backed groups that never pinned pages through
 *	the pin_pages interface; for dirty tracking (every mapped page is
 *	dirty while one is attached)
 * @dirty_tracking: VFIO_IOMMU_DIRTY_PAGES started (dirty.c)
 * @dirty_pgshift: log2 of the bytes one dirty bit stands for (dirty.c)
 * @batch: pinning scratch space
 * @runs, @nr_runs: unmap scratch space (see struct lu_unpin_run)
 * @owner_gone: tears the mappings down after the owner's canary fired
 *	(queued by the canary close callback, which may not take @lock)
 * @canaries: struct lu_canary this container mapped, one per mm (canary.c)
 * @canary_file: the anon-inode file every canary vma maps, or NULL
 *	(created and read under canary.c's lu_canary_map_lock)
 * @dead_segs: records of removed mappings, put by lu_unlock() (object.c)
 */
struct lu_iommu {
	struct mutex		lock;
	struct rw_semaphore	devices_rwsem;
	struct list_head	devices;
	struct lu_owner		owner;
	struct rb_root		dmas;
	unsigned int		dma_avail;
	unsigned long		locked_vm;
	struct list_head	domains;
	struct list_head	emulated_groups;
	struct list_head	ranges;
	unsigned long		pgsize_bitmap;
	unsigned int		nr_unscoped_groups;
	bool			dirty_tracking;	/* dirty.c: START..STOP */
	unsigned int		dirty_pgshift;	/* dirty.c: bit granule */
	struct lu_batch		batch;
	struct lu_unpin_run	runs[LU_UNPIN_RUNS];
	unsigned int		nr_runs;
	struct work_struct	owner_gone;
	struct list_head	canaries;
	struct file		*canary_file;
	struct list_head	dead_segs;
};

/**
 * struct lu_dma - one user mapping, IOVA [@iova, @iova + @size)
 * @node: in lu_iommu.dmas
 * @iova: first IOVA
 * @vaddr: owner's user address that @iova maps
 * @size: bytes, a multiple of the smallest IOMMU page size
 * @prot: IOMMU_READ and/or IOMMU_WRITE (device's point of view)
 * @pinned: the IOMMU path holds every page of the mapping pinned and mapped
 *	in every domain; true exactly while an IOMMU-backed domain exists
 * @locked_vm: pages this mapping charged to the owner's locked_vm
 * @pfns: struct lu_pfn: pages pinned by mediated devices, by iova
 * @segs: the memory object behind @vaddr (object.c)
 * @staged_mm: the address space that staged @new_vaddr (mmgrab()), or NULL
 * @new_vaddr: vaddr staged by VFIO_DMA_MAP_FLAG_VADDR, valid if
 *	@staged_mm; installed by @staged_mm's next successful
 *	VFIO_CHANGE_DMA_OWNER
 * @dirty: dirty bitmap while tracking, one bit per lu_iommu.dirty_pgshift
 *	page from @iova on, else NULL (dirty.c)
 *
 * Charging rule (pin.c, mdev.c): a page of a mapping is charged once while
 * anything holds it pinned; pages we hold no reference on (VM_PFNMAP
 * pieces, the zero page) are never charged.  The IOMMU
 * path charges a page unless a lu_pfn already covers it; a lu_pfn charges
 * only while the mapping is not @pinned.  Unpinning refunds by the same
 * rule, so @locked_vm always says exactly what to release or move.
 */
struct lu_dma {
	struct rb_node		node;
	dma_addr_t		iova;
	unsigned long		vaddr;
	size_t			size;
	int			prot;
	bool			pinned;
	unsigned long		locked_vm;
	struct rb_root		pfns;
	struct lu_segs		*segs;
	struct mm_struct	*staged_mm;
	unsigned long		new_vaddr;
	unsigned long		*dirty;	/* dirty.c; only dirty.c touches it */
};

/**
 * struct lu_pfn - a page of a mapping pinned for a mediated device
 * @node: in lu_dma.pfns
 * @iova: page-aligned IOVA
 * @pfn: the page
 * @refs: vfio_pin_pages() calls not yet matched by vfio_unpin_pages()
 * @held: we hold a pin on @pfn (not a PFNMAP page nor the zero page)
 */
struct lu_pfn {
	struct rb_node		node;
	dma_addr_t		iova;
	unsigned long		pfn;
	unsigned int		refs;
	bool			held;
};

/**
 * struct lu_domain - an IOMMU paging domain
 * @domain: the IOMMU API domain
 * @next: in lu_iommu.domains
 * @groups: struct lu_group attached to @domain (never empty while listed)
 * @enforce_cc: the domain enforces cache coherency (blocks no-snoop)
 */
struct lu_domain {
	struct iommu_domain	*domain;
	struct list_head	next;
	struct list_head	groups;
	bool			enforce_cc;
};

/**
 * struct lu_group - an attached iommu_group
 * @iommu_group: the group
 * @next: in lu_domain.groups or lu_iommu.emulated_groups
 * @resv: its reserved regions (struct iommu_resv_region), read at attach;
 *	empty for emulated groups
 * @pinned_scope: the group reports what its devices write by pinning
 *	(emulated groups always; IOMMU-backed ones once they pin)
 */
struct lu_group {
	struct iommu_group	*iommu_group;
	struct list_head	next;
	struct list_head	resv;
	bool			pinned_scope;
};

/* A valid IOVA range, inclusive. */
struct lu_range {
	struct list_head	next;
	dma_addr_t		start;
	dma_addr_t		last;
};

static inline dma_addr_t lu_dma_last(const struct lu_dma *dma)
{
	return dma->iova + dma->size - 1;
}

/* Smallest IOMMU page size of the container. */
static inline size_t lu_pgsize(const struct lu_iommu *iommu)
{
	return (size_t)1 << __ffs(iommu->pgsize_bitmap);
}

/* A pfn type1 accepts from VM_PFNMAP memory: no struct page, or reserved. */
static inline bool lu_pfn_reserved(unsigned long pfn)
{
	return !pfn_valid(pfn) || PageReserved(pfn_to_page(pfn));
}

/*
 * A user address a copy or pin under lu_iommu.lock could not reach without
 * faulting, to fault in after dropping the lock, and how often it came
 * back in a row (a page that keeps going away ends in -EFAULT).
 */
struct lu_fault {
	void __user		*addr;
	size_t			len;	/* bytes from @addr worth faulting in */
	void __user		*last;
	unsigned int		repeats;
};

/* Times in a row one address may need faulting in before we give up. */
#define LU_FAULT_RETRIES	8

/*
 * @f->addr is about to be faulted in: false if it is the same address as
 * the last LU_FAULT_RETRIES times (a page another thread keeps zapping),
 * so that the caller fails with -EFAULT instead of looping.
 */
static inline bool lu_fault_again(struct lu_fault *f)
{
	if (f->addr != f->last) {
		f->last = f->addr;
		f->repeats = 0;
		return true;
	}
	return ++f->repeats <= LU_FAULT_RETRIES;
}

/*
 * An ioctl's argument as main.c copied it in: the fixed part every caller
 * must pass (each op's minimum size), argsz and flags already checked;
 * the rest of the structure reads 0.  The handler still has the user
 * pointer for what follows the fixed part and for results.
 */
union lu_ucmd {
	struct {
		__u32	argsz;
		__u32	flags;
	} hdr;
	struct vfio_iommu_type1_info		info;
	struct vfio_iommu_type1_dma_map		map;
	struct vfio_iommu_type1_dma_unmap	unmap;
	struct vfio_iommu_type1_dirty_bitmap	dirty;
};

/* iova.c: the IOVA-keyed trees (mappings, device pins) and valid ranges */
struct lu_dma *lu_dma_first(struct lu_iommu *iommu, dma_addr_t start,
			    dma_addr_t last);
struct lu_dma *lu_dma_next(struct lu_dma *dma);
void lu_dma_link(struct lu_iommu *iommu, struct lu_dma *dma);
void lu_dma_unlink(struct lu_iommu *iommu, struct lu_dma *dma);
void lu_ranges_free(struct list_head *ranges);
void lu_ranges_clip(struct list_head *ranges, dma_addr_t start,
		    dma_addr_t last);
int lu_ranges_exclude(struct list_head *ranges, dma_addr_t start,
		      dma_addr_t last);
bool lu_ranges_contain(struct list_head *ranges, dma_addr_t start,
		       dma_addr_t last);
bool lu_ranges_fit_dmas(struct lu_iommu *iommu, struct list_head *ranges);
unsigned int lu_ranges_count(struct list_head *ranges);
struct lu_pfn *lu_pfn_find(struct lu_dma *dma, dma_addr_t iova);
void lu_pfn_link(struct lu_dma *dma, struct lu_pfn *new);

/* main.c: the container's life cycle */
void lu_owner_gone_work(struct work_struct *work);

/* account.c: locked_vm */
int lu_account(struct mm_struct *mm, struct task_struct *task, bool lock_cap,
	       unsigned long npages, bool inc);
int lu_account_locked(struct mm_struct *mm, struct task_struct *task,
		      bool lock_cap, unsigned long npages, bool inc);

/* canary.c: close-on-exit/exec */
struct lu_canary *lu_canary_prepare(struct lu_iommu *iommu);
void lu_canary_keep(struct lu_iommu *iommu, struct lu_canary *spare);
struct lu_canary *lu_canary_arm(struct lu_iommu *iommu);
void lu_canary_disarm(struct lu_canary *c);
bool lu_canary_fired(struct lu_canary *c);
void lu_canaries_release(struct lu_iommu *iommu);

/* object.c: the memory object behind a mapping */
int lu_object_record(struct lu_dma *dma, struct mm_struct *mm);
void lu_object_drop(struct lu_iommu *iommu, struct lu_dma *dma);
void lu_unlock(struct lu_iommu *iommu);
int lu_object_match(struct mm_struct *mm, const struct lu_dma *dma,
		    unsigned long vaddr);
bool lu_object_pfnmap(const struct lu_dma *dma, dma_addr_t iova);
int lu_object_check_pages(const struct lu_dma *dma, dma_addr_t iova,
			  struct page **pages, unsigned long n);
int lu_object_check_vma(const struct lu_dma *dma, dma_addr_t iova,
			unsigned long n, struct vm_area_struct *vma);

/* owner.c: who mappings belong to, handing them over */
bool lu_owner_dead(struct lu_iommu *iommu);
int lu_owner_claim(struct lu_iommu *iommu, struct lu_claim *claim);
int lu_owner_claimed(struct lu_iommu *iommu, struct lu_claim *claim);
void lu_owner_unclaim(struct lu_iommu *iommu, struct lu_claim *claim);
void lu_owner_release(struct lu_iommu *iommu);
struct mm_struct *lu_owner_mmget(struct lu_iommu *iommu);
int lu_owner_stage_vaddr(struct lu_iommu *iommu, dma_addr_t iova,
			 unsigned long vaddr, size_t size);
void lu_dma_unstage(struct lu_dma *dma);
long lu_ioctl_change_owner(struct lu_iommu *iommu, void __user *uarg,
			   union lu_ucmd *ucmd);

/* pin.c: pinning, IOMMU mapping of pinned pages, locked_vm accounting */
int lu_batch_init(struct lu_batch *batch);
void lu_batch_fini(struct lu_batch *batch);
int lu_charge(struct lu_iommu *iommu, struct lu_dma *dma,
	      unsigned long npages);
void lu_uncharge(struct lu_iommu *iommu, struct lu_dma *dma,
		 unsigned long npages);
int lu_fault_in_mm(struct mm_struct *mm, struct lu_fault *f, bool write);
long lu_pin_user(struct lu_dma *dma, struct mm_struct *mm, dma_addr_t iova,
		 unsigned long npages, struct page **pages,
		 unsigned long *pfns, bool *pfnmap, bool nofault);
int lu_pin_map_dma(struct lu_iommu *iommu, struct lu_domain *extra,
		   struct lu_dma *dma, struct mm_struct *mm);
void lu_unmap_unpin(struct lu_iommu *iommu, struct lu_domain *extra,
		    struct lu_dma *dma, dma_addr_t iova, size_t size);

/* dma.c: MAP/UNMAP/GET_INFO and the mapping life cycle */
int lu_dma_cache_init(void);
void lu_dma_cache_fini(void);
long lu_ioctl_get_info(struct lu_iommu *iommu, void __user *uarg,
		       union lu_ucmd *ucmd);
long lu_ioctl_map_dma(struct lu_iommu *iommu, void __user *uarg,
		      union lu_ucmd *ucmd);
long lu_ioctl_unmap_dma(struct lu_iommu *iommu, void __user *uarg,
			union lu_ucmd *ucmd);
void lu_dma_remove(struct lu_iommu *iommu, struct lu_dma *dma);
void lu_dma_remove_all(struct lu_iommu *iommu);

/* domain.c: groups, domains, reserved regions, replay */
int lu_attach_group(void *iommu_data, struct iommu_group *iommu_group,
		    enum vfio_group_type type);
void lu_group_detach(struct lu_iommu *iommu, struct iommu_group *iommu_group);
struct iommu_domain *lu_group_iommu_domain(void *iommu_data,
					   struct iommu_group *iommu_group);
struct lu_group *lu_group_find(struct lu_iommu *iommu,
			       struct iommu_group *iommu_group);
void lu_groups_release(struct lu_iommu *iommu);
void lu_domains_release(struct lu_iommu *iommu);
bool lu_domains_enforce_cc(struct lu_iommu *iommu);

/* mdev.c: the interface of mediated (emulated IOMMU) devices */
int lu_pin_pages(void *iommu_data, struct iommu_group *iommu_group,
		 dma_addr_t user_iova, int npage, int prot,
		 struct page **pages);
void lu_unpin_pages(void *iommu_data, dma_addr_t user_iova, int npage);
int lu_dma_rw(void *iommu_data, dma_addr_t user_iova, void *data,
	      size_t count, bool write);
void lu_register_device(void *iommu_data, struct vfio_device *vdev);
void lu_unregister_device(void *iommu_data, struct vfio_device *vdev);
void lu_notify_dma_unmap(struct lu_iommu *iommu, dma_addr_t iova,
			 size_t size);
void lu_pfns_release(struct lu_iommu *iommu, struct lu_dma *dma);

/*
 * dirty.c: dirty page tracking (docs/dirty.md).  lu_iommu.dirty_tracking,
 * .dirty_pgshift and lu_dma.dirty are dirty.c's alone; ownership changes
 * and staged vaddrs never touch them.
 */
long lu_ioctl_dirty_pages(struct lu_iommu *iommu, void __user *uarg,
			  union lu_ucmd *ucmd);
int lu_dirty_cap_migration(struct lu_iommu *iommu,
			   struct vfio_info_cap *caps);
int lu_dirty_map(struct lu_iommu *iommu, struct lu_dma *dma);
void lu_dirty_free(struct lu_dma *dma);
void lu_dirty_mark_unscoped(struct lu_iommu *iommu);
void lu_dirty_mark(struct lu_iommu *iommu, struct lu_dma *dma,
		   dma_addr_t iova, size_t len);
int lu_dirty_unmap_check(void __user *uarg, u32 argsz, u64 size,
			 struct vfio_bitmap *b);
int lu_dirty_unmap_ready(struct lu_iommu *iommu,
			 const struct vfio_bitmap *b);
int lu_dirty_unmap_report(struct lu_iommu *iommu, dma_addr_t iova,
			  dma_addr_t last, const struct vfio_bitmap *b,
			  struct lu_fault *fault);

#endif /* VFIO_IOMMU_LU_H */
