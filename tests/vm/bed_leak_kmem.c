// SPDX-License-Identifier: GPL-2.0
/*
 * A deliberately leaky command for the bed's own test: the test mdev
 * leaks 128 bytes of kernel memory (VFIO_LU_TEST_MDEV_LEAK), then this
 * process exits 0.  On a kernel with kmemleak, tools/vm-run must find the
 * leak after the command and fail the run (124).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/ioctl.h>

#include "vfio_lu_test.h"

int main(void)
{
	struct test_mdev m = TEST_MDEV_NONE;
	int container = -1, ret;

	ret = test_mdev_create(&m);
	if (!ret)
		ret = test_mdev_container_open(&m, &backend_ours, &container);
	if (ret) {
		fprintf(stderr, "test mdev: %d\n", ret);
		return 1;
	}
	if (ioctl(m.device, VFIO_LU_TEST_MDEV_LEAK)) {
		perror("VFIO_LU_TEST_MDEV_LEAK");
		return 1;
	}
	printf("leaked 128 bytes of kernel memory on purpose\n");
	test_mdev_destroy(&m);
	close_fd(&container);
	return 0;
}
