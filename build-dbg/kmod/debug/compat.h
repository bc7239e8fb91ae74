/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compat.h - the few kernel interfaces vfio_iommu_lu uses whose shape
 * differs between the kernels it is built for.
 *
 * Debian 6.12 is the first target.  Debian 6.1 comes next; what changes
 * there, so that each difference is handled in this file only:
 *   - struct vfio_iommu_driver_ops has an extra, optional "notify" member
 *     (designated initializers in main.c need no change);
 *   - no iommu_paging_domain_alloc(): iommu_domain_alloc(dev->bus);
 *   - iommu_map() takes no gfp argument;
 *   - no iommu_group_has_isolated_msi(): iommu_capable(IOMMU_CAP_INTR_REMAP)
 *     or irq_domain_check_msi_remap();
 *   - pin_user_pages_remote() takes a vmas argument;
 *   - no follow_pfnmap_start()/end(): follow_pte() + pte_pfn();
 *   - no untagged_addr_remote(): untagged_addr();
 *   - no VM_SEALED (mseal came in 6.10): the canary vma can be munmapped,
 *     which counts as the owner letting go (docs/ownership.md).
 */
#ifndef VFIO_IOMMU_LU_COMPAT_H
#define VFIO_IOMMU_LU_COMPAT_H

#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#error "vfio_iommu_lu: kernels older than 6.12 are not supported yet (see compat.h)"
#endif

/* Seal the owner's canary vma where the kernel can (64-bit, 6.10+). */
#ifdef VM_SEALED
#define LU_VM_SEALED	VM_SEALED
#else
#define LU_VM_SEALED	VM_NONE
#endif

static inline struct iommu_domain *lu_compat_domain_alloc(struct device *dev)
{
	return iommu_paging_domain_alloc(dev);
}

static inline int lu_compat_iommu_map(struct iommu_domain *domain,
				      unsigned long iova, phys_addr_t paddr,
				      size_t size, int prot)
{
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
	return pin_user_pages_remote(mm, start, npages, gup_flags, pages,
				     NULL);
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

#endif /* VFIO_IOMMU_LU_COMPAT_H */
