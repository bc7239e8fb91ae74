/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio_lu.h - UAPI of the vfio_iommu_lu VFIO IOMMU backend.
 *
 * Shared by the kernel module (kmod/) and userspace (liveupdate/, tests/).
 * Everything not defined here is the standard VFIO Type1v2 interface of
 * <linux/vfio.h>, which the backend implements unchanged.
 */
#ifndef _UAPI_VFIO_LU_H
#define _UAPI_VFIO_LU_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

/**
 * VFIO_LU_TYPE1v2_IOMMU - the backend's private IOMMU type id.
 *
 * VFIO_SET_IOMMU with this id always selects vfio_iommu_lu, so it can be
 * loaded beside the stock vfio_iommu_type1 and chosen explicitly.  The
 * module parameter "type1v2" (runtime writable,
 * /sys/module/vfio_iommu_lu/parameters/type1v2) makes it answer
 * VFIO_TYPE1v2_IOMMU as well; the VFIO core asks the most recently
 * registered backend first, so with type1v2=1 an unpatched VMM asking for
 * VFIO_TYPE1v2_IOMMU gets this backend.  Default: 0 (private id only).
 */
#define VFIO_LU_TYPE1v2_IOMMU		0x4c5501

#endif /* _UAPI_VFIO_LU_H */
