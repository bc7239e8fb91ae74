// SPDX-License-Identifier: GPL-2.0
/* QEMU edu device through VFIO; see edu.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "vfio_lu_test.h"

/* edu register offsets in BAR0 */
#define EDU_REG_IDENT	0x00
#define EDU_REG_DMA_SRC	0x80
#define EDU_REG_DMA_DST	0x88
#define EDU_REG_DMA_CNT	0x90
#define EDU_REG_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2

#define PCI_COMMAND_OFF		0x04
#define PCI_COMMAND_MEMORY_BIT	0x2
#define PCI_COMMAND_MASTER_BIT	0x4

static int region_info(int device, uint32_t index, struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return neg_errno(ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info));
}

static int enable_bus_master(int device)
{
	struct vfio_region_info cfg;
	uint16_t cmd;
	int ret;

	ret = region_info(device, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret)
		return ret;
	if (pread(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND_OFF) != sizeof(cmd))
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY_BIT | PCI_COMMAND_MASTER_BIT;
	if (pwrite(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND_OFF) != sizeof(cmd))
		return -EIO;
	return 0;
}

int edu_open(struct edu *edu, int group_fd, const char *bdf)
{
	struct vfio_region_info bar0;
	void *p;
	int ret;

	memset(edu, 0, sizeof(*edu));
	edu->device = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (edu->device < 0)
		return -errno;
	ret = region_info(edu->device, VFIO_PCI_BAR0_REGION_INDEX, &bar0);
	if (ret)
		goto out_close;
	if (!(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		ret = -ENODEV;
		goto out_close;
	}
	p = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 edu->device, bar0.offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out_close;
	}
	edu->bar0 = p;
	edu->bar0_size = bar0.size;
	ret = enable_bus_master(edu->device);
	if (ret)
		goto out_unmap;
	/* Identification register: 0xRRrr00ed */
	if ((*(volatile uint32_t *)(edu->bar0 + EDU_REG_IDENT) & 0xff) != 0xed) {
		ret = -ENODEV;
		goto out_unmap;
	}
	return 0;

out_unmap:
	munmap((void *)edu->bar0, edu->bar0_size);
out_close:
	close(edu->device);
	edu->device = -1;
	return ret;
}

void edu_close(struct edu *edu)
{
	if (edu->bar0)
		munmap((void *)edu->bar0, edu->bar0_size);
	if (edu->device >= 0)
		close(edu->device);
	edu->bar0 = NULL;
	edu->device = -1;
}

static void reg_write64(struct edu *edu, unsigned int off, uint64_t val)
{
	*(volatile uint64_t *)(edu->bar0 + off) = val;
}

static uint64_t reg_read64(struct edu *edu, unsigned int off)
{
	return *(volatile uint64_t *)(edu->bar0 + off);
}

int edu_dma(struct edu *edu, uint64_t iova, uint32_t off, uint32_t len, bool to_ram)
{
	struct timespec start, now;
	uint64_t dev = EDU_BUF_ADDR + off;

	if (!len || len > EDU_DMA_MAX || off + len >= EDU_BUF_SIZE ||
	    iova + len > EDU_IOVA_LIMIT)
		return -EINVAL;
	reg_write64(edu, EDU_REG_DMA_SRC, to_ram ? dev : iova);
	reg_write64(edu, EDU_REG_DMA_DST, to_ram ? iova : dev);
	reg_write64(edu, EDU_REG_DMA_CNT, len);
	reg_write64(edu, EDU_REG_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));

	/* A transfer takes ~100 ms of virtual time; allow a slow TCG host. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (reg_read64(edu, EDU_REG_DMA_CMD) & EDU_CMD_START) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 30)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

int edu_adopt(struct edu *edu, int device)
{
	struct vfio_region_info bar0;
	void *p;
	int ret;

	memset(edu, 0, sizeof(*edu));
	edu->device = -1;
	ret = region_info(device, VFIO_PCI_BAR0_REGION_INDEX, &bar0);
	if (ret)
		return ret;
	p = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
		 bar0.offset);
	if (p == MAP_FAILED)
		return -errno;
	edu->device = device;
	edu->bar0 = p;
	edu->bar0_size = bar0.size;
	return 0;
}

int edu_dma_round_trip(struct edu *edu, uint8_t *buf, uint64_t iova,
		   unsigned int seed)
{
	const uint32_t len = EDU_DMA_MAX;
	const size_t src = 0x3000, dst = 0x9000;
	int ret;

	fill_pattern(buf + src, len, seed);
	memset(buf + dst, 0, len);
	ret = edu_dma(edu, iova + src, 0, len, false);
	if (!ret)
		ret = edu_dma(edu, iova + dst, 0, len, true);
	if (!ret && check_pattern(buf + dst, len, seed) >= 0)
		ret = -1;
	return ret;
}

int edu_env_open(struct edu_env *e, const struct backend *be)
{
	int ret;

	e->edu.device = -1;
	e->edu.bar0 = NULL;
	ret = edu_container_open(be, &e->container, &e->group);
	if (ret)
		return ret;
	ret = edu_open(&e->edu, e->group, edu_bdf());
	if (ret)
		edu_env_close(e);
	return ret;
}

void edu_env_close(struct edu_env *e)
{
	edu_close(&e->edu);
	close_fd(&e->group);
	close_fd(&e->container);
}
