// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO side: one container on vfio_iommu_lu (VFIO_LU_TYPE1v2_IOMMU)
 * holding QEMU's edu device (a real DMA engine behind the emulated IOMMU)
 * and an instance of the test mediated device (vfio_lu_test_mdev.ko: pins
 * and copies through vfio_pin_pages()/vfio_dma_rw()), and guest RAM mapped
 * at iova 0.
 *
 * The edu group comes from --edu-group or $EDU_GROUP, its device from
 * --edu-bdf or $EDU_BDF (tools/vm-run sets both).  The mediated device is
 * created through sysfs and removed at exit; it is skipped, with a
 * message, under --no-mdev or when the test driver is not loaded.  Only
 * the agent drives the devices; this file opens them and maps RAM.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>
#include "vfio_lu.h"
#include "vfio_lu_test_mdev.h"
#include "refvmm.h"

#define MDEV_TYPE_DIR	"/sys/class/mdev_bus/" VFIO_LU_TEST_MDEV_PARENT \
			"/mdev_supported_types/" VFIO_LU_TEST_MDEV_TYPE
#define MDEV_DEVICES	"/sys/bus/mdev/devices"

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define EDU_REG_IDENT		0x00
#define EDU_REG_DMA_CMD		0x98
#define EDU_CMD_START		0x1

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

/* Open /dev/vfio/@nr and attach it to the container.  fd or -errno. */
static int group_open(int container, int nr)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/dev/vfio/%d", nr);
	/* A group another process just closed may be busy for a moment. */
	for (int i = 0;; i++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != EBUSY || i == 100)
			break;
		usleep(50 * 1000);
	}
	if (fd < 0)
		return -errno;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st)) {
		ret = -errno;
		goto err_close;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = -EBUSY;
		goto err_close;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container)) {
		ret = -errno;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return ret;
}

static int region_info(int device, uint32_t index,
		       struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info) ? -errno : 0;
}

int edu_map_bar0(int device, volatile uint8_t **bar, uint64_t *size)
{
	struct vfio_region_info info;
	void *p;
	int ret;

	ret = region_info(device, VFIO_PCI_BAR0_REGION_INDEX, &info);
	if (ret)
		return ret;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -ENODEV;
	p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
		 info.offset);
	if (p == MAP_FAILED)
		return -errno;
	*bar = p;
	*size = info.size;
	return 0;
}

/* Bus mastering on, and check it is an edu device (ident 0xRRrr00ed). */
static int edu_prepare(int device)
{
	struct vfio_region_info cfg;
	volatile uint8_t *bar;
	uint64_t size;
	uint16_t cmd;
	int ret;

	ret = region_info(device, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret)
		return ret;
	if (pread(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND) !=
	    sizeof(cmd))
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND) !=
	    sizeof(cmd))
		return -EIO;
	ret = edu_map_bar0(device, &bar, &size);
	if (ret)
		return ret;
	if ((*(volatile uint32_t *)(bar + EDU_REG_IDENT) & 0xff) != 0xed)
		ret = -ENODEV;
	munmap((void *)bar, size);
	return ret;
}

/*
 * Let a transfer the agent started finish before RAM goes: the agent is
 * killed, the device is not, and a DMA into unmapped RAM would fault in
 * the IOMMU.  A transfer takes about 100 ms of the device's time.
 */
static void edu_quiesce(int device)
{
	volatile uint8_t *bar;
	uint64_t size;
	int i;

	if (edu_map_bar0(device, &bar, &size))
		return;
	for (i = 0; i < 2000; i++) {
		if (!(*(volatile uint64_t *)(bar + EDU_REG_DMA_CMD) &
		      EDU_CMD_START))
			break;
		usleep(1000);
	}
	if (i == 2000)
		vlog("edu still busy after 2 s: unmapping anyway");
	munmap((void *)bar, size);
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

/* Create an instance of the test mdev: its group number or -errno. */
static int mdev_create(struct vmm *v)
{
	char link[256], target[256];
	ssize_t n;
	int ret;

	ret = new_uuid(v->mdev_uuid);
	if (ret)
		goto err;
	ret = write_str(MDEV_TYPE_DIR "/create", v->mdev_uuid);
	if (ret)
		goto err;
	v->mdev_created = true;
	snprintf(link, sizeof(link), MDEV_DEVICES "/%s/iommu_group",
		 v->mdev_uuid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return atoi(basename(target));
err:
	v->mdev_uuid[0] = '\0';
	return ret;
}

static void mdev_remove(struct vmm *v)
{
	char path[256];
	int ret;

	if (!v->mdev_created || !v->mdev_uuid[0])
		return;
	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove", v->mdev_uuid);
	ret = write_str(path, "1");
	if (ret)
		vlog("removing mdev %s: %s", v->mdev_uuid, strerror(-ret));
	v->mdev_uuid[0] = '\0';
	v->mdev_created = false;
}

int vfio_setup(struct vmm *v)
{
	int ret, nr;

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		ret = -errno;
		vlog("/dev/vfio/vfio: %s", strerror(-ret));
		return ret;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		vlog("unknown VFIO API version");
		ret = -EPROTO;
		goto err;
	}

	if (v->want_edu) {
		v->edu_group = group_open(v->container, v->edu_group_nr);
		if (v->edu_group < 0) {
			ret = v->edu_group;
			vlog("edu group /dev/vfio/%d: %s", v->edu_group_nr,
			     strerror(-ret));
			goto err;
		}
	}
	if (v->want_mdev && access(MDEV_TYPE_DIR "/create", W_OK)) {
		vlog("no test mediated device (vfio_lu_test_mdev not loaded): "
		     "running without it");
		v->want_mdev = false;
	}
	if (v->want_mdev) {
		nr = mdev_create(v);
		if (nr < 0) {
			ret = nr;
			vlog("creating the test mdev: %s", strerror(-ret));
			goto err;
		}
		v->mdev_group = group_open(v->container, nr);
		if (v->mdev_group < 0) {
			ret = v->mdev_group;
			vlog("mdev group /dev/vfio/%d: %s", nr, strerror(-ret));
			goto err;
		}
	}
	if (!v->want_edu && !v->want_mdev) {
		vlog("no device at all (--no-edu, and no mediated device)");
		ret = -ENODEV;
		goto err;
	}

	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_LU_TYPE1v2_IOMMU)) {
		ret = -errno;
		vlog("VFIO_SET_IOMMU(VFIO_LU_TYPE1v2_IOMMU): %s (is "
		     "vfio_iommu_lu loaded?)", strerror(-ret));
		goto err;
	}
	/* After SET_IOMMU only our backend answers (vfio_lu.h). */
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER) != 1) {
		vlog("the container's backend lacks VFIO_DMA_OWNER");
		ret = -EPROTO;
		goto err;
	}

	if (v->want_edu) {
		v->edu_device = ioctl(v->edu_group, VFIO_GROUP_GET_DEVICE_FD,
				      v->edu_bdf);
		if (v->edu_device < 0) {
			ret = -errno;
			vlog("edu device %s: %s", v->edu_bdf, strerror(-ret));
			goto err;
		}
		ret = edu_prepare(v->edu_device);
		if (ret) {
			vlog("edu device %s: %s", v->edu_bdf, strerror(-ret));
			goto err;
		}
	}
	if (v->want_mdev) {
		v->mdev_device = ioctl(v->mdev_group, VFIO_GROUP_GET_DEVICE_FD,
				       v->mdev_uuid);
		if (v->mdev_device < 0) {
			ret = -errno;
			vlog("mdev device %s: %s", v->mdev_uuid,
			     strerror(-ret));
			goto err;
		}
	}
	return 0;

err:
	vfio_teardown(v);
	return ret;
}

int vfio_map_ram(struct vmm *v)
{
	struct ram_part parts[RAM_PARTS_MAX];
	int n = ram_parts(v, parts), ret;

	for (int i = 0; i < n; i++) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)(v->ram + parts[i].offset),
			.iova = parts[i].iova,
			.size = parts[i].size,
		};

		if (!ioctl(v->container, VFIO_IOMMU_MAP_DMA, &map))
			continue;
		ret = -errno;
		vlog("VFIO_IOMMU_MAP_DMA of %llu MiB at iova %#llx: %s",
		     (unsigned long long)(parts[i].size / MIB),
		     (unsigned long long)parts[i].iova, strerror(-ret));
		/* All or nothing, like the rest of the set-up. */
		while (i-- > 0) {
			struct vfio_iommu_type1_dma_unmap unmap = {
				.argsz = sizeof(unmap),
				.iova = parts[i].iova,
				.size = parts[i].size,
			};

			ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
		}
		return ret;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Teardown never fails: what cannot be undone is logged. */
void vfio_teardown(struct vmm *v)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};

	if (v->edu_device >= 0)
		edu_quiesce(v->edu_device);
	if (v->container >= 0 &&
	    ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &unmap) &&
	    errno != EINVAL)	/* EINVAL: no IOMMU set yet */
		vlog("VFIO_IOMMU_UNMAP_DMA(ALL): %s", strerror(errno));
	close_fd(&v->edu_device);
	close_fd(&v->mdev_device);
	close_fd(&v->edu_group);
	close_fd(&v->mdev_group);
	close_fd(&v->container);
	mdev_remove(v);
}

int mdev_pin(int device, uint64_t iova)
{
	struct vfio_lu_test_mdev_pin arg = {
		.argsz = sizeof(arg),
		.flags = VFIO_LU_TEST_MDEV_PIN_READ | VFIO_LU_TEST_MDEV_PIN_WRITE,
		.iova = iova,
		.npage = 1,
	};

	return ioctl(device, VFIO_LU_TEST_MDEV_PIN, &arg) ? -errno : 0;
}

int mdev_unpin(int device, uint64_t iova)
{
	struct vfio_lu_test_mdev_unpin arg = {
		.argsz = sizeof(arg),
		.iova = iova,
		.npage = 1,
	};

	return ioctl(device, VFIO_LU_TEST_MDEV_UNPIN, &arg) ? -errno : 0;
}

int mdev_rw(int device, uint64_t iova, void *data, uint64_t len, bool write)
{
	struct vfio_lu_test_mdev_rw arg = {
		.argsz = sizeof(arg),
		.flags = write ? VFIO_LU_TEST_MDEV_RW_WRITE : 0,
		.iova = iova,
		.len = len,
		.data = (uintptr_t)data,
	};

	return ioctl(device, VFIO_LU_TEST_MDEV_DMA_RW, &arg) ? -errno : 0;
}
