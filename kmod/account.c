// SPDX-License-Identifier: GPL-2.0-only
/*
 * account.c - the one way this module charges or refunds an mm's
 * locked_vm.  Mappings (pin.c, mdev.c) and owner changes (owner.c) both
 * come here, so RLIMIT_MEMLOCK is checked one way and a charge is always
 * refunded to the mm that paid it.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "lu.h"

/**
 * lu_account - charge (@inc) or refund @npages of @mm's locked_vm
 * @mm: the address space, with a user reference held by the caller
 * @task: whose RLIMIT_MEMLOCK applies to a charge
 * @lock_cap: @task had CAP_IPC_LOCK: no limit, the count still moves
 * @npages: pages
 * @inc: charge, else refund
 *
 * Takes @mm's mmap_lock for write (inside lu_iommu.lock: the normal
 * order).  A charge may be interrupted by a fatal signal; a refund never
 * fails.
 *
 * Return: 0; -ENOMEM (the limit would be exceeded); -EINTR.
 */
int lu_account(struct mm_struct *mm, struct task_struct *task, bool lock_cap,
	       unsigned long npages, bool inc)
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
	ret = lu_account_locked(mm, task, lock_cap, npages, inc);
	mmap_write_unlock(mm);
	return ret;
}

/*
 * lu_account() for a caller that already holds @mm's mmap_lock for write
 * (an owner change checks the new mm and charges it in one hold).
 */
int lu_account_locked(struct mm_struct *mm, struct task_struct *task,
		      bool lock_cap, unsigned long npages, bool inc)
{
	mmap_assert_write_locked(mm);
	if (!npages)
		return 0;
	return __account_locked_vm(mm, npages, inc, task, lock_cap);
}
