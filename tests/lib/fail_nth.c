// SPDX-License-Identifier: GPL-2.0
/* Per-task fault injection (fail_nth.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fail_nth.h"

#define DEBUGFS	"/sys/kernel/debug"

/* This thread's fail-nth, opened by fail_nth_setup() (not while armed:
 * the open would use points); a forked child must call it again. */
static __thread int fail_fd = -1;
static __thread pid_t fail_tid;
long fail_nth_left;

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

int fail_nth_setup(void)
{
	static const char *const attrs[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
		"fail_vfio_iommu_lu",
	};
	char path[128];
	struct stat st;
	int ret;

	if (stat(DEBUGFS "/failslab", &st) &&
	    mount("debugfs", DEBUGFS, "debugfs", 0, NULL) && errno != EBUSY)
		return -errno;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), DEBUGFS "/%s/verbose", attrs[i]);
		ret = write_str(path, "0");
		if (ret)
			return ret == -ENOENT ? -ENOENT : ret;
	}
	/* Off by default: GFP_KERNEL allocations would never fail. */
	ret = write_str(DEBUGFS "/failslab/ignore-gfp-wait", "N");
	if (!ret)
		ret = write_str(DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N");
	if (!ret)
		ret = write_str(DEBUGFS "/fail_page_alloc/min-order", "0");
	if (ret)
		return ret;
	if (fail_fd >= 0 && fail_tid != gettid())
		close(fail_fd);		/* the parent's, inherited by fork */
	else if (fail_fd >= 0)
		return 0;
	fail_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fail_fd < 0)
		return -errno;
	fail_tid = gettid();
	return 0;
}

int fail_nth_arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (fail_fd < 0 || fail_tid != gettid())
		return -EBADF;		/* fail_nth_setup() first */
	/* The write copies the number in before it arms: no point used. */
	if (pwrite(fail_fd, buf, len, 0) != len)
		return -errno;
	return 0;
}

int fail_nth_disarm(void)
{
	char buf[16] = "";
	ssize_t n;
	long left;

	if (fail_fd < 0)
		return -EBADF;
	/*
	 * The kernel formats the count, then copies it out: that copy is a
	 * point.  Left at 1, the copy itself fails (EFAULT): the call under
	 * test reached fewer points.  Left at 0: the call got its failure.
	 */
	n = pread(fail_fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && errno == EFAULT) {
		fail_nth_left = 1;
		return 0;
	}
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	left = strtol(buf, NULL, 10);
	fail_nth_left = left;
	if (left > 0) {
		/* Disarm; the write's own copy may be the last point. */
		if (pwrite(fail_fd, "0", 1, 0) != 1 && errno != EFAULT)
			return -errno;
		return 0;
	}
	return 1;
}
