// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_bench - our backend against the stock one, side by side, in the
 * test VM (docs/performance.md).
 *
 *   vfio_bench [--smoke | --full] [--reps N] [--out DIR]
 *
 * Every row runs the same measurement on vfio_iommu_lu
 * (VFIO_LU_TYPE1v2_IOMMU) and on stock vfio_iommu_type1
 * (VFIO_TYPE1v2_IOMMU), each container proven to be served by the wanted
 * backend (backend_set()), with the edu device's IOMMU-backed group
 * attached so that MAP_DMA pins.  The group can be in one container at a
 * time, so the backends alternate.  Each figure is the median of --reps
 * repetitions (default 3; 1 with --smoke) after one warm-up repetition;
 * a handoff repetition is itself the median of HANDOFF_INNER handoffs.
 *
 * Sections: 1 handoff (ours: stage every vaddr, in one call for the run
 * of adjacent mappings, VFIO_CHANGE_DMA_OWNER; also in one process with
 * one staging call per mapping; stock: VFIO_UPDATE_VADDR, i.e. UNMAP_DMA with FLAG_VADDR on every
 * mapping then MAP_DMA with FLAG_VADDR; and re-pinning: unmap all, map
 * again) against memory size and mapping count, in one process and to a
 * forked child; 3 MAP_DMA/UNMAP_DMA throughput, 4 KiB and 2 MiB hugetlb
 * pages; 4 GET_BITMAP and unmap with bitmap; 5 kernel memory.
 *
 * Exit status: 0; 1 when a row is missing or a figure is not sane (not
 * finite, not positive); 2 usage or set-up failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfio_lu_test.h"
#include "bench.h"

#define MiB		(1ull << 20)
#define GiB		(1ull << 30)
#define HUGE_SZ		(2 * MiB)
/* Above the x86 MSI window and any low reserved region. */
#define IOVA_BASE	(1ull << 32)
/* Mapping size of the mapping-count axis. */
#define COUNT_MSIZE	MiB
#define MAX_REPS	15
/* Handoffs per repetition (see measure_handoff()). */
#define HANDOFF_INNER	5

static const struct backend *const backends[2] = { &backend_ours, &backend_stock };
enum { OURS, STOCK };

static int reps = 3;
static bool smoke, full;

static const unsigned int mem_smoke[] = { 64 };
static const unsigned int mem_default[] = { 64, 256, 1024 };
static const unsigned int mem_full[] = { 64, 256, 1024, 4096 };
static const unsigned int cnt_smoke[] = { 1, 16 };
static const unsigned int cnt_default[] = { 1, 16, 256, 1024 };
static const unsigned int cnt_full[] = { 1, 16, 256, 1024, 4096 };

/* Guest RAM: one memfd, two views (the second is the "new" address a
 * handoff in one process moves every mapping to). */
static struct {
	int fd;
	uint8_t *va[2];
	size_t size;
} guest = { .fd = -1 };

#define die(...) do { fprintf(stderr, "vfio_bench: " __VA_ARGS__); \
		      fputc('\n', stderr); exit(2); } while (0)
#define progress(...) do { fprintf(stderr, "[bench] " __VA_ARGS__); \
			   fputc('\n', stderr); } while (0)

/* ---- containers ---- */

struct env {
	int container, group;
	const struct backend *be;
};

static void env_open(struct env *e, int which)
{
	int ret;

	e->be = backends[which];
	ret = edu_container_open(e->be, &e->container, &e->group);
	if (ret)
		die("cannot open the edu group on %s: %s", e->be->name,
		    strerror(-ret));
	/* Stock must offer what its peer rows use. */
	if (which == STOCK &&
	    ioctl(e->container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) != 1)
		die("stock backend without VFIO_UPDATE_VADDR");
}

static void env_close(struct env *e)
{
	close_fd(&e->group);
	close_fd(&e->container);
}

static uint64_t iova_of(unsigned int i, uint64_t msize)
{
	return IOVA_BASE + (uint64_t)i * msize;
}

static int map_all(int c, uint8_t *va, unsigned int n, uint64_t msize)
{
	for (unsigned int i = 0; i < n; i++) {
		int ret = vfio_map(c, va + i * msize, iova_of(i, msize), msize);

		if (ret)
			return ret;
	}
	return 0;
}

/* ---- timed sequences: each returns the total in ns (0 on error) and,
 * in *wait, the longest a mediated device's pin waits meanwhile ---- */

struct timing {
	uint64_t total, wait;
};

/* One timed ioctl; keeps the longest in *longest. */
static int tioctl(int fd, unsigned long cmd, void *arg, uint64_t *longest)
{
	uint64_t t = now_ns();
	int ret = ioctl(fd, cmd, arg);
	int err = errno;

	t = now_ns() - t;
	if (longest && t > *longest)
		*longest = t;
	return ret ? -err : 0;
}

static int stage(int c, uint8_t *va, unsigned int i, uint64_t msize,
		 uint64_t *longest)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)(va + i * msize),
		.iova = iova_of(i, msize), .size = msize,
	};

	return tioctl(c, VFIO_IOMMU_MAP_DMA, &m, longest);
}

static int invalidate(int c, unsigned int i, uint64_t msize)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_VADDR,
		.iova = iova_of(i, msize), .size = msize,
	};

	return tioctl(c, VFIO_IOMMU_UNMAP_DMA, &u, NULL);
}

/* Ours: stage the vaddrs of all @n adjacent mappings in one call. */
static int stage_range(int c, uint8_t *va, unsigned int n, uint64_t msize,
		       uint64_t *longest)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)va, .iova = iova_of(0, msize),
		.size = n * msize,
	};

	return tioctl(c, VFIO_IOMMU_MAP_DMA, &m, longest);
}

/*
 * Ours: stage every vaddr (skipped when @va is NULL: the commit then
 * keeps the current vaddrs, as a forked child inheriting them does), in
 * one call for all the (adjacent) mappings or, with @each, one call per
 * mapping, and commit.  A pin waits at most for one of these ioctls.
 */
static int ours_handoff(int c, uint8_t *va, unsigned int n, uint64_t msize,
			bool each, struct timing *t)
{
	uint64_t t0 = now_ns(), longest = 0;
	int ret = 0;

	if (va && !each)
		ret = stage_range(c, va, n, msize, &longest);
	for (unsigned int i = 0; va && each && i < n && !ret; i++)
		ret = stage(c, va, i, msize, &longest);
	if (!ret)
		ret = tioctl(c, VFIO_CHANGE_DMA_OWNER, NULL, &longest);
	t->total = now_ns() - t0;
	t->wait = longest;
	return ret;
}

/* Stock, first half of VFIO_UPDATE_VADDR: from here until every vaddr is
 * registered again, a pin of the container's memory blocks. */
static int stock_invalidate_all(int c, unsigned int n, uint64_t msize)
{
	int ret = 0;

	for (unsigned int i = 0; i < n && !ret; i++)
		ret = invalidate(c, i, msize);
	return ret;
}

static int stock_register_all(int c, uint8_t *va, unsigned int n,
			      uint64_t msize)
{
	int ret = 0;

	for (unsigned int i = 0; i < n && !ret; i++)
		ret = stage(c, va, i, msize, NULL);
	return ret;
}

static int stock_update_vaddr(int c, uint8_t *va, unsigned int n,
			      uint64_t msize, struct timing *t)
{
	uint64_t t0 = now_ns();
	int ret = stock_invalidate_all(c, n, msize);

	if (!ret)
		ret = stock_register_all(c, va, n, msize);
	t->total = t->wait = now_ns() - t0;
	return ret;
}

static int handoff(int which, int c, uint8_t *va, unsigned int n,
		   uint64_t msize, bool each, struct timing *t)
{
	if (which == OURS)
		return ours_handoff(c, va, n, msize, each, t);
	return stock_update_vaddr(c, va, n, msize, t);
}

/* Re-pinning: unmap everything, map it all again.  The device's DMA is
 * off, and pins fail, for the whole time. */
static int repin(int c, uint8_t *va, unsigned int n, uint64_t msize,
		 struct timing *t)
{
	uint64_t t0 = now_ns();
	int ret = vfio_unmap_all(c) == ~0ull ? -EIO : 0;

	if (!ret)
		ret = map_all(c, va, n, msize);
	t->total = t->wait = now_ns() - t0;
	return ret;
}

static int read_full(int fd, void *buf, size_t len)
{
	return read(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
}

/*
 * Handoff to a real forked child, which maps guest RAM itself (unless
 * @inherit: it keeps the vaddrs fork gave it), stages and commits (ours)
 * or registers its vaddrs (stock, after the parent invalidated them: the
 * old VMM's half of VFIO_UPDATE_VADDR).  The fork itself is not counted.
 * The child then waits until the parent has taken the mappings back, so
 * that no owner exits holding them.
 */
static int fork_handoff(int which, int c, uint8_t *parent_va, unsigned int n,
			uint64_t msize, bool inherit, struct timing *t)
{
	int c2p[2], p2c[2], ret = 0, status;
	uint64_t t_inval = 0;
	struct { int ret; struct timing t; } res = { .ret = -EIO };
	pid_t pid;

	if (pipe2(c2p, O_CLOEXEC) || pipe2(p2c, O_CLOEXEC))
		return -errno;
	if (which == STOCK) {
		uint64_t t0 = now_ns();

		ret = stock_invalidate_all(c, n, msize);
		t_inval = now_ns() - t0;
		if (ret)
			goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (!pid) {
		uint64_t t0 = now_ns();
		uint8_t *va = parent_va;
		char go;

		if (!inherit) {
			va = mmap(NULL, n * msize, PROT_READ | PROT_WRITE,
				  MAP_SHARED, guest.fd, 0);
			res.ret = va == MAP_FAILED ? -errno : 0;
		} else {
			res.ret = 0;
		}
		if (!res.ret && which == OURS) {
			res.ret = ours_handoff(c, inherit ? NULL : va, n, msize,
					       false, &res.t);
		} else if (!res.ret) {
			res.ret = stock_register_all(c, va, n, msize);
			res.t.wait = 0;
		}
		res.t.total = now_ns() - t0;
		if (write(c2p[1], &res, sizeof(res)) != sizeof(res) ||
		    read(p2c[0], &go, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ret = read_full(c2p[0], &res, sizeof(res));
	if (!ret)
		ret = res.ret;
	/* Take every mapping back (untimed). */
	if (which == OURS) {
		struct timing back;
		int r = ours_handoff(c, parent_va, n, msize, false, &back);

		ret = ret ? ret : r;
	} else {
		int r = stock_invalidate_all(c, n, msize);

		if (!r)
			r = stock_register_all(c, parent_va, n, msize);
		ret = ret ? ret : r;
	}
	if (write(p2c[1], "g", 1) != 1 && !ret)
		ret = -EIO;
	waitpid(pid, &status, 0);
	if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status)))
		ret = -ECHILD;
	t->total = res.t.total + t_inval;
	/* Stock: a pin blocks from the invalidation until the child's last
	 * registration (a lower bound: the fork between is not counted). */
	t->wait = which == OURS ? res.t.wait : t->total;
out:
	close(c2p[0]);
	close(c2p[1]);
	close(p2c[0]);
	close(p2c[1]);
	return ret;
}

/* ---- section 1: handoff ---- */

/* H_EACH: one process, one staging call per mapping (stock's
 * UPDATE_VADDR is per mapping anyway: the same sequence again), run
 * right after H_1PROC. */
enum { H_1PROC, H_FORK, H_INHERIT, H_EACH, H_REPIN, H_KINDS };

/* Medians [backend][kind][total, wait], in ms. */
typedef double hres_t[2][H_KINDS][2];

static void measure_handoff(unsigned int n, uint64_t msize, hres_t res)
{
	for (int b = 0; b < 2; b++) {
		double v[H_KINDS][2][MAX_REPS];
		struct env e;
		int ret, view = 0;

		env_open(&e, b);
		ret = map_all(e.container, guest.va[0], n, msize);
		/* Rep -1 warms up: under TCG the first run of a code path
		 * also pays for translating it. */
		for (int r = -1; r < reps && !ret; r++) {
			double in[H_REPIN][2][HANDOFF_INNER];
			struct timing t[H_KINDS];

			/*
			 * A handoff takes tens of microseconds, about what one
			 * preemption of QEMU's thread on a loaded host adds:
			 * each repetition is the median of HANDOFF_INNER runs.
			 * Re-pinning takes long enough to run once.
			 */
			for (int i = 0; i < HANDOFF_INNER && !ret; i++) {
				ret = handoff(b, e.container, guest.va[!view], n,
					      msize, false, &t[H_1PROC]);
				view = !view;
				/* Right after the first: both backends warm. */
				if (!ret) {
					ret = handoff(b, e.container,
						      guest.va[!view], n, msize,
						      true, &t[H_EACH]);
					view = !view;
				}
				if (!ret)
					ret = fork_handoff(b, e.container,
							   guest.va[view], n, msize,
							   false, &t[H_FORK]);
				if (!ret)
					ret = fork_handoff(b, e.container,
							   guest.va[view], n, msize,
							   true, &t[H_INHERIT]);
				for (int k = 0; k < H_REPIN && !ret; k++) {
					in[k][0][i] = t[k].total / 1e6;
					in[k][1][i] = t[k].wait / 1e6;
				}
			}
			if (!ret)
				ret = repin(e.container, guest.va[view], n,
					    msize, &t[H_REPIN]);
			if (ret || r < 0)
				continue;
			for (int k = 0; k < H_REPIN; k++)
				for (int w = 0; w < 2; w++)
					v[k][w][r] = median(in[k][w], HANDOFF_INNER);
			v[H_REPIN][0][r] = t[H_REPIN].total / 1e6;
			v[H_REPIN][1][r] = t[H_REPIN].wait / 1e6;
		}
		if (ret)
			fprintf(stderr, "vfio_bench: handoff of %u x %llu KiB on %s: %s\n",
				n, (unsigned long long)msize >> 10, e.be->name,
				strerror(-ret));
		for (int k = 0; k < H_KINDS; k++)
			for (int w = 0; w < 2; w++)
				res[b][k][w] = ret ? NAN : median(v[k][w], reps);
		vfio_unmap_all(e.container);
		env_close(&e);
	}
}

static void handoff_rows(const char *axis, double x, const char *label,
			 hres_t res, bool last)
{
	static const char *const kname[H_KINDS] = {
		"1 proc", "fork, child maps", "fork, inherited vaddrs",
		"1 proc, one stage call per mapping", "re-pin",
	};
	char series[32];
	struct row r;

	for (int k = 0; k < H_REPIN; k++) {
		for (int w = 0; w < 2; w++) {
			memset(&r, 0, sizeof(r));
			snprintf(r.section, sizeof(r.section), "handoff");
			snprintf(r.name, sizeof(r.name), "%s, %s: %s", label,
				 kname[k], w ? "mdev wait" : "total");
			if (!w) {
				snprintf(series, sizeof(series), "%s_%s", axis,
					 k == H_1PROC ? "1proc" :
					 k == H_FORK ? "fork" :
					 k == H_EACH ? "each" : "inherit");
				snprintf(r.series, sizeof(r.series), "%s", series);
			}
			r.x = x;
			snprintf(r.unit, sizeof(r.unit), "ms");
			r.ours = res[OURS][k][w];
			snprintf(r.peer_name, sizeof(r.peer_name),
				 "stock UPDATE_VADDR");
			r.peer = res[STOCK][k][w];
			r.better = LOWER;
			r.min_ratio = w ? 0 : 1.0;
			row_add(&r);
		}
	}
	/* What a user would otherwise do: re-pin on the stock kernel. */
	for (int k = 0; k < 2; k++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.section, sizeof(r.section), "handoff");
		snprintf(r.name, sizeof(r.name), "%s, %s: total", label,
			 kname[k == 0 ? H_1PROC : H_FORK]);
		snprintf(r.series, sizeof(r.series), "%s_%s_vs_repin", axis,
			 k == 0 ? "1proc" : "fork");
		r.x = x;
		snprintf(r.unit, sizeof(r.unit), "ms");
		r.ours = res[OURS][k == 0 ? H_1PROC : H_FORK][0];
		snprintf(r.peer_name, sizeof(r.peer_name), "stock re-pin");
		r.peer = res[STOCK][H_REPIN][0];
		r.better = LOWER;
		/* The target holds at 4 GiB, in one mapping or in 4096. */
		r.min_ratio = last && x >= 4096 ? 100 : 0;
		row_add(&r);
	}
	memset(&r, 0, sizeof(r));
	snprintf(r.section, sizeof(r.section), "handoff");
	snprintf(r.name, sizeof(r.name), "%s, re-pin (unmap all, map all)", label);
	snprintf(r.series, sizeof(r.series), "%s_repin", axis);
	r.x = x;
	snprintf(r.unit, sizeof(r.unit), "ms");
	r.ours = res[OURS][H_REPIN][0];
	snprintf(r.peer_name, sizeof(r.peer_name), "stock re-pin");
	r.peer = res[STOCK][H_REPIN][0];
	r.better = LOWER;
	r.min_ratio = 1.0;
	row_add(&r);
}

static void section_handoff(void)
{
	const unsigned int *mem = smoke ? mem_smoke : full ? mem_full : mem_default;
	const unsigned int *cnt = smoke ? cnt_smoke : full ? cnt_full : cnt_default;
	int nmem = smoke ? 1 : full ? 4 : 3, ncnt = smoke ? 2 : full ? 5 : 4;
	double first[2] = { NAN, NAN }, lastv[2] = { NAN, NAN };
	hres_t res;
	char label[64];
	struct row r;

	for (int i = 0; i < nmem; i++) {
		progress("handoff: one mapping of %u MiB", mem[i]);
		measure_handoff(1, mem[i] * MiB, res);
		snprintf(label, sizeof(label), "%u MiB, 1 mapping", mem[i]);
		handoff_rows("mem", mem[i], label, res, i == nmem - 1);
		for (int b = 0; b < 2; b++) {
			if (!i)
				first[b] = res[b][H_1PROC][0];
			lastv[b] = res[b][H_1PROC][0];
		}
	}
	/* Flat in memory size: the largest size's handoff over the
	 * smallest's (ours must stay within 1.5x; TCG noise is about 30%). */
	memset(&r, 0, sizeof(r));
	snprintf(r.section, sizeof(r.section), "handoff");
	snprintf(r.name, sizeof(r.name), "growth %u MiB -> %u MiB, 1 proc (x)",
		 mem[0], mem[nmem - 1]);
	snprintf(r.unit, sizeof(r.unit), "x");
	r.ours = lastv[OURS] / first[OURS];
	snprintf(r.peer_name, sizeof(r.peer_name), "stock UPDATE_VADDR");
	r.peer = lastv[STOCK] / first[STOCK];
	r.better = LOWER;
	r.max_ours = 1.5;
	row_add(&r);

	for (int i = 0; i < ncnt; i++) {
		progress("handoff: %u mappings of 1 MiB", cnt[i]);
		measure_handoff(cnt[i], COUNT_MSIZE, res);
		snprintf(label, sizeof(label), "%u x 1 MiB", cnt[i]);
		handoff_rows("count", cnt[i], label, res, i == ncnt - 1);
	}
}

/* ---- section 3: MAP_DMA / UNMAP_DMA throughput ---- */

static long hugepages_set(long n)
{
	long old = -1;
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "re");

	if (f) {
		if (fscanf(f, "%ld", &old) != 1)
			old = -1;
		fclose(f);
	}
	f = fopen("/proc/sys/vm/nr_hugepages", "we");
	if (f) {
		fprintf(f, "%ld\n", n);
		fclose(f);
	}
	return old;
}

static void section_throughput(void)
{
	uint64_t size = smoke ? 64 * MiB : full ? GiB : 256 * MiB;
	static const char *const kinds[2] = { "4 KiB pages (memfd)",
					      "2 MiB pages (hugetlb memfd)" };

	for (int h = 0; h < 2; h++) {
		double res[2][2];	/* [backend][map, unmap] GiB/s */
		uint8_t *va = guest.va[0];
		long old = -1;
		int fd = -1;

		progress("throughput: %s, %llu MiB", kinds[h],
			 (unsigned long long)(size / MiB));
		if (h) {
			old = hugepages_set(size / HUGE_SZ + 8);
			fd = memfd_create("bench-huge", MFD_CLOEXEC | MFD_HUGETLB);
			va = MAP_FAILED;
			if (fd >= 0 && !ftruncate(fd, size))
				va = mmap(NULL, size, PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_POPULATE, fd, 0);
			if (va == MAP_FAILED)
				fprintf(stderr, "vfio_bench: no hugetlb memory of %llu MiB\n",
					(unsigned long long)(size / MiB));
		}
		for (int b = 0; b < 2; b++) {
			double v[2][MAX_REPS];
			struct env e;
			int ret = va == MAP_FAILED ? -ENOMEM : 0;

			env_open(&e, b);
			for (int r = -1; r < reps && !ret; r++) {
				uint64_t t0 = now_ns(), t1;

				ret = vfio_map(e.container, va, IOVA_BASE, size);
				t1 = now_ns();
				if (!ret)
					ret = vfio_unmap(e.container, IOVA_BASE, size);
				if (r < 0)
					continue;
				v[0][r] = size / (double)GiB / ((t1 - t0) / 1e9);
				v[1][r] = size / (double)GiB / ((now_ns() - t1) / 1e9);
			}
			for (int k = 0; k < 2; k++)
				res[b][k] = ret ? NAN : median(v[k], reps);
			env_close(&e);
		}
		for (int k = 0; k < 2; k++) {
			struct row r = { .better = HIGHER, .min_ratio = 1.0 };

			snprintf(r.section, sizeof(r.section), "mapthru");
			snprintf(r.name, sizeof(r.name), "%s %llu MiB, %s",
				 k ? "UNMAP_DMA" : "MAP_DMA",
				 (unsigned long long)(size / MiB), kinds[h]);
			snprintf(r.series, sizeof(r.series), "throughput");
			r.x = h * 2 + k;
			snprintf(r.unit, sizeof(r.unit), "GiB/s");
			r.ours = res[OURS][k];
			snprintf(r.peer_name, sizeof(r.peer_name), "stock");
			r.peer = res[STOCK][k];
			row_add(&r);
		}
		if (h) {
			if (va != MAP_FAILED)
				munmap(va, size);
			close_fd(&fd);
			hugepages_set(old < 0 ? 0 : old);
		}
	}
}

/* ---- section 4: dirty bitmaps ---- */

static void section_bitmap(void)
{
	uint64_t size = smoke ? 64 * MiB : full ? GiB : 256 * MiB;
	uint64_t bsize = (size / PAGE_SZ + 63) / 64 * 8;
	double res[2][2];	/* [backend][get, unmap] ms per GiB */
	void *bits = calloc(1, bsize);

	progress("bitmaps: %llu MiB", (unsigned long long)(size / MiB));
	if (!bits)
		die("out of memory");
	for (int b = 0; b < 2; b++) {
		double v[2][MAX_REPS];
		struct env e;
		int ret;

		env_open(&e, b);
		ret = vfio_map(e.container, guest.va[0], IOVA_BASE, size);
		if (!ret)
			ret = dirty_flag(e.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
		for (int r = -1; r < reps && !ret; r++) {
			double get[HANDOFF_INNER];
			uint64_t t0, t1;
			uint64_t unmapped = 0;

			/* A read takes about as long as a small handoff, and
			 * is as exposed to a preemption of QEMU's thread: the
			 * median of HANDOFF_INNER reads. */
			for (int i = 0; i < HANDOFF_INNER && !ret; i++) {
				t0 = now_ns();
				ret = dirty_get_bitmap(e.container, IOVA_BASE,
						       size, PAGE_SZ, bits, bsize);
				get[i] = (now_ns() - t0) / 1e6;
			}
			t1 = now_ns();
			if (ret)
				break;
			ret = dirty_unmap_bitmap(e.container, IOVA_BASE, size, 0,
						 PAGE_SZ, bits, bsize, &unmapped);
			if (r >= 0) {
				v[0][r] = median(get, HANDOFF_INNER) /
					  (size / (double)GiB);
				v[1][r] = (now_ns() - t1) / 1e6 /
					  (size / (double)GiB);
			}
			if (!ret && unmapped != size)
				ret = -EIO;
			if (!ret)
				ret = vfio_map(e.container, guest.va[0],
					       IOVA_BASE, size);
		}
		if (ret)
			fprintf(stderr, "vfio_bench: bitmaps on %s: %s\n",
				e.be->name, strerror(-ret));
		for (int k = 0; k < 2; k++)
			res[b][k] = ret ? NAN : median(v[k], reps);
		dirty_flag(e.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
		vfio_unmap_all(e.container);
		env_close(&e);
	}
	free(bits);
	for (int k = 0; k < 2; k++) {
		struct row r = { .better = LOWER, .min_ratio = 1.0 };

		snprintf(r.section, sizeof(r.section), "bitmap");
		snprintf(r.name, sizeof(r.name), "%s, %llu MiB tracked, 4 KiB pages",
			 k ? "UNMAP_DMA with GET_DIRTY_BITMAP" :
			     "DIRTY_PAGES GET_BITMAP",
			 (unsigned long long)(size / MiB));
		snprintf(r.unit, sizeof(r.unit), "ms/GiB");
		r.ours = res[OURS][k];
		snprintf(r.peer_name, sizeof(r.peer_name), "stock");
		r.peer = res[STOCK][k];
		row_add(&r);
	}
}

/* ---- section 5: kernel memory ---- */

/* Slab + SecPageTables (IOMMU page tables are counted there since 6.11)
 * in KiB, after dropping caches so that reclaimable slab settles. */
static long kernel_kb(void)
{
	char line[256];
	long slab = -1, sec = 0;
	FILE *f;
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "3", 1) < 0)
			perror("drop_caches");
		close(fd);
	}
	usleep(100 * 1000);
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Slab:", 5))
			slab = strtol(line + 5, NULL, 10);
		else if (!strncmp(line, "SecPageTables:", 14))
			sec = strtol(line + 14, NULL, 10);
	}
	fclose(f);
	return slab < 0 ? -1 : slab + sec;
}

static void section_kmem(void)
{
	uint64_t size = smoke ? 64 * MiB : full ? GiB : 256 * MiB;
	unsigned int n = smoke ? 1024 : 4096;
	double res[2][2];	/* [backend][per GiB KiB, per mapping bytes] */

	progress("kernel memory: %llu MiB, %u mappings of 4 KiB",
		 (unsigned long long)(size / MiB), n);
	for (int b = 0; b < 2; b++) {
		double v[2][MAX_REPS];
		struct env e;
		int ret = 0;

		env_open(&e, b);
		for (int r = 0; r < reps && !ret; r++) {
			long k0 = kernel_kb(), k1;

			ret = vfio_map(e.container, guest.va[0], IOVA_BASE, size);
			k1 = kernel_kb();
			v[0][r] = (k1 - k0) / (size / (double)GiB);
			vfio_unmap_all(e.container);
			if (ret)
				break;
			k0 = kernel_kb();
			ret = map_all(e.container, guest.va[0], n, PAGE_SZ);
			k1 = kernel_kb();
			v[1][r] = (k1 - k0) * 1024.0 / n;
			vfio_unmap_all(e.container);
		}
		if (ret)
			fprintf(stderr, "vfio_bench: kernel memory on %s: %s\n",
				e.be->name, strerror(-ret));
		for (int k = 0; k < 2; k++)
			res[b][k] = ret ? NAN : median(v[k], reps);
		env_close(&e);
	}
	for (int k = 0; k < 2; k++) {
		struct row r = { .better = LOWER };

		snprintf(r.section, sizeof(r.section), "kmem");
		if (k)
			snprintf(r.name, sizeof(r.name),
				 "Slab+SecPageTables per mapping (%u x 4 KiB)", n);
		else
			snprintf(r.name, sizeof(r.name),
				 "Slab+SecPageTables per GiB mapped (1 x %llu MiB)",
				 (unsigned long long)(size / MiB));
		snprintf(r.unit, sizeof(r.unit), k ? "B" : "KiB/GiB");
		r.ours = res[OURS][k];
		snprintf(r.peer_name, sizeof(r.peer_name), "stock");
		r.peer = res[STOCK][k];
		row_add(&r);
	}
}

/* ---- main ---- */

static void guest_alloc(size_t size)
{
	guest.fd = memfd_create("bench-guest-ram", 0);
	if (guest.fd < 0 || ftruncate(guest.fd, size))
		die("memfd of %zu MiB: %s", size >> 20, strerror(errno));
	guest.size = size;
	/* Both views populated once, so that every MAP_DMA measures
	 * pinning, not the first fault of shmem pages or page tables. */
	guest.va[0] = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_POPULATE, guest.fd, 0);
	guest.va[1] = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_POPULATE, guest.fd, 0);
	if (guest.va[0] == MAP_FAILED || guest.va[1] == MAP_FAILED)
		die("mmap of guest RAM: %s", strerror(errno));
}

static long meminfo_mib(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10) / 1024;
	if (f)
		fclose(f);
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: vfio_bench [--smoke | --full] [--reps N] [--out DIR]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "smoke", no_argument, NULL, 's' },
		{ "full", no_argument, NULL, 'f' },
		{ "reps", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *out = NULL;
	bool reps_given = false;
	int expect, bad, opt;
	char header[256];
	struct utsname u;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': smoke = true; break;
		case 'f': full = true; break;
		case 'r': reps = atoi(optarg); reps_given = true; break;
		case 'o': out = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || (smoke && full) || reps < 1 || reps > MAX_REPS)
		usage();
	if (smoke && !reps_given)
		reps = 1;
	if (edu_group_nr() < 0 || !edu_bdf())
		die("no edu device (run inside the test VM: tools/vm-run)");
	/* A child whose parent died gets EPIPE from its report, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	guest_alloc((smoke ? 64 : full ? 4096 : 1024) * MiB);
	uname(&u);
	snprintf(header, sizeof(header),
		 "vfio_bench %s: kernel %s, guest RAM %ld MiB, %d CPUs, medians of %d",
		 smoke ? "--smoke" : full ? "--full" : "(default sizes)",
		 u.release, meminfo_mib("MemTotal"), (int)sysconf(_SC_NPROCESSORS_ONLN),
		 reps);
	progress("%s", header);

	section_handoff();
	section_throughput();
	section_bitmap();
	section_kmem();

	/* Rows per memory size and count: 8 versus stock, 2 versus
	 * re-pinning, 1 re-pin; one growth row; 4 + 2 + 2 below. */
	expect = ((smoke ? 1 : full ? 4 : 3) + (smoke ? 2 : full ? 5 : 4)) * 11 +
		 1 + 4 + 2 + 2;
	bad = rows_output(out, header);
	if (rows_count() != expect) {
		fprintf(stderr, "vfio_bench: %d rows, expected %d\n",
			rows_count(), expect);
		bad++;
	}
	if (bad) {
		fprintf(stderr, "vfio_bench: %d problem(s)\n", bad);
		return 1;
	}
	return 0;
}
