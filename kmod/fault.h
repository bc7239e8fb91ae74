/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault.h - test-only fault injection points (fault.c), compiled in only
 * for the debug kernel's build (kmod/CMakeLists.txt passes
 * VFIO_LU_FAULT_INJECT=y, Kbuild defines the macro).  Elsewhere lu_fault()
 * is a constant false and costs nothing.
 *
 * A point sits where the generic injection (failslab, fail_page_alloc,
 * fail_usercopy) cannot make a call of ours fail: iommu_map() into a
 * domain whose page tables already exist, and pinning or looking up pages
 * already present.  Each point consumes the calling task's fail-nth like
 * the generic ones, so docs/fault-injection.md's sweep reaches them too.
 */
#ifndef VFIO_IOMMU_LU_FAULT_H
#define VFIO_IOMMU_LU_FAULT_H

#include <linux/kconfig.h>
#include <linux/types.h>

#if defined(VFIO_LU_FAULT_INJECT) && IS_ENABLED(CONFIG_FAULT_INJECTION)
bool lu_fault(void);
void lu_fault_init(void);
void lu_fault_exit(void);
#else
static inline bool lu_fault(void) { return false; }
static inline void lu_fault_init(void) { }
static inline void lu_fault_exit(void) { }
#endif

#endif /* VFIO_IOMMU_LU_FAULT_H */
