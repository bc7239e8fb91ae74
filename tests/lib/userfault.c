// SPDX-License-Identifier: GPL-2.0
/*
 * Memory nobody serves yet (userfaultfd), and device pins timed from
 * another thread: what the tests use to show that a call waiting for
 * userspace holds no lock a device request needs.  See vfio_lu_test.h.
 */
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

int uffd_page_open(struct uffd_page *u, size_t size)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	int ret;

	u->size = size;
	u->page = MAP_FAILED;
	u->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0)
		return -errno;
	if (ioctl(u->uffd, UFFDIO_API, &api))
		goto fail;
	u->page = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->page == MAP_FAILED)
		goto fail;
	reg.range.start = (uintptr_t)u->page;
	reg.range.len = size;
	if (ioctl(u->uffd, UFFDIO_REGISTER, &reg))
		goto fail;
	return 0;
fail:
	ret = -errno;
	uffd_page_close(u);
	return ret;
}

void uffd_page_close(struct uffd_page *u)
{
	if (u->page != MAP_FAILED)
		munmap(u->page, u->size);
	u->page = MAP_FAILED;
	close_fd(&u->uffd);
}

bool uffd_fault_pending(struct uffd_page *u, int ms)
{
	struct pollfd p = { .fd = u->uffd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

int uffd_serve(struct uffd_page *u)
{
	struct uffdio_zeropage z = {
		.range = { .start = (uintptr_t)u->page, .len = u->size },
	};
	struct uffd_msg msg;

	if (read(u->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -errno;
	return ioctl(u->uffd, UFFDIO_ZEROPAGE, &z) ? -errno : 0;
}

void *timed_pin_fn(void *arg)
{
	struct timed_pin *p = arg;
	double t0 = now_seconds();

	p->ret = test_mdev_pin(p->device, p->iova, 1, p->flags, NULL);
	p->seconds = now_seconds() - t0;
	return NULL;
}
