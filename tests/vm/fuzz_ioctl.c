// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl - a bounded adversarial fuzzer of vfio_iommu_lu's container
 * ioctls (docs/fuzzing.md), run in the test VM by tools/vm-run.
 *
 *   fuzz_ioctl [--seed S] [--iterations N] [--workers W]
 *              [--max-seconds T] [--verbose]
 *
 * One container of ours holds the edu device's group (so MAP_DMA pins at
 * once) and a test mdev's group.  While W worker processes throw random
 * and boundary ioctls at it, two threads of the supervising process play
 * the devices: edu DMAs to and from random IOVAs of the fuzzed window, the
 * test mdev pins, unpins and copies (vfio_pin_pages, vfio_dma_rw) there.
 *
 * Each worker runs N operations drawn from its own PRNG stream, derived
 * from (seed, worker index): MAP_DMA and UNMAP_DMA with random and boundary
 * iova, size, vaddr, flags and argsz; staged vaddrs; CHANGE_DMA_OWNER;
 * dirty START/STOP/GET_BITMAP and unmap with a bitmap, with good, NULL,
 * unmapped, read-only, short and huge bitmaps; GET_INFO; unknown ioctls;
 * munmap, remap (same object, other object, anonymous), mprotect and
 * MADV_DONTFORK of its own memory (a shared memfd inherited at the same
 * address by every worker, private anonymous memory, hugetlb if the VM
 * can reserve it).  It forks children that run their own stream and then
 * exit, return, exec /bin/true, get SIGKILLed, or exec this binary again
 * and receive the container, the memfd and the statistics over a UNIX
 * socket (SCM_RIGHTS) before going on.
 *
 * The seed fixes each process's sequence of operations, not how the
 * processes and devices interleave: real concurrency on a real kernel is
 * not replayable.  A failure prints the seed and the command line that
 * runs the same sequences again (tools/run-fuzz --seed ...).
 *
 * Oracle, besides tools/vm-run's own (kernel report 120, pages left
 * pinned 122, kmemleak 124):
 *   - every errno is one include/vfio_lu.h documents for that ioctl (so an
 *     internal -EAGAIN, or an errno nobody promised, fails the run); the
 *     test mdev never reports EREMOTEIO (a backend that pinned fewer pages
 *     than asked without an error);
 *   - a successful unmap reports a page multiple not above the size asked;
 *     an unmap whose argument cannot be written back never succeeds;
 *   - a bitmap is never written past bitmap.size (a canary follows it);
 *   - GET_INFO reports 4 KiB pages and a sane capability chain;
 *   - a process without mappings of its own whose CHANGE_DMA_OWNER failed
 *     has VmLck 0 afterwards, and so does any process after its
 *     UNMAP_DMA(ALL) succeeded (it owns nothing then);
 *   - watchdogs: alarm() around every operation of every process, and a
 *     supervisor thread watching the device threads: nothing may hang;
 *   - at the end, after every process is gone (the supervisor is their
 *     subreaper): the container is empty (the last owner's exit tore its
 *     mappings down), the supervisor's VmLck is what it was, and once the
 *     devices and container are closed the system's pinned page count is
 *     back at its baseline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfio_lu_test.h"

/* The fuzzed IOVA window: below edu's 28-bit DMA mask. */
#define WINDOW		0x100000ull
#define WINDOW_SIZE	(8ull << 20)
#define WINDOW_PAGES	(WINDOW_SIZE / PAGE_SZ)
#define SHM_SIZE	(4u << 20)	/* shared memfd, same vaddr in all forks */
#define ANON_SIZE	(1u << 20)	/* private anonymous, per process */
#define RO_SIZE		(64u << 10)	/* read-only shared memfd */
#define HUGE_SIZE	(2u << 20)	/* one 2 MiB hugetlb page, if any */
#define SCRATCH_SIZE	(64u << 10)	/* bitmaps and their canary */
#define CANARY		0xa5
#define CANARY_LEN	64

#define OP_ALARM_S	90	/* one operation longer than this is a hang */
#define MAX_CHILDREN	2	/* live forked children per worker */
#define NR_KNOWN	64	/* mappings remembered as hints */
#define RING		16	/* last operations printed on failure */
#define EXEC_TAG	"--fuzz-exec"
#define NEVER_MAPPED	0x1000ul	/* below vm.mmap_min_addr */
#define offsetofend(t, m)	(offsetof(t, m) + sizeof(((t *)0)->m))

/* Operations and their statistics rows. */
enum op {
	OP_MAP, OP_STAGE, OP_UNMAP, OP_UNMAP_BITMAP, OP_UNMAP_ALL, OP_CHOWN,
	OP_DIRTY, OP_GET_BITMAP, OP_GET_INFO, OP_BAD_ARG, OP_UNKNOWN_IOCTL,
	OP_REMAP, OP_TOUCH, OP_FORK,
	/* how children ended (counted by their parent) */
	OP_CHILD_EXIT, OP_CHILD_RETURN, OP_CHILD_EXEC_TRUE, OP_CHILD_KILLED,
	OP_CHILD_REEXEC,
	/* the device threads */
	OP_DEV_PIN, OP_DEV_UNPIN, OP_DEV_RW, OP_DEV_STATUS, OP_EDU_DMA,
	NR_OPS
};

static const char *const op_name[NR_OPS] = {
	"map", "stage_vaddr", "unmap", "unmap_bitmap", "unmap_all",
	"change_owner", "dirty_start_stop", "dirty_get_bitmap", "get_info",
	"bad_arg_pointer", "unknown_ioctl", "remap_memory", "touch_memory",
	"fork", "child_exit", "child_return", "child_exec_true",
	"child_killed", "child_reexec", "mdev_pin", "mdev_unpin", "mdev_rw",
	"mdev_status", "edu_dma",
};

/* Relative weights of the operations a process draws. */
static const unsigned int op_weight[] = {
	[OP_MAP] = 26, [OP_STAGE] = 8, [OP_UNMAP] = 12,
	[OP_UNMAP_BITMAP] = 5, [OP_UNMAP_ALL] = 2, [OP_CHOWN] = 10,
	[OP_DIRTY] = 4, [OP_GET_BITMAP] = 6, [OP_GET_INFO] = 2,
	[OP_BAD_ARG] = 2, [OP_UNKNOWN_IOCTL] = 1, [OP_REMAP] = 6,
	[OP_TOUCH] = 3, [OP_FORK] = 4,
};
#define NR_DRAWN	(OP_FORK + 1)

#define NR_BUCKETS	136	/* errno values (0: success) */

/*
 * Shared by every process (a memfd, so that re-exec'd children map it
 * too): statistics, the failure flag, hints of what is mapped.
 */
struct shared {
	atomic_long count[NR_OPS][NR_BUCKETS];
	atomic_int failed;
	atomic_int stop;		/* time cap reached */
	atomic_long ops_done;
	double deadline;		/* CLOCK_MONOTONIC seconds, 0: none */
	atomic_long worker_ops[16];	/* operations each worker drew */
	char replay[512];		/* the command line replaying the seed */
	struct {
		atomic_ullong iova, size, off;	/* off in the shm memfd */
	} known[NR_KNOWN];
};

/* One fuzzing process: a worker, a forked child, or a re-exec'd one. */
struct proc {
	char name[32];
	uint64_t seed, stream, state;
	long op_nr;
	int container, memfd, hugefd, statsfd;
	uint8_t *shm, *anon, *huge, *ro, *hole, *scratch, *argpage;
	bool worker;
	struct { pid_t pid; long kill_at; int mode; } child[MAX_CHILDREN];
	int nr_children, forks;
	char ring[RING][300];
};

static struct shared *sh;
static struct proc *cur;		/* for the alarm handler */
static char cur_desc[256];

/* ---- the PRNG: splitmix64, one stream per (seed, process) ---- */

static uint64_t rnd(struct proc *p)
{
	uint64_t z = (p->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_init(struct proc *p, uint64_t seed, uint64_t stream)
{
	p->seed = seed;
	p->stream = stream;
	p->state = seed ^ (stream * 0xd1b54a32d192ed03ull);
	rnd(p);
}

static uint64_t below(struct proc *p, uint64_t n)
{
	return n ? rnd(p) % n : 0;
}

static bool chance(struct proc *p, unsigned int pct)
{
	return below(p, 100) < pct;
}

/* ---- reporting ---- */

static void count(enum op op, int err)
{
	if (err < 0 || err >= NR_BUCKETS)
		err = NR_BUCKETS - 1;
	atomic_fetch_add(&sh->count[op][err], 1);
}

/* Stop this process as failed: what, the last operations, the replay. */
static void __attribute__((noreturn, format(printf, 2, 3)))
fail(struct proc *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	atomic_store(&sh->failed, 1);
	dprintf(1, "FUZZ FAILURE in %s (stream %#" PRIx64 ") at op #%ld: %s\n",
		p->name, p->stream, p->op_nr, msg);
	dprintf(1, "  last operations of %s, oldest first:\n", p->name);
	for (i = 0; i < RING; i++) {
		const char *s = p->ring[(p->op_nr + 1 + i) % RING];

		if (*s)
			dprintf(1, "    %s\n", s);
	}
	dprintf(1, "  replay: %s\n", sh->replay);
	if (sh->deadline)
		dprintf(1, "  (a time-capped run: --iterations N with N at least the op # of the failing worker, or of the worker whose child failed, replays the same sequences)\n");
	_exit(2);
}

static void on_alarm(int sig)
{
	char m[400];
	int n;

	(void)sig;
	n = snprintf(m, sizeof(m),
		     "FUZZ FAILURE: HANG, %s op #%ld did not return in %d s: %s\n  replay: %s\n",
		     cur ? cur->name : "?", cur ? cur->op_nr : -1L, OP_ALARM_S,
		     cur_desc, sh->replay);
	atomic_store(&sh->failed, 1);
	if (write(1, m, n) < 0)
		_exit(3);
	_exit(3);
}

/* Note what the next operation is (for the ring, the alarm, --verbose). */
static bool verbose;

static void __attribute__((format(printf, 2, 3)))
describe(struct proc *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cur_desc, sizeof(cur_desc), fmt, ap);
	va_end(ap);
	snprintf(p->ring[p->op_nr % RING], sizeof(p->ring[0]), "#%ld %s",
		 p->op_nr, cur_desc);
}

/* The result of the described operation: logged, counted, checked. */
static void result(struct proc *p, enum op op, int ret, unsigned long allowed)
{
	int err = ret < 0 ? -ret : 0;
	size_t l = strlen(p->ring[p->op_nr % RING]);

	snprintf(p->ring[p->op_nr % RING] + l, sizeof(p->ring[0]) - l,
		 " -> %s", err ? strerrorname_np(err) ?: "?" : "0");
	if (verbose)
		dprintf(1, "%s %s\n", p->name, p->ring[p->op_nr % RING]);
	count(op, err);
	if (err && (err >= 64 || !(allowed & (1ul << err))))
		fail(p, "%s returned %s (%d), not an errno documented for it",
		     op_name[op], strerrorname_np(err) ?: "?", err);
}

#define E(x)	(1ul << (x))
/* include/vfio_lu.h: the errnos of every ioctl, then each one's own. */
#define E_ALL		(E(EINVAL) | E(EFAULT) | E(EINTR) | E(ESRCH))
#define E_MAP		(E_ALL | E(EEXIST) | E(ENOSPC) | E(EPERM) | E(ENOMEM))
#define E_STAGE		(E(EINVAL) | E(EFAULT) | E(EINTR))
#define E_UNMAP		(E(EINVAL) | E(EFAULT) | E(EINTR) | E(EBUSY))
#define E_CHOWN		(E(ESRCH) | E(EINVAL) | E(ENXIO) | E(ENOMEM) | E(EINTR))
#define E_DIRTY		(E(EINVAL) | E(EFAULT) | E(EINTR) | E(ENOMEM))
#define E_INFO		(E(EINVAL) | E(EFAULT) | E(ENOMEM))
/* The test mdev (vfio_lu_test_mdev.h) passes on vfio_pin_pages() and
 * vfio_dma_rw(): no mapping (EINVAL), a bad page (EFAULT), the owner
 * gone (ESRCH), the core's limits (E2BIG); EREMOTEIO is a backend bug. */
#define E_DEV		(E(EINVAL) | E(EFAULT) | E(ESRCH) | E(E2BIG) | \
			 E(ENOMEM) | E(EINTR) | E(EPERM))

/* ---- helpers ---- */

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	alarm(OP_ALARM_S);
	ret = ioctl(fd, cmd, arg);
	ret = ret < 0 ? -errno : ret;
	alarm(0);
	return ret;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int send_fds(int sock, const int *fds, int n)
{
	char byte = 'f', cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fds(int sock, int *fds, int n)
{
	char byte, cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -EIO;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(n * sizeof(int)))
		return -EPROTO;
	memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	return 0;
}

/* ---- drawing values: mostly plausible, sometimes on a boundary ---- */

static uint64_t pick_size(struct proc *p)
{
	switch (below(p, 20)) {
	case 0: return 0;
	case 1: return 1ull << 40;				/* huge */
	case 2: return ~0ull & ~(PAGE_SZ - 1);			/* wraps */
	case 3: return PG(1 + below(p, 4)) + 1 + below(p, PAGE_SZ - 1);
	case 4: return SZ_2M;
	default: return PG(1 + below(p, 16));
	}
}

/* A remembered mapping (hint), or false. */
static bool pick_known(struct proc *p, __u64 *iova, __u64 *size, __u64 *off)
{
	int i = below(p, NR_KNOWN);

	*iova = atomic_load(&sh->known[i].iova);
	*size = atomic_load(&sh->known[i].size);
	*off = atomic_load(&sh->known[i].off);
	return *size != 0;
}

static uint64_t pick_iova(struct proc *p, uint64_t size)
{
	__u64 k, s, o;

	switch (below(p, 24)) {
	case 0: return 0;
	case 1: return -(size & ~(PAGE_SZ - 1)) - PAGE_SZ;	/* near the top */
	case 2: return -PAGE_SZ;				/* the top page */
	case 3: return WINDOW + below(p, WINDOW_SIZE) + 1;	/* unaligned */
	case 4: return 0xfee00000ull;			/* x86 MSI, reserved */
	case 5: return 1ull << (39 + below(p, 25));	/* past the aperture */
	case 6: return 0x20000000ull + PG(below(p, 16)); /* valid, past edu's mask */
	case 7: case 8: case 9:
		if (pick_known(p, &k, &s, &o))
			return k + (chance(p, 70) ? 0 : PG(below(p, 3)));
		/* fall through */
	default: return WINDOW + PG(below(p, WINDOW_PAGES));
	}
}

static uint64_t pick_vaddr(struct proc *p, uint64_t size)
{
	uint64_t room;

	switch (below(p, 24)) {
	case 0: return 0;
	case 1: return (uintptr_t)p->shm + 1 + below(p, PAGE_SZ - 1);
	case 2: return 0xffff888000000000ull;			/* kernel */
	case 3: return chance(p, 50) ? (uintptr_t)p->hole : NEVER_MAPPED;
	case 4: return (uintptr_t)p->ro + PG(below(p, RO_SIZE / PAGE_SZ));
	case 5: return -PAGE_SZ;				/* wraps */
	case 6: return 0x7ffffffff000ull;		/* user space's top */
	case 7: case 8: case 9:
		room = size < ANON_SIZE ? (ANON_SIZE - size) / PAGE_SZ : 1;
		return (uintptr_t)p->anon + PG(below(p, room));
	case 10: case 11:
		if (p->huge) {
			room = size < HUGE_SIZE ? (HUGE_SIZE - size) / PAGE_SZ : 1;
			return (uintptr_t)p->huge + PG(below(p, room));
		}
		/* fall through */
	default:
		room = size < SHM_SIZE ? (SHM_SIZE - size) / PAGE_SZ + 1 : 1;
		return (uintptr_t)p->shm + PG(below(p, room));
	}
}

/* argsz: mostly exact, sometimes short or long (tail zero or garbage). */
static uint32_t pick_argsz(struct proc *p, uint32_t exact, uint8_t *buf,
			   size_t bufsz)
{
	uint32_t a;

	switch (below(p, 20)) {
	case 0: return below(p, exact);
	case 1: case 2:
		a = exact + 8 * (1 + below(p, 8));
		if (a > bufsz)
			a = bufsz;
		memset(buf + exact, chance(p, 50) ? 0 : 0x5c, a - exact);
		return a;
	default: return exact;
	}
}

/* ---- the operations ---- */

static void remember(struct proc *p, uint64_t iova, uint64_t size,
		     uint64_t vaddr)
{
	int i = below(p, NR_KNOWN);

	if (vaddr < (uintptr_t)p->shm || vaddr + size > (uintptr_t)p->shm + SHM_SIZE)
		return;
	atomic_store(&sh->known[i].size, 0);
	atomic_store(&sh->known[i].iova, iova);
	atomic_store(&sh->known[i].off, vaddr - (uintptr_t)p->shm);
	atomic_store(&sh->known[i].size, size);
}

static void op_map(struct proc *p)
{
	uint8_t buf[128] __attribute__((aligned(8)));
	struct vfio_iommu_type1_dma_map *m = (void *)buf;
	uint32_t flags;
	int ret;

	memset(buf, 0, sizeof(buf));
	m->size = pick_size(p);
	m->iova = pick_iova(p, m->size);
	m->vaddr = pick_vaddr(p, m->size);
	switch (below(p, 20)) {
	case 0: flags = VFIO_DMA_MAP_FLAG_READ; break;
	case 1: flags = VFIO_DMA_MAP_FLAG_WRITE; break;
	case 2: flags = 0; break;
	case 3: flags = MAP_RW | (1u << (2 + below(p, 30))); break;
	default: flags = MAP_RW;
	}
	m->flags = flags;
	m->argsz = pick_argsz(p, sizeof(*m), buf, sizeof(buf));
	describe(p, "map iova=%#llx size=%#llx vaddr=%#llx flags=%#x argsz=%u",
		 m->iova, m->size, m->vaddr, m->flags, m->argsz);
	ret = xioctl(p->container, VFIO_IOMMU_MAP_DMA, m);
	result(p, OP_MAP, ret, E_MAP);
	if (!ret)
		remember(p, m->iova, m->size, m->vaddr);
}

static void op_stage(struct proc *p)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_VADDR,
	};
	__u64 off;
	int ret;

	if (chance(p, 10)) {
		/* withdraw everything staged (or a malformed withdrawal) */
		m.vaddr = chance(p, 80) ? 0 : (uintptr_t)p->shm;
	} else if (chance(p, 60) && pick_known(p, &m.iova, &m.size, &off)) {
		switch (below(p, 5)) {
		case 0: m.vaddr = (uintptr_t)p->shm + off + PAGE_SZ; break;
		case 1: m.vaddr = pick_vaddr(p, m.size); break;
		default: m.vaddr = (uintptr_t)p->shm + off;	/* same object */
		}
	} else {
		m.size = pick_size(p);
		m.iova = pick_iova(p, m.size);
		m.vaddr = pick_vaddr(p, m.size);
	}
	if (chance(p, 5))
		m.flags |= VFIO_DMA_MAP_FLAG_READ;
	describe(p, "stage iova=%#llx size=%#llx vaddr=%#llx flags=%#x",
		 m.iova, m.size, m.vaddr, m.flags);
	ret = xioctl(p->container, VFIO_IOMMU_MAP_DMA, &m);
	result(p, OP_STAGE, ret, E_STAGE);
}

/* The arguments of an unmap: a remembered mapping, a window range, or a
 * boundary. */
static void pick_unmap_range(struct proc *p, __u64 *iova, __u64 *size)
{
	__u64 off;

	if (chance(p, 35) && pick_known(p, iova, size, &off))
		return;
	if (chance(p, 75)) {
		*iova = WINDOW + PG(below(p, WINDOW_PAGES));
		*size = PG(1 + below(p, chance(p, 20) ? WINDOW_PAGES : 64));
		return;
	}
	*size = pick_size(p);
	*iova = pick_iova(p, *size);
}

/* VmLck of this process: it owns nothing now, so it must be 0. */
static void check_owns_nothing(struct proc *p, const char *after)
{
	long kb = vmlck_kb(0);

	if (kb != 0)
		fail(p, "VmLck is %ld kB after %s: locked_vm left behind", kb,
		     after);
}

static void op_unmap(struct proc *p)
{
	uint8_t buf[128] __attribute__((aligned(8)));
	struct vfio_iommu_type1_dma_unmap *u = (void *)buf;
	bool all = false, on_ro = false;
	uint64_t asked;
	int ret;

	memset(buf, 0, sizeof(buf));
	pick_unmap_range(p, &u->iova, &u->size);
	switch (below(p, 25)) {
	case 0: case 1:
		u->flags = VFIO_DMA_UNMAP_FLAG_ALL;
		all = true;
		if (chance(p, 70))
			u->iova = u->size = 0;
		break;
	case 2: u->flags = VFIO_DMA_UNMAP_FLAG_VADDR; break;
	case 3: u->flags = 1u << (3 + below(p, 29)); break;
	default: u->flags = 0;
	}
	u->argsz = pick_argsz(p, sizeof(*u), buf, sizeof(buf));
	asked = u->size;
	/* Sometimes the argument sits on a read-only page: .size cannot be
	 * written back, so the unmap must fail before removing anything. */
	if (chance(p, 5)) {
		memcpy(p->argpage, buf, sizeof(buf));
		mprotect(p->argpage, PAGE_SZ, PROT_READ);
		u = (void *)p->argpage;
		on_ro = true;
	}
	describe(p, "unmap iova=%#llx size=%#llx flags=%#x argsz=%u%s",
		 u->iova, u->size, u->flags, u->argsz, on_ro ? " (read-only arg)" : "");
	ret = xioctl(p->container, VFIO_IOMMU_UNMAP_DMA, u);
	if (on_ro)
		mprotect(p->argpage, PAGE_SZ, PROT_READ | PROT_WRITE);
	result(p, OP_UNMAP, ret, E_UNMAP);
	if (ret)
		return;
	if (on_ro)
		fail(p, "unmap succeeded though .size could not be written back");
	if (u->size % PAGE_SZ || (!all && u->size > asked))
		fail(p, "unmap of %#llx bytes reports %#llx unmapped",
		     (unsigned long long)asked, (unsigned long long)u->size);
	if (all)
		check_owns_nothing(p, "UNMAP_DMA(ALL)");
}

static void op_unmap_all(struct proc *p)
{
	uint64_t unmapped = ~0ull;
	int ret;

	describe(p, "unmap_all");
	alarm(OP_ALARM_S);
	ret = vfio_unmap_raw(p->container,
			     sizeof(struct vfio_iommu_type1_dma_unmap),
			     VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped);
	alarm(0);
	result(p, OP_UNMAP_ALL, ret, E_UNMAP);
	if (!ret && unmapped % PAGE_SZ)
		fail(p, "unmap_all reports %#llx bytes", (unsigned long long)unmapped);
	if (!ret)
		check_owns_nothing(p, "UNMAP_DMA(ALL)");
}

/* A bitmap for [iova, iova + size): pointer, byte size and page size,
 * mostly right, sometimes not.  *canary: where the canary starts (NULL
 * when the bitmap is not the scratch buffer). */
static void pick_bitmap(struct proc *p, uint64_t size, struct vfio_bitmap *b,
			uint8_t **canary)
{
	uint64_t pages = size / PAGE_SZ, need = (pages + 63) / 64 * 8;

	*canary = NULL;
	b->pgsize = chance(p, 90) ? PAGE_SZ : (uint64_t)1 << below(p, 22);
	switch (below(p, 12)) {
	case 0: b->size = need ? need - 8 : 0; break;
	case 1: b->size = 1ull << (30 + below(p, 30)); break;
	case 2: b->size = need + 1 + below(p, 7); break;
	default: b->size = need;
	}
	switch (below(p, 14)) {
	case 0: b->data = NULL; break;
	case 1: b->data = chance(p, 50) ? (void *)p->hole :
				(void *)NEVER_MAPPED; break;
	case 2: b->data = (void *)p->ro; break;
	case 3: b->data = (void *)0xffff888000000000ull; break;
	case 4: b->data = (void *)(p->scratch + 3); break;	/* misaligned */
	default:
		b->data = (void *)p->scratch;
		if (b->size + CANARY_LEN <= SCRATCH_SIZE) {
			memset(p->scratch, 0, b->size);
			*canary = p->scratch + b->size;
			memset(*canary, CANARY, CANARY_LEN);
		}
	}
}

static void check_canary(struct proc *p, const uint8_t *canary)
{
	int i;

	for (i = 0; canary && i < CANARY_LEN; i++)
		if (canary[i] != CANARY)
			fail(p, "the bitmap was written %d bytes past bitmap.size", i);
}

static void op_unmap_bitmap(struct proc *p)
{
	uint8_t buf[128] __attribute__((aligned(8)));
	struct vfio_iommu_type1_dma_unmap *u = (void *)buf;
	struct vfio_bitmap *b = (void *)u->data;
	uint8_t *canary;
	uint64_t asked;
	int ret;

	memset(buf, 0, sizeof(buf));
	pick_unmap_range(p, &u->iova, &u->size);
	u->flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	if (chance(p, 5))
		u->flags |= VFIO_DMA_UNMAP_FLAG_ALL;
	pick_bitmap(p, u->size, b, &canary);
	u->argsz = pick_argsz(p, sizeof(*u) + sizeof(*b), buf, sizeof(buf));
	if (chance(p, 5))
		u->argsz = sizeof(*u);		/* no room for the bitmap */
	asked = u->size;
	describe(p, "unmap_bitmap iova=%#llx size=%#llx flags=%#x argsz=%u pgsize=%#llx bsize=%#llx data=%p",
		 u->iova, u->size, u->flags, u->argsz, b->pgsize, b->size,
		 (void *)b->data);
	ret = xioctl(p->container, VFIO_IOMMU_UNMAP_DMA, u);
	result(p, OP_UNMAP_BITMAP, ret, E_UNMAP);
	check_canary(p, canary);
	if (!ret && (u->size % PAGE_SZ || u->size > asked))
		fail(p, "unmap of %#llx bytes reports %#llx unmapped",
		     (unsigned long long)asked, (unsigned long long)u->size);
}

static void op_chown(struct proc *p)
{
	long before = vmlck_kb(0);
	int ret;

	describe(p, "change_owner (VmLck %ld kB)", before);
	ret = xioctl(p->container, VFIO_CHANGE_DMA_OWNER,
		     (void *)(uintptr_t)rnd(p));
	result(p, OP_CHOWN, ret, E_CHOWN);
	if (ret && before == 0)
		check_owns_nothing(p, "a failed CHANGE_DMA_OWNER");
}

static void op_dirty(struct proc *p)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d) };
	int ret;

	switch (below(p, 10)) {
	case 0: d.flags = 0; break;
	case 1: d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP; break;
	case 2: d.flags = 1u << (3 + below(p, 29)); break;
	case 3: case 4: case 5: d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP; break;
	default: d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	}
	if (chance(p, 5))
		d.argsz = below(p, sizeof(d));
	describe(p, "dirty flags=%#x argsz=%u", d.flags, d.argsz);
	ret = xioctl(p->container, VFIO_IOMMU_DIRTY_PAGES, &d);
	result(p, OP_DIRTY, ret, E_DIRTY);
}

static void op_get_bitmap(struct proc *p)
{
	uint8_t buf[128] __attribute__((aligned(8)));
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)buf;
	struct vfio_iommu_type1_dirty_bitmap_get *g = (void *)d->data;
	uint8_t *canary;
	int ret;

	memset(buf, 0, sizeof(buf));
	d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	if (chance(p, 4))
		d->flags |= VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	pick_unmap_range(p, &g->iova, &g->size);
	pick_bitmap(p, g->size, &g->bitmap, &canary);
	d->argsz = pick_argsz(p, sizeof(*d) + sizeof(*g), buf, sizeof(buf));
	describe(p, "get_bitmap iova=%#llx size=%#llx argsz=%u pgsize=%#llx bsize=%#llx data=%p",
		 g->iova, g->size, d->argsz, g->bitmap.pgsize, g->bitmap.size,
		 (void *)g->bitmap.data);
	ret = xioctl(p->container, VFIO_IOMMU_DIRTY_PAGES, d);
	result(p, OP_GET_BITMAP, ret, E_DIRTY);
	check_canary(p, canary);
}

static void op_get_info(struct proc *p)
{
	struct vfio_iommu_type1_info *info = (void *)p->scratch;
	struct iommu_info ii;
	uint32_t asked;
	int ret;

	if (chance(p, 30)) {
		describe(p, "get_info (whole chain, checked)");
		alarm(OP_ALARM_S);
		ret = iommu_info_get(p->container, &ii);
		alarm(0);
		if (ret == -EPROTO)
			fail(p, "GET_INFO: malformed capability chain");
		result(p, OP_GET_INFO, ret, E_INFO);
		if (!ret && !(ii.pgsizes & PAGE_SZ))
			fail(p, "GET_INFO: no 4 KiB pages (%#" PRIx64 ")",
			     ii.pgsizes);
		return;
	}
	memset(info, 0, 4096);
	switch (below(p, 4)) {
	case 0: asked = below(p, sizeof(*info)); break;
	case 1: asked = offsetof(struct vfio_iommu_type1_info, cap_offset); break;
	default: asked = sizeof(*info) + below(p, 4096 - sizeof(*info));
	}
	info->argsz = asked;
	describe(p, "get_info argsz=%u", asked);
	ret = xioctl(p->container, VFIO_IOMMU_GET_INFO, info);
	result(p, OP_GET_INFO, ret, E_INFO);
	if (!ret && asked >= offsetofend(struct vfio_iommu_type1_info, iova_pgsizes) &&
	    (!(info->flags & VFIO_IOMMU_INFO_PGSIZES) ||
	     !(info->iova_pgsizes & PAGE_SZ)))
		fail(p, "GET_INFO: flags %#x pgsizes %#llx", info->flags,
		     (unsigned long long)info->iova_pgsizes);
	if (!ret && info->argsz < asked && asked >= sizeof(*info))
		fail(p, "GET_INFO lowered argsz from %u to %u", asked, info->argsz);
}

/* A container ioctl with an argument pointer nobody can read. */
static void op_bad_arg(struct proc *p)
{
	static const unsigned long cmds[] = {
		VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA,
		VFIO_IOMMU_DIRTY_PAGES, VFIO_IOMMU_GET_INFO,
	};
	unsigned long cmd = cmds[below(p, 4)];
	void *arg = chance(p, 30) ? NULL : chance(p, 50) ? (void *)NEVER_MAPPED :
		    (void *)p->hole;
	int ret;

	describe(p, "bad_arg cmd=%#lx arg=%p", cmd, arg);
	ret = xioctl(p->container, cmd, arg);
	result(p, OP_BAD_ARG, ret, E(EFAULT));
	if (!ret)
		fail(p, "ioctl %#lx with an unreadable argument succeeded", cmd);
}

/* Not an ioctl of the backend: ENOTTY.  VFIO_CHECK_EXTENSION: 0 or 1. */
static void op_unknown_ioctl(struct proc *p)
{
	static const int known[] = { 0, 1, 2, 12, 13, 14, 17, 22 };
	unsigned long cmd;
	int nr, i, ret;

	if (chance(p, 30)) {
		unsigned long ext = below(p, 20);

		describe(p, "check_extension %lu", ext);
		ret = xioctl(p->container, VFIO_CHECK_EXTENSION, (void *)ext);
		result(p, OP_UNKNOWN_IOCTL, ret < 0 ? ret : 0, 0);
		if (ret > 1)
			fail(p, "VFIO_CHECK_EXTENSION(%lu) = %d", ext, ret);
		return;
	}
again:
	nr = below(p, 80);
	for (i = 0; i < (int)(sizeof(known) / sizeof(known[0])); i++)
		if (nr == known[i])
			goto again;
	cmd = chance(p, 80) ? _IO(VFIO_TYPE, VFIO_BASE + nr) :
			      _IOWR(VFIO_TYPE, VFIO_BASE + nr, uint64_t);
	describe(p, "unknown ioctl %#lx", cmd);
	ret = xioctl(p->container, cmd, p->scratch);
	result(p, OP_UNKNOWN_IOCTL, ret, E(ENOTTY));
	if (!ret)
		fail(p, "unknown ioctl %#lx succeeded", cmd);
}

/* Change this process's memory under the mappings. */
static void op_remap(struct proc *p)
{
	uint64_t pages = 1 + below(p, 64);
	uint64_t first = below(p, SHM_SIZE / PAGE_SZ - pages + 1);
	uint8_t *at = p->shm + PG(first);
	size_t len = PG(pages);
	int kind = below(p, 9), ret = 0;
	void *q;

	switch (kind) {
	case 0:	/* a hole */
		describe(p, "munmap shm+%#llx len %#zx", (unsigned long long)PG(first), len);
		ret = munmap(at, len);
		break;
	case 1:	/* the same object again */
		describe(p, "remap shm+%#llx len %#zx same object", (unsigned long long)PG(first), len);
		q = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 p->memfd, PG(first));
		ret = q == MAP_FAILED ? -1 : 0;
		break;
	case 2:	/* the same memfd, another offset: other memory */
		describe(p, "remap shm+%#llx len %#zx other offset", (unsigned long long)PG(first), len);
		q = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 p->memfd, PG(below(p, SHM_SIZE / PAGE_SZ - pages + 1)));
		ret = q == MAP_FAILED ? -1 : 0;
		break;
	case 3:	/* anonymous memory */
		describe(p, "remap shm+%#llx len %#zx anonymous", (unsigned long long)PG(first), len);
		q = mmap(at, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ret = q == MAP_FAILED ? -1 : 0;
		break;
	case 4:
		describe(p, "mprotect shm+%#llx len %#zx read-only", (unsigned long long)PG(first), len);
		ret = mprotect(at, len, PROT_READ);
		break;
	case 5:
		describe(p, "madvise shm+%#llx len %#zx DONTFORK", (unsigned long long)PG(first), len);
		ret = madvise(at, len, MADV_DONTFORK);
		break;
	case 6:
		describe(p, "madvise anon DONTNEED");
		ret = madvise(p->anon, ANON_SIZE, MADV_DONTNEED);
		break;
	default: /* everything back as it was (ownership possible again) */
		describe(p, "restore shm");
		q = mmap(p->shm, SHM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, p->memfd, 0);
		ret = q == MAP_FAILED ? -1 : 0;
	}
	/* mprotect and madvise fail (ENOMEM) over a hole: that is fine. */
	result(p, OP_REMAP, ret ? -errno : 0, ~0ul);
}

/* Write and read the shared object (not through the mapping: it may be
 * a hole or read-only by now). */
static void op_touch(struct proc *p)
{
	uint8_t b[256];
	off_t off = below(p, SHM_SIZE - sizeof(b));
	ssize_t n;

	describe(p, "touch memfd+%#llx", (unsigned long long)off);
	memset(b, (int)rnd(p), sizeof(b));
	n = pwrite(p->memfd, b, sizeof(b), off);
	if (n == (ssize_t)sizeof(b))
		n = pread(p->memfd, b, sizeof(b), off);
	result(p, OP_TOUCH, n == (ssize_t)sizeof(b) ? 0 : -EIO, 0);
}

/* ---- process churn ---- */

enum child_mode { CM_EXIT, CM_RETURN, CM_EXEC_TRUE, CM_KILLED, CM_REEXEC, NR_CM };

static void run_ops(struct proc *p, long nops);

/* A forked child's end: reap it, say how it ended. */
static void reap_child(struct proc *p, int i, bool block)
{
	int status, mode = p->child[i].mode;
	pid_t r;

	alarm(block ? OP_ALARM_S : 0);
	r = waitpid(p->child[i].pid, &status, block ? 0 : WNOHANG);
	alarm(0);
	if (r == 0)
		return;
	if (r < 0)
		fail(p, "waitpid(%d): %s", p->child[i].pid, strerror(errno));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	    mode == CM_KILLED)
		count(OP_CHILD_KILLED, 0);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		count(OP_CHILD_EXIT + (mode == CM_KILLED ? CM_EXIT : mode), 0);
	else if (atomic_load(&sh->failed))
		_exit(2);	/* the child said why */
	else
		fail(p, "child %d (mode %d) ended with status %#x", r, mode,
		     status);
	p->child[i] = p->child[--p->nr_children];
}

static void reap_children(struct proc *p, bool block)
{
	int i;

	for (i = p->nr_children - 1; i >= 0; i--) {
		if (block && p->child[i].mode == CM_KILLED)
			kill(p->child[i].pid, SIGKILL);
		reap_child(p, i, block);
	}
	for (i = 0; i < p->nr_children; i++)
		if (p->child[i].mode == CM_KILLED &&
		    p->op_nr >= p->child[i].kill_at)
			kill(p->child[i].pid, SIGKILL);
}

/* This process's memory, as a new image (or the supervisor) sets it up. */
static void setup_memory(struct proc *p, void *shm_at)
{
	p->shm = mmap(shm_at, SHM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | (shm_at ? MAP_FIXED_NOREPLACE : 0), p->memfd, 0);
	if (p->shm == MAP_FAILED)
		p->shm = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, p->memfd, 0);
	p->anon = mmap(NULL, ANON_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p->scratch = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p->argpage = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p->ro = memfd_buffer_ro(RO_SIZE);
	/* Inaccessible memory: a PROT_NONE reservation kept for good (an
	 * address merely unmapped would soon be reused by a later mmap, the
	 * backend's canary included). */
	p->hole = mmap(NULL, SZ_1M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE, -1, 0);
	if (p->hole == MAP_FAILED)
		p->hole = NULL;
	p->huge = NULL;
	if (p->hugefd >= 0) {
		p->huge = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_SHARED, p->hugefd, 0);
		if (p->huge == MAP_FAILED)
			p->huge = NULL;
	}
	if (p->shm == MAP_FAILED || p->anon == MAP_FAILED ||
	    p->scratch == MAP_FAILED || p->argpage == MAP_FAILED || !p->ro ||
	    !p->hole)
		fail(p, "setting up memory: %s", strerror(errno));
	memset(p->anon, 0x3c, ANON_SIZE);
}

/* The child of a CM_REEXEC fork: drop the container, exec this binary,
 * get the descriptors back over the socket. */
static void __attribute__((noreturn)) child_reexec(struct proc *p, int sock,
						   long nops)
{
	struct reexec rx;

	close(p->container);
	close(p->memfd);
	if (p->hugefd >= 0)
		close(p->hugefd);
	reexec_init(&rx, EXEC_TAG);
	reexec_num(&rx, p->seed);
	reexec_num(&rx, p->stream);
	reexec_fd(&rx, sock);
	reexec_num(&rx, nops);
	reexec_num(&rx, chance(p, 70) ? (uintptr_t)p->shm : 0);
	reexec_num(&rx, p->hugefd >= 0);
	reexec_fd(&rx, p->statsfd);
	reexec(&rx);
	fail(p, "exec of itself: %s", strerror(errno));
}

static void op_fork(struct proc *p)
{
	int mode = below(p, NR_CM), sv[2] = { -1, -1 }, fds[3], nfds = 0;
	long nops = 5 + below(p, 30), pre = below(p, nops / 2 + 1);
	uint64_t stream = (p->stream << 8) | (uint64_t)(++p->forks & 0xff);
	pid_t pid;

	if (p->nr_children == MAX_CHILDREN) {
		describe(p, "fork: wait for a child");
		reap_child(p, 0, true);
		result(p, OP_FORK, 0, 0);
		return;
	}
	describe(p, "fork stream=%#" PRIx64 " mode=%d nops=%ld", stream, mode, nops);
	if (mode == CM_REEXEC &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail(p, "socketpair: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail(p, "fork: %s", strerror(errno));
	if (!pid) {
		struct proc *c = p;

		snprintf(c->name, sizeof(c->name), "%.20s.%d", p->name, p->forks);
		rng_init(c, p->seed, stream);
		c->op_nr = 0;
		c->worker = false;
		c->nr_children = 0;
		memset(c->ring, 0, sizeof(c->ring));
		switch (mode) {
		case CM_EXIT:
		case CM_KILLED:
			run_ops(c, nops);
			_exit(0);
		case CM_RETURN:
			run_ops(c, nops);
			exit(0);
		case CM_EXEC_TRUE:
			run_ops(c, nops);
			execl("/bin/true", "true", (char *)NULL);
			fail(c, "exec /bin/true: %s", strerror(errno));
		default:
			close(sv[0]);
			run_ops(c, pre);
			child_reexec(c, sv[1], nops - pre);
		}
	}
	p->child[p->nr_children].pid = pid;
	p->child[p->nr_children].mode = mode;
	p->child[p->nr_children].kill_at = p->op_nr + 1 + below(p, 12);
	p->nr_children++;
	if (mode == CM_REEXEC) {
		close(sv[1]);
		fds[nfds++] = p->container;
		fds[nfds++] = p->memfd;
		if (p->hugefd >= 0)
			fds[nfds++] = p->hugefd;
		/* The child may have failed before exec: then it is gone and
		 * the send fails (the reap says why). */
		send_fds(sv[0], fds, nfds);
		close(sv[0]);
	}
	result(p, OP_FORK, 0, 0);
}

static void (*const ops[NR_DRAWN])(struct proc *) = {
	[OP_MAP] = op_map, [OP_STAGE] = op_stage, [OP_UNMAP] = op_unmap,
	[OP_UNMAP_BITMAP] = op_unmap_bitmap, [OP_UNMAP_ALL] = op_unmap_all,
	[OP_CHOWN] = op_chown, [OP_DIRTY] = op_dirty,
	[OP_GET_BITMAP] = op_get_bitmap, [OP_GET_INFO] = op_get_info,
	[OP_BAD_ARG] = op_bad_arg, [OP_UNKNOWN_IOCTL] = op_unknown_ioctl,
	[OP_REMAP] = op_remap, [OP_TOUCH] = op_touch, [OP_FORK] = op_fork,
};

static enum op draw_op(struct proc *p)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < NR_DRAWN; i++)
		if (i != OP_FORK || p->worker)
			total += op_weight[i];
	r = below(p, total);
	for (i = 0; i < NR_DRAWN; i++) {
		if (i == OP_FORK && !p->worker)
			continue;
		if (r < op_weight[i])
			break;
		r -= op_weight[i];
	}
	return i;
}

static void run_ops(struct proc *p, long nops)
{
	cur = p;
	for (long n = 0; n < nops; n++) {
		if (atomic_load(&sh->failed) || atomic_load(&sh->stop))
			break;
		if (sh->deadline && now_s() > sh->deadline) {
			atomic_store(&sh->stop, 1);
			break;
		}
		p->op_nr++;
		if (p->worker)
			atomic_store(&sh->worker_ops[p->stream >> 32 & 15], p->op_nr);
		ops[draw_op(p)](p);
		atomic_fetch_add(&sh->ops_done, 1);
		if (p->worker)
			reap_children(p, false);
	}
}

/* A worker: its stream, its operations, its children, and an end that is
 * sometimes an unmap of everything and sometimes just exit (the owner's
 * exit then tears its mappings down). */
static void __attribute__((noreturn)) worker(struct proc *p, int idx, long nops)
{
	snprintf(p->name, sizeof(p->name), "w%d", idx);
	rng_init(p, p->seed, (uint64_t)(idx + 1) << 32);
	p->worker = true;
	/* Odd workers live under RLIMIT_MEMLOCK without CAP_IPC_LOCK. */
	if (idx & 1) {
		if (set_memlock_limit(SZ_2M + PG(below(p, 512))) || drop_cap_ipc_lock())
			fail(p, "dropping CAP_IPC_LOCK: %s", strerror(errno));
	}
	run_ops(p, nops);
	reap_children(p, true);
	if (chance(p, 50))
		op_unmap_all(p);
	_exit(atomic_load(&sh->failed) ? 2 : 0);
}

/* main() of a re-exec'd child: descriptors from the socket, then ops. */
static int reexec_main(char **args)
{
	static struct proc pr;
	struct proc *p = &pr;
	int sock = reexec_arg(args, 2), fds[3];
	long nops = reexec_arg(args, 3);
	bool huge = reexec_arg(args, 5);

	p->statsfd = reexec_arg(args, 6);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED,
		  p->statsfd, 0);
	if (sh == MAP_FAILED)
		return 2;
	rng_init(p, reexec_arg(args, 0), reexec_arg(args, 1));
	snprintf(p->name, sizeof(p->name), "x%#" PRIx64, p->stream);
	signal(SIGALRM, on_alarm);
	cur = p;
	alarm(OP_ALARM_S);
	if (recv_fds(sock, fds, huge ? 3 : 2))
		fail(p, "no descriptors over the socket");
	alarm(0);
	close(sock);
	p->container = fds[0];
	p->memfd = fds[1];
	p->hugefd = huge ? fds[2] : -1;
	setup_memory(p, (void *)(uintptr_t)reexec_arg(args, 4));
	run_ops(p, nops);
	return atomic_load(&sh->failed) ? 2 : 0;
}

/* ---- the devices: threads of the supervisor ---- */

struct device_thread {
	struct proc p;			/* its stream and its ring */
	int device;			/* mdev device fd, or -1: edu */
	struct edu *edu;
	atomic_int stop;
	_Atomic double op_start;	/* 0 when idle: for the watchdog */
	pthread_t thread;
};

#define MAX_HELD	256

/* Where a device aims: half the time inside a remembered mapping. */
static uint64_t device_iova(struct proc *p, uint64_t len)
{
	__u64 iova, size, off;

	if (chance(p, 50) && pick_known(p, &iova, &size, &off) &&
	    iova >= WINDOW && iova + size <= WINDOW + WINDOW_SIZE &&
	    size > len)
		return iova + below(p, size - len);
	return WINDOW + below(p, WINDOW_SIZE - len);
}

static void *mdev_thread(void *arg)
{
	struct device_thread *t = arg;
	struct proc *p = &t->p;
	static uint8_t data[2 * SZ_4K];
	struct { uint64_t iova; uint32_t n; } held[MAX_HELD];
	int nheld = 0, ret, i;

	while (!atomic_load(&t->stop) && !atomic_load(&sh->failed)) {
		uint64_t iova = device_iova(p, PAGE_SZ) & ~(PAGE_SZ - 1);
		int r = below(p, 10);

		p->op_nr++;
		t->op_start = now_s();
		if (r < 4 && nheld < MAX_HELD) {
			uint32_t n = chance(p, 95) ? 1 + below(p, 4) :
				     (uint32_t[]){ 0, 513, 600 }[below(p, 3)];
			uint32_t fl = below(p, 4);

			describe(p, "pin iova=%#llx n=%u flags=%u", (unsigned long long)iova, n, fl);
			ret = test_mdev_pin(t->device, iova, n, fl, NULL);
			result(p, OP_DEV_PIN, ret, E_DEV);
			if (!ret)
				held[nheld++] = (typeof(held[0])){ iova, n };
		} else if (r < 6 && nheld) {
			i = below(p, nheld);
			describe(p, "unpin iova=%#llx n=%u", (unsigned long long)held[i].iova, held[i].n);
			/* EINVAL: an unmap notification released it already. */
			ret = test_mdev_unpin(t->device, held[i].iova, held[i].n);
			result(p, OP_DEV_UNPIN, ret, E(EINVAL));
			held[i] = held[--nheld];
		} else if (r < 9) {
			uint64_t len = 1 + below(p, sizeof(data));
			bool wr = chance(p, 50);

			iova = device_iova(p, len);
			describe(p, "rw iova=%#llx len=%#llx write=%d", (unsigned long long)iova, (unsigned long long)len, wr);
			ret = test_mdev_rw(t->device, iova, data, len, wr);
			result(p, OP_DEV_RW, ret, E_DEV);
		} else {
			struct vfio_lu_test_mdev_status st;

			describe(p, "status");
			ret = test_mdev_status(t->device, &st);
			result(p, OP_DEV_STATUS, ret, 0);
			if (!ret && st.pin_refs < st.pinned_pages)
				fail(p, "mdev status: %llu refs < %llu pages",
				     st.pin_refs, st.pinned_pages);
		}
		t->op_start = 0;
	}
	return NULL;
}

static void *edu_thread(void *arg)
{
	struct device_thread *t = arg;
	struct proc *p = &t->p;
	int ret;

	while (!atomic_load(&t->stop) && !atomic_load(&sh->failed)) {
		uint32_t len = 1 + below(p, EDU_DMA_MAX);
		uint64_t iova = device_iova(p, len);
		uint32_t off = below(p, EDU_BUF_SIZE - EDU_DMA_MAX - 1);
		bool to_ram = chance(p, 50);

		p->op_nr++;
		t->op_start = now_s();
		describe(p, "edu dma iova=%#llx len=%u %s", (unsigned long long)iova, len,
			 to_ram ? "to RAM" : "from RAM");
		ret = edu_dma(t->edu, iova, off, len, to_ram);
		/* An unmapped IOVA only faults in the IOMMU; the engine still
		 * finishes.  A transfer that never does is a hang. */
		result(p, OP_EDU_DMA, ret, 0);
		t->op_start = 0;
	}
	return NULL;
}

/* ---- the supervisor ---- */

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

/* A 2 MiB hugetlb memfd, if the VM can reserve one more huge page. */
static int hugetlb_memfd(long *old)
{
	int fd;

	*old = read_long(NR_HUGEPAGES);
	if (*old < 0 || write_long(NR_HUGEPAGES, *old + 1) ||
	    read_long(NR_HUGEPAGES) < *old + 1)
		return -ENOMEM;
	fd = memfd_create("fuzz-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd < 0 || ftruncate(fd, HUGE_SIZE)) {
		if (fd >= 0)
			close(fd);
		write_long(NR_HUGEPAGES, *old);
		return -ENOMEM;
	}
	return fd;
}

static void print_stats(void)
{
	int op, e;

	printf("# operations (ok, then each errno):\n");
	for (op = 0; op < NR_OPS; op++) {
		long total = 0;

		for (e = 0; e < NR_BUCKETS; e++)
			total += atomic_load(&sh->count[op][e]);
		if (!total)
			continue;
		printf("#   %-18s %7ld  ok %ld", op_name[op], total,
		       atomic_load(&sh->count[op][0]));
		for (e = 1; e < NR_BUCKETS; e++) {
			long n = atomic_load(&sh->count[op][e]);

			if (n)
				printf("  %s %ld", strerrorname_np(e) ?: "?", n);
		}
		printf("\n");
	}
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--seed S] [--iterations N] [--workers W] [--max-seconds T] [--verbose]\n"
		"  N operations per worker (default 300), W workers (default 3);\n"
		"  T: stop earlier when T seconds have passed (default: no limit)\n",
		argv0);
}

/* Wait for every process below us (we are their subreaper), at most
 * secs: 0 once none is left, -1 if some still run (a hang). */
static int reap_all(double secs, int *worst)
{
	double end = now_s() + secs;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(-1, &status, WNOHANG);
		if (r < 0)
			return errno == ECHILD ? 0 : -1;
		if (r > 0) {
			/* Only a failed run leaves orphans: any status but
			 * 0 is a failure (a crash is a signal). */
			if (!*worst && WIFEXITED(status))
				*worst = WEXITSTATUS(status);
			else if (!*worst)
				*worst = 128 + WTERMSIG(status);
			continue;
		}
		if (now_s() > end)
			return -1;
		usleep(20000);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static struct proc sup;
	struct device_thread devs[2] = {};
	struct test_mdev mdev = { .uuid = "", .group_nr = -1, .group = -1,
				  .device = -1 };
	struct edu edu = { .device = -1 };
	long iterations = 300, max_seconds = 0, huge_old = -1;
	long pinned0, vmlck0, pinned_end;
	int workers = 3, group = -1, container, c, i, worst = 0;
	uint32_t avail0, left;
	uint64_t seed;
	bool have_seed = false;
	struct utsname un;
	double t0, deadline;
	char **rargs;

	rargs = reexec_args(argc, argv, EXEC_TAG, 7);
	if (rargs)
		return reexec_main(rargs);

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); have_seed = true; break;
		case 'n': iterations = strtol(optarg, NULL, 0); break;
		case 'w': workers = strtol(optarg, NULL, 0); break;
		case 't': max_seconds = strtol(optarg, NULL, 0); break;
		case 'v': verbose = true; break;
		default: usage(argv[0]); return c == 'h' ? 0 : 2;
		}
	}
	if (workers < 1 || workers > 16 || iterations < 0) {
		usage(argv[0]);
		return 2;
	}
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ts.tv_sec * 1000003ull ^ ts.tv_nsec ^ getpid();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&un);

	sup.statsfd = memfd_create("fuzz-stats", MFD_CLOEXEC);
	if (sup.statsfd < 0 || ftruncate(sup.statsfd, sizeof(*sh)))
		return perror("stats memfd"), 1;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED,
		  sup.statsfd, 0);
	if (sh == MAP_FAILED)
		return perror("mmap stats"), 1;
	snprintf(sh->replay, sizeof(sh->replay),
		 "%s --seed %#" PRIx64 " --iterations %ld --workers %d (in the VM; "
		 "on the host: tools/run-fuzz --kernel <K> --seed %#" PRIx64
		 " --iterations %ld --workers %d; kernel here: %s)",
		 argv[0], seed, iterations, workers, seed, iterations, workers,
		 un.release);
	printf("# fuzz_ioctl: seed %#" PRIx64 ", %d workers x %ld operations, kernel %s%s\n",
	       seed, workers, iterations, un.release,
	       max_seconds ? ", time cap set" : "");
	printf("# replay: %s\n", sh->replay);

	if (edu_group_nr() < 0 || !edu_bdf() || !test_mdev_available()) {
		printf("# SKIP: %s\n", edu_group_nr() < 0 ?
		       "no edu device (EDU_GROUP unset: not run by tools/vm-run?)" :
		       "the test mdev is not loaded (tools/vm-run --insmod)");
		printf("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0\n");
		return 4;
	}

	/* One container: the test mdev's group and edu's, ours proven. */
	sup.container = container = vfio_open_container();
	snprintf(sup.name, sizeof(sup.name), "supervisor");
	cur = &sup;
	if (container < 0)
		fail(&sup, "open container: %s", strerror(-container));
	if ((c = test_mdev_create_in(&mdev, container)))
		fail(&sup, "test mdev: %s", strerror(-c));
	group = vfio_open_group(container, edu_group_nr());
	if (group < 0)
		fail(&sup, "edu group: %s", strerror(-group));
	if ((c = backend_set(container, &backend_ours)))
		fail(&sup, "backend: %s", strerror(-c));
	if ((c = test_mdev_open_device(&mdev)))
		fail(&sup, "mdev device: %s", strerror(-c));
	if ((c = edu_open(&edu, group, edu_bdf())))
		fail(&sup, "edu device: %s", strerror(-c));

	sup.hugefd = hugetlb_memfd(&huge_old);
	printf("# hugetlb: %s\n", sup.hugefd >= 0 ? "one 2 MiB page" :
	       "unavailable (no huge page could be reserved): not fuzzed");
	if (sup.hugefd < 0)
		huge_old = -1;
	sup.shm = memfd_buffer(SHM_SIZE, &sup.memfd);
	if (sup.shm == MAP_FAILED)
		fail(&sup, "memfd: %s", strerror(errno));
	munmap(sup.shm, SHM_SIZE);	/* setup_memory() maps it again */
	setup_memory(&sup, NULL);
	sup.seed = seed;

	pinned0 = pinned_base();
	vmlck0 = vmlck_kb(0);
	avail0 = vfio_dma_avail(container);
	if (pinned0 < 0 || vmlck0 < 0 || !avail0)
		fail(&sup, "accounting unreadable (pinned %ld, VmLck %ld, avail %u)",
		     pinned0, vmlck0, avail0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		fail(&sup, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);

	t0 = now_s();
	sh->deadline = max_seconds ? t0 + max_seconds : 0;
	for (i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			fail(&sup, "fork: %s", strerror(errno));
		if (!pid) {
			close(edu.device);
			worker(&sup, i, iterations);
		}
	}

	/* The devices start once every worker is forked (no threads in
	 * a forked worker). */
	for (i = 0; i < 2; i++) {
		rng_init(&devs[i].p, seed, 0xde0 + i);
		snprintf(devs[i].p.name, sizeof(devs[i].p.name), i ? "edu" : "mdev");
		devs[i].device = mdev.device;
		devs[i].edu = &edu;
		if (pthread_create(&devs[i].thread, NULL,
				   i ? edu_thread : mdev_thread, &devs[i]))
			fail(&sup, "pthread_create");
	}

	/* Wait for the workers and everything they left, watching the
	 * device threads.  The per-op alarms bound each process; with a time
	 * cap, so is the whole run (a process stuck outside an ioctl). */
	deadline = max_seconds ? t0 + max_seconds + 2 * OP_ALARM_S : 0;
	for (double next_report = t0 + 60;;) {
		int r = reap_all(1, &worst);

		/* A long run says it is alive (and how far) once a minute. */
		if (now_s() > next_report) {
			printf("# %.0f s: %ld operations\n", now_s() - t0,
			       atomic_load(&sh->ops_done));
			next_report += 60;
		}

		for (i = 0; i < 2; i++) {
			double s = devs[i].op_start;

			if (s && now_s() - s > OP_ALARM_S) {
				strcpy(cur_desc, devs[i].p.ring[devs[i].p.op_nr % RING]);
				cur = &devs[i].p;
				on_alarm(0);
			}
		}
		if (!r)
			break;
		if (deadline && now_s() > deadline)
			fail(&sup, "processes still running %.0f s after the start",
			     now_s() - t0);
	}
	for (i = 0; i < 2; i++) {
		atomic_store(&devs[i].stop, 1);
		pthread_join(devs[i].thread, NULL);
	}
	print_stats();
	printf("# %ld operations in %.0f s%s\n", atomic_load(&sh->ops_done),
	       now_s() - t0, atomic_load(&sh->stop) ?
	       " (stopped by the time cap: the last sequences are cut short)" : "");
	printf("# operations of each worker's own sequence:");
	for (i = 0; i < workers; i++)
		printf(" w%d %ld", i, atomic_load(&sh->worker_ops[(i + 1) & 15]));
	printf("\n");
	if (atomic_load(&sh->failed) || worst) {
		printf("FUZZ FAILED (status %d); replay: %s\n", worst, sh->replay);
		return 1;
	}

	/* Every process is gone: the last owner's exit tore its mappings
	 * down (close-on-exit), the supervisor never owned any. */
	left = avail0;
	for (i = 0; i < 600; i++) {
		left = vfio_dma_avail(container);
		if (left == avail0)
			break;
		usleep(100000);
	}
	if (left != avail0)
		fail(&sup, "%u mappings left in the container after every process exited",
		     avail0 - left);
	if (vmlck_kb(0) != vmlck0)
		fail(&sup, "the supervisor's VmLck went from %ld to %ld kB", vmlck0,
		     vmlck_kb(0));

	test_mdev_destroy(&mdev);
	edu_close(&edu);
	close_fd(&group);
	close_fd(&container);
	munmap(sup.shm, SHM_SIZE);
	if (sup.huge)
		munmap(sup.huge, HUGE_SIZE);
	if (sup.hugefd >= 0)
		close(sup.hugefd);
	if (huge_old >= 0)
		write_long(NR_HUGEPAGES, huge_old);
	pinned_end = pinned_settled(pinned0);
	if (pinned_end != pinned0)
		fail(&sup, "pinned pages: %ld at the start, %ld at the end",
		     pinned0, pinned_end);
	printf("# pinned pages back at %ld, VmLck %ld kB, container emptied\n",
	       pinned0, vmlck0);
	printf("fuzz_ioctl: PASS, seed %#" PRIx64 "\n", seed);
	return 0;
}
