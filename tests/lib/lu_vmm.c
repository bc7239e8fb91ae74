// SPDX-License-Identifier: GPL-2.0
/*
 * The test binary as a VMM updated by the orchestrator library; see
 * lu_vmm.h.  Images report with messages on the report pipe, never with
 * the harness's assertions: every failed check sends an ERROR message
 * (file, line, condition, errno) and exits 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfio_lu_test.h"

_Static_assert(sizeof(struct lu_vmm_msg) <= PIPE_BUF,
	       "a message must be one atomic pipe write");

/* What crosses exec in the record's payload, besides the descriptors. */
struct lu_vmm_state {
	struct lu_vmm_cfg cfg;
	int32_t first_pid;
	uint32_t done;			/* updates completed */
	int64_t acquired0;		/* nr_foll_pin_acquired before the update */
	int32_t writer_pid;		/* LU_F_DIRTY: the writer process */
	int32_t dirty_before;		/* result of the reads before the update */
	int64_t writer_mark;		/* its writes just before the update */
};

/* LU_F_DIRTY: the writer's log, a shared memfd kept across exec. */
struct wlog {
	volatile uint32_t stop;
	volatile int32_t last_err;
	volatile uint64_t writes, failures;
	volatile uint64_t written[4];	/* pages written, bit per page */
};

struct img {
	struct lu_vmm_state st;
	struct liveupdate *lu;		/* the resumed description */
	int container, group, device, mgroup, mdevice;
	int guest;			/* the guest RAM memfd */
	int region_fd;			/* the described one (!= guest: REPLACE) */
	int wlog_fd;
	uint8_t *vaddr;			/* this image's mapping of the region */
	struct edu edu;
	struct wlog *wl;
};

static int g_report = -1;
static int32_t g_first_pid;

/* ---- messages ---- */

static void msg_init(struct lu_vmm_msg *m, enum lu_vmm_role role)
{
	memset(m, 0, sizeof(*m));
	m->magic = LU_VMM_MSG_MAGIC;
	m->role = role;
	m->pid = getpid();
	m->ppid = getppid();
	m->first_pid = g_first_pid;
	m->pattern = m->dma = m->mdev = 1;
	m->dirty_before = m->dirty_first = m->dirty_second = 1;
	m->dirty_later = m->dirty_content = 1;
	m->holder_vmlck_kb = -1;
	m->commit_injected = 2;
}

static void msg_send(const struct lu_vmm_msg *m)
{
	if (g_report < 0 || write(g_report, m, sizeof(*m)) != sizeof(*m))
		fprintf(stderr, "# lu_vmm %d: cannot report (role %u): %m\n",
			getpid(), m->role);
}

static __attribute__((noreturn, format(printf, 3, 4)))
void vmm_fail(const char *file, int line, const char *fmt, ...)
{
	struct lu_vmm_msg m;
	char what[160];
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	msg_init(&m, LU_ROLE_ERROR);
	snprintf(m.text, sizeof(m.text), "pid %d %s:%d: %s (errno %d %s)",
		 getpid(), file, line, what, err, strerror(err));
	fprintf(stderr, "# lu_vmm: %s\n", m.text);
	msg_send(&m);
	_exit(1);
}

/* A check in an image: on failure, report it and exit. */
#define VCK(cond) do {							\
	if (!(cond))							\
		vmm_fail(__FILE__, __LINE__, "%s", #cond);		\
} while (0)
#define VCKF(cond, ...) do {						\
	if (!(cond))							\
		vmm_fail(__FILE__, __LINE__, __VA_ARGS__);		\
} while (0)

/* ---- /proc ---- */

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

/*
 * The children of this process, at most max.  By their /proc/<pid>/stat
 * (/proc/<pid>/task/<tid>/children needs CONFIG_PROC_CHILDREN, which the
 * debug kernel lacks).
 */
static int children(pid_t *out, int max)
{
	pid_t self = getpid();
	struct dirent *e;
	DIR *d = opendir("/proc");
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < max) {
		char path[64], buf[512], *p;
		long pid = atol(e->d_name);
		ssize_t len;
		int fd;

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		/* "pid (comm) state ppid ...": comm may hold anything. */
		p = strrchr(buf, ')');
		if (p && strtol(p + 4, NULL, 10) == self)
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

/* The holder: our one child that is not the dirty writer. */
static pid_t find_holder(const struct img *im)
{
	pid_t c[16], h = -1;
	int n = children(c, 16), found = 0;

	for (int i = 0; i < n; i++)
		if (c[i] != im->st.writer_pid) {
			h = c[i];
			found++;
		}
	VCKF(found == 1, "%d children besides the writer, want the holder alone", found);
	return h;
}

/* A "Name:\tvalue" line of /proc/<pid>/status, value parsed in base. */
static int status_field(pid_t pid, const char *name, int base, uint64_t *val)
{
	char path[64], line[256];
	size_t len = strlen(name);
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			*val = strtoull(line + len + 1, NULL, base);
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

static void holder_status(pid_t h, struct lu_vmm_msg *m)
{
	uint64_t v;

	m->holder_pid = h;
	VCK(!status_field(h, "CapInh", 16, &m->cap_inh));
	VCK(!status_field(h, "CapPrm", 16, &m->cap_prm));
	VCK(!status_field(h, "CapEff", 16, &m->cap_eff));
	VCK(!status_field(h, "CapBnd", 16, &m->cap_bnd));
	VCK(!status_field(h, "CapAmb", 16, &m->cap_amb));
	VCK(!status_field(h, "NoNewPrivs", 10, &v));
	m->no_new_privs = v;
	VCK(!status_field(h, "Seccomp", 10, &v));
	m->seccomp = v;
	VCK(!status_field(h, "Seccomp_filters", 10, &v));
	m->seccomp_filters = v;
	VCK(!status_field(h, "VmLck", 10, &v));
	m->holder_vmlck_kb = v;
}

/* ---- the guest and its devices ---- */

static int mdev_round_trip(struct img *im, uint8_t *view)
{
	const uint64_t off = 0xc000;
	uint8_t data[256], back[256];
	int ret;

	fill_pattern(data, sizeof(data), getpid());
	ret = test_mdev_rw(im->mdevice, LU_VMM_IOVA + off, data, sizeof(data), true);
	if (ret)
		return ret;
	if (memcmp(view + off, data, sizeof(data)))
		return -1;
	memset(back, 0, sizeof(back));
	ret = test_mdev_rw(im->mdevice, LU_VMM_IOVA + off, back, sizeof(back), false);
	if (ret)
		return ret;
	return memcmp(back, data, sizeof(data)) ? -1 : 0;
}

/* Dirty tracking started?  A read of one page no mapping covers. */
static int dirty_probe(struct img *im)
{
	uint64_t bits = 0;
	int ret = dirty_get_bitmap(im->container,
				   LU_VMM_IOVA + im->st.cfg.guest_size + SZ_2M,
				   PAGE_SZ, PAGE_SZ, &bits, sizeof(bits));

	return !ret ? 1 : ret == -EINVAL ? 0 : ret;
}

/* The image's checks, once it owns the guest. */
static void checks(struct img *im, struct lu_vmm_msg *m)
{
	const struct lu_vmm_cfg *c = &im->st.cfg;
	uint64_t size = c->guest_size;
	uint8_t *view = im->vaddr;
	pid_t kids[16];
	long acquired = pin_acquired_now();

	m->acquired = acquired - im->st.acquired0;
	/* The described fd may not be the guest's memory (REPLACE): look at
	 * the guest through a mapping of its own memfd. */
	if (im->region_fd != im->guest) {
		view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    im->guest, 0);
		VCK(view != MAP_FAILED);
	}
	if (!(c->flags & LU_F_DIRTY))
		m->pattern = check_pattern(view + LU_VMM_SCRATCH,
					   size - LU_VMM_SCRATCH, LU_VMM_SEED) < 0 ? 0 : -1;
	else	/* the guest's content is what the device wrote */
		m->pattern = m->dirty_content;
	if (c->flags & LU_F_EDU)
		m->dma = edu_dma_round_trip(&im->edu, view, LU_VMM_IOVA,
					    getpid() & 0xff);
	if ((c->flags & LU_F_MDEV) && !(c->flags & LU_F_DIRTY))
		m->mdev = mdev_round_trip(im, view);
	m->dirty_on = dirty_probe(im);
	m->vmlck_kb = vmlck_kb(0);
	m->nfds = count_fds();
	m->nchildren = children(kids, 16);
	m->pinned = pinned_pages_now();
	if (view != im->vaddr)
		munmap(view, size);
}

/* ---- dirty tracking (LU_F_DIRTY: 1 MiB of guest, 256 pages) ---- */

#define D_NPAGES	256
#define D_NWORDS	(D_NPAGES / 64)
#define D_WLEN		200
#define D_WRITER_FIRST	128	/* the writer's pages: [128, 192) */
#define D_WRITER_N	64
#define D_WRITER_SEED	5000

enum { D_READ, D_PRE, D_HOLDER, D_COMMIT, D_LATER, D_NPHASES };

/* Pages written by phase, -1 ended.  D_READ: before the update, then
 * read (cleared); D_PRE: after that read, before the update (must not be
 * consumed by it); D_HOLDER: by the new binary before its commit, while
 * the holder owns; D_COMMIT: after the commit; D_LATER: after the exact
 * reads.  Pages repeat across phases on purpose. */
static const int d_sched[D_NPHASES][10] = {
	[D_READ]	= { 0, 1, 2, 63, 64, 100, 200, 255, -1 },
	[D_PRE]		= { 2, 5, 64, 65, 250, -1 },
	[D_HOLDER]	= { 7, 66, 127, 254, -1 },
	[D_COMMIT]	= { 10, 66, 120, 255, -1 },
	[D_LATER]	= { 33, -1 },
};

static size_t d_off(int page)
{
	return (size_t)(page * 37) % (PAGE_SZ - D_WLEN);
}

static int d_write(int device, int page, unsigned int seed)
{
	uint8_t data[D_WLEN];

	fill_pattern(data, D_WLEN, seed);
	return test_mdev_rw(device, LU_VMM_IOVA + PG(page) + d_off(page), data,
			    D_WLEN, true);
}

static void d_write_phase(struct img *im, int phase)
{
	for (int i = 0; d_sched[phase][i] >= 0; i++) {
		int p = d_sched[phase][i];
		int ret = d_write(im->mdevice, p, phase * 1000 + p);

		VCKF(!ret, "dma_rw write, phase %d page %d: %d", phase, p, ret);
	}
}

static void d_want(uint64_t *want, int from, int to)
{
	memset(want, 0, D_NWORDS * 8);
	for (int ph = from; ph <= to; ph++)
		for (int i = 0; d_sched[ph][i] >= 0; i++)
			want[d_sched[ph][i] / 64] |= 1ull << (d_sched[ph][i] % 64);
}

/* Read the bitmap and compare with want: 0 exact, -1 (text says how),
 * or the read's -errno. */
static int d_read_expect(struct img *im, const uint64_t *want, const char *what,
			 struct lu_vmm_msg *m)
{
	uint64_t got[D_NWORDS];
	int ret;

	memset(got, 0, sizeof(got));
	ret = dirty_get_bitmap(im->container, LU_VMM_IOVA, PG(D_NPAGES), PAGE_SZ,
			       got, sizeof(got));
	if (ret) {
		snprintf(m->text, sizeof(m->text), "%s: GET_BITMAP %d", what, ret);
		return ret;
	}
	for (int i = 0; i < D_NWORDS; i++)
		if (got[i] != want[i]) {
			snprintf(m->text, sizeof(m->text),
				 "%s: word %d got %#llx want %#llx (lost %#llx, invented %#llx)",
				 what, i, (unsigned long long)got[i],
				 (unsigned long long)want[i],
				 (unsigned long long)(want[i] & ~got[i]),
				 (unsigned long long)(got[i] & ~want[i]));
			fprintf(stderr, "# lu_vmm: %s\n", m->text);
			return -1;
		}
	return 0;
}

/* Every byte written by the phases up to upto, and by the writer, is in
 * buf; every other byte is 0.  0 or -1. */
static int d_content(struct img *im, const uint8_t *buf, int upto,
		     struct lu_vmm_msg *m)
{
	for (int p = 0; p < D_NPAGES; p++) {
		const uint8_t *pg = buf + PG(p);
		size_t off = d_off(p);
		long seed = -1;

		for (int ph = 0; ph <= upto; ph++)
			for (int i = 0; d_sched[ph][i] >= 0; i++)
				if (d_sched[ph][i] == p)
					seed = ph * 1000 + p;
		if (im->wl && p >= D_WRITER_FIRST && p < D_WRITER_FIRST + D_WRITER_N &&
		    (im->wl->written[p / 64] >> (p % 64) & 1))
			seed = D_WRITER_SEED + p;
		for (size_t b = 0; b < PAGE_SZ; b++)
			if ((seed < 0 || b < off || b >= off + D_WLEN) && pg[b]) {
				snprintf(m->text, sizeof(m->text),
					 "content: page %d byte %zu is %#x, not 0", p, b, pg[b]);
				return -1;
			}
		if (seed >= 0 && check_pattern(pg + off, D_WLEN, seed) >= 0) {
			snprintf(m->text, sizeof(m->text),
				 "content: page %d lacks the bytes of seed %ld", p, seed);
			return -1;
		}
	}
	return 0;
}

/* The writer: dma_rw writes to its pages until told to stop. */
static __attribute__((noreturn)) void writer_main(struct img *im)
{
	struct wlog *wl = im->wl;

	for (int fd = 3; fd < 1024; fd++)
		if (fd != im->mdevice)
			close(fd);
	for (unsigned int i = 0; !wl->stop; i++) {
		int p = D_WRITER_FIRST + i % D_WRITER_N;
		int ret = d_write(im->mdevice, p, D_WRITER_SEED + p);

		if (ret) {
			wl->failures++;
			wl->last_err = ret;
		} else {
			__atomic_fetch_or(&wl->written[p / 64], 1ull << (p % 64),
					  __ATOMIC_SEQ_CST);
			__atomic_fetch_add(&wl->writes, 1, __ATOMIC_SEQ_CST);
		}
		usleep(500);
	}
	_exit(0);
}

static void wlog_map(struct img *im)
{
	im->wl = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED,
		      im->wlog_fd, 0);
	VCK(im->wl != MAP_FAILED);
}

/* The first image: tracking (maybe) started, phases D_READ and D_PRE,
 * the writer started. */
static void dirty_before_update(struct img *im)
{
	struct lu_vmm_msg scratch;
	uint64_t want[D_NWORDS];
	bool on = im->st.cfg.flags & LU_F_DIRTY_ON;
	int ok = 0;

	VCK(im->st.cfg.guest_size == PG(D_NPAGES));
	msg_init(&scratch, LU_ROLE_ERROR);
	if (on) {
		VCK(!dirty_flag(im->container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		d_want(want, 1, 0);
		ok |= d_read_expect(im, want, "fresh", &scratch);
	}
	d_write_phase(im, D_READ);
	if (on) {
		d_want(want, D_READ, D_READ);
		ok |= d_read_expect(im, want, "before the update", &scratch);
		d_want(want, 1, 0);
		ok |= d_read_expect(im, want, "re-read before the update", &scratch);
	} else {
		uint64_t w[D_NWORDS];

		VCK(dirty_get_bitmap(im->container, LU_VMM_IOVA, PG(D_NPAGES),
				     PAGE_SZ, w, sizeof(w)) == -EINVAL);
	}
	d_write_phase(im, D_PRE);
	ok |= d_content(im, im->vaddr, D_PRE, &scratch);
	im->st.dirty_before = ok ? -1 : 0;
	if (ok)
		fprintf(stderr, "# lu_vmm: before the update: %s\n", scratch.text);

	im->wlog_fd = memfd_create("lu-wlog", MFD_CLOEXEC);
	VCK(im->wlog_fd >= 0 && !ftruncate(im->wlog_fd, PAGE_SZ));
	wlog_map(im);
	im->st.writer_pid = fork();
	VCK(im->st.writer_pid >= 0);
	if (!im->st.writer_pid)
		writer_main(im);
	/* Let it write a little before anything else happens. */
	for (int i = 0; i < 2000 && im->wl->writes < 4; i++)
		usleep(1000);
	VCK(im->wl->writes >= 4);
}

/* The new binary, committed: phase D_COMMIT, the writer stopped, reads. */
static void dirty_after_commit(struct img *im, struct lu_vmm_msg *m, uint64_t writes_at_commit)
{
	bool on = im->st.cfg.flags & LU_F_DIRTY_ON;
	uint64_t want[D_NWORDS], none[D_NWORDS];
	int status;

	d_write_phase(im, D_COMMIT);
	im->wl->stop = 1;
	VCK(waitpid(im->st.writer_pid, &status, 0) == im->st.writer_pid);
	VCK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	im->st.writer_pid = -1;
	m->writer_writes = im->wl->writes;
	m->writer_handoff = writes_at_commit - im->st.writer_mark;
	m->writer_failures = im->wl->failures;
	m->writer_err = im->wl->last_err;
	m->dirty_before = im->st.dirty_before;

	d_want(none, 1, 0);
	if (on) {
		d_want(want, D_PRE, D_COMMIT);
		for (int i = 0; i < D_NWORDS; i++)
			want[i] |= im->wl->written[i];
		m->dirty_first = d_read_expect(im, want, "first read after the commit", m);
		if (!m->dirty_first)
			m->dirty_second = d_read_expect(im, none, "second read", m);
	} else {
		uint64_t w[D_NWORDS];
		int ret = dirty_get_bitmap(im->container, LU_VMM_IOVA, PG(D_NPAGES),
					   PAGE_SZ, w, sizeof(w));

		m->dirty_first = ret == -EINVAL ? 0 : -1;
		if (ret != -EINVAL)
			snprintf(m->text, sizeof(m->text),
				 "tracking off, GET_BITMAP after the commit: %d", ret);
		m->dirty_second = 1;
	}
	d_write_phase(im, D_LATER);
	if (on && !m->dirty_first && !m->dirty_second) {
		d_want(want, D_LATER, D_LATER);
		m->dirty_later = d_read_expect(im, want, "later", m);
		if (!m->dirty_later)
			m->dirty_later = d_read_expect(im, none, "re-read later", m);
	}
	m->dirty_content = d_content(im, im->vaddr, D_LATER, m);
}

/* ---- the update ---- */

static struct liveupdate *describe(struct img *im)
{
	const struct lu_vmm_cfg *c = &im->st.cfg;
	struct liveupdate *lu = liveupdate_new();
	struct liveupdate_region r = {
		.fd = im->region_fd,
		.prot = LIVEUPDATE_PROT_READ | LIVEUPDATE_PROT_WRITE,
		.offset = 0,
		.size = c->guest_size,
		.iova = LU_VMM_IOVA,
		.vaddr = im->vaddr,
	};

	VCK(lu);
	VCK(!liveupdate_set_container(lu, im->container));
	VCK(!liveupdate_keep_fd(lu, "report", g_report));
	VCK(!liveupdate_keep_fd(lu, "guest", im->guest));
	if (c->flags & LU_F_EDU) {
		VCK(!liveupdate_keep_fd(lu, "group", im->group));
		VCK(!liveupdate_keep_fd(lu, "device", im->device));
	}
	if (c->flags & LU_F_MDEV) {
		VCK(!liveupdate_keep_fd(lu, "mgroup", im->mgroup));
		VCK(!liveupdate_keep_fd(lu, "mdevice", im->mdevice));
	}
	if (im->wlog_fd >= 0)
		VCK(!liveupdate_keep_fd(lu, "wlog", im->wlog_fd));
	VCK(!liveupdate_add_region(lu, &r));
	if (c->timeout_ms)
		VCK(!liveupdate_set_timeout_ms(lu, c->timeout_ms));
	return lu;
}

/* A file of garbage, mode 0755: its exec fails with ENOEXEC. */
static char *garbage_binary(void)
{
	static char path[64];
	uint8_t junk[4096];
	int fd;

	snprintf(path, sizeof(path), "/tmp/lu-vmm-garbage.%d", getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	VCK(fd >= 0);
	fill_pattern(junk, sizeof(junk), 3);
	junk[0] = 0x01;		/* neither "#!" nor ELF */
	VCK(write(fd, junk, sizeof(junk)) == sizeof(junk));
	VCK(!fchmod(fd, 0755));
	close(fd);
	return path;
}

/* seccomp: clone and clone3 fail with EAGAIN (glibc's fork is clone). */
static void forbid_fork(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	VCK(ctx);
	VCK(!seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAGAIN), SCMP_SYS(clone), 0));
	VCK(!seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAGAIN), SCMP_SYS(clone3), 0));
	VCK(!seccomp_load(ctx));
	seccomp_release(ctx);
}

static void cleanup(struct img *im)
{
	if (im->st.writer_pid > 0) {
		im->wl->stop = 1;
		waitpid(im->st.writer_pid, NULL, 0);
	}
	vfio_unmap_all(im->container);
	edu_close(&im->edu);
	if (im->mdevice >= 0)
		close(im->mdevice);
	if (im->mgroup >= 0)
		close(im->mgroup);
	if (im->group >= 0)
		close(im->group);
	close(im->container);
}

/*
 * Update into mode/exec.  Returns only if liveupdate_exec() did: then
 * the old VMM runs on; it reports RAN_ON with its checks.
 */
static void update(struct img *im, enum lu_vmm_mode mode, enum lu_vmm_exec exec)
{
	const struct lu_vmm_cfg *c = &im->st.cfg;
	struct liveupdate *lu = describe(im);
	struct lu_vmm_msg m;
	char smode[16], sfd[16], *big = NULL, *garbage = NULL;
	char *argv[6] = { program_invocation_name, LU_VMM_NEW_TAG, smode, sfd, NULL, NULL };
	const char *path = "/proc/self/exe";
	char syscall_nr[16];
	int ret;

	snprintf(smode, sizeof(smode), "%d", mode);
	snprintf(sfd, sizeof(sfd), "%d", g_report);
	switch (exec) {
	case LU_EXEC_SELF:
		break;
	case LU_EXEC_MISSING:
		path = "/nonexistent/lu-vmm-next";
		break;
	case LU_EXEC_ENOEXEC:
		path = garbage = garbage_binary();
		break;
	case LU_EXEC_E2BIG:
		big = malloc(200 << 10);
		VCK(big);
		memset(big, 'x', (200 << 10) - 1);
		big[(200 << 10) - 1] = 0;
		argv[4] = big;
		break;
	}
	if (c->holder_syscall >= 0) {
		snprintf(syscall_nr, sizeof(syscall_nr), "%d", c->holder_syscall);
		VCK(!setenv("LIVEUPDATE_TEST_HOLDER_SYSCALL", syscall_nr, 1));
	}
	if (im->wl)
		im->st.writer_mark = im->wl->writes;
	im->st.acquired0 = pin_acquired_now();
	VCK(!liveupdate_set_payload(lu, &im->st, sizeof(im->st)));
	if (c->flags & LU_F_NO_FORK)
		forbid_fork();

	msg_init(&m, LU_ROLE_RAN_ON);
	ret = liveupdate_exec(lu, path, argv, NULL, &m.report);

	/* No exec happened, or it failed: we run on. */
	if (im->region_fd != im->guest) {
		/* REPLACE: our guest RAM mapping back where it was. */
		VCK(mmap(im->vaddr, c->guest_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, im->guest, 0) == im->vaddr);
	}
	m.ret = ret;
	m.update = im->st.done;
	unsetenv("LIVEUPDATE_TEST_HOLDER_SYSCALL");
	if (garbage)
		unlink(garbage);
	free(big);
	liveupdate_free(lu);
	checks(im, &m);
	msg_send(&m);
}

static void img_init(struct img *im)
{
	memset(im, 0, sizeof(*im));
	im->container = im->group = im->device = im->mgroup = im->mdevice = -1;
	im->guest = im->region_fd = im->wlog_fd = -1;
	im->edu.device = -1;
	im->st.writer_pid = -1;
}

static int first_image(const struct lu_vmm_cfg *cfg)
{
	struct img im;
	uint64_t size = cfg->guest_size;
	unsigned int mfd = MFD_CLOEXEC | (cfg->flags & LU_F_HUGETLB ? MFD_HUGETLB : 0);

	img_init(&im);
	im.st.cfg = *cfg;
	im.st.first_pid = getpid();
	if (!im.st.cfg.updates)
		im.st.cfg.updates = 1;

	if (cfg->memlock)
		VCK(!set_memlock_limit(cfg->memlock));
	if (cfg->flags & LU_F_NO_IPC_LOCK)
		VCK(!drop_cap_ipc_lock());
	im.container = vfio_open_container();
	VCK(im.container >= 0);
	if (cfg->flags & LU_F_EDU) {
		/* The group of a process that just exited may still be busy. */
		for (int i = 0; i < 100; i++) {
			im.group = vfio_open_group(im.container, edu_group_nr());
			if (im.group != -EBUSY)
				break;
			usleep(50 * 1000);
		}
		VCKF(im.group >= 0, "edu group: %d", im.group);
	}
	if (cfg->flags & LU_F_MDEV) {
		im.mgroup = vfio_open_group(im.container, cfg->mdev_group_nr);
		VCKF(im.mgroup >= 0, "mdev group %d: %d", cfg->mdev_group_nr, im.mgroup);
	}
	VCK(!backend_set(im.container, &backend_ours));
	if (cfg->flags & LU_F_EDU) {
		VCK(!edu_open(&im.edu, im.group, edu_bdf()));
		im.device = im.edu.device;
	}
	if (cfg->flags & LU_F_MDEV) {
		im.mdevice = ioctl(im.mgroup, VFIO_GROUP_GET_DEVICE_FD, cfg->mdev_uuid);
		VCK(im.mdevice >= 0);
	}

	im.guest = memfd_create("lu-guest", mfd);
	VCK(im.guest >= 0);
	VCK(!ftruncate(im.guest, size));
	im.vaddr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, im.guest, 0);
	VCK(im.vaddr != MAP_FAILED);
	if (!(cfg->flags & LU_F_DIRTY)) {
		memset(im.vaddr, 0, LU_VMM_SCRATCH);
		fill_pattern(im.vaddr + LU_VMM_SCRATCH, size - LU_VMM_SCRATCH, LU_VMM_SEED);
	}
	if (cfg->flags & LU_F_DONTFORK)
		VCK(!madvise(im.vaddr, size, MADV_DONTFORK));
	VCK(!vfio_map(im.container, im.vaddr, LU_VMM_IOVA, size));
	VCKF(vmlck_kb(0) == (cfg->flags & LU_F_EDU ? (long)(size >> 10) : 0),
	     "VmLck %ld after MAP_DMA", vmlck_kb(0));
	if (cfg->flags & LU_F_EDU)
		VCK(!edu_dma_round_trip(&im.edu, im.vaddr, LU_VMM_IOVA, 1));
	im.region_fd = im.guest;
	if (cfg->flags & LU_F_REPLACE) {
		im.region_fd = memfd_create("lu-other", mfd);
		VCK(im.region_fd >= 0 && !ftruncate(im.region_fd, size));
		VCK(mmap(im.vaddr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 im.region_fd, 0) == im.vaddr);
	}
	if (cfg->flags & LU_F_DIRTY)
		dirty_before_update(&im);
	if (cfg->memlock_late)
		VCK(!set_memlock_limit(cfg->memlock_late));

	update(&im, cfg->mode, cfg->exec);
	cleanup(&im);
	return 0;
}

/* The record, copied into a new memfd, tampered with, over its fd. */
static void tamper_record(enum lu_vmm_mode mode)
{
	const char *v = getenv(LIVEUPDATE_ENV_STATE);
	struct stat st;
	uint8_t *buf;
	int fd, copy;

	VCK(v);
	fd = atoi(v);
	VCK(!fstat(fd, &st) && st.st_size > 64);
	buf = malloc(st.st_size);
	VCK(buf && pread(fd, buf, st.st_size, 0) == st.st_size);
	if (mode == LU_MODE_CORRUPT)
		buf[st.st_size - 3] ^= 0x10;	/* in the payload */
	else
		(*(uint32_t *)(buf + 8))++;	/* the version */
	copy = memfd_create("lu-tampered", 0);
	VCK(copy >= 0 && pwrite(copy, buf, st.st_size, 0) == st.st_size);
	VCK(dup2(copy, fd) == fd);
	close(copy);
	free(buf);
}

static int named_fd(struct liveupdate *lu, const char *name)
{
	int fd = liveupdate_fd(lu, name);

	return fd < 0 ? -1 : fd;
}

/*
 * A binary started by an update (mode as told), or the previous binary
 * restarted by the holder (mode LU_MODE_OK), with lu resumed.
 */
static int resumed_image(struct liveupdate *lu, enum lu_vmm_mode mode)
{
	const struct liveupdate_region *reg = liveupdate_region(lu, 0);
	bool restarted = liveupdate_rollback_reason(lu) != NULL;
	struct lu_vmm_msg m;
	const void *payload;
	uint64_t size, writes_at_commit = 0;
	size_t len;
	int ret;
	struct img im;

	img_init(&im);
	payload = liveupdate_payload(lu, &len);
	VCK(payload && len == sizeof(im.st));
	memcpy(&im.st, payload, len);
	g_first_pid = im.st.first_pid;
	size = im.st.cfg.guest_size;
	im.lu = lu;
	im.container = liveupdate_container(lu);
	im.group = named_fd(lu, "group");
	im.device = named_fd(lu, "device");
	im.mgroup = named_fd(lu, "mgroup");
	im.mdevice = named_fd(lu, "mdevice");
	im.guest = named_fd(lu, "guest");
	im.wlog_fd = named_fd(lu, "wlog");
	VCK(reg && liveupdate_nr_regions(lu) == 1 && reg->size == size &&
	    reg->iova == LU_VMM_IOVA && !reg->vaddr);
	im.region_fd = reg->fd;
	if (im.wlog_fd >= 0)
		wlog_map(&im);
	if (restarted)
		mode = LU_MODE_OK;

	msg_init(&m, restarted ? LU_ROLE_RESTARTED : LU_ROLE_UPDATED);
	if (restarted)
		snprintf(m.rollback, sizeof(m.rollback), "%s", liveupdate_rollback_reason(lu));
	/* The holder owns: the device writes on. */
	if ((im.st.cfg.flags & LU_F_DIRTY) && !restarted)
		d_write_phase(&im, D_HOLDER);

	switch (mode) {
	case LU_MODE_DIE:
	case LU_MODE_HANG: {
		struct lu_vmm_msg d;

		msg_init(&d, LU_ROLE_DYING);
		d.ret = mode;
		msg_send(&d);
		if (mode == LU_MODE_DIE)
			kill(getpid(), SIGKILL);
		for (;;)
			pause();
	}
	case LU_MODE_BAD_STAGE:
		/* Page aligned, but the range wraps: the stage's EINVAL. */
		VCK(!liveupdate_region_set_vaddr(lu, 0, (void *)(~(uintptr_t)0 & ~(PAGE_SZ - 1))));
		break;
	case LU_MODE_BAD_COMMIT: {
		void *anon = mmap(NULL, size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		VCK(anon != MAP_FAILED);
		VCK(!liveupdate_region_set_vaddr(lu, 0, anon));
		break;
	}
	case LU_MODE_KILL_HOLDER: {
		pid_t h = find_holder(&im);
		siginfo_t si;

		m.holder_pid = h;
		VCK(!kill(h, SIGKILL));
		/* Dead (not reaped: the library reaps its holder). */
		VCK(!waitid(P_PID, h, &si, WEXITED | WNOWAIT));
		break;
	}
	case LU_MODE_STATUS:
		holder_status(find_holder(&im), &m);
		break;
	default:
		break;
	}
	/* QEMU-like: the VMM maps guest RAM itself, MADV_DONTFORK. */
	if ((im.st.cfg.flags & LU_F_DONTFORK) && !liveupdate_region(lu, 0)->vaddr) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       im.region_fd, 0);

		VCK(p != MAP_FAILED);
		VCK(!madvise(p, size, MADV_DONTFORK));
		VCK(!liveupdate_region_set_vaddr(lu, 0, p));
	}

	if (!restarted && im.st.cfg.commit_fail_nth) {
		/* The fault-injection sweep (tests/vm/fail_nth.c). */
		VCK(!fail_nth_setup());
		VCK(!fail_nth_arm(im.st.cfg.commit_fail_nth));
		struct lu_vmm_msg a;

		ret = liveupdate_commit(lu, &m.report);
		m.commit_injected = fail_nth_disarm();
		m.commit_left = fail_nth_left;
		/* At once: what follows may not get to report (a lost
		 * "committed" makes the holder kill us). */
		msg_init(&a, LU_ROLE_ARMED);
		a.ret = ret;
		a.commit_injected = m.commit_injected;
		a.commit_left = m.commit_left;
		msg_send(&a);
	} else {
		ret = liveupdate_commit(lu, &m.report);
	}
	if (im.wl)
		writes_at_commit = im.wl->writes;
	m.ret = ret;
	if (ret) {
		/* The holder restarts the previous binary: exit, hands off. */
		m.role = LU_ROLE_REFUSED;
		msg_send(&m);
		return 1;
	}
	im.vaddr = liveupdate_region(lu, 0)->vaddr;
	VCK(im.vaddr);
	/* Restarted by the holder's spare: the holder has nothing left to
	 * do and must be gone (we are then its reaper's). */
	for (int i = 0; restarted && i < 2000 && getppid() == m.report.holder_pid; i++)
		usleep(1000);
	m.ppid = getppid();
	if (im.device >= 0)
		VCK(!edu_adopt(&im.edu, im.device));
	if (!restarted)
		im.st.done++;
	m.update = im.st.done;
	if ((im.st.cfg.flags & LU_F_DIRTY) && !restarted)
		dirty_after_commit(&im, &m, writes_at_commit);
	checks(&im, &m);
	msg_send(&m);

	if (im.st.done < im.st.cfg.updates &&
	    (!restarted || (im.st.cfg.flags & LU_F_RETRY)))
		update(&im, LU_MODE_OK, LU_EXEC_SELF);	/* returns if no exec */
	cleanup(&im);
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int cfg_decode(const char *hex, struct lu_vmm_cfg *cfg)
{
	uint8_t *p = (uint8_t *)cfg;

	if (strlen(hex) != 2 * sizeof(*cfg))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(*cfg); i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		p[i] = hi << 4 | lo;
	}
	return 0;
}

bool lu_vmm_image(int argc, char **argv)
{
	return argc >= 2 && (!strcmp(argv[1], LU_VMM_TAG) ||
			     !strcmp(argv[1], LU_VMM_NEW_TAG));
}

int lu_vmm_main(int argc, char **argv)
{
	struct liveupdate *lu = NULL;
	struct lu_vmm_cfg cfg;
	int ret, mode = LU_MODE_OK;

	if (!strcmp(argv[1], LU_VMM_TAG)) {
		/* First start, or the previous binary restarted. */
		if (argc != 3 || cfg_decode(argv[2], &cfg)) {
			fprintf(stderr, "# lu_vmm: bad arguments\n");
			return 2;
		}
		g_report = cfg.report_fd;
		g_first_pid = getpid();
		ret = liveupdate_resume(&lu);
		VCKF(ret >= 0, "liveupdate_resume() of a restart: %d", ret);
		if (!ret)
			return first_image(&cfg);
		VCK(liveupdate_rollback_reason(lu));
		return resumed_image(lu, LU_MODE_OK);
	}
	/* Started by an update: "--lu-new <mode> <report fd>". */
	if (argc != 4) {
		fprintf(stderr, "# lu_vmm: bad arguments to the new binary\n");
		return 2;
	}
	mode = atoi(argv[2]);
	g_report = atoi(argv[3]);
	g_first_pid = -1;
	if (mode == LU_MODE_CORRUPT || mode == LU_MODE_VERSION)
		tamper_record(mode);
	ret = liveupdate_resume(&lu);
	if (ret < 0) {
		struct lu_vmm_msg m;

		/* The holder restarts the previous binary; we exit. */
		msg_init(&m, LU_ROLE_REFUSED);
		m.ret = ret;
		snprintf(m.text, sizeof(m.text), "liveupdate_resume(): %s", strerror(-ret));
		msg_send(&m);
		return 1;
	}
	VCKF(ret == 1, "the new binary was not resumed: %d", ret);
	return resumed_image(lu, mode);
}

/* ---- the test's side ---- */

struct lu_vmm_cfg lu_vmm_cfg_default(void)
{
	struct lu_vmm_cfg c = {
		.flags = LU_F_EDU | LU_F_DONTFORK,
		.mode = LU_MODE_OK,
		.exec = LU_EXEC_SELF,
		.updates = 1,
		.guest_size = 4u << 20,
		.timeout_ms = 10000,
		.holder_syscall = -1,
		.report_fd = -1,
		.mdev_group_nr = -1,
	};

	return c;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void reaped(struct lu_run *run, pid_t pid, int status)
{
	if (pid == run->vmm)
		run->vmm_status = status;
	if (run->nprocs < LU_RUN_MAX_PROCS) {
		run->proc[run->nprocs] = pid;
		run->proc_status[run->nprocs] = status;
	}
	run->nprocs++;
}

/* Reap every child until there is none; after deadline kill them. */
static void reap_all(struct lu_run *run, double deadline)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			reaped(run, pid, status);
			continue;
		}
		if (pid < 0)	/* ECHILD: nobody left */
			return;
		if (now_s() > deadline) {
			pid_t c[64];
			int n = children(c, 64);

			for (int i = 0; i < n; i++) {
				fprintf(stderr, "# lu_run: pid %d left behind, killed\n", c[i]);
				kill(c[i], SIGKILL);
				run->leftover++;
			}
			deadline = now_s() + 3600;
		}
		usleep(5000);
	}
}

int lu_vmm_run(const struct lu_vmm_cfg *cfg0, struct lu_run *run, int timeout_s)
{
	struct lu_vmm_cfg cfg = *cfg0;
	char hex[2 * sizeof(cfg) + 1];
	double t0 = now_s(), deadline = t0 + timeout_s;
	int p[2];

	memset(run, 0, sizeof(*run));
	run->vmm_status = -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) || pipe2(p, O_CLOEXEC))
		return -errno;
	cfg.report_fd = p[1];
	for (size_t i = 0; i < sizeof(cfg); i++)
		sprintf(hex + 2 * i, "%02x", ((uint8_t *)&cfg)[i]);
	fflush(NULL);
	run->vmm = fork();
	if (run->vmm < 0)
		return -errno;
	if (!run->vmm) {
		fcntl(p[1], F_SETFD, 0);
		close(p[0]);
		execl("/proc/self/exe", program_invocation_short_name, LU_VMM_TAG,
		      hex, (char *)NULL);
		_exit(127);
	}
	close(p[1]);

	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		struct lu_vmm_msg m;
		double left = deadline - now_s();
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = read(p[0], &m, sizeof(m));
		if (n == 0) {
			run->eof = true;
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(m) || m.magic != LU_VMM_MSG_MAGIC) {
			run->bad_msgs++;
			if (n < 0)
				break;
			continue;
		}
		if (run->nmsg < LU_RUN_MAX_MSGS)
			run->msg[run->nmsg] = m;
		run->nmsg++;
	}
	close(p[0]);
	/* Every writer gone: every process should be exiting.  If the pipe
	 * stayed open, whoever holds it is killed now. */
	reap_all(run, run->eof ? now_s() + 10 : now_s());
	run->seconds = now_s() - t0;
	return 0;
}

const struct lu_vmm_msg *lu_run_find(const struct lu_run *run, enum lu_vmm_role role)
{
	for (int i = 0; i < run->nmsg && i < LU_RUN_MAX_MSGS; i++)
		if (run->msg[i].role == role)
			return &run->msg[i];
	return NULL;
}

int lu_run_count(const struct lu_run *run, enum lu_vmm_role role)
{
	int n = 0;

	for (int i = 0; i < run->nmsg && i < LU_RUN_MAX_MSGS; i++)
		n += run->msg[i].role == role;
	return n;
}

int lu_run_status_of(const struct lu_run *run, pid_t pid)
{
	for (int i = 0; i < run->nprocs && i < LU_RUN_MAX_PROCS; i++)
		if (run->proc[i] == pid)
			return run->proc_status[i];
	return -1;
}

const char *lu_vmm_role_name(uint32_t role)
{
	static const char *const names[] = {
		[LU_ROLE_ERROR] = "error", [LU_ROLE_RAN_ON] = "ran-on",
		[LU_ROLE_UPDATED] = "updated", [LU_ROLE_RESTARTED] = "restarted",
		[LU_ROLE_REFUSED] = "refused", [LU_ROLE_DYING] = "dying",
		[LU_ROLE_ARMED] = "armed",
	};

	return role < sizeof(names) / sizeof(names[0]) && names[role] ? names[role] : "?";
}

void lu_vmm_msg_describe(const struct lu_vmm_msg *m, char *buf, size_t len)
{
	const struct liveupdate_report *r = &m->report;

	snprintf(buf, len,
		 "%s pid %d (first %d) ret %d update %u | %s error %d step '%s': %s"
		 " | %.0f ms, pins %lu vmlck %lu/%lu/%lu | pattern %d dma %d mdev %d vmlck %ld"
		 " fds %ld children %ld acquired %ld%s%s%s%s",
		 lu_vmm_role_name(m->role), m->pid, m->first_pid, m->ret, m->update,
		 liveupdate_outcome_name(r->outcome), r->error, r->step, r->message,
		 r->phase_ns[LIVEUPDATE_PHASE_TOTAL] / 1e6, (unsigned long)r->pins_acquired, (unsigned long)r->vmlck_before_kb,
		 (unsigned long)r->vmlck_holder_kb, (unsigned long)r->vmlck_after_kb,
		 m->pattern, m->dma, m->mdev, (long)m->vmlck_kb, (long)m->nfds,
		 (long)m->nchildren, (long)m->acquired,
		 m->rollback[0] ? " | rollback: " : "", m->rollback,
		 m->text[0] ? " | " : "", m->text);
}

static long read_long(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static int write_long(const char *path, long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), len, ret = 0;

	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld", v);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

int lu_hugepages_reserve(long n, long *old)
{
	long now;

	*old = read_long(NR_HUGEPAGES);
	if (*old < 0)
		return *old;
	if (*old >= n)
		return 0;
	if (write_long(NR_HUGEPAGES, n))
		return -errno;
	now = read_long(NR_HUGEPAGES);
	if (now < n) {
		lu_hugepages_restore(*old);
		return -ENOMEM;
	}
	return 0;
}

void lu_hugepages_restore(long old)
{
	if (old >= 0 && read_long(NR_HUGEPAGES) != old)
		write_long(NR_HUGEPAGES, old);
}
