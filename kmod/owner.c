// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner.c - the process that owns a container's mappings.
 *
 * Upstream type1 records a task, an mm and CAP_IPC_LOCK in every mapping.
 * Here they live once per container (struct lu_owner): all mappings are
 * pinned from, and charged to, one address space.  Ownership is taken by
 * the first MAP_DMA into an empty container; while the container holds
 * mappings, only that address space may add more (EPERM otherwise), so a
 * process cannot exceed its RLIMIT_MEMLOCK by having another one pin for
 * it.  Unmapping is allowed to anyone holding the descriptor: it only ever
 * releases.  (Moving ownership to another process, VFIO_CHANGE_DMA_OWNER,
 * builds on this in a later step.)
 *
 * References: the task is held with get_task_struct() (for its rlimit),
 * the mm with mmgrab() only, so that holding a container never keeps the
 * owner's address space alive; users take mmget_not_zero() around each
 * access (lu_owner_mmget) and drop it with mmput_async().
 */
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

#include "lu.h"

/**
 * lu_owner_claim - make sure the caller may add a mapping
 * @iommu: the container (lock held)
 *
 * Binds the container to the calling process if it holds no mapping, and
 * refreshes the owner's CAP_IPC_LOCK (as type1 captures it at each map).
 *
 * Return: 0; -EPERM if another address space owns existing mappings, or
 * the caller has no address space.
 */
int lu_owner_claim(struct lu_iommu *iommu)
{
	struct lu_owner *owner = &iommu->owner;
	struct mm_struct *mm = current->mm;

	lockdep_assert_held(&iommu->lock);

	if (!mm)
		return -EPERM;

	if (owner->mm != mm) {
		if (!RB_EMPTY_ROOT(&iommu->dmas))
			return -EPERM;
		WARN_ON(iommu->locked_vm);
		lu_owner_release(iommu);
		owner->task = get_task_struct(current->group_leader);
		mmgrab(mm);
		owner->mm = mm;
	}
	owner->lock_cap = capable(CAP_IPC_LOCK);
	return 0;
}

/* Drop the owner's references (container empty or being released). */
void lu_owner_release(struct lu_iommu *iommu)
{
	struct lu_owner *owner = &iommu->owner;

	if (owner->task)
		put_task_struct(owner->task);
	if (owner->mm)
		mmdrop(owner->mm);
	owner->task = NULL;
	owner->mm = NULL;
	owner->lock_cap = false;
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

	if (!mm || !mmget_not_zero(mm))
		return NULL;
	return mm;
}
