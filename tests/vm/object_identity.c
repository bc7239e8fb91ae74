// SPDX-License-Identifier: GPL-2.0
/*
 * The memory object behind a mapping on vfio_iommu_lu (kmod/object.c):
 * how long the backend keeps it, and what counts as the same object when
 * ownership changes.
 *
 *   tmpfs_umount_busy_until_unmap
 *			a tmpfs file, mapped, MAP_DMA'd, then unmapped and
 *			closed by its process: the DMA mapping alone keeps the
 *			mount busy (umount EBUSY) until UNMAP_DMA, after which
 *			umount works.  (The backend once held the inode without
 *			its mount: umount succeeded, "Busy inodes after
 *			unmount" was a BUG and the teardown oopsed.)
 *   tmpfs_userns_lazy_umount_owner_exits
 *			the same from an unprivileged user namespace, the
 *			mount lazily detached, then the owner exits: the
 *			close-on-exit teardown releases the last reference.
 *   tmpfs_lazy_umount_then_unmap
 *			lazily detached, then UNMAP_DMA drops the last one.
 *   perf_ring_cannot_take_bar
 *			a BAR mapped through the vfio device fd cannot be
 *			taken over by a process that maps a perf ring (another
 *			anon-inode file) at its vaddr: ENXIO.
 *   bar_handoff_fork_and_exec
 *			the legitimate handoff of the same BAR: to a forked
 *			child with the inherited vaddr, and back to a freshly
 *			exec'd image that mmaps the BAR from the preserved
 *			device fd and stages its vaddr.
 *   swapped_vaddr_pins_nothing
 *			MAP_DMA of a memfd (test mdev only: nothing pinned
 *			yet), then the owner maps private memory over the
 *			vaddr: a device pin, and the replay when edu's group
 *			joins, fail (EFAULT) instead of pinning private memory
 *			recorded as the memfd; with the memfd mapped back,
 *			the pin gets the memfd's page.
 *
 * Every test proves our backend answered; vm-run fails the run on any
 * kernel report (the BUG above among them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define FILE_SIZE	(2u << 20)
#define FILE_IOVA	0x200000ull
#define BAR_SIZE	(2 * 4096u)
#define BAR_IOVA	0x800000ull

OWNER_FIXTURE(obj, FILE_SIZE);

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/* Become root of a new user namespace with its own mount namespace. */
static int enter_userns(void)
{
	char map[32];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", uid);
	if (write_file("/proc/self/uid_map", map) ||
	    write_file("/proc/self/setgroups", "deny"))
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", gid);
	return write_file("/proc/self/gid_map", map);
}

enum after { UNMAP_THEN_UMOUNT, LAZY_THEN_EXIT, LAZY_THEN_UNMAP };

/*
 * Child: a private mount namespace (and user namespace), a tmpfs with one
 * 2 MiB file, mapped shared, MAP_DMA'd, then munmap'ed and closed; then
 * @after.  Returns the exit code: 0 or the step that failed.
 */
static int tmpfs_child(int container, bool userns, enum after after)
{
	char dir[] = "/tmp/lu-obj-XXXXXX", file[64];
	uint64_t unmapped = 0;
	void *p;
	int fd;

	if (!mkdtemp(dir))
		return 10;
	if (userns ? enter_userns() :
	    (unshare(CLONE_NEWNS) ||
	     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)))
		return 11;
	if (mount("tmpfs", dir, "tmpfs", 0, "size=4m"))
		return 12;
	snprintf(file, sizeof(file), "%s/guest-ram", dir);
	fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, FILE_SIZE))
		return 13;
	p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 14;
	memset(p, 0x5a, FILE_SIZE);
	if (vfio_map(container, p, FILE_IOVA, FILE_SIZE))
		return 15;
	/* From here the DMA mapping is all that refers to the file. */
	if (munmap(p, FILE_SIZE) || close(fd) || unlink(file))
		return 16;

	switch (after) {
	case UNMAP_THEN_UMOUNT:
		if (!umount(dir) || errno != EBUSY)
			return 17;	/* the mapping keeps the mount */
		if (vfio_unmap_raw(container,
				   sizeof(struct vfio_iommu_type1_dma_unmap),
				   0, FILE_IOVA, FILE_SIZE, &unmapped) ||
		    unmapped != FILE_SIZE)
			return 18;
		if (umount(dir))
			return 19;
		return 0;
	case LAZY_THEN_EXIT:
		if (umount2(dir, MNT_DETACH))
			return 20;
		return 0;	/* still the owner: close-on-exit tears down */
	case LAZY_THEN_UNMAP:
		if (umount2(dir, MNT_DETACH))
			return 21;
		if (vfio_unmap_raw(container,
				   sizeof(struct vfio_iommu_type1_dma_unmap),
				   0, FILE_IOVA, FILE_SIZE, &unmapped) ||
		    unmapped != FILE_SIZE)
			return 22;
		return 0;
	}
	return 1;
}

static int run_tmpfs_child(int container, bool userns, enum after after)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(tmpfs_child(container, userns, after));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(obj, tmpfs_umount_busy_until_unmap)
{
	ASSERT_EQ(0, run_tmpfs_child(self->e.container, false,
				     UNMAP_THEN_UMOUNT));
	ASSERT_EQ(0, vfio_unmap_all(self->e.container));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_F(obj, tmpfs_userns_lazy_umount_owner_exits)
{
	ASSERT_EQ(0, run_tmpfs_child(self->e.container, true, LAZY_THEN_EXIT));
	/* Torn down by the backend when the owner exited. */
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
	ASSERT_EQ(0, vfio_unmap_all(self->e.container));
}

TEST_F(obj, tmpfs_lazy_umount_then_unmap)
{
	ASSERT_EQ(0, run_tmpfs_child(self->e.container, false,
				     LAZY_THEN_UNMAP));
	ASSERT_EQ(0, vfio_unmap_all(self->e.container));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

/* BAR0's first pages, mapped through the device fd (vm_pgoff 0). */
static void *map_bar(int device)
{
	return mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    device, 0);
}

/* A perf event ring (an anon-inode file, one page + one data page). */
static int perf_ring_fd(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.disabled = 1,
	};

	return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

TEST_F(obj, perf_ring_cannot_take_bar)
{
	int status;
	void *bar;
	pid_t pid;

	bar = map_bar(self->e.edu.device);
	ASSERT_NE(MAP_FAILED, bar);
	ASSERT_EQ(0, vfio_map(self->e.container, bar, BAR_IOVA, BAR_SIZE));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int perf;

		/* The thief: no device, a perf ring where the BAR was. */
		close(self->e.edu.device);
		munmap(bar, BAR_SIZE);
		perf = perf_ring_fd();
		if (perf < 0)
			_exit(100);
		if (mmap(bar, BAR_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, perf, 0) != bar)
			_exit(101);
		_exit(change_owner(self->e.container) == -ENXIO ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 100)
		SKIP(return, "perf_event_open unavailable in this kernel");
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* Still ours: the thief's exit tore nothing down. */
	ASSERT_EQ(BAR_SIZE, vfio_unmap_all(self->e.container));
	munmap(bar, BAR_SIZE);
}

/*
 * The exec'd image: mmap the BAR from the preserved device fd, stage its
 * vaddr, take ownership back from the holder; answer on @rep.
 */
static int bar_after_exec(int container, int device, int rep)
{
	int ret = 0;
	void *bar = map_bar(device);

	if (bar == MAP_FAILED)
		ret = -ENOMEM;
	if (!ret)
		ret = vfio_map_raw(container,
				   sizeof(struct vfio_iommu_type1_dma_map),
				   VFIO_DMA_MAP_FLAG_VADDR, (uintptr_t)bar,
				   BAR_IOVA, BAR_SIZE);
	if (!ret)
		ret = change_owner(container);
	if (write(rep, &ret, sizeof(ret)) != sizeof(ret))
		return 2;
	return 0;
}

TEST_F(obj, bar_handoff_fork_and_exec)
{
	uint32_t avail0 = vfio_dma_avail(self->e.container);
	int rep[2], ret = -1, status;
	struct child holder;
	struct reexec rx;
	void *bar;
	pid_t pid;

	ASSERT_NE(0, avail0);
	bar = map_bar(self->e.edu.device);
	ASSERT_NE(MAP_FAILED, bar);
	ASSERT_EQ(0, vfio_map(self->e.container, bar, BAR_IOVA, BAR_SIZE));

	/* A forked holder takes it with the inherited vaddr. */
	ASSERT_EQ(0, child_start(&holder, self->e.container, NULL));
	if (!kernel_at_least(6, 10)) {
		/* Before 6.10 a vfio device file is a plain anon-inode file
		 * (no per-device inode behind f_mapping): a BAR has no
		 * identity the backend could compare, so it never changes
		 * owner (docs/ownership.md); the mapping stays ours. */
		ASSERT_EQ(-ENXIO, child_do(&holder, 'o').ret);
		ASSERT_EQ(0, child_stop(&holder));
		ASSERT_EQ(0, change_owner(self->e.container));
		ASSERT_EQ(BAR_SIZE, vfio_unmap_all(self->e.container));
		munmap(bar, BAR_SIZE);
		return;
	}
	ASSERT_EQ(0, child_do(&holder, 'o').ret);

	/* A new image takes it back with a fresh mmap of the same BAR. */
	ASSERT_EQ(0, pipe(rep));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		reexec_init(&rx, "--bar-exec");
		if (reexec_fd(&rx, self->e.container) ||
		    reexec_fd(&rx, self->e.edu.device) ||
		    reexec_fd(&rx, rep[1]))
			_exit(3);
		reexec(&rx);
		_exit(4);
	}
	close(rep[1]);
	ASSERT_EQ(sizeof(ret), read(rep[0], &ret, sizeof(ret)));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* The new image exited owning it: close-on-exit empties it. */
	ASSERT_EQ(0, child_stop(&holder));
	ASSERT_EQ(0, vfio_wait_torn_down(self->e.container, avail0));
	ASSERT_EQ(0, vfio_unmap_all(self->e.container));
	munmap(bar, BAR_SIZE);
}

FIXTURE(objm) {
	int container;
	struct test_mdev mdev;
};

FIXTURE_SETUP(objm)
{
	self->container = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	REQUIRE_MDEV();
	open_mdev(&backend_ours, &self->container, &self->mdev);
}

FIXTURE_TEARDOWN(objm)
{
	test_mdev_destroy(&self->mdev);
	close_fd(&self->container);
}

TEST_F(objm, swapped_vaddr_pins_nothing)
{
	const uint32_t rw = VFIO_LU_TEST_MDEV_PIN_READ |
			    VFIO_LU_TEST_MDEV_PIN_WRITE;
	uint8_t *buf, *alias;
	uint64_t pfn = 0;
	int memfd, group;

	buf = memfd_buffer(FILE_SIZE, &memfd);
	ASSERT_NE(MAP_FAILED, buf);
	alias = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     memfd, 0);
	ASSERT_NE(MAP_FAILED, alias);
	alias[0] = 1;
	ASSERT_EQ(0, vfio_map(self->container, buf, FILE_IOVA, FILE_SIZE));

	/* Private memory where the memfd was recorded. */
	ASSERT_EQ(buf, mmap(buf, FILE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	buf[0] = 2;
	ASSERT_EQ(-EFAULT, test_mdev_pin(self->mdev.device, FILE_IOVA, 1, rw,
					 NULL));
	/* Nor may the IOMMU path pin it when an IOMMU group joins. */
	if (edu_group_nr() >= 0) {
		group = vfio_open_group(self->container, edu_group_nr());
		ASSERT_EQ(-EFAULT, group);
	}

	/* The memfd back at the vaddr: its page is what a device gets. */
	ASSERT_EQ(buf, mmap(buf, FILE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, memfd, 0));
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, FILE_IOVA, 1, rw, &pfn));
	ASSERT_EQ(vaddr_to_pfn(alias), (int64_t)pfn);
	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, FILE_IOVA, 1));
	ASSERT_EQ(FILE_SIZE, vfio_unmap_all(self->container));
	munmap(alias, FILE_SIZE);
	munmap(buf, FILE_SIZE);
	close(memfd);
}

int main(int argc, char **argv)
{
	char **args = reexec_args(argc, argv, "--bar-exec", 3);

	if (args)
		return bar_after_exec(reexec_arg(args, 0), reexec_arg(args, 1),
				      reexec_arg(args, 2));
	return test_harness_run(argc, argv);
}
