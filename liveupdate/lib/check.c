// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * check.c - the preflight: can this VMM be updated now, and if not, why?
 * One finding per subject; a failed finding refuses the update before
 * anything changes.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <dirent.h>
#include <unistd.h>

#include <vfio_lu.h>

#include "lu_int.h"

static void add(struct liveupdate_check *c, enum liveupdate_level level,
		const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(struct liveupdate_check *c, enum liveupdate_level level,
		const char *what, const char *fmt, ...)
{
	struct liveupdate_finding *f;
	va_list ap;

	if (level == LIVEUPDATE_FAIL)
		c->nr_fail++;
	else if (level == LIVEUPDATE_WARN)
		c->nr_warn++;
	if (c->nr == LIVEUPDATE_MAX_FINDINGS)
		return;
	f = &c->finding[c->nr++];
	f->level = level;
	snprintf(f->what, sizeof(f->what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

static void check_backend(const struct liveupdate *lu, struct liveupdate_check *c)
{
	if (access("/sys/module/vfio_iommu_lu", F_OK))
		add(c, LIVEUPDATE_FAIL, "module", "vfio_iommu_lu is not loaded");
	else
		add(c, LIVEUPDATE_OK, "module", "vfio_iommu_lu loaded");
	if (lu->container < 0 || fcntl(lu->container, F_GETFD) < 0) {
		add(c, LIVEUPDATE_FAIL, "container", "no open VFIO container described");
		return;
	}
	/* After VFIO_SET_IOMMU only the container's backend answers. */
	if (ioctl(lu->container, VFIO_CHECK_EXTENSION, VFIO_LU_TYPE1v2_IOMMU) != 1)
		add(c, LIVEUPDATE_FAIL, "container",
		    "the container is not served by vfio_iommu_lu (VFIO_SET_IOMMU first)");
	else if (ioctl(lu->container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER) != 1)
		add(c, LIVEUPDATE_FAIL, "extension", "VFIO_DMA_OWNER not offered");
	else
		add(c, LIVEUPDATE_OK, "extension", "VFIO_DMA_OWNER present on the container");
}

static void check_memlock(struct liveupdate_check *c)
{
	struct rlimit rl;
	int64_t lck = lu_vmlck_kb();
	bool cap = lu_has_cap_ipc_lock();

	getrlimit(RLIMIT_MEMLOCK, &rl);
	add(c, LIVEUPDATE_OK, "cap_ipc_lock", cap ?
	    "CAP_IPC_LOCK held (the holder keeps it only if the limit requires it)" :
	    "no CAP_IPC_LOCK: RLIMIT_MEMLOCK governs");
	if (lck < 0) {
		add(c, LIVEUPDATE_WARN, "memlock", "VmLck unreadable: %s", strerror((int)-lck));
		return;
	}
	/* The holder, then the new binary, are charged what this process is
	 * charged for the mappings (at most its VmLck), against the same
	 * RLIMIT_MEMLOCK. */
	if (rl.rlim_cur == RLIM_INFINITY)
		add(c, LIVEUPDATE_OK, "memlock", "RLIMIT_MEMLOCK unlimited, %ld KiB to move",
		    (long)lck);
	else if ((uint64_t)lck * 1024 <= rl.rlim_cur)
		add(c, LIVEUPDATE_OK, "memlock", "RLIMIT_MEMLOCK %lu KiB >= %ld KiB to move",
		    (unsigned long)(rl.rlim_cur / 1024), (long)lck);
	else if (cap)
		add(c, LIVEUPDATE_WARN, "memlock",
		    "RLIMIT_MEMLOCK %lu KiB < %ld KiB to move: the holder keeps CAP_IPC_LOCK",
		    (unsigned long)(rl.rlim_cur / 1024), (long)lck);
	else
		add(c, LIVEUPDATE_FAIL, "memlock",
		    "RLIMIT_MEMLOCK %lu KiB < %ld KiB to be charged, and no CAP_IPC_LOCK",
		    (unsigned long)(rl.rlim_cur / 1024), (long)lck);
}

/*
 * Is [vaddr, vaddr + size) mapped MAP_SHARED from this region's memory
 * object at its offset, in one or more vmas?  (The holder and the new
 * binary map the object from the descriptor; the backend compares the
 * object, so a region mapped from anything else would fail at commit.)
 */
static int region_mapped(const struct liveupdate_region *r, const struct stat *st,
			 char *why, size_t len)
{
	uint64_t start = (uintptr_t)r->vaddr, end = start + r->size, at = start;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f) {
		snprintf(why, len, "cannot read /proc/self/maps");
		return -1;
	}
	while (at < end && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, ino;
		unsigned int maj, mi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms,
			   &off, &maj, &mi, &ino) != 7)
			continue;
		if (hi <= at || lo > at)
			continue;
		if (perms[3] != 's') {
			snprintf(why, len, "vaddr %#lx is not a MAP_SHARED mapping", at);
			goto bad;
		}
		if (ino != st->st_ino || makedev(maj, mi) != st->st_dev ||
		    off + (at - lo) != r->offset + (at - start)) {
			snprintf(why, len, "vaddr %#lx does not map fd %d at offset %#lx",
				 at, r->fd, (unsigned long)(r->offset + (at - start)));
			goto bad;
		}
		at = hi;
	}
	fclose(f);
	if (at < end) {
		snprintf(why, len, "vaddr %#lx is not mapped", (unsigned long)at);
		return -1;
	}
	return 0;
bad:
	fclose(f);
	return -1;
}

static void check_regions(const struct liveupdate *lu, struct liveupdate_check *c)
{
	uint64_t bytes = 0;
	unsigned int bad = 0;

	if (!lu->nr_regions)
		add(c, LIVEUPDATE_WARN, "regions", "no guest memory region described");
	for (unsigned int i = 0; i < lu->nr_regions; i++) {
		const struct liveupdate_region *r = &lu->regions[i];
		char what[24], why[160];
		struct stat st;
		int fl = fcntl(r->fd, F_GETFL);

		snprintf(what, sizeof(what), "region %u", i);
		bytes += r->size;
		if (fl < 0 || fstat(r->fd, &st)) {
			add(c, LIVEUPDATE_FAIL, what, "fd %d is not open", r->fd);
			bad++;
		} else if (!S_ISREG(st.st_mode)) {
			add(c, LIVEUPDATE_FAIL, what, "fd %d is not a memory object (memfd or file)", r->fd);
			bad++;
		} else if ((r->prot & LIVEUPDATE_PROT_WRITE) && (fl & O_ACCMODE) != O_RDWR) {
			add(c, LIVEUPDATE_FAIL, what, "fd %d is not open O_RDWR but the region is writable", r->fd);
			bad++;
		} else if ((uint64_t)st.st_size < r->offset + r->size) {
			add(c, LIVEUPDATE_FAIL, what, "fd %d is shorter than offset + size", r->fd);
			bad++;
		} else if (region_mapped(r, &st, why, sizeof(why))) {
			add(c, LIVEUPDATE_FAIL, what, "%s", why);
			bad++;
		}
	}
	if (lu->nr_regions && !bad)
		add(c, LIVEUPDATE_OK, "regions",
		    "%u region(s), %lu MiB, shared and descriptor-backed",
		    lu->nr_regions, (unsigned long)(bytes >> 20));
}

static void check_fds(const struct liveupdate *lu, struct liveupdate_check *c)
{
	char list[160] = "";
	unsigned int bad = 0, others = 0;
	DIR *d;
	struct dirent *e;

	for (unsigned int i = 0; i < lu->nr_fds; i++) {
		if (fcntl(lu->fds[i].fd, F_GETFD) < 0) {
			add(c, LIVEUPDATE_FAIL, "fds", "kept descriptor \"%s\" (fd %d) is not open",
			    lu->fds[i].name, lu->fds[i].fd);
			bad++;
		}
	}
	if (!bad)
		add(c, LIVEUPDATE_OK, "fds", "%u kept descriptor(s) open", lu->nr_fds);
	/* Descriptors without close-on-exec that nobody asked to keep: the
	 * update closes them at exec, so the new binary will not have them. */
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name), fl;

		if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d) || lu_is_kept(lu, fd))
			continue;
		fl = fcntl(fd, F_GETFD);
		if (fl < 0 || fl & FD_CLOEXEC)
			continue;
		if (others++ < 8)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), " %d", fd);
	}
	if (d)
		closedir(d);
	if (others)
		add(c, LIVEUPDATE_WARN, "fds",
		    "%u descriptor(s) without close-on-exec will be closed at exec:%s",
		    others, list);
}

int lu_check(struct liveupdate *lu, struct liveupdate_check *c)
{
	memset(c, 0, sizeof(*c));
	check_backend(lu, c);
	check_memlock(c);
	check_regions(lu, c);
	check_fds(lu, c);
	return c->nr_fail;
}

LU_EXPORT int liveupdate_check(struct liveupdate *lu, struct liveupdate_check *c)
{
	return lu_check(lu, c);
}
