/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-task fault injection (the debug kernel's fail-nth,
 * docs/fault-injection.md): make the N-th failure point the calling
 * thread reaches from now on fail.  Failure points are the kernel's
 * failslab (slab allocations), fail_page_alloc (page allocations),
 * fail_usercopy (copy_to_user/copy_from_user) and vfio_iommu_lu's own
 * test-only points (kmod/fault.h: iommu_map, pinning).  Part of
 * vfio_lu_test.h.
 */
#ifndef FAIL_NTH_H
#define FAIL_NTH_H

#include <stdbool.h>

/*
 * Make every generic point count for fail-nth: debugfs mounted,
 * failslab and fail_page_alloc also fail sleeping allocations (and
 * fail_page_alloc every order), every attribute quiet (a forced failure's
 * stack dump would read as a kernel report).  0; -ENOENT if the kernel
 * has no fault injection (not the debug kernel) or the module is not the
 * debug build (no fail_vfio_iommu_lu), -errno otherwise.
 */
int fail_nth_setup(void);

/* Arm: the n-th point this thread reaches from now fails.  0 or -errno. */
int fail_nth_arm(unsigned int n);

/*
 * Disarm, right after the call under test: 1 if a failure was injected
 * since fail_nth_arm(), 0 if the call reached fewer than n points,
 * -errno if fail-nth could not be read.  (Reading fail-nth is itself a
 * copy to user space, a point: the function accounts for it.)
 */
int fail_nth_disarm(void);
/* The count fail_nth_disarm() read back (before its own read used one):
 * n minus the points the call reached; 0 if the failure was injected. */
extern long fail_nth_left;

/* Give up a sweep after this many points: a path that long is a bug. */
#define FAIL_NTH_MAX	2000

#endif
