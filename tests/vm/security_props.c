// SPDX-License-Identifier: GPL-2.0
/*
 * Security properties of DMA ownership on vfio_iommu_lu, one test each
 * (docs/ownership.md, "Security properties", says which other suites
 * cover the rest).  The attacker is a "stranger": a process exec'd afresh
 * (no memory shared with the owner), running as nobody (uid 65534, no
 * capability) and root of a user namespace of its own, which receives the
 * container, group and device descriptors over a UNIX socket
 * (SCM_RIGHTS).  It has its own memory, can mount a FUSE file system and
 * holds a userfaultfd (created before it dropped its privileges, so
 * kernel faults would reach it too).
 *
 *   stranger_cannot_map
 *			MAP_DMA from the stranger is EPERM; the owner still
 *			maps, VmLck and pins unchanged, edu DMA works.
 *   stranger_cannot_take_without_object
 *			VFIO_CHANGE_DMA_OWNER is ENXIO with nothing at the
 *			owner's vaddr, with its own anonymous memory, its own
 *			memfd, a file of its FUSE mount, a userfaultfd region
 *			(no fault raised: the check reads no page), and with
 *			its own memfd staged (VFIO_DMA_MAP_FLAG_VADDR); the
 *			owner's memory is out of its reach through
 *			/proc/<owner>/map_files; nothing changed.
 *   leak_survives_owner_exit, leak_survives_owner_exec
 *			the stranger holds every descriptor (and the owner's
 *			userfaultfd, which refers to the owner's mm) while the
 *			owner, a forked holder, exits or execs: every page is
 *			unpinned and unaccounted while the stranger lives; it
 *			finds the container empty and can pin only memory of
 *			its own, charged to itself, released when it exits.
 *   fork_cannot_multiply_memlock
 *			an owner at its RLIMIT_MEMLOCK forks three children:
 *			none can map (EPERM); the charge moves whole with
 *			ownership, so at every step the VmLck of the four
 *			processes sums to the pinned size and each stays
 *			within its own limit (a new owner at its limit cannot
 *			map more, the old owner that used its freed budget
 *			for mlock cannot take the mappings back: ENOMEM).
 *   hole_punch_device_keeps_old_pages
 *			FALLOC_FL_PUNCH_HOLE in a DMA-mapped memfd: the process
 *			sees new (zero) pages, the device keeps reading and
 *			writing the old pinned ones; a forked holder still
 *			takes ownership (same object, same offsets), and sees
 *			the new pages; UNMAP_DMA releases the old pages.
 *   truncate_regrow_device_keeps_old_pages
 *			ftruncate to 0 and back: ownership moves while the
 *			file is empty; the device keeps the old pages; the
 *			holder's exit releases them.
 *   cap_ipc_lock_round_trip
 *			to a child with CAP_IPC_LOCK and RLIMIT_MEMLOCK 0
 *			(charged anyway, exactly), to a child without it whose
 *			limit is one page short (ENOMEM, nothing changed),
 *			then exactly at the size (charged), back to the first
 *			and home: VmLck of every process exact at each step.
 *   userns_root_has_no_cap_ipc_lock
 *			a holder that is root of its own user namespace
 *			(CAP_IPC_LOCK effective there) is still charged against
 *			RLIMIT_MEMLOCK (ENOMEM one page short; it cannot raise
 *			its hard limit) and succeeds at its limit.
 *
 * Every test proves our backend answered, and checks afterwards that the
 * owner still owns (VmLck exact, maps), that nothing was pinned anew
 * (nr_foll_pin_acquired) and that edu still DMAs.  Kernel differences: none
 * of these properties depends on mseal, vfio's per-device inode or FUSE's
 * long-term pins, so every kernel gives the same results (6.1 included).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"
#include "fuse_file.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_KB		(BUF_SIZE / 1024)
#define BUF_PAGES	(BUF_SIZE / 4096)
#define NOBODY		65534

/* ---- the stranger: an unrelated process given the descriptors ---- */

/* A request to the stranger; descriptors may ride along (SCM_RIGHTS). */
struct sreq {
	char op;
	uint64_t iova;
	uint64_t size;
	uint64_t vaddr;
	long arg;
};

struct srep {
	int ret;		/* 0 or -errno (op 'Y': 1 if a fault waits) */
	long vmlck_kb;		/* the stranger's VmLck after the request */
	uint64_t val;		/* op 'U': bytes unmapped */
};

#define MAX_PASSED	4

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -EIO;
}

/*
 * Become nobody (every capability gone), then root of a new user
 * namespace with its own mount namespace: all capabilities there, none
 * that the kernel checks against the initial namespace.  0 or -errno.
 */
static int become_stranger(void)
{
	char map[32];
	int ret;

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -errno;
	/* A credential change makes us undumpable: /proc/self would be
	 * root's, and our own uid_map unwritable. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return -errno;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -errno;
	snprintf(map, sizeof(map), "0 %d 1", NOBODY);
	ret = write_file("/proc/self/setgroups", "deny");
	if (!ret)
		ret = write_file("/proc/self/uid_map", map);
	if (!ret)
		ret = write_file("/proc/self/gid_map", map);
	return ret;
}

/* Send a request (with nfds descriptors) and read the answer. */
static struct srep stranger_do_fds(int sock, const struct sreq *q,
				   const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_PASSED)] = { 0 };
	struct iovec iov = { .iov_base = (void *)q, .iov_len = sizeof(*q) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct srep r = { .ret = -EPIPE };

	if (nfds) {
		struct cmsghdr *c;

		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &msg, 0) != sizeof(*q) ||
	    recv(sock, &r, sizeof(r), 0) != sizeof(r))
		r.ret = -EPIPE;
	return r;
}

static struct srep stranger_do(int sock, char op, uint64_t iova,
			       uint64_t size, const void *vaddr, long arg)
{
	struct sreq q = { .op = op, .iova = iova, .size = size,
			  .vaddr = (uintptr_t)vaddr, .arg = arg };

	return stranger_do_fds(sock, &q, NULL, 0);
}

/* What the stranger holds and has set up. */
struct stranger_state {
	int container, group, device;
	int kept[MAX_PASSED];	/* other descriptors it was given */
	int nkept;
	int uffd;		/* created while still root */
	struct fuse_file fuse;
	bool fuse_mounted;
	char fuse_dir[32];
};

/* Replace [vaddr, vaddr + size) of our address space with a mapping of
 * fd (or anonymous memory if fd < 0), shared or private. */
static int map_at(uint64_t vaddr, uint64_t size, int fd, bool shared)
{
	void *p = mmap((void *)(uintptr_t)vaddr, size, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED |
		       (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);

	return p == MAP_FAILED ? -errno : 0;
}

/* A file of our own FUSE mount, mapped shared at vaddr. */
static int stranger_fuse_at(struct stranger_state *s, uint64_t vaddr,
			    uint64_t size)
{
	char file[64];
	int fd, ret;

	if (!s->fuse_mounted) {
		/* A tmpfs of our own (in our mount namespace) to mount on:
		 * nobody may not write the VM's /tmp. */
		if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=64k"))
			return -errno;
		strcpy(s->fuse_dir, "/tmp/fuse");
		if (mkdir(s->fuse_dir, 0700))
			return -errno;
		ret = fuse_file_mount(&s->fuse, s->fuse_dir, size);
		if (ret)
			return ret;
		s->fuse_mounted = true;
	}
	snprintf(file, sizeof(file), "%s/ram", s->fuse_dir);
	fd = open(file, O_RDWR);
	if (fd < 0)
		return -errno;
	ret = map_at(vaddr, size, fd, true);
	close(fd);
	return ret;
}

/* Our userfaultfd over fresh anonymous memory at vaddr (missing pages). */
static int stranger_uffd_at(struct stranger_state *s, uint64_t vaddr,
			    uint64_t size)
{
	struct uffdio_register reg = {
		.range = { .start = vaddr, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int ret = map_at(vaddr, size, -1, false);

	if (ret)
		return ret;
	return ioctl(s->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

/* Try to reach the owner's memory through /proc/<pid>/map_files. */
static int stranger_map_files(long pid, uint64_t vaddr, uint64_t size)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/map_files/%llx-%llx", pid,
		 (unsigned long long)vaddr, (unsigned long long)(vaddr + size));
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void stranger_exit(struct stranger_state *s)
{
	if (s->fuse_mounted) {
		umount2(s->fuse_dir, MNT_DETACH);
		fuse_file_stop(&s->fuse);
	}
}

/* Take the descriptors a request carried. */
static int take_fds(struct msghdr *msg, int *fds, int max)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(msg);
	int n;

	if (!c || c->cmsg_type != SCM_RIGHTS)
		return 0;
	n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	if (n > max)
		n = max;
	memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	return n;
}

static int stranger_op(struct stranger_state *s, const struct sreq *q,
		       const int *fds, int nfds, uint64_t *val)
{
	uint64_t unmapped = 0;
	void *p;
	int fd, ret;

	switch (q->op) {
	case 'r':	/* the descriptors: container, group, device */
		if (nfds != 3)
			return -EBADMSG;
		s->container = fds[0];
		s->group = fds[1];
		s->device = fds[2];
		/* Really ours: only vfio_iommu_lu knows VFIO_DMA_OWNER. */
		return ioctl(s->container, VFIO_CHECK_EXTENSION,
			     VFIO_DMA_OWNER) == 1 ? 0 : -EPROTO;
	case 'k':	/* keep whatever came (the owner's userfaultfd) */
		if (!nfds || s->nkept + nfds > MAX_PASSED)
			return -EBADMSG;
		memcpy(s->kept + s->nkept, fds, nfds * sizeof(int));
		s->nkept += nfds;
		return 0;
	case 'm':	/* map a memfd of our own at iova */
		p = memfd_buffer(q->size, NULL);
		if (p == MAP_FAILED)
			return -ENOMEM;
		return vfio_map(s->container, p, q->iova, q->size);
	case 'o':
		return change_owner(s->container);
	case 'a':	/* our own anonymous memory at vaddr, touched */
		ret = map_at(q->vaddr, q->size, -1, false);
		if (!ret)
			memset((void *)(uintptr_t)q->vaddr, 0xa5, q->size);
		return ret;
	case 'f':	/* our own memfd at vaddr */
		fd = memfd_create("stranger", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = ftruncate(fd, q->size) ? -errno : 0;
		if (!ret)
			ret = map_at(q->vaddr, q->size, fd, true);
		close(fd);
		return ret;
	case 'F':
		return stranger_fuse_at(s, q->vaddr, q->size);
	case 'y':
		return stranger_uffd_at(s, q->vaddr, q->size);
	case 'Y': {	/* is a fault waiting on our userfaultfd? */
		struct pollfd pfd = { .fd = s->uffd, .events = POLLIN };

		return poll(&pfd, 1, 100) == 1;
	}
	case 's':
		return vfio_stage_vaddr(s->container,
					(void *)(uintptr_t)q->vaddr, q->iova,
					q->size);
	case 'w':
		return vfio_stage_vaddr(s->container, NULL, 0, 0);
	case 'p':
		return stranger_map_files(q->arg, q->vaddr, q->size);
	case 'U':
		ret = vfio_unmap_raw(s->container,
				     sizeof(struct vfio_iommu_type1_dma_unmap),
				     VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped);
		*val = unmapped;
		return ret;
	}
	return -EINVAL;
}

/* main() of the stranger's image: answers on sock until 'x' or EOF. */
static int stranger_main(int sock)
{
	struct stranger_state s = { .container = -1, .group = -1,
				    .device = -1 };
	struct uffdio_api api = { .api = UFFD_API };
	struct srep r = { 0 };

	/* While still root: a userfaultfd that kernel faults reach too. */
	s.uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (s.uffd < 0 || ioctl(s.uffd, UFFDIO_API, &api))
		r.ret = -errno;
	if (!r.ret)
		r.ret = become_stranger();
	r.vmlck_kb = vmlck_kb(0);
	if (send(sock, &r, sizeof(r), 0) != sizeof(r) || r.ret)
		return 1;
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int) * MAX_PASSED)];
		struct sreq q;
		struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		int fds[MAX_PASSED], nfds;

		if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != sizeof(q))
			break;
		nfds = take_fds(&msg, fds, MAX_PASSED);
		if (q.op == 'x')
			break;
		r = (struct srep){ 0 };
		r.ret = stranger_op(&s, &q, fds, nfds, &r.val);
		r.vmlck_kb = vmlck_kb(0);
		if (send(sock, &r, sizeof(r), 0) != sizeof(r))
			break;
	}
	stranger_exit(&s);
	return 0;
}

struct stranger {
	pid_t pid;
	int sock;
};

/*
 * Start a stranger (fork, exec this binary as "--stranger"); it answers
 * once it is nobody in its own user namespace.  0, or -errno from its
 * setup (the environment may forbid unprivileged user namespaces).
 */
static int stranger_start(struct stranger *st)
{
	struct srep r = { .ret = -EPIPE };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	st->pid = fork();
	if (st->pid < 0)
		return -errno;
	if (!st->pid) {
		struct reexec rx;

		close(sv[0]);
		reexec_init(&rx, "--stranger");
		if (!reexec_fd(&rx, sv[1]))
			reexec(&rx);
		_exit(1);
	}
	close(sv[1]);
	st->sock = sv[0];
	if (recv(st->sock, &r, sizeof(r), 0) != sizeof(r))
		r.ret = -EPIPE;
	return r.ret;
}

/* Send the container, group and device descriptors. */
static int stranger_give(struct stranger *st, const struct edu_env *e)
{
	int fds[3] = { e->container, e->group, e->edu.device };
	struct sreq q = { .op = 'r' };

	return stranger_do_fds(st->sock, &q, fds, 3).ret;
}

/* Tell it to exit and reap it: its exit status, -1 if abnormal. */
static int stranger_stop(struct stranger *st)
{
	struct sreq q = { .op = 'x' };
	int status;

	if (send(st->sock, &q, sizeof(q), 0) != sizeof(q))
		kill(st->pid, SIGKILL);
	close(st->sock);
	if (waitpid(st->pid, &status, 0) != st->pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define STRANGER_UNAVAILABLE						\
	"cannot become nobody in a new user namespace (unprivileged user " \
	"namespaces disabled?)"

/* Start a stranger holding self->e's descriptors, or skip saying why. */
#define start_stranger(st) do {						\
	int __r = stranger_start(st);					\
	if (__r == -EPERM || __r == -ENOSPC || __r == -EACCES) {	\
		stranger_stop(st);					\
		SKIP(return, STRANGER_UNAVAILABLE ": %s", strerror(-__r)); \
	}								\
	ASSERT_EQ(0, __r);						\
	ASSERT_EQ(0, stranger_give((st), &self->e));			\
} while (0)

/* ---- the helper child's extra commands ---- */

/* The stranger's socket, for a helper child that sends it something. */
static int stranger_sock = -1;
/* What the helper child checks with 'v'. */
static const uint8_t *view_addr;
static size_t view_len;

/* A command with an argument (read by child_extra()). */
static struct reply child_do_arg(struct child *ch, char c, uint64_t arg)
{
	char msg[1 + sizeof(arg)];
	struct reply r = { .ret = -EPIPE };

	msg[0] = c;
	memcpy(msg + 1, &arg, sizeof(arg));
	if (write(ch->cmd, msg, sizeof(msg)) != sizeof(msg) ||
	    read(ch->rep, &r, sizeof(r)) != sizeof(r))
		r.ret = -EPIPE;
	return r;
}

/* An own userfaultfd (it refers to our mm) handed to the stranger. */
static int give_uffd(void)
{
	struct uffd_page u;
	struct sreq q = { .op = 'k' };
	int ret = uffd_page_open(&u, 4096);

	if (ret)
		return ret;
	ret = stranger_do_fds(stranger_sock, &q, &u.uffd, 1).ret;
	uffd_page_close(&u);
	return ret;
}

/*
 * 'M' set RLIMIT_MEMLOCK to the argument, keeping CAP_IPC_LOCK (answers
 * -EPERM if we lack it); 'L' the same and drop CAP_IPC_LOCK; 'R' try to
 * raise the limit (soft and hard) to the argument; 'n' become a stranger
 * (nobody, root of a new user namespace), answering 1 if CAP_IPC_LOCK is
 * then effective (in that namespace); 'v' check the view (view_addr,
 * view_len) holds pattern <argument>; 'k' hand a userfaultfd of ours to
 * the stranger; 'e' exec this binary (it answers once, then idles).
 */
static int child_extra(int container, char c, int cmd, int rep)
{
	struct reexec rx;
	uint64_t arg = 0;
	int ret;

	if (strchr("MLRv", c) && read(cmd, &arg, sizeof(arg)) != sizeof(arg))
		return -EPIPE;
	switch (c) {
	case 'M':
		ret = set_memlock_limit(arg);
		return ret ? ret : cap_ipc_lock_effective() ? 0 : -EPERM;
	case 'L':
		ret = set_memlock_limit(arg);
		return ret ? ret : drop_cap_ipc_lock();
	case 'R':
		return set_memlock_limit(arg);
	case 'n':
		ret = become_stranger();
		return ret ? ret : cap_ipc_lock_effective();
	case 'v':
		return check_pattern(view_addr, view_len, arg) < 0 ? 0 : -EIO;
	case 'k':
		return give_uffd();
	case 'e':
		reexec_init(&rx, "--idle");
		ret = reexec_fd(&rx, cmd);
		if (!ret)
			ret = reexec_fd(&rx, rep);
		return ret ? ret : reexec(&rx);
	}
	return -EINVAL;
}

/* ---- the tests ---- */

/* The edu device in a container of ours; the test process owns. */
OWNER_FIXTURE(sec, BUF_SIZE);

/*
 * The owner (this process) still owns the BUF_SIZE mapping at BUF_IOVA
 * of buf: charged exactly once, nothing pinned anew since acquired0, the
 * device reaches it, and only we may add a mapping (which pins: acquired0
 * is read again after it).
 */
#define ASSERT_OWNER_INTACT(buf, acquired0, seed) do {			\
	ASSERT_EQ(self->base + BUF_KB, vmlck_kb(0));			\
	ASSERT_EQ(self->pinned0 + BUF_PAGES,				\
		  pinned_settled(self->pinned0 + BUF_PAGES));		\
	ASSERT_NO_NEW_PINS(acquired0);					\
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, (buf), BUF_IOVA,	\
					(seed)));			\
	ASSERT_EQ(0, vfio_map(self->e.container, (buf), BUF_IOVA + BUF_SIZE, \
			      SZ_1M));					\
	ASSERT_EQ(self->base + BUF_KB + 1024, vmlck_kb(0));		\
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA + BUF_SIZE, \
				SZ_1M));				\
	ASSERT_EQ(self->base + BUF_KB, vmlck_kb(0));			\
	(acquired0) = pin_acquired_now();				\
} while (0)

TEST_F(sec, stranger_cannot_map)
{
	struct stranger st;
	long acquired0;
	struct srep r;

	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA,
			      BUF_SIZE));
	acquired0 = pin_acquired_now();
	start_stranger(&st);

	/* Its own memory, beside ours or over a hole: EPERM, uncharged. */
	r = stranger_do(st.sock, 'm', BUF_IOVA + BUF_SIZE, SZ_1M, NULL, 0);
	ASSERT_EQ(-EPERM, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);
	r = stranger_do(st.sock, 'm', 0x10000000ull - SZ_1M, SZ_1M, NULL, 0);
	ASSERT_EQ(-EPERM, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);
	ASSERT_OWNER_INTACT(self->buf, acquired0, 1);
	/* Still refused after we mapped and unmapped again. */
	ASSERT_EQ(-EPERM, stranger_do(st.sock, 'm', BUF_IOVA + BUF_SIZE,
				      SZ_1M, NULL, 0).ret);
	ASSERT_EQ(0, stranger_stop(&st));
	ASSERT_OWNER_INTACT(self->buf, acquired0, 2);
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_F(sec, stranger_cannot_take_without_object)
{
	const uint8_t *buf = self->buf;
	struct stranger st;
	long acquired0;
	struct srep r;
	int ret;

	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA,
			      BUF_SIZE));
	acquired0 = pin_acquired_now();
	start_stranger(&st);

	/* Nothing at our vaddr in its address space. */
	ASSERT_EQ(-ENXIO, stranger_do(st.sock, 'o', 0, 0, NULL, 0).ret);
	/* Its own anonymous memory there, then its own memfd. */
	ASSERT_EQ(0, stranger_do(st.sock, 'a', 0, BUF_SIZE, buf, 0).ret);
	ASSERT_EQ(-ENXIO, stranger_do(st.sock, 'o', 0, 0, NULL, 0).ret);
	ASSERT_EQ(0, stranger_do(st.sock, 'f', 0, BUF_SIZE, buf, 0).ret);
	ASSERT_EQ(-ENXIO, stranger_do(st.sock, 'o', 0, 0, NULL, 0).ret);
	/* Its memfd staged as the new vaddr: ENXIO too; the staging it
	 * leaves behind does not disturb us (a commit uses only the
	 * caller's own staged vaddrs). */
	ASSERT_EQ(0, stranger_do(st.sock, 's', BUF_IOVA, BUF_SIZE, buf, 0).ret);
	ASSERT_EQ(-ENXIO, stranger_do(st.sock, 'o', 0, 0, NULL, 0).ret);
	ASSERT_EQ(0, change_owner(self->e.container));
	/* A file of a FUSE mount it serves itself (/dev/fuse is 0666, as
	 * Debian's udev makes it and the VM bed too: that is what lets an
	 * unprivileged user mount FUSE at all). */
	r = stranger_do(st.sock, 'F', 0, BUF_SIZE, buf, 0);
	ASSERT_EQ(0, r.ret) TH_LOG("FUSE in the stranger: %s",
				   strerror(-r.ret));
	ASSERT_EQ(-ENXIO, stranger_do(st.sock, 'o', 0, 0, NULL, 0).ret);
	/* Memory behind its userfaultfd: refused without touching a page
	 * (no fault waits, the call did not block). */
	ASSERT_EQ(0, stranger_do(st.sock, 'y', 0, BUF_SIZE, buf, 0).ret);
	ASSERT_EQ(-ENXIO, stranger_do(st.sock, 'o', 0, 0, NULL, 0).ret);
	ASSERT_EQ(0, stranger_do(st.sock, 'Y', 0, 0, NULL, 0).ret);
	/* Our memory is out of its reach: /proc/<us>/map_files needs
	 * CAP_SYS_ADMIN (or CHECKPOINT_RESTORE) in the initial namespace
	 * and ptrace access to us. */
	ret = stranger_do(st.sock, 'p', 0, BUF_SIZE, buf, getpid()).ret;
	ASSERT_TRUE(ret == -EPERM || ret == -EACCES)
		TH_LOG("map_files open: %d", ret);
	ASSERT_EQ(0, stranger_do(st.sock, 'w', 0, 0, NULL, 0).ret);
	r = stranger_do(st.sock, 'o', 0, 0, NULL, 0);
	ASSERT_EQ(-ENXIO, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);
	ASSERT_OWNER_INTACT(self->buf, acquired0, 3);
	ASSERT_EQ(0, stranger_stop(&st));
	ASSERT_OWNER_INTACT(self->buf, acquired0, 4);
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

/*
 * The stranger holds every descriptor and the owner's userfaultfd; the
 * owner, a forked holder, exits (exec: false) or execs (true); we drop
 * our own descriptors first.
 */
static void leak_case(struct __test_metadata *_metadata,
		      FIXTURE_DATA(sec) *self, bool exec)
{
	long pinned0 = self->pinned0, base = self->base;
	struct stranger st;
	struct child ch;
	struct srep r;
	struct reply cr;

	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA,
			      BUF_SIZE));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, self->buf, BUF_IOVA, 5));
	start_stranger(&st);
	stranger_sock = st.sock;
	test_cmd_child_owns(&ch, self->e.container, child_extra, BUF_KB);
	ASSERT_EQ(0, child_do(&ch, 'k').ret);
	edu_env_close(&self->e);
	ASSERT_EQ(pinned0 + BUF_PAGES, pinned_settled(pinned0 + BUF_PAGES));

	if (exec) {
		cr = child_do(&ch, 'e');
		ASSERT_EQ(0, cr.ret);
		ASSERT_EQ(0, cr.vmlck_kb);	/* the new image owes nothing */
	} else {
		ASSERT_EQ(0, child_stop(&ch));
	}
	/* Torn down while the stranger holds everything. */
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	if (exec)
		ASSERT_EQ(0, vmlck_kb(ch.pid));
	r = stranger_do(st.sock, 'U', 0, 0, NULL, 0);
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(0, r.val);
	ASSERT_EQ(0, r.vmlck_kb);
	/* The empty container is anyone's: it can pin memory of its own,
	 * charged to itself, and only while it lives. */
	r = stranger_do(st.sock, 'm', BUF_IOVA, SZ_1M, NULL, 0);
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(1024, r.vmlck_kb);
	ASSERT_EQ(pinned0 + 256, pinned_settled(pinned0 + 256));
	ASSERT_EQ(0, stranger_stop(&st));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	if (exec)
		ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(base, vmlck_kb(0));
}

TEST_F(sec, leak_survives_owner_exit)
{
	leak_case(_metadata, self, false);
}

TEST_F(sec, leak_survives_owner_exec)
{
	leak_case(_metadata, self, true);
}

#define FORKS		3
#define LIMIT_SIZE	(4u << 20)
#define LIMIT_KB	(LIMIT_SIZE / 1024)

/* The VmLck of us (minus base and our own mlock) and of the children
 * sums to the size mapped, and the pinned count is what it pins. */
#define ASSERT_CHARGED_ONCE(ch, own_kb) do {				\
	long __sum = vmlck_kb(0) - self->base - (own_kb);		\
	for (int __i = 0; __i < FORKS; __i++)				\
		__sum += vmlck_kb((ch)[__i].pid);			\
	ASSERT_EQ(LIMIT_KB, __sum);					\
	ASSERT_EQ(self->pinned0 + LIMIT_SIZE / 4096,			\
		  pinned_settled(self->pinned0 + LIMIT_SIZE / 4096));	\
} while (0)

TEST_F(sec, fork_cannot_multiply_memlock)
{
	struct child ch[FORKS];
	long acquired0;
	uint8_t *big;
	void *own;

	/* Our limit is exactly what we map (whatever we held before). */
	ASSERT_EQ(0, set_memlock_limit(LIMIT_SIZE + self->base * 1024));
	ASSERT_EQ(0, drop_cap_ipc_lock());
	big = memfd_buffer(LIMIT_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, big);
	ASSERT_EQ(0, vfio_map(self->e.container, big, BUF_IOVA, LIMIT_SIZE));
	ASSERT_EQ(self->base + LIMIT_KB, vmlck_kb(0));
	ASSERT_EQ(-ENOMEM, vfio_map(self->e.container, self->buf,
				    BUF_IOVA + LIMIT_SIZE, 4096));

	/* Every child inherits the descriptor and the limit; none may map. */
	for (int i = 0; i < FORKS; i++) {
		struct reply r;

		ASSERT_EQ(0, child_start(&ch[i], self->e.container, NULL));
		r = child_do(&ch[i], 'm');
		ASSERT_EQ(-EPERM, r.ret);
		ASSERT_EQ(0, r.vmlck_kb);
	}
	ASSERT_CHARGED_ONCE(ch, 0);

	/* Ownership moves the whole charge; the new owner is at its own
	 * limit and cannot map more (a refused MAP_DMA pins a batch and
	 * releases it: the acquired-pin count starts again after it). */
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, child_do(&ch[0], 'o').ret);
	ASSERT_EQ(self->base, vmlck_kb(0));
	ASSERT_CHARGED_ONCE(ch, 0);
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(-ENOMEM, child_do(&ch[0], 'm').ret);
	acquired0 = pin_acquired_now();
	for (int i = 1; i < FORKS; i++) {
		ASSERT_EQ(0, child_do(&ch[i], 'o').ret);
		ASSERT_EQ(LIMIT_KB, vmlck_kb(ch[i].pid));
		ASSERT_EQ(0, vmlck_kb(ch[i - 1].pid));
		ASSERT_EQ(-EPERM, child_do(&ch[i - 1], 'm').ret);
		ASSERT_CHARGED_ONCE(ch, 0);
	}

	/* Our budget is free again, and ours to use (mlock); but then the
	 * mappings cannot come back to us. */
	own = mmap(NULL, LIMIT_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, own);
	ASSERT_EQ(0, mlock(own, LIMIT_SIZE));
	ASSERT_EQ(-ENOMEM, change_owner(self->e.container));
	ASSERT_EQ(LIMIT_KB, vmlck_kb(ch[FORKS - 1].pid));
	ASSERT_CHARGED_ONCE(ch, LIMIT_KB);
	ASSERT_EQ(0, munlock(own, LIMIT_SIZE));
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_EQ(self->base + LIMIT_KB, vmlck_kb(0));
	ASSERT_CHARGED_ONCE(ch, 0);
	ASSERT_NO_NEW_PINS(acquired0);

	for (int i = 0; i < FORKS; i++)
		ASSERT_EQ(0, child_stop(&ch[i]));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, big, BUF_IOVA, 6));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, LIMIT_SIZE));
	ASSERT_EQ(self->base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

/* ---- the memory object's pages replaced under a mapping ---- */

#define HOLE		0x100000u	/* offset of the replaced range */
#define HOLE_LEN	0x10000u
#define SCRATCH_IOVA	0x800000ull
#define SCRATCH_SIZE	0x10000u
#define XFER		EDU_DMA_MAX

/* A guest RAM memfd and a scratch memfd, both DMA-mapped. */
FIXTURE(repl) {
	struct edu_env e;
	int memfd;
	uint8_t *ram;
	uint8_t *scratch;
	long base;
	long pinned0;
	long pinned1;		/* with both mapped */
};

FIXTURE_SETUP(repl)
{
	self->e = (struct edu_env)EDU_ENV_NONE;
	self->memfd = -1;
	REQUIRE_EDU();
	open_edu_env(&backend_ours, &self->e);
	self->base = vmlck_kb(0);
	ASSERT_LE(0, self->base);
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0) TH_LOG("pinned-page counters unreadable");
	self->ram = memfd_buffer(BUF_SIZE, &self->memfd);
	ASSERT_NE(MAP_FAILED, self->ram);
	self->scratch = memfd_buffer(SCRATCH_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, self->scratch);
	fill_pattern(self->ram, BUF_SIZE, 1);
	fill_pattern(self->ram + HOLE, HOLE_LEN, 2);
	ASSERT_EQ(0, vfio_map(self->e.container, self->ram, BUF_IOVA,
			      BUF_SIZE));
	ASSERT_EQ(0, vfio_map(self->e.container, self->scratch, SCRATCH_IOVA,
			      SCRATCH_SIZE));
	self->pinned1 = self->pinned0 + (BUF_SIZE + SCRATCH_SIZE) / 4096;
	ASSERT_EQ(self->pinned1, pinned_settled(self->pinned1));
	ASSERT_EQ(self->base + (BUF_SIZE + SCRATCH_SIZE) / 1024, vmlck_kb(0));
}

FIXTURE_TEARDOWN(repl)
{
	edu_env_close(&self->e);
	close_fd(&self->memfd);
}

#define REPL_KB		((BUF_SIZE + SCRATCH_SIZE) / 1024)

/* The device copies XFER bytes from IOVA src to IOVA dst. */
static int dev_copy(struct edu *edu, uint64_t src, uint64_t dst)
{
	int ret = edu_dma(edu, src, 0, XFER, false);

	return ret ? ret : edu_dma(edu, dst, 0, XFER, true);
}

/* What the device reads at the replaced range holds pattern seed. */
#define ASSERT_DEVICE_SEES(seed) do {					\
	memset(self->scratch, 0, XFER);					\
	ASSERT_EQ(0, dev_copy(&self->e.edu, BUF_IOVA + HOLE, SCRATCH_IOVA)); \
	ASSERT_GT(0, check_pattern(self->scratch, XFER, (seed)))	\
		TH_LOG("the device does not see pattern %d", (seed));	\
} while (0)

/* The process sees new pages: zeros, then what it writes there. */
static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

TEST_F(repl, hole_punch_device_keeps_old_pages)
{
	uint8_t back[XFER];
	long acquired0 = pin_acquired_now();
	struct child ch;

	ASSERT_DEVICE_SEES(2);
	ASSERT_EQ(0, fallocate(self->memfd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       HOLE, HOLE_LEN));
	/* The old pages are still pinned and charged; we see new ones. */
	ASSERT_EQ(self->pinned1, pinned_settled(self->pinned1));
	ASSERT_EQ(self->base + REPL_KB, vmlck_kb(0));
	ASSERT_TRUE(all_zero(self->ram + HOLE, HOLE_LEN));
	ASSERT_DEVICE_SEES(2);
	fill_pattern(self->ram + HOLE, HOLE_LEN, 3);
	ASSERT_DEVICE_SEES(2);
	/* What the device writes lands in the old pages, not in the file. */
	fill_pattern(self->scratch, XFER, 4);
	ASSERT_EQ(0, dev_copy(&self->e.edu, SCRATCH_IOVA, BUF_IOVA + HOLE));
	ASSERT_GT(0, check_pattern(self->ram + HOLE, XFER, 3));
	ASSERT_EQ(XFER, pread(self->memfd, back, XFER, HOLE));
	ASSERT_GT(0, check_pattern(back, XFER, 3));
	ASSERT_DEVICE_SEES(4);
	ASSERT_NO_NEW_PINS(acquired0);

	/* Same object, same offsets: a holder takes ownership (nothing
	 * re-pinned, the charge moves exactly) and sees the new pages; the
	 * device keeps the old ones. */
	view_addr = self->ram + HOLE;
	view_len = HOLE_LEN;
	test_cmd_child_owns(&ch, self->e.container, child_extra, REPL_KB);
	ASSERT_EQ(self->base, vmlck_kb(0));
	ASSERT_EQ(0, child_do_arg(&ch, 'v', 3).ret);
	ASSERT_DEVICE_SEES(4);
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_EQ(self->base + REPL_KB, vmlck_kb(0));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_NO_NEW_PINS(acquired0);

	/* UNMAP_DMA releases the old pages. */
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(self->pinned0 + SCRATCH_SIZE / 4096,
		  pinned_settled(self->pinned0 + SCRATCH_SIZE / 4096));
	ASSERT_EQ(self->base + SCRATCH_SIZE / 1024, vmlck_kb(0));
	ASSERT_GT(0, check_pattern(self->ram + HOLE, HOLE_LEN, 3));
	ASSERT_EQ(0, vfio_unmap(self->e.container, SCRATCH_IOVA, SCRATCH_SIZE));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
	ASSERT_EQ(self->base, vmlck_kb(0));
}

TEST_F(repl, truncate_regrow_device_keeps_old_pages)
{
	long acquired0 = pin_acquired_now();
	struct child ch;

	/* Emptied: our mapping lies beyond the end of the file (a touch
	 * would be SIGBUS), yet it is the same object at the same offsets:
	 * ownership moves. */
	ASSERT_EQ(0, ftruncate(self->memfd, 0));
	ASSERT_EQ(self->pinned1, pinned_settled(self->pinned1));
	ASSERT_DEVICE_SEES(2);
	test_cmd_child_owns(&ch, self->e.container, child_extra, REPL_KB);
	ASSERT_EQ(self->base, vmlck_kb(0));
	ASSERT_DEVICE_SEES(2);

	/* Grown again: zeros for us, the old pages for the device. */
	ASSERT_EQ(0, ftruncate(self->memfd, BUF_SIZE));
	ASSERT_TRUE(all_zero(self->ram, BUF_SIZE));
	ASSERT_DEVICE_SEES(2);
	fill_pattern(self->scratch, XFER, 6);
	ASSERT_EQ(0, dev_copy(&self->e.edu, SCRATCH_IOVA, BUF_IOVA + HOLE));
	ASSERT_TRUE(all_zero(self->ram, BUF_SIZE));
	ASSERT_DEVICE_SEES(6);
	ASSERT_NO_NEW_PINS(acquired0);

	/* The holder exits owning them: the old pages go with it. */
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
	ASSERT_EQ(self->base, vmlck_kb(0));
	ASSERT_EQ(0, vfio_unmap_all(self->e.container));
}

/* ---- CAP_IPC_LOCK and user namespaces ---- */

/* VmLck of us (beyond base) and of two children, exactly. */
#define ASSERT_VMLCK3(us, a, b) do {					\
	ASSERT_EQ(self->base + (us), vmlck_kb(0));			\
	ASSERT_EQ((long)(a), vmlck_kb(ca.pid));				\
	ASSERT_EQ((long)(b), vmlck_kb(cb.pid));				\
} while (0)

TEST_F(sec, cap_ipc_lock_round_trip)
{
	struct child ca, cb;
	long acquired0;
	struct reply r;

	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA,
			      BUF_SIZE));
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, child_start(&ca, self->e.container, child_extra));
	ASSERT_EQ(0, child_start(&cb, self->e.container, child_extra));
	/* A: CAP_IPC_LOCK, no RLIMIT_MEMLOCK at all.  B: no CAP_IPC_LOCK,
	 * one page short of the size. */
	ASSERT_EQ(0, child_do_arg(&ca, 'M', 0).ret)
		TH_LOG("the test needs CAP_IPC_LOCK");
	ASSERT_EQ(0, child_do_arg(&cb, 'L', BUF_SIZE - 4096).ret);
	ASSERT_VMLCK3(BUF_KB, 0, 0);

	/* To A: charged although its limit is 0 (the count still moves). */
	r = child_do(&ca, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_VMLCK3(0, BUF_KB, 0);
	/* To B, one page short: nothing changes anywhere. */
	r = child_do(&cb, 'o');
	ASSERT_EQ(-ENOMEM, r.ret);
	ASSERT_VMLCK3(0, BUF_KB, 0);
	ASSERT_EQ(-EPERM, child_do(&cb, 'm').ret);
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, self->buf, BUF_IOVA, 7));
	/* Exactly at its limit: charged, A refunded. */
	ASSERT_EQ(0, child_do_arg(&cb, 'L', BUF_SIZE).ret);
	ASSERT_EQ(0, child_do(&cb, 'o').ret);
	ASSERT_VMLCK3(0, 0, BUF_KB);
	ASSERT_NO_NEW_PINS(acquired0);
	/* B at its limit cannot map a page more; A can, and is charged. */
	ASSERT_EQ(-ENOMEM, child_do(&cb, 'm').ret);
	ASSERT_EQ(0, child_do(&ca, 'o').ret);
	ASSERT_VMLCK3(0, BUF_KB, 0);
	r = child_do(&ca, 'm');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(BUF_KB + NEW_SIZE / 1024, r.vmlck_kb);
	ASSERT_EQ(0, child_do(&ca, 'u').ret);
	ASSERT_VMLCK3(0, BUF_KB, 0);
	/* And home. */
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_VMLCK3(BUF_KB, 0, 0);
	ASSERT_EQ(0, child_stop(&ca));
	ASSERT_EQ(0, child_stop(&cb));
	ASSERT_OWNER_INTACT(self->buf, acquired0, 8);
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(self->base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_F(sec, userns_root_has_no_cap_ipc_lock)
{
	struct child ca, cb;
	long acquired0;
	int r;

	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA,
			      BUF_SIZE));
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, child_start(&ca, self->e.container, child_extra));
	ASSERT_EQ(0, child_start(&cb, self->e.container, child_extra));
	ASSERT_EQ(0, child_do_arg(&ca, 'M', BUF_SIZE - 4096).ret);
	ASSERT_EQ(0, child_do_arg(&cb, 'M', BUF_SIZE).ret);
	r = child_do(&ca, 'n').ret;
	if (r == -EPERM || r == -ENOSPC || r == -EACCES) {
		child_stop(&ca);
		child_stop(&cb);
		SKIP(return, STRANGER_UNAVAILABLE ": %s", strerror(-r));
	}
	/* Root of its namespace, CAP_IPC_LOCK effective there... */
	ASSERT_EQ(1, r);
	ASSERT_EQ(1, child_do(&cb, 'n').ret);
	/* ...but the limit applies: one page short, ENOMEM; and it cannot
	 * raise its hard limit (CAP_SYS_RESOURCE is the initial
	 * namespace's). */
	ASSERT_EQ(-ENOMEM, child_do(&ca, 'o').ret);
	ASSERT_VMLCK3(BUF_KB, 0, 0);
	ASSERT_EQ(-EPERM, child_do_arg(&ca, 'R', BUF_SIZE).ret);
	ASSERT_EQ(-ENOMEM, child_do(&ca, 'o').ret);
	/* At its limit: charged exactly; then it may not map a page more. */
	ASSERT_EQ(0, child_do(&cb, 'o').ret);
	ASSERT_VMLCK3(0, 0, BUF_KB);
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(-ENOMEM, child_do(&cb, 'm').ret);
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_VMLCK3(BUF_KB, 0, 0);
	ASSERT_EQ(0, child_stop(&ca));
	ASSERT_EQ(0, child_stop(&cb));
	ASSERT_OWNER_INTACT(self->buf, acquired0, 9);
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

int main(int argc, char **argv)
{
	char **args = reexec_args(argc, argv, "--stranger", 1);

	if (args)
		return stranger_main(reexec_arg(args, 0));
	args = reexec_args(argc, argv, "--idle", 2);
	if (args)
		return child_idle_after_exec(reexec_arg(args, 0),
					     reexec_arg(args, 1));
	return test_harness_run(argc, argv);
}
