/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compat.h - the few kernel interfaces vfio_iommu_lu uses whose shape
 * differs between the kernels it is built for.
 *
 * Debian 6.12 is the first target, Debian 6.1 (bookworm's default kernel)
 * the second.  What differs on 6.1, handled in this file only:
 *   - struct vfio_iommu_driver_ops has an extra, optional "notify" member
 *     (designated initializers in main.c need no change);
 *   - no iommu_paging_domain_alloc(): iommu_domain_alloc(dev->bus);
 *   - iommu_map() takes no gfp argument;
 *   - no iommu_group_has_isolated_msi(): iommu_capable(IOMMU_CAP_INTR_REMAP)
 *     or irq_domain_check_msi_remap();
 *   - pin_user_pages_remote() takes a vmas argument;
 *   - no follow_pfnmap_start()/end(): follow_pte() + pte_pfn();
 *   - no untagged_addr_remote(): untagged_addr();
 *   - get_user_pages_remote() takes a vmas argument too;
 *   - no vm_flags_set()/clear()/mod(): vma->vm_flags is written directly;
 *   - no VM_SEALED (mseal came in 6.10): the canary vma can be munmapped,
 *     which counts as the owner letting go (docs/ownership.md).
 * The wrappers of iommu_map() and of pinning are also where the debug
 * build's test-only injection points sit (fault.h).
 */
#ifndef VFIO_IOMMU_LU_COMPAT_H
#define VFIO_IOMMU_LU_COMPAT_H

#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#include "fault.h"

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "vfio_iommu_lu: kernels older than 6.1 are not supported (see compat.h)"
#endif

/* 6.1: before iommu_paging_domain_alloc(), iommu_map()'s gfp argument
 * (6.3), iommu_group_has_isolated_msi() (6.3), untagged_addr_remote()
 * (6.4), pin_user_pages_remote() without vmas (6.5), follow_pfnmap_*()
 * (6.12). */
#define LU_COMPAT_6_1	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0))

/* Seal the owner's canary vma where the kernel can (64-bit, 6.10+). */
#ifdef VM_SEALED
#define LU_VM_SEALED	VM_SEALED
#else
#define LU_VM_SEALED	VM_NONE
#endif

#if !LU_COMPAT_6_1

static inline struct iommu_domain *lu_compat_domain_alloc(struct device *dev)
{
	return iommu_paging_domain_alloc(dev);
}

static inline int lu_compat_iommu_map(struct iommu_domain *domain,
				      unsigned long iova, phys_addr_t paddr,
				      size_t size, int prot)
{
	if (lu_fault())
		return -ENOMEM;
	return iommu_map(domain, iova, paddr, size, prot, GFP_KERNEL_ACCOUNT);
}

static inline bool lu_compat_isolated_msi(struct iommu_group *group)
{
	return iommu_group_has_isolated_msi(group);
}

static inline long lu_compat_pin_remote(struct mm_struct *mm,
					unsigned long start,
					unsigned long npages,
					unsigned int gup_flags,
					struct page **pages)
{
	if (lu_fault())
		return -ENOMEM;
	return pin_user_pages_remote(mm, start, npages, gup_flags, pages,
				     NULL);
}

static inline long lu_compat_get_remote(struct mm_struct *mm,
					unsigned long start,
					unsigned long npages,
					unsigned int gup_flags,
					struct page **pages)
{
	if (lu_fault())
		return -ENOMEM;
	return get_user_pages_remote(mm, start, npages, gup_flags, pages,
				     NULL);
}

static inline void lu_compat_vm_flags_mod(struct vm_area_struct *vma,
					  vm_flags_t set, vm_flags_t clear)
{
	vm_flags_mod(vma, set, clear);
}

/* Caller holds mmap_lock of @mm. */
static inline unsigned long lu_compat_untag(struct mm_struct *mm,
					    unsigned long addr)
{
	return untagged_addr_remote(mm, addr);
}

/*
 * Look up the pfn a VM_PFNMAP/VM_IO vma maps at @addr without faulting.
 * Caller holds mmap_lock of the vma's mm for read.
 */
static inline int lu_compat_follow_pfn(struct vm_area_struct *vma,
				       unsigned long addr, unsigned long *pfn,
				       bool *writable)
{
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };
	int ret;

	ret = follow_pfnmap_start(&args);
	if (ret)
		return ret;
	*pfn = args.pfn;
	*writable = args.writable;
	follow_pfnmap_end(&args);
	return 0;
}

#else /* LU_COMPAT_6_1 */

static inline struct iommu_domain *lu_compat_domain_alloc(struct device *dev)
{
	struct iommu_domain *d = iommu_domain_alloc(dev->bus);

	/* 6.12 returns an ERR_PTR, 6.1 NULL: callers expect the former. */
	return d ? d : ERR_PTR(-ENOMEM);
}

static inline int lu_compat_iommu_map(struct iommu_domain *domain,
				      unsigned long iova, phys_addr_t paddr,
				      size_t size, int prot)
{
	if (lu_fault())
		return -ENOMEM;
	return iommu_map(domain, iova, paddr, size, prot);
}

static int lu_compat_dev_intr_remap(struct device *dev, void *data)
{
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP);
}

/* As 6.1's type1: the platform's MSI remapping, or every device's IOMMU. */
static inline bool lu_compat_isolated_msi(struct iommu_group *group)
{
	return irq_domain_check_msi_remap() ||
	       iommu_group_for_each_dev(group, NULL, lu_compat_dev_intr_remap);
}

static inline long lu_compat_pin_remote(struct mm_struct *mm,
					unsigned long start,
					unsigned long npages,
					unsigned int gup_flags,
					struct page **pages)
{
	if (lu_fault())
		return -ENOMEM;
	return pin_user_pages_remote(mm, start, npages, gup_flags, pages,
				     NULL, NULL);
}

static inline long lu_compat_get_remote(struct mm_struct *mm,
					unsigned long start,
					unsigned long npages,
					unsigned int gup_flags,
					struct page **pages)
{
	if (lu_fault())
		return -ENOMEM;
	return get_user_pages_remote(mm, start, npages, gup_flags, pages,
				     NULL, NULL);
}

/* Before vm_flags_mod() (6.3), vm_flags was written directly (the caller,
 * an mmap handler, holds the mmap lock for write). */
static inline void lu_compat_vm_flags_mod(struct vm_area_struct *vma,
					  vm_flags_t set, vm_flags_t clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}

static inline unsigned long lu_compat_untag(struct mm_struct *mm,
					    unsigned long addr)
{
	return untagged_addr(addr);
}

static inline int lu_compat_follow_pfn(struct vm_area_struct *vma,
				       unsigned long addr, unsigned long *pfn,
				       bool *writable)
{
	spinlock_t *ptl;
	pte_t *ptep;
	int ret;

	ret = follow_pte(vma->vm_mm, addr, &ptep, &ptl);
	if (ret)
		return ret;
	*pfn = pte_pfn(*ptep);
	*writable = pte_write(*ptep);
	pte_unmap_unlock(ptep, ptl);
	return 0;
}

#endif /* LU_COMPAT_6_1 */

#endif /* VFIO_IOMMU_LU_COMPAT_H */
