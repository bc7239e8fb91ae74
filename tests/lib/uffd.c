// SPDX-License-Identifier: GPL-2.0
/* Memory nobody serves: userfaultfd regions; see vfio_lu_test.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfio_lu_test.h"

int uffd_region_open(struct uffd_region *u, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	int ret;

	u->addr = MAP_FAILED;
	u->len = len;
	u->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0)
		return -errno;
	if (ioctl(u->uffd, UFFDIO_API, &api))
		goto fail;
	u->addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->addr == MAP_FAILED)
		goto fail;
	reg.range.start = (uintptr_t)u->addr;
	reg.range.len = len;
	if (ioctl(u->uffd, UFFDIO_REGISTER, &reg))
		goto fail;
	return 0;
fail:
	ret = -errno;
	uffd_region_close(u);
	return ret;
}

bool uffd_region_fault_pending(struct uffd_region *u, int ms)
{
	struct pollfd p = { .fd = u->uffd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

void uffd_region_close(struct uffd_region *u)
{
	if (u->addr != MAP_FAILED)
		munmap(u->addr, u->len);
	u->addr = MAP_FAILED;
	close_fd(&u->uffd);
}
