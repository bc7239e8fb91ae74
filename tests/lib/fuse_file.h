/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal FUSE file system for the tests, served over the raw /dev/fuse
 * protocol by a child process: one regular file, "ram", whose bytes live
 * in memory shared with the process that mounted it (so a test can look
 * at the server's copy directly).  The file can be opened, read, written
 * and mmap'ed MAP_SHARED read-write (page cache, no direct_io).
 */
#ifndef FUSE_FILE_H
#define FUSE_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct fuse_file {
	unsigned char *data;	/* the server's copy of "ram" (shared) */
	size_t size;
	pid_t pid;		/* the server */
	pid_t mounter;		/* the process data is mapped in */
	int status;		/* after fuse_file_stop(), see there */
};

/*
 * Mount at dir (needs CAP_SYS_ADMIN and /dev/fuse) a file system with the
 * file "ram" of size bytes, zero-filled, and start its server.  The server
 * closes every other descriptor it inherited.  0 or -errno.
 */
int fuse_file_mount(struct fuse_file *f, const char *dir, size_t size);

/*
 * Wait (up to 10 s) for the server to end, which it does when the kernel
 * ends the connection, i.e. when the file system is gone; kill it after
 * that.  The caller must be the server's parent (or its subreaper).
 * f->status: 0 if the server saw the connection end, -1 if it had to be
 * killed or could not be reaped, else the step that failed in it.
 */
void fuse_file_stop(struct fuse_file *f);

#endif
