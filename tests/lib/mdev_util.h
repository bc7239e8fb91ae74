/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test-only mediated device (tests/kmod/test_mdev.c and
 * vfio_lu_test_mdev.h beside it) from userspace: creating and removing
 * instances through sysfs, opening their group and device, and its ioctls
 * as plain calls returning 0 or -errno.  Part of vfio_lu_test.h.
 */
#ifndef MDEV_UTIL_H
#define MDEV_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <vfio_lu_test_mdev.h>

struct test_mdev {
	char uuid[37];		/* "" when not created */
	int group_nr;		/* its emulated-IOMMU group, -1 if unknown */
	int group;		/* group fd or -1 */
	int device;		/* device fd or -1 */
};

/* Is the test mdev parent registered (module loaded by tools/vm-run
 * --insmod)? */
bool test_mdev_available(void);

/* Create an instance with a fresh UUID and find its group.  0 or -errno;
 * on error nothing is left behind. */
int test_mdev_create(struct test_mdev *m);
/* Create, add its group to container (VFIO_GROUP_SET_CONTAINER): the
 * caller sets the IOMMU and then calls test_mdev_open_device().  0 or
 * -errno; on error nothing is left behind. */
int test_mdev_create_in(struct test_mdev *m, int container);
/*
 * A new container holding the created instance m's group, set to backend
 * be and proven (backend_set()), device open: *container and m's fds set.
 * 0 or -errno (nothing left open but the instance).
 */
struct backend;
int test_mdev_container_open(struct test_mdev *m, const struct backend *be,
			     int *container);
/* VFIO_GROUP_GET_DEVICE_FD by UUID; the container must have an IOMMU set.
 * 0 or -errno. */
int test_mdev_open_device(struct test_mdev *m);
/* Close the device and group fds, if open.  Idempotent. */
void test_mdev_close(struct test_mdev *m);
/* Close, then remove the instance through sysfs.  Idempotent; 0 or
 * -errno (removing waits for every fd of the device to be closed). */
int test_mdev_destroy(struct test_mdev *m);

/* The device ioctls; 0 or -errno.  pfns may be NULL. */
int test_mdev_pin(int device, uint64_t iova, uint32_t npage, uint32_t flags,
		  uint64_t *pfns);
int test_mdev_unpin(int device, uint64_t iova, uint32_t npage);
int test_mdev_rw(int device, uint64_t iova, void *data, uint64_t len,
		 bool write);
int test_mdev_status(int device, struct vfio_lu_test_mdev_status *st);
/* VFIO_LU_TEST_MDEV_SET_MODE: flags 0 or VFIO_LU_TEST_MDEV_MODE_HOLD. */
int test_mdev_set_mode(int device, uint32_t flags);
/* The common pin flags. */
#define PIN_RW	(VFIO_LU_TEST_MDEV_PIN_READ | VFIO_LU_TEST_MDEV_PIN_WRITE)

/* The physical frame number backing vaddr (via /proc/self/pagemap, which
 * shows PFNs to root); 0 if not present, -errno on error. */
int64_t vaddr_to_pfn(const void *vaddr);

#endif
