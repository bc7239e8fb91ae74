// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner.c - the process that owns a container's mappings, and handing them
 * to another process (VFIO_CHANGE_DMA_OWNER, staged
 * VFIO_DMA_MAP_FLAG_VADDR).  docs/ownership.md has the design and the
 * state machine; this header says what the code enforces.
 *
 * One owner per container (struct lu_owner): every mapping is pinned from,
 * and charged to, the owner's mm.  Ownership is taken by the first
 * successful MAP_DMA into an empty container; while the container holds
 * mappings only the owner's address space may add more (EPERM), so a
 * process cannot exceed its RLIMIT_MEMLOCK by having a forked child pin
 * for it.  Unmapping is allowed to anyone holding the descriptor: it only
 * ever releases.
 *
 * References: the task is held with get_task_struct() (for its rlimit),
 * the mm with mmgrab() only, so that holding a container never keeps the
 * owner's address space alive; users take mmget_not_zero() around each
 * access (lu_owner_mmget) and drop it with mmput_async().  The owner's
 * canary (canary.c) says when that address space is gone.
 *
 * CHANGE_DMA_OWNER is all or nothing, under lu_iommu.lock: check (no side
 * effects) and charge the new mm (in the same hold of its mmap_lock),
 * arm its canary (both undoable), commit (cannot fail).  Mediated devices
 * pin under the same lock, so they wait at most for the ioctl, never for
 * userspace; the new owner's canary page is mapped before the lock is
 * taken (lu_canary_prepare), as that is the slowest step.
 *
 * Staged vaddrs belong to the address space that staged them: a commit
 * uses only the caller's own, so a third party holding the descriptor
 * cannot make another process's commit fail by staging part of the
 * mappings, and a process withdraws what it staged with a size-0 stage.
 */
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

#include "lu.h"

/* An owner whose address space is dead (exited or exec'd). */
bool lu_owner_dead(struct lu_iommu *iommu)
{
	struct lu_canary *c = iommu->owner.canary;

	lockdep_assert_held(&iommu->lock);
	return c && lu_canary_fired(c);
}

/* Drop the references of a former owner (the struct is then stale). */
static void lu_owner_put(struct lu_owner *o)
{
	if (o->canary)
		lu_canary_disarm(o->canary);
	if (o->task)
		put_task_struct(o->task);
	if (o->mm)
		mmdrop(o->mm);
}

/**
 * lu_owner_claim - make sure the caller may add a mapping
 * @iommu: the container (lock held)
 * @claim: receives what lu_owner_unclaim() needs to undo the call
 *
 * Binds the container to the calling process, provisionally, if it holds
 * no mapping, and refreshes the owner's CAP_IPC_LOCK (as type1 captures it
 * at each map).  Pins may then use the caller's mm.  The caller ends it
 * with lu_owner_claimed() once its mapping exists (which arms the canary:
 * nothing is mapped into the caller before it succeeds), or with
 * lu_owner_unclaim() if it failed: a failing MAP_DMA changes no owner.
 *
 * Return: 0; -EPERM if another address space owns existing mappings, or
 * the caller has no address space; -ESRCH if the owner is dead and its
 * mappings not yet torn down.
 */
int lu_owner_claim(struct lu_iommu *iommu, struct lu_claim *claim)
{
	struct lu_owner *owner = &iommu->owner;
	struct mm_struct *mm = current->mm;

	lockdep_assert_held(&iommu->lock);

	claim->old = *owner;
	claim->switched = false;
	if (!mm)
		return -EPERM;

	if (owner->mm != mm) {
		if (!RB_EMPTY_ROOT(&iommu->dmas))
			return lu_owner_dead(iommu) ? -ESRCH : -EPERM;
		WARN_ON(iommu->locked_vm);
		owner->task = get_task_struct(current->group_leader);
		mmgrab(mm);
		owner->mm = mm;
		owner->canary = NULL;
		claim->switched = true;
	}
	owner->lock_cap = capable(CAP_IPC_LOCK);
	return 0;
}

/**
 * lu_owner_claimed - the caller's mapping exists: make the claim final
 * @iommu: the container (lock held)
 * @claim: from lu_owner_claim()
 *
 * Arms the new owner's canary and forgets the former owner.
 *
 * Return: 0; -ENOMEM or another vm_mmap() error (the claim still stands:
 * the caller undoes its mapping, then calls lu_owner_unclaim()).
 */
int lu_owner_claimed(struct lu_iommu *iommu, struct lu_claim *claim)
{
	struct lu_canary *c;

	lockdep_assert_held(&iommu->lock);

	if (!claim->switched)
		return 0;
	c = lu_canary_arm(iommu);
	if (IS_ERR(c))
		return PTR_ERR(c);
	iommu->owner.canary = c;
	lu_owner_put(&claim->old);
	return 0;
}

/* The caller's mapping failed: the owner is again what it was. */
void lu_owner_unclaim(struct lu_iommu *iommu, struct lu_claim *claim)
{
	lockdep_assert_held(&iommu->lock);

	if (claim->switched)
		lu_owner_put(&iommu->owner);
	iommu->owner = claim->old;
}

/* Drop the owner's references (container empty or being released). */
void lu_owner_release(struct lu_iommu *iommu)
{
	lu_owner_put(&iommu->owner);
	iommu->owner = (struct lu_owner){};
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

	if (!mm || lu_owner_dead(iommu) || !mmget_not_zero(mm))
		return NULL;
	return mm;
}

/* ---- staging and changing the owner ---- */

/* Withdraw @dma's staged vaddr, whoever staged it.  Lock held. */
void lu_dma_unstage(struct lu_dma *dma)
{
	if (dma->staged_mm)
		mmdrop(dma->staged_mm);
	dma->staged_mm = NULL;
}

/* Is a vaddr staged for @dma by @mm? */
static bool lu_staged_by(const struct lu_dma *dma, struct mm_struct *mm)
{
	return dma->staged_mm && dma->staged_mm == mm;
}

/*
 * The mappings that [@iova, @last] covers exactly: whole mappings, one
 * after another with no gap.  Return: the first, or NULL.  Lock held.
 */
static struct lu_dma *lu_stage_run(struct lu_iommu *iommu, dma_addr_t iova,
				   dma_addr_t last)
{
	struct lu_dma *first = lu_dma_first(iommu, iova, last), *dma = first;

	if (!first || first->iova != iova)
		return NULL;
	while (lu_dma_last(dma) != last) {
		struct lu_dma *next = lu_dma_next(dma);

		/* A gap, or a mapping reaching past @last. */
		if (!next || next->iova != lu_dma_last(dma) + 1 ||
		    lu_dma_last(next) > last)
			return NULL;
		dma = next;
	}
	return first;
}

/**
 * lu_owner_stage_vaddr - VFIO_DMA_MAP_FLAG_VADDR: stage new vaddrs
 * @iommu: the container
 * @iova: first IOVA of an existing mapping
 * @vaddr: its new base vaddr, in the caller's address space
 * @size: bytes from @iova: whole consecutive mappings, one or more; 0
 *	(with @iova and @vaddr 0) withdraws every vaddr the caller staged
 *
 * Each mapping in [@iova, @iova + @size) is staged at @vaddr plus its
 * offset from @iova, so that a process that maps guest RAM at a new base
 * stages any number of adjacent mappings in one call (stock Type1v2 takes
 * exactly one mapping, and rejects a range of several with EINVAL).  All
 * or nothing: a range that does not start and end at mapping boundaries,
 * or leaves a gap, stages nothing.
 *
 * Takes effect only at the caller's next successful VFIO_CHANGE_DMA_OWNER;
 * staging again replaces the staged value, whoever staged it (one slot
 * per mapping).  Anyone holding the descriptor may stage: nothing is
 * pinned or trusted until the commit checks it, and a commit uses only
 * the vaddrs its own address space staged.
 *
 * Return: 0; -EINVAL (misaligned or wrapping vaddr, the range is not
 * whole consecutive mappings, a withdrawal with iova or vaddr not 0);
 * -ESRCH (the caller has no address space).
 */
int lu_owner_stage_vaddr(struct lu_iommu *iommu, dma_addr_t iova,
			 unsigned long vaddr, size_t size)
{
	struct mm_struct *mm = current->mm;
	struct lu_dma *dma, *first;
	dma_addr_t last = iova + size - 1;
	int ret = -EINVAL;

	if (!mm)
		return -ESRCH;
	mutex_lock(&iommu->lock);
	if (!size) {
		if (iova || vaddr)
			goto out_unlock;
		for (dma = lu_dma_first(iommu, 0, U64_MAX); dma;
		     dma = lu_dma_next(dma)) {
			if (lu_staged_by(dma, mm))
				lu_dma_unstage(dma);
		}
		ret = 0;
		goto out_unlock;
	}
	if ((vaddr & (lu_pgsize(iommu) - 1)) ||
	    vaddr + size - 1 < vaddr || last < iova)
		goto out_unlock;
	first = lu_stage_run(iommu, iova, last);
	if (!first)
		goto out_unlock;
	for (dma = first; dma && dma->iova <= last; dma = lu_dma_next(dma)) {
		if (dma->staged_mm != mm) {
			lu_dma_unstage(dma);
			mmgrab(mm);
			dma->staged_mm = mm;
		}
		dma->new_vaddr = vaddr + (dma->iova - iova);
	}
	ret = 0;
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

/*
 * Check phase, and the new mm's charge.  Every mapping must be staged by
 * @mm or none, and every vaddr must map the mapping's memory object in
 * @mm.  With @charge (@mm is not the owner), @mm is then charged the
 * container's locked_vm in the same hold of its mmap_lock (for write: the
 * charge needs it), one round trip instead of two; the caller refunds it
 * if a later step fails.  Without @charge, no side effects.
 *
 * Return: 0 with *@any_staged telling whether @mm staged vaddrs; -ESRCH,
 * -EINVAL, -ENXIO, -EINTR, -ENOMEM (the charge).
 */
static int lu_change_check(struct lu_iommu *iommu, struct mm_struct *mm,
			   bool charge, bool lock_cap, bool *any_staged)
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
		nstaged += lu_staged_by(dma, mm);
	}
	if (nstaged && nstaged != ndmas)
		return -EINVAL;
	*any_staged = nstaged;
	if (!charge && !nstaged)
		return 0;	/* a no-op: nothing to check */

	if (charge ? mmap_write_lock_killable(mm) : mmap_read_lock_killable(mm))
		return -EINTR;
	for (dma = lu_dma_first(iommu, 0, U64_MAX); dma && !ret;
	     dma = lu_dma_next(dma)) {
		ret = lu_object_match(mm, dma, nstaged ? dma->new_vaddr :
							 dma->vaddr);
		cond_resched();
	}
	if (!ret && charge) {
		ret = lu_account_locked(mm, current->group_leader, lock_cap,
					iommu->locked_vm, true);
		if (ret == -ENOMEM)
			pr_warn_ratelimited("vfio_iommu_lu: pid %d: RLIMIT_MEMLOCK too low to take over %lu pages\n",
					    task_pid_nr(current),
					    iommu->locked_vm);
	}
	if (charge)
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	return ret;
}

/**
 * lu_ioctl_change_owner - VFIO_CHANGE_DMA_OWNER
 * @iommu: the container
 * @uarg: unused (the ioctl takes no argument)
 * @ucmd: unused
 *
 * Makes the caller the owner of every mapping: its mm pins and pays for
 * them from now on.  All or nothing (see the file header); the caller's
 * staged vaddrs are installed and cleared on success, kept on failure.
 * As the current owner with nothing staged: a no-op.  On an empty
 * container the caller simply becomes the owner.
 *
 * Return: 0; -ESRCH (the owner's address space is gone, or the caller has
 * none); -EINVAL (the caller staged vaddrs for some mappings but not
 * all); -ENXIO (a vaddr does not map the same shared memory object,
 * length and permissions); -ENOMEM (memory, or the caller's
 * RLIMIT_MEMLOCK without CAP_IPC_LOCK); -EINTR (killed).
 */
long lu_ioctl_change_owner(struct lu_iommu *iommu, void __user *uarg,
			   union lu_ucmd *ucmd)
{
	struct lu_owner *owner = &iommu->owner, old;
	struct mm_struct *mm = current->mm;
	struct lu_canary *canary = NULL, *spare;
	bool any_staged = false, same, lock_cap = capable(CAP_IPC_LOCK);
	struct lu_claim claim;
	struct lu_dma *dma;
	int ret;

	if (!mm)
		return -ESRCH;

	/* A new owner's canary is mapped before the lock (canary.c). */
	spare = lu_canary_prepare(iommu);
	mutex_lock(&iommu->lock);
	lu_canary_keep(iommu, spare);
	if (RB_EMPTY_ROOT(&iommu->dmas)) {
		ret = lu_owner_claim(iommu, &claim);
		if (!ret) {
			ret = lu_owner_claimed(iommu, &claim);
			if (ret)
				lu_owner_unclaim(iommu, &claim);
		}
		goto out_unlock;
	}

	/* 1. Check; a new mm is charged in the same mmap_lock hold. */
	same = mm == owner->mm;
	ret = lu_change_check(iommu, mm, !same, lock_cap, &any_staged);
	if (ret)
		goto out_unlock;
	if (same && !any_staged)
		goto out_unlock;

	/* 2. Prepare: arm the new mm's canary (mapped already, normally). */
	if (!same) {
		canary = lu_canary_arm(iommu);
		if (IS_ERR(canary)) {
			ret = PTR_ERR(canary);
			lu_account(mm, current->group_leader, lock_cap,
				   iommu->locked_vm, false);
			goto out_unlock;
		}
	}

	/* 3. Commit: nothing below fails. */
	for (dma = lu_dma_first(iommu, 0, U64_MAX); dma && any_staged;
	     dma = lu_dma_next(dma)) {
		dma->vaddr = dma->new_vaddr;
		lu_dma_unstage(dma);
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
		lu_account(old.mm, old.task, old.lock_cap, iommu->locked_vm,
			   false);
		mmput_async(old.mm);
	}
	lu_owner_put(&old);
	ret = 0;
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}
