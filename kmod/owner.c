// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner.c - the process that owns a container's mappings, handing them to
 * another process (VFIO_CHANGE_DMA_OWNER, staged VFIO_DMA_MAP_FLAG_VADDR),
 * and close-on-exit/exec through a canary vma.  docs/ownership.md has the
 * design and the state machine; this header says what the code enforces.
 *
 * One owner per container (struct lu_owner): every mapping is pinned from,
 * and charged to, the owner's mm.  Ownership is taken by the first MAP_DMA
 * into an empty container; while the container holds mappings only the
 * owner's address space may add more (EPERM), so a process cannot exceed
 * its RLIMIT_MEMLOCK by having a forked child pin for it.  Unmapping is
 * allowed to anyone holding the descriptor: it only ever releases.
 *
 * References: the task is held with get_task_struct() (for its rlimit),
 * the mm with mmgrab() only, so that holding a container never keeps the
 * owner's address space alive; users take mmget_not_zero() around each
 * access (lu_owner_mmget) and drop it with mmput_async().
 *
 * CHANGE_DMA_OWNER is all or nothing, under lu_iommu.lock: check (no side
 * effects), prepare (charge the new mm, arm its canary: both undoable),
 * commit (cannot fail).  Mediated devices pin under the same lock, so they
 * wait at most for the ioctl, never for userspace.
 *
 * The canary.  The owner's mm holds one sealed, VM_DONTCOPY vma of ours;
 * its close callback runs when that mm is torn down (exit, or the old mm
 * at exec), under the mm's mmap_lock.  Our pin and charge paths take
 * lu_iommu.lock, then an mmap_lock: the callback must therefore never
 * take lu_iommu.lock nor account locked_vm.  It only marks the canary
 * fired, under the canary's own spinlock, and queues lu_iommu.owner_gone,
 * which unmaps, unpins and unaccounts in the normal lock order.  Nothing
 * but queue_work()'s own internal locks is ever taken inside the canary
 * spinlock, so no cycle can form.
 */
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "lu.h"

/**
 * struct lu_canary - the vma that tells us the owner's mm is going away
 * @kref: one reference for the vma (taken in ->mmap, dropped in ->close),
 *	one for the container while it is lu_owner.canary
 * @lock: protects @iommu and @fired; innermost lock, taken in ->close
 * @iommu: the container to tell, NULL once disarmed
 * @fired: ->close ran while armed: the owner's mm is dead
 *
 * Refcounted apart from the container: the vma may outlive the container
 * (descriptor closed first, owner exits later) and vice versa.
 */
struct lu_canary {
	struct kref		kref;
	spinlock_t		lock;
	struct lu_iommu		*iommu;
	bool			fired;
};

static void lu_canary_free(struct kref *kref)
{
	kfree(container_of(kref, struct lu_canary, kref));
}

static bool lu_canary_fired(struct lu_canary *c)
{
	bool fired;

	spin_lock(&c->lock);
	fired = c->fired;
	spin_unlock(&c->lock);
	return fired;
}

/*
 * vm_ops->close: the owner's mm is being torn down (exit_mmap), with its
 * mmap_lock held.  May not take lu_iommu.lock or touch locked_vm (see the
 * file header): mark and defer.
 */
static void lu_canary_close(struct vm_area_struct *vma)
{
	struct lu_canary *c = vma->vm_private_data;

	if (!c)
		return;		/* an inert copy (see lu_canary_open) */
	spin_lock(&c->lock);
	if (c->iommu) {
		c->fired = true;
		queue_work(system_unbound_wq, &c->iommu->owner_gone);
	}
	spin_unlock(&c->lock);
	kref_put(&c->kref, lu_canary_free);
}

/* No page ever: an access is a SIGBUS (and PROT_NONE forbids it anyway). */
static vm_fault_t lu_canary_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

/*
 * vm_ops->open: the vma was duplicated.  Sealing forbids split and mremap,
 * VM_IO forbids MADV_DOFORK and VM_DONTCOPY keeps fork away, so this
 * should not happen; if it does, the copy is inert: only the vma we
 * mapped may fire.
 */
static void lu_canary_open(struct vm_area_struct *vma)
{
	vma->vm_private_data = NULL;
}

static const struct vm_operations_struct lu_canary_vm_ops = {
	.open	= lu_canary_open,
	.close	= lu_canary_close,
	.fault	= lu_canary_fault,
};

static int lu_canary_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct lu_canary *c = file->private_data;

	/*
	 * DONTCOPY: a forked child has no canary, its exit fires nothing;
	 * IO: MADV_DOFORK cannot undo that, and GUP stays away.
	 * SEALED: userspace cannot munmap/mremap/mprotect it, so ->close
	 * means the mm is going away.
	 */
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP | VM_IO |
			  LU_VM_SEALED);
	vm_flags_clear(vma, VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC);
	vma->vm_ops = &lu_canary_vm_ops;
	vma->vm_private_data = c;
	kref_get(&c->kref);
	return 0;
}

static const struct file_operations lu_canary_fops = {
	.owner	= THIS_MODULE,	/* the vma keeps the module (its vm_ops) */
	.mmap	= lu_canary_mmap,
};

/*
 * Map a new canary into current's mm and arm it for @iommu.  Called under
 * lu_iommu.lock (vm_mmap takes the mmap_lock inside it: the normal order).
 * Return: the canary, holding the container's reference; ERR_PTR.
 */
static struct lu_canary *lu_canary_arm(struct lu_iommu *iommu)
{
	struct lu_canary *c;
	struct file *file;
	unsigned long addr;

	lockdep_assert_held(&iommu->lock);

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return ERR_PTR(-ENOMEM);
	kref_init(&c->kref);
	spin_lock_init(&c->lock);

	file = anon_inode_getfile("[vfio_iommu_lu owner]", &lu_canary_fops, c,
				  O_RDWR);
	if (IS_ERR(file)) {
		kfree(c);
		return ERR_CAST(file);
	}
	addr = vm_mmap(file, 0, PAGE_SIZE, PROT_NONE, MAP_SHARED, 0);
	fput(file);	/* the vma holds its own reference */
	if (IS_ERR_VALUE(addr)) {
		kref_put(&c->kref, lu_canary_free);
		return ERR_PTR((long)addr);
	}

	spin_lock(&c->lock);
	c->iommu = iommu;
	spin_unlock(&c->lock);
	return c;
}

/* Stop @c from telling anyone; it stays mapped until its mm goes. */
static void lu_canary_disarm(struct lu_canary *c)
{
	spin_lock(&c->lock);
	c->iommu = NULL;
	spin_unlock(&c->lock);
	kref_put(&c->kref, lu_canary_free);
}

/* An owner whose address space is dead (exited or exec'd). */
static bool lu_owner_dead(struct lu_owner *owner)
{
	return owner->canary && lu_canary_fired(owner->canary);
}

/**
 * lu_owner_claim - make sure the caller may add a mapping
 * @iommu: the container (lock held)
 *
 * Binds the container to the calling process if it holds no mapping
 * (arming a canary in its mm), and refreshes the owner's CAP_IPC_LOCK (as
 * type1 captures it at each map).
 *
 * Return: 0; -EPERM if another address space owns existing mappings, or
 * the caller has no address space; -ESRCH if the owner is dying; -ENOMEM
 * or another vm_mmap() error if the canary cannot be mapped.
 */
int lu_owner_claim(struct lu_iommu *iommu)
{
	struct lu_owner *owner = &iommu->owner;
	struct mm_struct *mm = current->mm;
	struct lu_canary *c;

	lockdep_assert_held(&iommu->lock);

	if (!mm)
		return -EPERM;

	if (owner->mm != mm) {
		if (!RB_EMPTY_ROOT(&iommu->dmas))
			return lu_owner_dead(owner) ? -ESRCH : -EPERM;
		WARN_ON(iommu->locked_vm);
		c = lu_canary_arm(iommu);
		if (IS_ERR(c))
			return PTR_ERR(c);
		lu_owner_release(iommu);
		owner->task = get_task_struct(current->group_leader);
		mmgrab(mm);
		owner->mm = mm;
		owner->canary = c;
	}
	owner->lock_cap = capable(CAP_IPC_LOCK);
	return 0;
}

/* Drop the owner's references (container empty or being released). */
void lu_owner_release(struct lu_iommu *iommu)
{
	struct lu_owner *owner = &iommu->owner;

	if (owner->canary)
		lu_canary_disarm(owner->canary);
	if (owner->task)
		put_task_struct(owner->task);
	if (owner->mm)
		mmdrop(owner->mm);
	owner->canary = NULL;
	owner->task = NULL;
	owner->mm = NULL;
	owner->lock_cap = false;
}

/*
 * Container release: make sure the canary queues nothing more and nothing
 * queued still runs.  Called without lu_iommu.lock (the work takes it).
 */
void lu_owner_silence(struct lu_iommu *iommu)
{
	mutex_lock(&iommu->lock);
	if (iommu->owner.canary) {
		struct lu_canary *c = iommu->owner.canary;

		spin_lock(&c->lock);
		c->iommu = NULL;
		spin_unlock(&c->lock);
	}
	mutex_unlock(&iommu->lock);
	cancel_work_sync(&iommu->owner_gone);
}

/**
 * lu_owner_mmget - a user reference on the owner's address space
 * @iommu: the container (lock held)
 *
 * Return: the mm, to be released with mmput_async(); NULL if there is no
 * owner or its address space is gone (exited, or replaced by exec).
 */
struct mm_struct *lu_owner_mmget(struct lu_iommu *iommu)
{
	struct mm_struct *mm = iommu->owner.mm;

	lockdep_assert_held(&iommu->lock);

	if (!mm || lu_owner_dead(&iommu->owner) || !mmget_not_zero(mm))
		return NULL;
	return mm;
}

/**
 * lu_owner_gone_work - close-on-exit/exec, in process context
 * @work: lu_iommu.owner_gone
 *
 * The owner's canary fired: unmap, unpin and unaccount every mapping
 * (devices are asked to drop their pins first), then forget the owner;
 * the container is empty and anyone may map into it again.  Runs in the
 * normal lock order (lu_iommu.lock, then an mmap_lock); the dead mm's
 * locked_vm needs no refund.
 */
void lu_owner_gone_work(struct work_struct *work)
{
	struct lu_iommu *iommu = container_of(work, struct lu_iommu,
					      owner_gone);

	lu_dma_release_device_pins(iommu);

	mutex_lock(&iommu->lock);
	/* Ownership may have moved meanwhile (only if it moved first). */
	if (lu_owner_dead(&iommu->owner)) {
		lu_dma_remove_all(iommu);
		WARN_ON(iommu->locked_vm);
		lu_owner_release(iommu);
	}
	mutex_unlock(&iommu->lock);
}

/* ---- the memory object behind a mapping ---- */

static unsigned long lu_vma_flags(struct vm_area_struct *vma)
{
	return vma->vm_flags & (VM_READ | VM_WRITE | VM_SHARED);
}

/* Shared file memory: the only kind another mm can map identically. */
static bool lu_vma_shared_object(struct vm_area_struct *vma)
{
	return vma->vm_file && (vma->vm_flags & VM_SHARED);
}

void lu_segs_free(struct lu_dma *dma)
{
	unsigned int i;

	for (i = 0; i < dma->nsegs; i++) {
		if (dma->segs[i].inode)
			iput(dma->segs[i].inode);
	}
	kfree(dma->segs);
	dma->segs = NULL;
	dma->nsegs = 0;
}

/* Append a piece to @dma's segments, merging with the last if it goes on. */
static int lu_segs_add(struct lu_dma *dma, unsigned int *cap,
		       struct inode *inode, pgoff_t pgoff,
		       unsigned long npages, unsigned long flags)
{
	struct lu_seg *last = dma->nsegs ? &dma->segs[dma->nsegs - 1] : NULL;

	if (last && last->inode == inode && last->flags == flags &&
	    (!inode || last->pgoff + last->npages == pgoff)) {
		last->npages += npages;
		return 0;
	}
	if (dma->nsegs == *cap) {
		unsigned int ncap = *cap ? *cap * 2 : 1;
		struct lu_seg *n = krealloc_array(dma->segs, ncap, sizeof(*n),
						  GFP_KERNEL_ACCOUNT);

		if (!n)
			return -ENOMEM;
		dma->segs = n;
		*cap = ncap;
	}
	if (inode)
		ihold(inode);
	dma->segs[dma->nsegs++] = (struct lu_seg){
		.inode = inode, .pgoff = pgoff, .npages = npages,
		.flags = flags,
	};
	return 0;
}

/**
 * lu_segs_record - remember which memory object backs @dma's vaddr
 * @dma: a new mapping (vaddr and size set)
 * @mm: the owner's (current) mm
 *
 * Anonymous or private memory, and holes, are recorded with no inode: the
 * mapping can then never change owner (ENXIO), which is the point.  The
 * record is taken under the mmap_lock just before pinning; a vma changed
 * in between is the caller's own race.
 *
 * Return: 0; -ENOMEM; -EINTR.
 */
int lu_segs_record(struct lu_dma *dma, struct mm_struct *mm)
{
	unsigned long addr = dma->vaddr, end = dma->vaddr + dma->size;
	unsigned int cap = 0;
	int ret = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	while (addr < end && !ret) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long next;

		if (!vma || vma->vm_start > addr) {
			/* A hole up to the next vma (or the end). */
			next = vma ? min(end, vma->vm_start) : end;
			ret = lu_segs_add(dma, &cap, NULL, 0,
					  (next - addr) >> PAGE_SHIFT, 0);
		} else {
			next = min(end, vma->vm_end);
			ret = lu_segs_add(dma, &cap,
					  lu_vma_shared_object(vma) ?
					  file_inode(vma->vm_file) : NULL,
					  vma->vm_pgoff +
					  ((addr - vma->vm_start) >> PAGE_SHIFT),
					  (next - addr) >> PAGE_SHIFT,
					  lu_vma_flags(vma));
		}
		addr = next;
	}
	mmap_read_unlock(mm);
	if (ret)
		lu_segs_free(dma);
	return ret;
}

/*
 * Does @vaddr in @mm (mmap_lock held) map exactly the memory object that
 * @dma recorded: same inodes, same offsets, same length, same READ/WRITE/
 * SHARED flags, piece by piece?  Return: 0 or -ENXIO.
 */
static int lu_segs_match(struct mm_struct *mm, struct lu_dma *dma,
			 unsigned long vaddr)
{
	unsigned long addr = vaddr, end = vaddr + dma->size, off = 0;
	unsigned int i = 0;

	mmap_assert_locked(mm);

	if (end < vaddr)
		return -ENXIO;
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		unsigned long n;
		pgoff_t pgoff;

		if (!vma || !lu_vma_shared_object(vma))
			return -ENXIO;
		n = (min(end, vma->vm_end) - addr) >> PAGE_SHIFT;
		pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
		while (n) {
			struct lu_seg *seg;
			unsigned long take;

			if (WARN_ON_ONCE(i >= dma->nsegs))
				return -ENXIO;
			seg = &dma->segs[i];
			if (!seg->inode || seg->inode != file_inode(vma->vm_file) ||
			    seg->pgoff + off != pgoff ||
			    seg->flags != lu_vma_flags(vma))
				return -ENXIO;
			take = min(n, seg->npages - off);
			n -= take;
			off += take;
			pgoff += take;
			addr += take << PAGE_SHIFT;
			if (off == seg->npages) {
				i++;
				off = 0;
			}
		}
	}
	return 0;
}

/* ---- staging and changing the owner ---- */

/**
 * lu_owner_stage_vaddr - VFIO_DMA_MAP_FLAG_VADDR: stage a new vaddr
 * @iommu: the container
 * @iova: first IOVA of an existing mapping
 * @vaddr: its new base vaddr, in the address space of the next owner
 * @size: the mapping's size
 *
 * Takes effect only at the next successful VFIO_CHANGE_DMA_OWNER; staging
 * again replaces the staged value.  Anyone holding the descriptor may
 * stage: nothing is pinned or trusted until the commit checks it.
 *
 * Return: 0; -EINVAL (misaligned or wrapping vaddr, or no mapping with
 * exactly this iova and size).
 */
int lu_owner_stage_vaddr(struct lu_iommu *iommu, dma_addr_t iova,
			 unsigned long vaddr, size_t size)
{
	struct lu_dma *dma;
	int ret = -EINVAL;

	mutex_lock(&iommu->lock);
	if (!size || (vaddr & (lu_pgsize(iommu) - 1)) ||
	    vaddr + size - 1 < vaddr || iova + size - 1 < iova)
		goto out_unlock;
	dma = lu_dma_first(iommu, iova, iova + size - 1);
	if (!dma || dma->iova != iova || dma->size != size)
		goto out_unlock;
	dma->new_vaddr = vaddr;
	dma->staged = true;
	ret = 0;
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

/* Charge or refund @npages of @mm's locked_vm for @task (rlimit source). */
static int lu_account_mm(struct mm_struct *mm, unsigned long npages,
			 bool inc, struct task_struct *task, bool lock_cap)
{
	int ret;

	if (!npages)
		return 0;
	if (inc) {
		ret = mmap_write_lock_killable(mm);
		if (ret)
			return ret;
	} else {
		mmap_write_lock(mm);
	}
	ret = __account_locked_vm(mm, npages, inc, task, lock_cap);
	mmap_write_unlock(mm);
	return ret;
}

/*
 * Check phase: no side effects.  Return: 0 with *@any_staged telling
 * whether vaddrs are staged; -ESRCH, -EINVAL, -ENXIO, -EINTR.
 */
static int lu_change_check(struct lu_iommu *iommu, struct mm_struct *mm,
			   bool *any_staged)
{
	unsigned long nstaged = 0, ndmas = 0;
	struct lu_dma *dma;
	struct mm_struct *old;
	int ret = 0;

	old = lu_owner_mmget(iommu);
	if (!old)
		return -ESRCH;
	mmput_async(old);

	for (dma = lu_dma_first(iommu, 0, U64_MAX); dma; dma = lu_dma_next(dma)) {
		ndmas++;
		nstaged += dma->staged;
	}
	if (nstaged && nstaged != ndmas)
		return -EINVAL;
	*any_staged = nstaged;
	if (mm == iommu->owner.mm && !nstaged)
		return 0;	/* a no-op: nothing to check */

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for (dma = lu_dma_first(iommu, 0, U64_MAX); dma && !ret;
	     dma = lu_dma_next(dma)) {
		ret = lu_segs_match(mm, dma, dma->staged ? dma->new_vaddr :
							   dma->vaddr);
		cond_resched();
	}
	mmap_read_unlock(mm);
	return ret;
}

/**
 * lu_ioctl_change_owner - VFIO_CHANGE_DMA_OWNER
 * @iommu: the container
 * @uarg: unused (the ioctl takes no argument)
 *
 * Makes the caller the owner of every mapping: its mm pins and pays for
 * them from now on.  All or nothing (see the file header); staged vaddrs
 * are installed and cleared on success, kept on failure.  As the current
 * owner with nothing staged: a no-op.  On an empty container the caller
 * simply becomes the owner.
 *
 * Return: 0; -ESRCH (the owner's address space is gone, or the caller has
 * none); -EINVAL (vaddrs staged for some mappings but not all); -ENXIO (a
 * vaddr does not map the same shared memory object, length and
 * permissions); -ENOMEM (memory, or the caller's RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK); -EINTR (killed).
 */
long lu_ioctl_change_owner(struct lu_iommu *iommu, void __user *uarg)
{
	struct lu_owner *owner = &iommu->owner, old;
	struct mm_struct *mm = current->mm;
	struct lu_canary *canary = NULL;
	bool any_staged = false, same, lock_cap = capable(CAP_IPC_LOCK);
	struct mm_struct *oldmm;
	struct lu_dma *dma;
	int ret;

	if (!mm)
		return -ESRCH;

	mutex_lock(&iommu->lock);
	if (RB_EMPTY_ROOT(&iommu->dmas)) {
		ret = lu_owner_claim(iommu);
		goto out_unlock;
	}

	/* 1. Check. */
	ret = lu_change_check(iommu, mm, &any_staged);
	if (ret)
		goto out_unlock;
	same = mm == owner->mm;
	if (same && !any_staged)
		goto out_unlock;

	/* 2. Prepare: charge the new mm, arm its canary. */
	if (!same) {
		ret = lu_account_mm(mm, iommu->locked_vm, true,
				    current->group_leader, lock_cap);
		if (ret) {
			if (ret == -ENOMEM)
				pr_warn_ratelimited("vfio_iommu_lu: pid %d: RLIMIT_MEMLOCK too low to take over %lu pages\n",
						    task_pid_nr(current),
						    iommu->locked_vm);
			goto out_unlock;
		}
		canary = lu_canary_arm(iommu);
		if (IS_ERR(canary)) {
			ret = PTR_ERR(canary);
			lu_account_mm(mm, iommu->locked_vm, false,
				      current->group_leader, lock_cap);
			goto out_unlock;
		}
	}

	/* 3. Commit: nothing below fails. */
	for (dma = lu_dma_first(iommu, 0, U64_MAX); dma; dma = lu_dma_next(dma)) {
		if (dma->staged) {
			dma->vaddr = dma->new_vaddr;
			dma->staged = false;
		}
	}
	if (same)
		goto out_unlock;

	old = *owner;
	owner->task = get_task_struct(current->group_leader);
	mmgrab(mm);
	owner->mm = mm;
	owner->lock_cap = lock_cap;
	owner->canary = canary;

	/* The old mm's charge goes; a dead mm's does not matter. */
	if (iommu->locked_vm && mmget_not_zero(old.mm)) {
		lu_account_mm(old.mm, iommu->locked_vm, false, old.task,
			      old.lock_cap);
		mmput_async(old.mm);
	}
	oldmm = old.mm;
	if (old.canary)
		lu_canary_disarm(old.canary);
	put_task_struct(old.task);
	mmdrop(oldmm);
	ret = 0;
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}
