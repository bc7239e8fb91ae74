// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault.c - test-only fault injection points (see fault.h); built only
 * into the debug kernel's module.
 *
 * One fault_attr for every point, "fail_vfio_iommu_lu" in debugfs
 * (probability, interval, times, ... as Documentation/fault-injection
 * describes).  A task's /proc/<pid>/task/<tid>/fail-nth reaches it
 * without any of that.  Quiet by default (verbose 0): a forced failure is
 * expected, and its stack dump would read as a kernel report to the
 * test bed's log scanner.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "fault.h"

static DECLARE_FAULT_ATTR(lu_fail);
static struct dentry *lu_fail_dir;

bool lu_fault(void)
{
	return should_fail(&lu_fail, 1);
}

void lu_fault_init(void)
{
	lu_fail.verbose = 0;
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	/* Best effort: fail-nth works without it. */
	lu_fail_dir = fault_create_debugfs_attr("fail_vfio_iommu_lu", NULL,
						&lu_fail);
	if (IS_ERR(lu_fail_dir))
		lu_fail_dir = NULL;
#endif
}

void lu_fault_exit(void)
{
	debugfs_remove_recursive(lu_fail_dir);
}
