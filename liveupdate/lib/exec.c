// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * exec.c - the old VMM's side of an update: preflight, fork the holder,
 * wait until it owns every mapping, write the record, exec.  Each step's
 * undo sits next to it; liveupdate_exec() returns only when no exec
 * happened, with the old VMM owning its mappings again.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lu_int.h"

extern char **environ;

/* Reap the holder; kill it if it has not exited within grace_ms. */
static void reap(pid_t pid, int grace_ms)
{
	for (int i = 0; i < grace_ms / 10; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * The old VMM takes its mappings back.  If it is still the owner, a plain
 * VFIO_CHANGE_DMA_OWNER does nothing.  If the holder owns them, a plain
 * one would use the current vaddrs, the holder's, which need not map the
 * same memory here (ENXIO; they do only when the holder's mmap happened
 * to land where the VMM's MADV_DONTFORK guest RAM is): stage ours and
 * commit those.  If the holder died while owning them, they are being
 * torn down: map everything again (re-pinning).
 */
static int take_back(struct liveupdate *lu, struct liveupdate_report *r)
{
	int ret = lu_change_owner(lu->container, &r->mdev_wait_ns);

	if (ret == -ENXIO) {
		ret = lu_stage_all(lu, NULL, &r->mdev_wait_ns);
		if (!ret) {
			ret = lu_change_owner(lu->container, &r->mdev_wait_ns);
			if (ret)
				lu_stage_withdraw(lu->container);
		}
	}
	if (ret == -ESRCH) {
		ret = lu_remap_all(lu, &r->mdev_wait_ns);
		if (!ret)
			snprintf(r->message + strlen(r->message),
				 sizeof(r->message) - strlen(r->message),
				 "; the holder died: every region mapped again (re-pinned)");
	}
	return ret;
}

/* The holder decides CAP_IPC_LOCK: keep it only if the VMM has it and the
 * mappings' charge would not fit the RLIMIT_MEMLOCK the holder inherits. */
static bool holder_needs_ipc_lock(int64_t vmlck_kb)
{
	struct rlimit rl;

	if (!lu_has_cap_ipc_lock() || getrlimit(RLIMIT_MEMLOCK, &rl))
		return false;
	return rl.rlim_cur != RLIM_INFINITY &&
	       (uint64_t)vmlck_kb * 1024 > rl.rlim_cur;
}

static int write_record(struct liveupdate *lu, struct lu_before *b, int fd)
{
	void *buf;
	size_t len;
	ssize_t n;
	int ret = lu_state_encode(lu, b, &buf, &len);

	if (ret)
		return ret;
	n = pwrite(fd, buf, len, 0);
	ret = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	free(buf);
	/* Sealed: neither binary, nor anything that inherits it, can change it. */
	if (!ret && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
					   F_SEAL_WRITE | F_SEAL_SEAL))
		ret = -errno;
	return ret;
}

LU_EXPORT int liveupdate_exec(struct liveupdate *lu, const char *path,
			      char *const argv[], char *const envp[],
			      struct liveupdate_report *r)
{
	struct liveupdate_check check;
	struct lu_before b = { .dirty = -1 };
	struct lu_holder_args ha = { .lu = lu, .exe_fd = -1 };
	struct lu_fd_flags saved = { 0 };
	struct lu_msg m;
	char e_state[48], e_ctl[48];
	char *add[] = { e_state, e_ctl, NULL };
	char **env = NULL, **self_argv = NULL;
	int ctl[2] = { -1, -1 }, state_fd = -1, exec_err, ret, n;
	int keep[LIVEUPDATE_MAX_FDS + LIVEUPDATE_MAX_REGIONS + 3], extra[2];
	int64_t vmlck;
	pid_t holder;
	uint64_t t;

	b.t_start_ns = lu_now_ns();
	lu_report_init(r, lu);
	lu_self_exe(b.binary, sizeof(b.binary));
	snprintf(r->binary_before, sizeof(r->binary_before), "%s", b.binary);
	snprintf(r->binary_after, sizeof(r->binary_after), "%s", b.binary);
	b.pid = getpid();
	vmlck = lu_vmlck_kb();
	b.vmlck_kb = r->vmlck_before_kb = vmlck > 0 ? vmlck : 0;
	b.dirty = r->dirty_before = r->dirty_after = lu_dirty_probe(lu);

	/* 0. Preflight: refuse before anything changes. */
	ret = lu_check(lu, &check);
	if (ret < 0 || check.nr_fail) {
		const char *why = "preflight failed";

		for (unsigned int i = 0; i < check.nr; i++)
			if (check.finding[i].level == LIVEUPDATE_FAIL) {
				why = check.finding[i].text;
				break;
			}
		lu_report_fail(r, LIVEUPDATE_REFUSED, ret < 0 ? -ret : EPERM,
			       "preflight", "%s", ret < 0 ? strerror(-ret) : why);
		ret = -r->error;
		goto out;
	}
	if (!path || !argv) {
		lu_report_fail(r, LIVEUPDATE_REFUSED, EINVAL, "preflight", "no binary given");
		ret = -EINVAL;
		goto out;
	}
	b.phase_ns[LIVEUPDATE_PHASE_PREFLIGHT] = lu_now_ns() - b.t_start_ns;

	/* What the holder needs to restart this binary if the new one fails:
	 * the binary itself, held open (the file may be replaced on disk). */
	if (lu->restart_path) {
		ha.restart_argv = lu->restart_argv;
	} else {
		ha.exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
		self_argv = lu_self_argv();
		ha.restart_argv = self_argv;
		if (ha.exe_fd < 0 || !self_argv) {
			ret = ha.exe_fd < 0 ? -errno : -ENOMEM;
			lu_report_fail(r, LIVEUPDATE_REFUSED, -ret, "preflight",
				       "cannot hold the running binary for a restart");
			goto out;
		}
	}
	state_fd = memfd_create("liveupdate-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (state_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl)) {
		ret = -errno;
		lu_report_fail(r, LIVEUPDATE_REFUSED, -ret, "preflight",
			       "record or channel: %s", strerror(-ret));
		goto out;
	}

	/* 1. Fork the holder; it owns every mapping before we exec. */
	b.pins = lu_pins_acquired();
	ha.ctl = ctl[1];
	ha.state_fd = state_fd;
	ha.vmm = getpid();
	ha.keep_ipc_lock = holder_needs_ipc_lock(vmlck);
	t = ha.t_fork_ns = lu_now_ns();
	holder = fork();
	if (holder < 0) {
		ret = -errno;
		lu_report_fail(r, LIVEUPDATE_ROLLED_BACK, -ret, "fork",
			       "fork of the holder failed: %s; nothing changed", strerror(-ret));
		goto out;
	}
	if (!holder) {
		/* Our end must not stay open in the holder: its EOF is how the
		 * holder learns that the VMM died. */
		close(ctl[0]);
		lu_holder_main(&ha);
	}
	b.phase_ns[LIVEUPDATE_PHASE_FORK] = lu_now_ns() - t;
	close(ctl[1]);
	ctl[1] = -1;
	r->holder_pid = b.holder_pid = holder;

	ret = lu_msg_recv(ctl[0], &m, (int)lu->timeout_ms);
	if (ret || m.type != LU_MSG_OWNED) {
		int err = ret == -ETIMEDOUT ? ETIMEDOUT : ret ? EPIPE :
			  m.error ? m.error : EIO;

		/* Whatever the holder got to, the mappings come back to us. */
		kill(holder, SIGKILL);
		reap(holder, 0);
		lu_report_fail(r, LIVEUPDATE_ROLLED_BACK, err,
			       !ret ? m.step : "holder-own", "the holder could not take the mappings: %s",
			       !ret && m.text[0] ? m.text : strerror(err));
		if (take_back(lu, r)) {
			r->outcome = LIVEUPDATE_LOST;
			snprintf(r->message, sizeof(r->message),
				 "the holder failed and the mappings could not be taken back");
		}
		ret = -err;
		goto out;
	}
	b.phase_ns[LIVEUPDATE_PHASE_HOLDER_OWN] = m.own_ns - b.phase_ns[LIVEUPDATE_PHASE_FORK];
	b.mdev_wait_ns = m.mdev_wait_ns;
	b.vmlck_holder_kb = m.vmlck_kb;
	b.holder_cap_ipc_lock = m.cap_ipc_lock;

	/* 2. The record, the environment, the descriptors; exec. */
	snprintf(e_state, sizeof(e_state), "%s=%d", LIVEUPDATE_ENV_STATE, state_fd);
	snprintf(e_ctl, sizeof(e_ctl), "%s=%d", LIVEUPDATE_ENV_CTL, ctl[0]);
	env = lu_env_with(envp ? envp : environ, add);
	extra[0] = state_fd;
	extra[1] = ctl[0];
	n = lu_kept_fds(lu, extra, 2, keep, LU_ARRAY_SIZE(keep));
	b.t_exec_ns = lu_now_ns();
	ret = env ? write_record(lu, &b, state_fd) : -ENOMEM;
	if (!ret)
		ret = lu_fds_prepare(keep, n, &saved);
	if (!ret) {
		execve(path, argv, env);
		exec_err = errno;
		lu_fds_restore(&saved);
		ret = -exec_err;
	}

	/* The exec failed: take the mappings back, let the holder go. */
	r->holder_cap_ipc_lock = b.holder_cap_ipc_lock;
	r->vmlck_holder_kb = b.vmlck_holder_kb;
	memcpy(r->phase_ns, b.phase_ns, sizeof(b.phase_ns));
	lu_report_fail(r, LIVEUPDATE_ROLLED_BACK, -ret, "exec",
		       "exec of %s failed: %s; the old binary runs on", path, strerror(-ret));
	if (take_back(lu, r)) {
		r->outcome = LIVEUPDATE_LOST;
		snprintf(r->message, sizeof(r->message),
			 "exec of %s failed and the mappings could not be taken back", path);
	} else {
		lu_msg_send(ctl[0], LU_MSG_ABORT, 0, "exec", NULL);
	}
	reap(holder, 5000);
out:
	r->phase_ns[LIVEUPDATE_PHASE_TOTAL] = lu_now_ns() - b.t_start_ns;
	vmlck = lu_vmlck_kb();
	r->vmlck_after_kb = vmlck > 0 ? vmlck : 0;
	r->pins_acquired = b.pins ? lu_pins_acquired() - b.pins : 0;
	r->dirty_after = lu_dirty_probe(lu);
	free(env);
	free(self_argv);
	if (ha.exe_fd >= 0)
		close(ha.exe_fd);
	if (state_fd >= 0)
		close(state_fd);
	if (ctl[0] >= 0)
		close(ctl[0]);
	if (ctl[1] >= 0)
		close(ctl[1]);
	errno = -ret;
	return ret;
}
