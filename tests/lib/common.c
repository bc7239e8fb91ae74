// SPDX-License-Identifier: GPL-2.0
/* IOMMU info, capabilities and rlimits, byte patterns; see vfio_lu_test.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "vfio_lu_test.h"

#define INFO_BUF_SIZE	65536u

static int decode_cap(struct iommu_info *info, const uint8_t *buf,
		      uint32_t off, uint32_t argsz)
{
	const struct vfio_info_cap_header *hdr = (const void *)(buf + off);

	if (info->nr_caps == INFO_MAX_CAPS)
		return -EPROTO;
	info->cap_id[info->nr_caps] = hdr->id;
	info->cap_version[info->nr_caps] = hdr->version;
	info->nr_caps++;

	switch (hdr->id) {
	case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
		const struct vfio_iommu_type1_info_cap_iova_range *c =
			(const void *)hdr;

		if (off + sizeof(*c) > argsz ||
		    off + sizeof(*c) + c->nr_iovas * sizeof(c->iova_ranges[0]) > argsz ||
		    c->nr_iovas > INFO_MAX_RANGES)
			return -EPROTO;
		info->nr_ranges = c->nr_iovas;
		for (uint32_t i = 0; i < c->nr_iovas; i++) {
			info->range[i].start = c->iova_ranges[i].start;
			info->range[i].end = c->iova_ranges[i].end;
		}
		break;
	}
	case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
		const struct vfio_iommu_type1_info_dma_avail *c = (const void *)hdr;

		if (off + sizeof(*c) > argsz)
			return -EPROTO;
		info->has_dma_avail = true;
		info->dma_avail = c->avail;
		break;
	}
	case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: {
		const struct vfio_iommu_type1_info_cap_migration *c =
			(const void *)hdr;

		if (off + sizeof(*c) > argsz)
			return -EPROTO;
		info->has_migration = true;
		info->mig_flags = c->flags;
		info->mig_pgsize_bitmap = c->pgsize_bitmap;
		info->mig_max_dirty_bitmap_size = c->max_dirty_bitmap_size;
		break;
	}
	}
	return 0;
}

int iommu_info_get(int container, struct iommu_info *info)
{
	struct vfio_iommu_type1_info *raw;
	uint8_t *buf;
	uint32_t off;
	int ret = 0;

	memset(info, 0, sizeof(*info));
	buf = calloc(1, INFO_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	raw = (void *)buf;
	/* First with no room for capabilities: the size they need. */
	raw->argsz = sizeof(*raw);
	if (ioctl(container, VFIO_IOMMU_GET_INFO, raw)) {
		ret = -errno;
		goto out;
	}
	info->argsz_needed = raw->argsz;
	memset(buf, 0, INFO_BUF_SIZE);
	raw->argsz = INFO_BUF_SIZE;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, raw)) {
		ret = -errno;
		goto out;
	}
	info->argsz = raw->argsz;
	info->flags = raw->flags;
	info->pgsizes = raw->iova_pgsizes;
	info->cap_offset = raw->cap_offset;
	if (!(raw->flags & VFIO_IOMMU_INFO_CAPS))
		goto out;
	if (raw->argsz > INFO_BUF_SIZE) {
		ret = -EPROTO;
		goto out;
	}
	/* Offsets are from the start of the structure; each points forward. */
	for (off = raw->cap_offset; off; ) {
		const struct vfio_info_cap_header *hdr = (const void *)(buf + off);

		if (off < sizeof(*raw) || off + sizeof(*hdr) > raw->argsz) {
			ret = -EPROTO;
			goto out;
		}
		ret = decode_cap(info, buf, off, raw->argsz);
		if (ret)
			goto out;
		if (hdr->next && hdr->next <= off) {
			ret = -EPROTO;
			goto out;
		}
		off = hdr->next;
	}
out:
	free(buf);
	return ret;
}

int iommu_info_find_cap(const struct iommu_info *info, uint16_t id)
{
	for (int i = 0; i < info->nr_caps; i++)
		if (info->cap_id[i] == id)
			return i;
	return -1;
}

bool iova_range_valid(const struct iommu_info *info, uint64_t start,
		      uint64_t last)
{
	if (!info->nr_ranges)
		return true;
	for (uint32_t i = 0; i < info->nr_ranges; i++)
		if (start >= info->range[i].start && last <= info->range[i].end)
			return true;
	return false;
}

bool iova_hole_at(const struct iommu_info *info, uint64_t addr,
		  uint64_t *first, uint64_t *last)
{
	for (uint32_t i = 0; i + 1 < info->nr_ranges; i++) {
		uint64_t lo = info->range[i].end + 1;
		uint64_t hi = info->range[i + 1].start - 1;

		if (lo <= hi && addr >= lo && addr <= hi) {
			*first = lo;
			*last = hi;
			return true;
		}
	}
	return false;
}

bool module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

bool kernel_has_lockdep(void)
{
	return access("/proc/lockdep", F_OK) == 0;
}

static int capget_self(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};

	return neg_errno(syscall(SYS_capget, &hdr, data));
}

bool cap_ipc_lock_effective(void)
{
	struct __user_cap_data_struct data[2];

	if (capget_self(data))
		return false;
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

int drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];
	uint32_t mask = ~CAP_TO_MASK(CAP_IPC_LOCK);
	int i = CAP_TO_INDEX(CAP_IPC_LOCK);
	int ret;

	/* Out of the bounding set too, so nothing can bring it back. */
	if (prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0))
		return -errno;
	ret = capget_self(data);
	if (ret)
		return ret;
	data[i].effective &= mask;
	data[i].permitted &= mask;
	data[i].inheritable &= mask;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return cap_ipc_lock_effective() ? -EPERM : 0;
}

int set_memlock_limit(uint64_t bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	return neg_errno(setrlimit(RLIMIT_MEMLOCK, &rl));
}

void *memfd_buffer_ro(size_t size)
{
	int fd;
	void *rw = memfd_buffer(size, &fd);
	void *ro;

	if (rw == MAP_FAILED)
		return NULL;
	fill_pattern(rw, size, 0x5a);
	ro = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	munmap(rw, size);
	close(fd);
	return ro == MAP_FAILED ? NULL : ro;
}

void *unmapped_hole(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, size);
	return p;
}

static uint8_t pattern_byte(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 131u + seed * 17u + (i >> 9) + 1u);
}

void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

long check_pattern(const void *buf, size_t len, unsigned int seed)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(i, seed))
			return (long)i;
	return -1;
}

uint32_t vfio_dma_avail(int container)
{
	struct iommu_info info;

	if (iommu_info_get(container, &info) || !info.has_dma_avail)
		return 0;
	return info.dma_avail;
}

uint32_t vfio_wait_torn_down(int container, uint32_t avail0)
{
	uint32_t avail = 0;

	for (int i = 0; i < 500; i++) {
		avail = vfio_dma_avail(container);
		if (!avail)
			return ~0u;
		if (avail == avail0)
			return 0;
		usleep(10 * 1000);
	}
	return avail0 - avail;
}
