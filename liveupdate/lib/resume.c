// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * resume.c - the new binary's side: read the record, map the regions,
 * stage, commit, release the holder.  Also what a previous binary
 * restarted by the holder runs (LIVEUPDATE_ROLLBACK is then set).
 *
 * Any failure before the commit tells the holder at once (LU_MSG_REFUSED)
 * so that it restarts the previous binary without waiting for its
 * timeout; the caller must then exit without touching the container.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lu_int.h"

static int env_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long fd;

	if (!v)
		return -1;
	fd = strtol(v, &end, 10);
	if (*end || fd < 3 || fd > 1 << 20 || fcntl((int)fd, F_GETFD) < 0)
		return -2;
	return (int)fd;
}

static int refuse(int ctl, int err, const char *why)
{
	char text[128];

	snprintf(text, sizeof(text), "the new binary refused: %s", why);
	if (ctl >= 0) {
		lu_msg_send(ctl, LU_MSG_REFUSED, err, "resume", text);
		close(ctl);
	}
	errno = err;
	return -err;
}

static int read_all(int fd, void **out, size_t *len)
{
	struct stat st;
	void *buf;
	ssize_t n;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_size <= 0 || st.st_size > (64 << 20))
		return -EBADMSG;
	buf = malloc(st.st_size);
	if (!buf)
		return -ENOMEM;
	n = pread(fd, buf, st.st_size, 0);
	if (n != st.st_size) {
		free(buf);
		return n < 0 ? -errno : -EBADMSG;
	}
	*out = buf;
	*len = st.st_size;
	return 0;
}

LU_EXPORT int liveupdate_resume(struct liveupdate **out)
{
	uint64_t t0 = lu_now_ns();
	int state_fd = env_fd(LIVEUPDATE_ENV_STATE);
	int ctl = env_fd(LIVEUPDATE_ENV_CTL);
	const char *rb = getenv(LIVEUPDATE_ENV_ROLLBACK);
	struct liveupdate *lu = NULL;
	struct lu_before b;
	void *buf = NULL;
	size_t len;
	int ret;

	*out = NULL;
	if (state_fd == -1 && ctl == -1)
		return 0;
	unsetenv(LIVEUPDATE_ENV_STATE);
	unsetenv(LIVEUPDATE_ENV_CTL);
	if (ctl >= 0)
		lu_cloexec(ctl);
	if (state_fd < 0)
		return refuse(ctl, EBADF, "no record descriptor");
	lu_cloexec(state_fd);
	ret = read_all(state_fd, &buf, &len);
	if (!ret)
		ret = lu_state_decode(buf, len, &lu, &b);
	free(buf);
	if (ret) {
		close(state_fd);
		return refuse(ctl, -ret, ret == -EPROTO ? "record of another version" :
					 "record corrupt or truncated");
	}
	/* Every descriptor the record names must have crossed exec. */
	ret = fcntl(lu->container, F_GETFD) < 0;
	for (unsigned int i = 0; !ret && i < lu->nr_fds; i++)
		ret = fcntl(lu->fds[i].fd, F_GETFD) < 0;
	for (unsigned int i = 0; !ret && i < lu->nr_regions; i++)
		ret = fcntl(lu->regions[i].fd, F_GETFD) < 0;
	if (ret) {
		close(state_fd);
		liveupdate_free(lu);
		return refuse(ctl, EBADF, "a described descriptor is not open");
	}
	lu->resumed = true;
	lu->state_fd = state_fd;
	lu->ctl_fd = ctl;
	lu->before = b;
	lu->t_resume_ns = t0;
	if (rb)
		snprintf(lu->rollback, sizeof(lu->rollback), "%s", rb);
	unsetenv(LIVEUPDATE_ENV_ROLLBACK);
	lu->state_read_ns = lu_now_ns() - t0;
	*out = lu;
	return 1;
}

/*
 * Is the holder gone?  Its channel tells, whether it is our child (after
 * an exec) or our parent (after a restart by its spare).  A dying process
 * loses its address space (the backend then answers ESRCH) before its
 * descriptors close, so after ESRCH or a vanished mapping (EINVAL at
 * staging) give the channel a moment to report the end.
 */
static bool holder_gone(const struct liveupdate *lu, int err)
{
	struct lu_msg m;
	int wait_ms = err == ESRCH || err == EINVAL ? 2000 : 0;

	return lu->ctl_fd < 0 || lu_msg_recv(lu->ctl_fd, &m, wait_ms) == -EPIPE;
}

/*
 * Wait for the holder to exit: reap it if it is our child, else wait for
 * its end of the channel to close.  True if it exited cleanly after our
 * "committed", so was alive, and the owner, when we committed.
 */
static bool holder_wait(struct liveupdate *lu)
{
	pid_t h = lu->before.holder_pid;
	struct lu_msg m;
	int st;

	if (h > 0 && getppid() != h) {
		for (int i = 0; i < 500; i++) {
			pid_t w = waitpid(h, &st, WNOHANG);

			if (w == h)
				return WIFEXITED(st) && !WEXITSTATUS(st);
			if (w < 0)
				return false;
			usleep(1000 * (i < 50 ? 1 : 10));
		}
		return false;
	}
	if (lu->ctl_fd >= 0)
		lu_msg_recv(lu->ctl_fd, &m, 5000);
	return false;
}

/*
 * A commit that succeeded while the holder was dying: if its mappings'
 * teardown finished between our staging and our commit, the commit found
 * an empty container and simply made us its owner.  Staging every region
 * again (and withdrawing) tells: EINVAL means a mapping is gone.
 */
static bool mappings_gone(const struct liveupdate *lu, uint64_t *locked)
{
	int ret = lu_stage_all(lu, NULL, locked);

	if (!ret)
		lu_stage_withdraw(lu->container);
	return ret == -EINVAL;
}

LU_EXPORT int liveupdate_commit(struct liveupdate *lu, struct liveupdate_report *r)
{
	void **vaddrs;
	uint64_t t, locked = 0;
	bool remapped = false;
	int64_t vmlck;
	int ret;

	if (!lu->resumed) {
		errno = EINVAL;
		return -EINVAL;
	}
	lu_report_init(r, lu);
	r->pid_before = lu->before.pid;
	r->holder_pid = lu->before.holder_pid;
	snprintf(r->binary_before, sizeof(r->binary_before), "%s", lu->before.binary);
	lu_self_exe(r->binary_after, sizeof(r->binary_after));
	memcpy(r->phase_ns, lu->before.phase_ns, sizeof(r->phase_ns));
	r->phase_ns[LIVEUPDATE_PHASE_EXEC] = lu->t_resume_ns - lu->before.t_exec_ns;
	r->phase_ns[LIVEUPDATE_PHASE_STATE_READ] = lu->state_read_ns;
	r->vmlck_before_kb = lu->before.vmlck_kb;
	r->vmlck_holder_kb = lu->before.vmlck_holder_kb;
	r->holder_cap_ipc_lock = lu->before.holder_cap_ipc_lock;
	r->dirty_before = lu->before.dirty;
	r->rollback = lu->rollback[0] != 0;

	/* Map what the VMM did not map itself. */
	t = lu_now_ns();
	vaddrs = calloc(lu->nr_regions ? lu->nr_regions : 1, sizeof(void *));
	if (!vaddrs) {
		ret = -ENOMEM;
		goto refused;
	}
	for (unsigned int i = 0; i < lu->nr_regions; i++)
		vaddrs[i] = lu->regions[i].vaddr;
	ret = lu_map_regions(lu, vaddrs, lu->lib_mapped);
	for (unsigned int i = 0; !ret && i < lu->nr_regions; i++)
		lu->regions[i].vaddr = vaddrs[i];
	r->phase_ns[LIVEUPDATE_PHASE_REMAP] = lu_now_ns() - t;
	if (ret)
		goto refused;

	/* Stage and commit.  A holder that died has given the mappings up
	 * (close-on-exit): map them again instead, the slow path. */
	t = lu_now_ns();
	ret = lu_stage_all(lu, vaddrs, &locked);
	r->phase_ns[LIVEUPDATE_PHASE_STAGE] = lu_now_ns() - t;
	t = lu_now_ns();
	if (!ret)
		ret = lu_change_owner(lu->container, &locked);
	if (ret && holder_gone(lu, -ret)) {
		ret = lu_remap_all(lu, &locked);
		remapped = !ret;
	}
	r->phase_ns[LIVEUPDATE_PHASE_COMMIT] = lu_now_ns() - t;
	r->mdev_wait_ns = lu->before.mdev_wait_ns + locked;
	if (ret)
		goto refused;
	free(vaddrs);

	t = lu_now_ns();
	/* The commit point: a holder that never hears it kills us at its
	 * timeout and restarts the previous binary.  A send that failed
	 * (no memory for the message) is tried again; only a channel the
	 * holder closed ends it. */
	for (int i = 0; lu->ctl_fd >= 0 && i < 50; i++) {
		int e = lu_msg_send(lu->ctl_fd, LU_MSG_COMMITTED, 0, "commit", NULL);

		if (!e || e == -EPIPE || e == -ECONNRESET)
			break;
		usleep(10000);
	}
	if (!holder_wait(lu) && !remapped && mappings_gone(lu, &locked)) {
		ret = lu_remap_all(lu, &locked);
		if (ret) {
			lu_report_fail(r, LIVEUPDATE_LOST, -ret, "commit",
				       "the holder died and the mappings could not be made again: %s",
				       strerror(-ret));
			return ret;
		}
		remapped = true;
	}
	r->mdev_wait_ns = lu->before.mdev_wait_ns + locked;
	r->phase_ns[LIVEUPDATE_PHASE_HOLDER_EXIT] = lu_now_ns() - t;
	if (lu->ctl_fd >= 0)
		close(lu->ctl_fd);
	lu->ctl_fd = -1;
	close(lu->state_fd);
	lu->state_fd = -1;

	/* Kept descriptors are this binary's now: close-on-exec again. */
	lu_cloexec(lu->container);
	for (unsigned int i = 0; i < lu->nr_fds; i++)
		lu_cloexec(lu->fds[i].fd);
	for (unsigned int i = 0; i < lu->nr_regions; i++)
		lu_cloexec(lu->regions[i].fd);

	r->phase_ns[LIVEUPDATE_PHASE_TOTAL] = lu_now_ns() - lu->before.t_start_ns;
	vmlck = lu_vmlck_kb();
	r->vmlck_after_kb = vmlck > 0 ? vmlck : 0;
	r->pins_acquired = lu_pins_acquired();
	/* 0 when unreadable (either count), as exec.c reports it */
	r->pins_acquired = r->pins_acquired > lu->before.pins && lu->before.pins ?
			   r->pins_acquired - lu->before.pins : 0;
	r->dirty_after = lu_dirty_probe(lu);
	if (r->rollback) {
		lu_report_fail(r, LIVEUPDATE_ROLLED_BACK, 0, "restart",
			       "%s; the holder restarted the previous binary (new pid %d)",
			       lu->rollback, (int)getpid());
		if (remapped)
			snprintf(r->message + strlen(r->message),
				 sizeof(r->message) - strlen(r->message), ", re-pinned");
	} else if (remapped) {
		lu_report_fail(r, LIVEUPDATE_UPDATED_REMAPPED, 0, "commit",
			       "the holder died: every region was mapped again (re-pinned, slow path)");
	} else {
		snprintf(r->message, sizeof(r->message),
			 "updated: the new binary owns every mapping, nothing re-pinned");
	}
	return 0;

refused:
	{
		int err = -ret;

		lu_report_fail(r, LIVEUPDATE_ROLLED_BACK, err, "commit",
			       "the new binary could not take the mappings: %s", strerror(err));
		if (vaddrs) {
			/* What the library mapped goes; the VMM's own stay. */
			for (unsigned int i = 0; i < lu->nr_regions; i++)
				if (lu->lib_mapped[i])
					lu->regions[i].vaddr = NULL;
			lu_unmap_regions(lu, vaddrs, lu->lib_mapped);
		}
		free(vaddrs);
		if (holder_gone(lu, 0))
			lu_report_fail(r, LIVEUPDATE_LOST, err, "commit",
				       "the holder is gone and the mappings could not be taken: %s",
				       strerror(err));
		ret = refuse(lu->ctl_fd, err, strerror(err));
		lu->ctl_fd = -1;
		return ret;
	}
}
