// SPDX-License-Identifier: GPL-2.0
/*
 * The memory object behind a mapping on vfio_iommu_lu (kmod/object.c),
 * held by path, on a FUSE file: object_identity's tmpfs cases again, on a
 * file system whose pages come from a userspace server (tests/lib/
 * fuse_file.c), so pinning them means FUSE READ requests answered while
 * MAP_DMA runs.
 *
 * Each case runs in a child with its own mount namespace, which mounts
 * the file system on a fresh directory under /tmp and becomes the owner;
 * the server's copy of "ram" is filled with a pattern first, so every
 * byte a device sees came from a READ answer.
 *
 *   rw_map_refused	a read-write MAP_DMA with edu attached is refused
 *			(EFAULT): GUP will not pin FOLL_LONGTERM|FOLL_WRITE
 *			memory of a file system that tracks dirty pages
 *			(FUSE: page_mkwrite, writeback), which tmpfs is not.
 *			The failed MAP_DMA holds nothing: umount works at
 *			once and the server sees the connection end.
 *   umount_busy_until_unmap
 *			a read-only MAP_DMA (every page pinned at once,
 *			through READ answers), munmap and close: edu reads
 *			the last page (checked through a scratch memfd it
 *			writes back), umount is EBUSY, UNMAP_DMA returns the
 *			2 MiB, then umount works and the server ends.
 *   lazy_umount_owner_exits
 *			the same, the mount lazily detached (the file system
 *			stays: its server still runs), then the owner exits:
 *			the close-on-exit teardown (waited for through
 *			DMA_AVAIL) drops the last reference and the server,
 *			reaped by the test as subreaper, sees the connection
 *			end.
 *   lazy_umount_then_unmap
 *			lazily detached, then UNMAP_DMA drops the last one.
 *   mdev_write_reaches_server
 *			(test mdev, no IOMMU domain: MAP_DMA read-write pins
 *			nothing) the mdev writes 1 KiB across a page boundary
 *			through vfio_dma_rw, the process unmaps and closes
 *			the file: umount is EBUSY until UNMAP_DMA; then a
 *			fresh open reads the bytes back, fsync, and the
 *			server's own copy holds them (neighbours untouched);
 *			umount works and the server ends.
 *
 * The device writes through the FUSE file are the mdev's because an
 * IOMMU-backed (edu) mapping of it can only be read-only (rw_map_refused).
 * The pinned-page counters are back at their baseline after each case.
 *
 * Every test proves our backend answered; vm-run fails the run on any
 * kernel report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"
#include "fuse_file.h"

#define FILE_SIZE	(2u << 20)
#define FILE_IOVA	0x200000ull
#define SCRATCH_SIZE	(64u << 10)
#define SCRATCH_IOVA	0x800000ull
#define LEN		1024u
#define RW_OFF		(FILE_SIZE / 2 - LEN / 2)	/* across a page boundary */

FIXTURE(fobj) {
	int container;
	int group;
	struct edu edu;
	long pinned0;
	uint32_t avail0;
	struct fuse_file *fuse;	/* shared with the child */
};

FIXTURE_SETUP(fobj)
{
	self->container = self->group = self->edu.device = -1;
	self->fuse = MAP_FAILED;
	if (access("/dev/fuse", F_OK))
		SKIP(return, "no /dev/fuse in this kernel");
	REQUIRE_EDU();
	open_edu(&backend_ours, &self->container, &self->group);
	ASSERT_EQ(0, edu_open(&self->edu, self->group, edu_bdf()));
	self->avail0 = vfio_dma_avail(self->container);
	ASSERT_NE(0, self->avail0);
	self->fuse = mmap(NULL, sizeof(*self->fuse), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->fuse);
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
}

FIXTURE_TEARDOWN(fobj)
{
	if (self->fuse != MAP_FAILED)
		munmap(self->fuse, sizeof(*self->fuse));
	if (self->edu.device >= 0)
		edu_close(&self->edu);
	close_fd(&self->group);
	close_fd(&self->container);
}

static unsigned char pattern(size_t i)
{
	return (i * 7 + (i >> 12)) & 0xff;
}

static int unmap_file(int container)
{
	uint64_t unmapped = 0;

	if (vfio_unmap_raw(container, sizeof(struct vfio_iommu_type1_dma_unmap),
			   0, FILE_IOVA, FILE_SIZE, &unmapped))
		return -1;
	return unmapped == FILE_SIZE ? 0 : -1;
}

/*
 * Does the file system still exist, detached or not?  Its server ends
 * when the superblock goes (the kernel then ends the connection); give
 * it time to see that.
 */
static bool fs_alive(struct fuse_file *f)
{
	usleep(200 * 1000);
	return waitpid(f->pid, NULL, WNOHANG) == 0;
}

enum after { UNMAP_THEN_UMOUNT, LAZY_THEN_EXIT, LAZY_THEN_UNMAP, RW_MAP };

/*
 * In a child: a private mount namespace, the FUSE file system mounted on
 * a new directory @dir (a mkdtemp() template), the server's copy set to
 * the pattern (what its READ answers carry), its file @file opened and
 * mapped shared.  Return: 0, or the number of the step that failed.
 */
static int fuse_map_file(struct fuse_file *f, char *dir, char *file,
			 size_t file_size, int *fd, void **p)
{
	if (!mkdtemp(dir))
		return 10;
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 11;
	if (fuse_file_mount(f, dir, FILE_SIZE))
		return 12;
	for (size_t i = 0; i < FILE_SIZE; i++)
		f->data[i] = pattern(i);
	snprintf(file, file_size, "%s/ram", dir);
	*fd = open(file, O_RDWR);
	if (*fd < 0)
		return 13;
	*p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return *p == MAP_FAILED ? 14 : 0;
}

/*
 * Child: a private mount namespace, the FUSE file system, its file
 * mapped shared and MAP_DMA'd, then munmap'ed and closed; then @after.
 * Returns the exit code: 0 or the step that failed.
 */
static int fuse_child(int container, struct edu *edu, struct fuse_file *f,
		      enum after after)
{
	char dir[] = "/tmp/lu-fuse-XXXXXX", file[64];
	unsigned char *scratch;
	void *p;
	int fd, ret;

	ret = fuse_map_file(f, dir, file, sizeof(file), &fd, &p);
	if (ret)
		return ret;
	if (after == RW_MAP) {
		/* GUP refuses long-term writable pins of such memory from
		 * 6.5 on; before (Debian 6.1) it allows them, and the file
		 * is mapped as any other. */
		int want = kernel_at_least(6, 5) ? -EFAULT : 0;

		if (vfio_map(container, p, FILE_IOVA, FILE_SIZE) != want)
			return 30;
		if (!want && vfio_unmap(container, FILE_IOVA, FILE_SIZE))
			return 33;
		/* The failed MAP_DMA holds nothing: the mount is free. */
		if (munmap(p, FILE_SIZE) || close(fd) || umount(dir))
			return 31;
		fuse_file_stop(f);
		return f->status ? 32 : 0;
	}
	if (vfio_map_raw(container, sizeof(struct vfio_iommu_type1_dma_map),
			 VFIO_DMA_MAP_FLAG_READ, (uintptr_t)p, FILE_IOVA,
			 FILE_SIZE))
		return 15;
	/* From here the DMA mapping is all that refers to the file. */
	if (munmap(p, FILE_SIZE) || close(fd))
		return 16;

	/* edu reads the file's last page, and writes it to scratch. */
	scratch = memfd_buffer(SCRATCH_SIZE, NULL);
	if (scratch == MAP_FAILED ||
	    vfio_map(container, scratch, SCRATCH_IOVA, SCRATCH_SIZE))
		return 17;
	memset(scratch, 0, LEN);
	if (edu_dma(edu, FILE_IOVA + FILE_SIZE - 4096, 0, LEN, false) ||
	    edu_dma(edu, SCRATCH_IOVA, 0, LEN, true))
		return 18;
	for (size_t i = 0; i < LEN; i++)
		if (scratch[i] != pattern(FILE_SIZE - 4096 + i))
			return 19;
	if (vfio_unmap(container, SCRATCH_IOVA, SCRATCH_SIZE))
		return 20;

	switch (after) {
	case UNMAP_THEN_UMOUNT:
		if (!umount(dir) || errno != EBUSY)
			return 21;	/* the mapping keeps the mount */
		if (unmap_file(container))
			return 22;
		if (umount(dir))
			return 23;
		break;
	case LAZY_THEN_EXIT:
		if (umount2(dir, MNT_DETACH))
			return 24;
		if (!fs_alive(f))
			return 28;
		return 0;	/* still the owner: close-on-exit tears down */
	case LAZY_THEN_UNMAP:
		if (umount2(dir, MNT_DETACH))
			return 25;
		if (!fs_alive(f))
			return 29;
		if (unmap_file(container))
			return 26;
		break;
	default:
		return 1;
	}
	/* The file system went with the mount: its server saw the end. */
	fuse_file_stop(f);
	return f->status ? 27 : 0;
}

static int run_child(FIXTURE_DATA(fobj) *self, enum after after)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int ret = fuse_child(self->container, &self->edu, self->fuse,
				     after);

		/* A failed step may leave the server: it must not outlive
		 * us with the edu BAR mapped (the group would stay busy). */
		if (ret && self->fuse->pid > 0) {
			kill(self->fuse->pid, SIGKILL);
			waitpid(self->fuse->pid, NULL, 0);
		}
		_exit(ret);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(fobj, rw_map_refused)
{
	ASSERT_EQ(0, run_child(self, RW_MAP));
	ASSERT_EQ(0, vfio_unmap_all(self->container));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_F(fobj, umount_busy_until_unmap)
{
	ASSERT_EQ(0, run_child(self, UNMAP_THEN_UMOUNT));
	ASSERT_EQ(0, vfio_unmap_all(self->container));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_F(fobj, lazy_umount_owner_exits)
{
	/* The server outlives the child: make it ours to reap. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, run_child(self, LAZY_THEN_EXIT));
	/* Torn down by the backend when the owner exited... */
	ASSERT_EQ(0, vfio_wait_torn_down(self->container, self->avail0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
	ASSERT_EQ(0, vfio_unmap_all(self->container));
	/* ...and the file system with it. */
	fuse_file_stop(self->fuse);
	ASSERT_EQ(0, self->fuse->status);
}

TEST_F(fobj, lazy_umount_then_unmap)
{
	ASSERT_EQ(0, run_child(self, LAZY_THEN_UNMAP));
	ASSERT_EQ(0, vfio_unmap_all(self->container));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

FIXTURE(fobjm) {
	int container;
	struct test_mdev mdev;
	struct fuse_file *fuse;	/* shared with the child */
};

FIXTURE_SETUP(fobjm)
{
	self->container = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	self->fuse = MAP_FAILED;
	if (access("/dev/fuse", F_OK))
		SKIP(return, "no /dev/fuse in this kernel");
	REQUIRE_MDEV();
	open_mdev(&backend_ours, &self->container, &self->mdev);
	self->fuse = mmap(NULL, sizeof(*self->fuse), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->fuse);
}

FIXTURE_TEARDOWN(fobjm)
{
	if (self->fuse != MAP_FAILED)
		munmap(self->fuse, sizeof(*self->fuse));
	test_mdev_destroy(&self->mdev);
	close_fd(&self->container);
}

/*
 * Child: as fuse_child()'s UNMAP_THEN_UMOUNT, with a read-write mapping
 * (no IOMMU domain: MAP_DMA pins nothing) that the mdev writes through
 * (vfio_dma_rw) before the process unmaps the file.
 */
static int mdev_child(int container, int device, struct fuse_file *f)
{
	char dir[] = "/tmp/lu-fuse-XXXXXX", file[64];
	unsigned char buf[LEN], back[LEN];
	void *p;
	int fd, ret;

	ret = fuse_map_file(f, dir, file, sizeof(file), &fd, &p);
	if (ret)
		return ret;
	if (vfio_map(container, p, FILE_IOVA, FILE_SIZE))
		return 15;
	for (size_t i = 0; i < LEN; i++)
		buf[i] = ~pattern(RW_OFF + i);
	/* The owner's own mm: pages faulted in through FUSE READ. */
	if (test_mdev_rw(device, FILE_IOVA + RW_OFF, buf, LEN, true))
		return 16;
	if (munmap(p, FILE_SIZE) || close(fd))
		return 17;

	if (!umount(dir) || errno != EBUSY)
		return 18;	/* the mapping keeps the mount */
	if (unmap_file(container))
		return 19;
	/* What the device wrote is in the file, and with the server. */
	fd = open(file, O_RDWR);
	if (fd < 0 || pread(fd, back, LEN, RW_OFF) != LEN ||
	    memcmp(back, buf, LEN))
		return 20;
	if (fsync(fd) || close(fd))
		return 21;
	if (memcmp(f->data + RW_OFF, buf, LEN) ||
	    f->data[RW_OFF - 1] != pattern(RW_OFF - 1) ||
	    f->data[RW_OFF + LEN] != pattern(RW_OFF + LEN))
		return 22;
	if (umount(dir))
		return 23;
	fuse_file_stop(f);
	return f->status ? 24 : 0;
}

TEST_F(fobjm, mdev_write_reaches_server)
{
	long pinned0 = pinned_base();
	int status;
	pid_t pid;

	ASSERT_LE(0, pinned0);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ret = mdev_child(self->container, self->mdev.device,
				     self->fuse);

		if (ret && self->fuse->pid > 0) {
			kill(self->fuse->pid, SIGKILL);
			waitpid(self->fuse->pid, NULL, 0);
		}
		_exit(ret);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, vfio_unmap_all(self->container));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
}

TEST_HARNESS_MAIN
