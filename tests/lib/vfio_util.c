// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the VM tests; see vfio_util.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vfio_util.h"

const struct backend backend_stock = BACKEND_STOCK;
const struct backend backend_ours = BACKEND_OURS;

int vfio_open_container(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		close(fd);
		return -EPROTO;
	}
	return fd;
}

int vfio_open_group(int container, int group_nr)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_nr);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status)) {
		err = -errno;
		goto out_close;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		err = -EBUSY;
		goto out_close;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container)) {
		err = -errno;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return err;
}

int edu_group_nr(void)
{
	const char *s = getenv("EDU_GROUP");

	return s && *s ? atoi(s) : -1;
}

const char *edu_bdf(void)
{
	const char *s = getenv("EDU_BDF");

	return s && *s ? s : NULL;
}

int vfio_set_iommu(int container, unsigned long type)
{
	return neg_errno(ioctl(container, VFIO_SET_IOMMU, type));
}

int backend_set(int container, const struct backend *be)
{
	int ret = vfio_set_iommu(container, be->type);

	if (ret)
		return ret;
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_LU_TYPE1v2_IOMMU) !=
	    (be->ours ? 1 : 0))
		return -EPROTO;
	if (be->ours && ioctl(container, VFIO_CHECK_EXTENSION,
			      VFIO_DMA_OWNER) != 1)
		return -EPROTO;
	return 0;
}

int edu_container_open(const struct backend *be, int *container, int *group)
{
	int nr = edu_group_nr(), c, g, ret;

	*container = *group = -1;
	if (nr < 0 || !edu_bdf())
		return -ENODEV;
	c = vfio_open_container();
	if (c < 0)
		return c;
	/* A group just closed by an exiting process may take a moment to
	 * become free again (its last references go with the process). */
	for (int i = 0; i < 100; i++) {
		g = vfio_open_group(c, nr);
		if (g != -EBUSY)
			break;
		usleep(50 * 1000);
	}
	if (g < 0) {
		close(c);
		return g;
	}
	ret = backend_set(c, be);
	if (ret) {
		close(g);
		close(c);
		return ret;
	}
	*container = c;
	*group = g;
	return 0;
}

int change_owner(int container)
{
	return neg_errno(ioctl(container, VFIO_CHANGE_DMA_OWNER));
}

int vfio_map_raw(int container, uint32_t argsz, uint32_t flags,
		 uint64_t vaddr, uint64_t iova, uint64_t size)
{
	/* Room for callers that pass an argsz beyond the struct. */
	struct {
		struct vfio_iommu_type1_dma_map map;
		uint8_t tail[64];
	} arg;

	memset(&arg, 0, sizeof(arg));
	arg.map.argsz = argsz;
	arg.map.flags = flags;
	arg.map.vaddr = vaddr;
	arg.map.iova = iova;
	arg.map.size = size;
	return neg_errno(ioctl(container, VFIO_IOMMU_MAP_DMA, &arg));
}

int vfio_map(int container, void *vaddr, uint64_t iova, uint64_t size)
{
	return vfio_map_raw(container, sizeof(struct vfio_iommu_type1_dma_map),
			    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			    (uintptr_t)vaddr, iova, size);
}

int vfio_stage_vaddr(int container, void *vaddr, uint64_t iova,
		     uint64_t size)
{
	return vfio_map_raw(container, sizeof(struct vfio_iommu_type1_dma_map),
			    VFIO_DMA_MAP_FLAG_VADDR, (uintptr_t)vaddr, iova,
			    size);
}

/* UNMAP_DMA with every field given and, if bitmap, a struct vfio_bitmap
 * behind the argument (GET_DIRTY_BITMAP). */
static int unmap_with(int container, uint32_t argsz, uint32_t flags,
		      uint64_t iova, uint64_t size,
		      const struct vfio_bitmap *bitmap, uint64_t *unmapped)
{
	/* Room for callers that pass an argsz beyond the struct. */
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		union {
			struct vfio_bitmap bitmap;
			uint8_t tail[64];
		};
	} arg;
	int ret;

	memset(&arg, 0, sizeof(arg));
	arg.unmap.argsz = argsz;
	arg.unmap.flags = flags;
	arg.unmap.iova = iova;
	arg.unmap.size = size;
	if (bitmap)
		arg.bitmap = *bitmap;
	ret = neg_errno(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &arg));
	if (unmapped)
		*unmapped = arg.unmap.size;
	return ret;
}

int vfio_unmap_raw(int container, uint32_t argsz, uint32_t flags,
		   uint64_t iova, uint64_t size, uint64_t *unmapped)
{
	return unmap_with(container, argsz, flags, iova, size, NULL, unmapped);
}

int dirty_unmap_bitmap(int container, uint64_t iova, uint64_t size,
		       uint32_t flags, uint64_t pgsize, void *bits,
		       uint64_t bits_size, uint64_t *unmapped)
{
	struct vfio_bitmap b = {
		.pgsize = pgsize, .size = bits_size, .data = bits,
	};

	return unmap_with(container,
			  sizeof(struct vfio_iommu_type1_dma_unmap) + sizeof(b),
			  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | flags, iova,
			  size, &b, unmapped);
}

int vfio_unmap(int container, uint64_t iova, uint64_t size)
{
	return vfio_unmap_raw(container, sizeof(struct vfio_iommu_type1_dma_unmap),
			      0, iova, size, NULL);
}

void *memfd_buffer(size_t size, int *fd_out)
{
	void *p;
	int fd = memfd_create("vfio-test", MFD_CLOEXEC);

	if (fd < 0)
		return MAP_FAILED;
	if (ftruncate(fd, size)) {
		close(fd);
		return MAP_FAILED;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || !fd_out)
		close(fd);
	else
		*fd_out = fd;
	return p;
}

long proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long val = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			val = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

long vmlck_kb(pid_t pid)
{
	return proc_status_kb(pid, "VmLck");
}

/* Fold the per-CPU deltas so the counters are exact. */
static void vmstat_refresh(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			perror("stat_refresh");
		close(fd);
	}
}

/* Read n counters of /proc/vmstat in one pass; missing ones read -1. */
static void vmstat_read_many(const char *const *names, long *vals, int n)
{
	char line[256];
	FILE *f;

	for (int i = 0; i < n; i++)
		vals[i] = -1;
	vmstat_refresh();
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; i < n; i++) {
			size_t len = strlen(names[i]);

			if (!strncmp(line, names[i], len) && line[len] == ' ')
				vals[i] = strtol(line + len + 1, NULL, 10);
		}
	}
	fclose(f);
}

long vmstat_read(const char *name)
{
	long val;

	vmstat_read_many(&name, &val, 1);
	return val;
}

long pinned_pages_now(void)
{
	static const char *const names[] = {
		"nr_foll_pin_acquired", "nr_foll_pin_released",
	};
	long v[2], prev = LONG_MIN, now;

	/*
	 * Both counters from one snapshot, and the same difference twice in
	 * a row, so that a pin taken and dropped by someone else between
	 * the reads does not show up as ours.
	 */
	for (int tries = 0; tries < 20; tries++) {
		vmstat_read_many(names, v, 2);
		if (v[0] < 0 || v[1] < 0)
			return -1;
		now = v[0] - v[1];
		if (now == prev)
			break;
		prev = now;
	}
	return now;
}

long pin_acquired_now(void)
{
	return vmstat_read("nr_foll_pin_acquired");
}

/*
 * Pages pinned system wide, read until two readings agree: the guest's 9p
 * root file system pins and unpins user pages for its I/O, so a single
 * reading may catch one side of that.
 */
long pinned_base(void)
{
	long a = pinned_pages_now(), b;

	for (int i = 0; i < 100; i++) {
		usleep(10 * 1000);
		b = pinned_pages_now();
		if (a == b && a >= 0)
			break;
		a = b;
	}
	return a;
}

double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * Our backend releases an exited owner's pages from a work item: allow it
 * 20 s, which only a failing check ever waits out (the debug kernel on a
 * loaded host has taken seconds).
 */
long pinned_settled(long want)
{
	double end = now_seconds() + 20;
	long now;

	while ((now = pinned_pages_now()) != want && now_seconds() < end)
		usleep(50 * 1000);
	return now;
}

uint64_t vfio_unmap_all(int container)
{
	uint64_t unmapped = ~0ull;

	if (vfio_unmap_raw(container, sizeof(struct vfio_iommu_type1_dma_unmap),
			   VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped))
		return ~0ull;
	return unmapped;
}

bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return true;
	return ma > major || (ma == major && mi >= minor);
}
