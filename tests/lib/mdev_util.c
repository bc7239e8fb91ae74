// SPDX-License-Identifier: GPL-2.0
/* The test-only mediated device from userspace; see mdev_util.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mdev_util.h"
#include "vfio_util.h"

#define MDEV_TYPE_DIR	"/sys/class/mdev_bus/" VFIO_LU_TEST_MDEV_PARENT \
			"/mdev_supported_types/" VFIO_LU_TEST_MDEV_TYPE
#define MDEV_DEVICES	"/sys/bus/mdev/devices"

static int write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd, ret = 0;
	ssize_t n;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

bool test_mdev_available(void)
{
	return access(MDEV_TYPE_DIR "/create", W_OK) == 0;
}

static int new_uuid(char out[37])
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, 36);
	close(fd);
	if (n != 36)
		return -EIO;
	out[36] = '\0';
	return 0;
}

static int group_of(const char *uuid)
{
	char link[256], target[256];
	ssize_t n;

	snprintf(link, sizeof(link), MDEV_DEVICES "/%s/iommu_group", uuid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return atoi(basename(target));
}

int test_mdev_create(struct test_mdev *m)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->group_nr = m->group = m->device = -1;
	ret = new_uuid(m->uuid);
	if (ret)
		goto err;
	ret = write_str(MDEV_TYPE_DIR "/create", m->uuid);
	if (ret)
		goto err;
	ret = group_of(m->uuid);
	if (ret < 0) {
		test_mdev_destroy(m);
		return ret;
	}
	m->group_nr = ret;
	return 0;
err:
	m->uuid[0] = '\0';
	return ret;
}

int test_mdev_create_in(struct test_mdev *m, int container)
{
	int ret = test_mdev_create(m);

	if (ret)
		return ret;
	ret = vfio_open_group(container, m->group_nr);
	if (ret < 0) {
		test_mdev_destroy(m);
		return ret;
	}
	m->group = ret;
	return 0;
}

int test_mdev_container_open(struct test_mdev *m, const struct backend *be,
			     int *container)
{
	int c = vfio_open_container(), ret;

	*container = -1;
	if (c < 0)
		return c;
	ret = vfio_open_group(c, m->group_nr);
	if (ret < 0)
		goto err_close;
	m->group = ret;
	ret = backend_set(c, be);
	if (!ret)
		ret = test_mdev_open_device(m);
	if (ret)
		goto err_close;
	*container = c;
	return 0;

err_close:
	test_mdev_close(m);
	close(c);
	return ret;
}

int test_mdev_open_device(struct test_mdev *m)
{
	int fd = ioctl(m->group, VFIO_GROUP_GET_DEVICE_FD, m->uuid);

	if (fd < 0)
		return -errno;
	m->device = fd;
	return 0;
}

void test_mdev_close(struct test_mdev *m)
{
	if (m->device >= 0)
		close(m->device);
	if (m->group >= 0)
		close(m->group);
	m->device = m->group = -1;
}

int test_mdev_destroy(struct test_mdev *m)
{
	char path[256];
	int ret;

	test_mdev_close(m);
	if (!m->uuid[0])
		return 0;
	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove", m->uuid);
	ret = write_str(path, "1");
	if (!ret)
		m->uuid[0] = '\0';
	return ret;
}

int test_mdev_pin(int device, uint64_t iova, uint32_t npage, uint32_t flags,
		  uint64_t *pfns)
{
	struct vfio_lu_test_mdev_pin arg = {
		.argsz = sizeof(arg),
		.flags = flags,
		.iova = iova,
		.npage = npage,
		.pfns = (uintptr_t)pfns,
	};

	return neg_errno(ioctl(device, VFIO_LU_TEST_MDEV_PIN, &arg));
}

int test_mdev_unpin(int device, uint64_t iova, uint32_t npage)
{
	struct vfio_lu_test_mdev_unpin arg = {
		.argsz = sizeof(arg),
		.iova = iova,
		.npage = npage,
	};

	return neg_errno(ioctl(device, VFIO_LU_TEST_MDEV_UNPIN, &arg));
}

int test_mdev_rw(int device, uint64_t iova, void *data, uint64_t len,
		 bool write)
{
	struct vfio_lu_test_mdev_rw arg = {
		.argsz = sizeof(arg),
		.flags = write ? VFIO_LU_TEST_MDEV_RW_WRITE : 0,
		.iova = iova,
		.len = len,
		.data = (uintptr_t)data,
	};

	return neg_errno(ioctl(device, VFIO_LU_TEST_MDEV_DMA_RW, &arg));
}

int test_mdev_status(int device, struct vfio_lu_test_mdev_status *st)
{
	memset(st, 0, sizeof(*st));
	st->argsz = sizeof(*st);
	return neg_errno(ioctl(device, VFIO_LU_TEST_MDEV_STATUS, st));
}

int test_mdev_set_mode(int device, uint32_t flags)
{
	struct vfio_lu_test_mdev_mode arg = {
		.argsz = sizeof(arg),
		.flags = flags,
	};

	return neg_errno(ioctl(device, VFIO_LU_TEST_MDEV_SET_MODE, &arg));
}

int64_t vaddr_to_pfn(const void *vaddr)
{
	long psize = sysconf(_SC_PAGESIZE);
	uint64_t entry;
	int fd;
	ssize_t n;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, &entry, sizeof(entry),
		  (off_t)((uintptr_t)vaddr / psize * sizeof(entry)));
	close(fd);
	if (n != sizeof(entry))
		return -EIO;
	if (!(entry & (1ull << 63)))	/* not present */
		return 0;
	return (int64_t)(entry & ((1ull << 55) - 1));
}
