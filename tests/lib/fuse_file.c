// SPDX-License-Identifier: GPL-2.0
/*
 * The FUSE server of fuse_file.h, on the raw /dev/fuse protocol: read one
 * request, answer it with one write, until the kernel ends the connection
 * (read fails with ENODEV once the superblock is gone).  Node 1 is the
 * root directory, node 2 the file "ram"; everything else is ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuse_file.h"

#define RAM_NODE	2
#define MAX_WRITE	(128u << 10)
/* A request: headers and up to MAX_WRITE bytes of data (> 8 KiB minimum). */
#define REQ_BUF		(MAX_WRITE + 4096)
/* Attribute and entry timeouts: nothing changes behind the kernel's back. */
#define VALID_SEC	3600

static unsigned char req[REQ_BUF];

/* One answer: header, then an optional body; ENOENT means interrupted. */
static int reply(int fd, uint64_t unique, int err, const void *body,
		 size_t len)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + len,
		.error = -err,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ &oh, sizeof(oh) },
		{ (void *)body, len },
	};

	/* ENOENT: the request was interrupted; ENODEV: the connection ended
	 * between our read and our answer (an unmount while a RELEASE is in
	 * flight), which the next read reports as the end. */
	if (writev(fd, iov, len ? 2 : 1) == (ssize_t)oh.len ||
	    errno == ENOENT || errno == ENODEV)
		return 0;
	return -1;
}

static void fill_attr(struct fuse_file *f, uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	a->nlink = node == FUSE_ROOT_ID ? 2 : 1;
	a->blksize = 4096;
	if (node == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
	} else {
		a->mode = S_IFREG | 0666;
		a->size = f->size;
		a->blocks = (f->size + 511) / 512;
	}
}

static int do_init(int fd, uint64_t unique, const struct fuse_init_in *in)
{
	struct fuse_init_out out = {
		.major = FUSE_KERNEL_VERSION,
		/* Our header's minor unless the kernel is older. */
		.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ?
			 in->minor : FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = in->max_readahead,
		.max_write = MAX_WRITE,
		.time_gran = 1,
		/* No flags: synchronous reads, write-through writes. */
	};

	if (in->major != FUSE_KERNEL_VERSION)
		return reply(fd, unique, EPROTO, NULL, 0);
	return reply(fd, unique, 0, &out, sizeof(out));
}

static int do_lookup(struct fuse_file *f, int fd, struct fuse_in_header *ih,
		     const char *name)
{
	struct fuse_entry_out out = {
		.nodeid = RAM_NODE,
		.generation = 1,
		.entry_valid = VALID_SEC,
		.attr_valid = VALID_SEC,
	};

	if (ih->nodeid != FUSE_ROOT_ID || strcmp(name, "ram"))
		return reply(fd, ih->unique, ENOENT, NULL, 0);
	fill_attr(f, RAM_NODE, &out.attr);
	return reply(fd, ih->unique, 0, &out, sizeof(out));
}

static int do_getattr(struct fuse_file *f, int fd, struct fuse_in_header *ih)
{
	struct fuse_attr_out out = { .attr_valid = VALID_SEC };

	fill_attr(f, ih->nodeid, &out.attr);
	return reply(fd, ih->unique, 0, &out, sizeof(out));
}

/* The size is fixed; other attributes are not kept, so accept and ignore. */
static int do_setattr(struct fuse_file *f, int fd, struct fuse_in_header *ih,
		      const struct fuse_setattr_in *in)
{
	if ((in->valid & FATTR_SIZE) &&
	    (ih->nodeid != RAM_NODE || in->size != f->size))
		return reply(fd, ih->unique, EPERM, NULL, 0);
	return do_getattr(f, fd, ih);
}

static int do_read(struct fuse_file *f, int fd, uint64_t unique,
		   const struct fuse_read_in *in)
{
	size_t len = in->size;

	if (in->offset >= f->size)
		len = 0;
	else if (len > f->size - in->offset)
		len = f->size - in->offset;	/* short read: end of file */
	return reply(fd, unique, 0, f->data + in->offset, len);
}

static int do_write(struct fuse_file *f, int fd, uint64_t unique,
		    const struct fuse_write_in *in)
{
	struct fuse_write_out out = { .size = in->size };

	if (in->offset > f->size || in->size > f->size - in->offset)
		return reply(fd, unique, ENOSPC, NULL, 0);
	memcpy(f->data + in->offset, in + 1, in->size);
	return reply(fd, unique, 0, &out, sizeof(out));
}

static int do_statfs(int fd, uint64_t unique)
{
	struct fuse_statfs_out out = {
		.st = { .bsize = 4096, .frsize = 4096, .namelen = 255,
			.files = 2 },
	};

	return reply(fd, unique, 0, &out, sizeof(out));
}

/* Serve until the connection ends: 0 then, else the step that failed. */
static int serve(struct fuse_file *f, int fd)
{
	struct fuse_in_header *ih = (void *)req;
	void *arg = ih + 1;
	struct fuse_open_out open_out = { 0 };
	ssize_t n;
	int ret;

	for (;;) {
		n = read(fd, req, sizeof(req));
		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;	/* interrupted: that request is gone */
		/*
		 * The connection's end: ENODEV, or ECONNABORTED when the
		 * unmount shut the connection down between the kernel taking
		 * a request off its queue for this read and handing it over
		 * (fs/fuse/dev.c; seen on 6.1 in about one run in twenty).
		 */
		if (n < 0 && (errno == ENODEV || errno == ECONNABORTED))
			return 0;
		if (n < 0) {
			fprintf(stderr, "# FUSE server: read: %s\n", strerror(errno));
			return 2;
		}
		if (n < (ssize_t)sizeof(*ih) || n != ih->len)
			return 3;

		switch (ih->opcode) {
		case FUSE_INIT:
			ret = do_init(fd, ih->unique, arg);
			break;
		case FUSE_LOOKUP:
			ret = do_lookup(f, fd, ih, arg);
			break;
		case FUSE_GETATTR:
			ret = do_getattr(f, fd, ih);
			break;
		case FUSE_SETATTR:
			ret = do_setattr(f, fd, ih, arg);
			break;
		case FUSE_OPEN:
			/* Page cache kept across opens; fh unused. */
			open_out.open_flags = FOPEN_KEEP_CACHE;
			ret = reply(fd, ih->unique, 0, &open_out,
				    sizeof(open_out));
			break;
		case FUSE_READ:
			ret = do_read(f, fd, ih->unique, arg);
			break;
		case FUSE_WRITE:
			ret = do_write(f, fd, ih->unique, arg);
			break;
		case FUSE_FLUSH:
		case FUSE_RELEASE:
		case FUSE_DESTROY:
			ret = reply(fd, ih->unique, 0, NULL, 0);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			ret = 0;	/* the kernel expects no answer */
			break;
		case FUSE_STATFS:
			ret = do_statfs(fd, ih->unique);
			break;
		default:
			/* The kernel then stops asking (FSYNC, ACCESS...). */
			ret = reply(fd, ih->unique, ENOSYS, NULL, 0);
			break;
		}
		if (ret)
			return 4;
	}
}

int fuse_file_mount(struct fuse_file *f, const char *dir, size_t size)
{
	char opts[128];
	int fd, err;
	pid_t pid;

	memset(f, 0, sizeof(*f));
	f->size = size;
	f->mounter = getpid();
	f->status = -1;
	/* Shared, so the mounter sees what the server holds. */
	f->data = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->data == MAP_FAILED)
		return -errno;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	/* Does not wait for INIT: that is queued for the server. */
	if (mount("fuse", dir, "fuse", 0, opts))
		goto fail_close;
	/* Only the parent writes f: it may be shared with other processes. */
	pid = fork();
	if (pid < 0) {
		err = -errno;
		umount2(dir, MNT_DETACH);
		close(fd);
		goto fail_errno;
	}
	if (!pid) {
		/*
		 * Hold nothing else of the test (VFIO fds would keep a
		 * group busy); mappings inherited stay until exit.
		 */
		close_range(3, fd - 1, 0);
		close_range(fd + 1, ~0u, 0);
		_exit(serve(f, fd));
	}
	f->pid = pid;
	/* The server's copy is the only one: it ends with the server. */
	close(fd);
	return 0;

fail_close:
	err = -errno;
	close(fd);
	goto fail_errno;
fail:
	err = -errno;
fail_errno:
	munmap(f->data, size);
	f->data = NULL;
	return err;
}

void fuse_file_stop(struct fuse_file *f)
{
	int status;
	pid_t got = 0;

	f->status = -1;
	for (int i = 0; i < 1000 && !got; i++) {
		got = waitpid(f->pid, &status, WNOHANG);
		if (!got)
			usleep(10 * 1000);
	}
	if (!got) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, &status, 0);
	} else if (got == f->pid && WIFEXITED(status)) {
		f->status = WEXITSTATUS(status);
	}
	if (f->status)	/* serve()'s step; -1: killed after 10 s, or a signal */
		fprintf(stderr, "# FUSE server %d ended with %d\n", f->pid,
			f->status);
	/* data is mapped only in the mounter (a reaper saw only the pid). */
	if (getpid() == f->mounter && f->data)
		munmap(f->data, f->size);
	if (getpid() == f->mounter)
		f->data = NULL;
}
