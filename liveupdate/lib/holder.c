// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * holder.c - the holder: a child of the old VMM that owns every mapping
 * while the VMM execs, and the way back once the exec has happened.
 *
 * Lifetime: the holder exits as soon as the new binary has committed, the
 * old VMM has taken the mappings back, or a restarted previous binary has
 * committed; at the latest after two timeouts.  It never outlives the
 * update: if it has nothing left to do it exits, and its exit (close-on-
 * exit) is what gives the mappings up if nobody took them.
 *
 * The parent-death signal is of no use to it: it fires when the *thread*
 * that forked exits, not at exec, and the holder must outlive the VMM's
 * death anyway (that is when it restarts the previous binary).  It
 * watches the channel instead: the VMM's end stays open across exec and
 * closes only when the VMM process dies.
 *
 * The spare: restarting the previous binary needs an unsandboxed process
 * with the VMM's capabilities and every descriptor, and a process that is
 * not the owner (the owner's exec would tear the mappings down).  So the
 * holder forks it first thing, before it sandboxes itself; the spare
 * waits on its own channel and dies with the holder (PR_SET_PDEATHSIG:
 * the holder is single-threaded).  Told to, it execs the previous binary
 * in resume mode, which then takes the mappings from the holder exactly
 * as a new binary would.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lu_int.h"

extern char **environ;

/* A grace period for a VMM told to exit, or killed, to be gone. */
#define LU_EXIT_GRACE_MS	5000

static __attribute__((noreturn)) void spare_main(const struct lu_holder_args *a,
						  int ctl, pid_t holder)
{
	struct lu_msg m;
	char e_state[48], e_ctl[48], e_rb[200];
	char *add[] = { e_state, e_ctl, e_rb, NULL };
	char **env;
	int keep[LIVEUPDATE_MAX_FDS + LIVEUPDATE_MAX_REGIONS + 3], extra[2], n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != holder)
		_exit(0);
	if (lu_msg_recv(ctl, &m, -1) || m.type != LU_MSG_RESTART)
		_exit(0);

	snprintf(e_state, sizeof(e_state), "%s=%d", LIVEUPDATE_ENV_STATE, a->state_fd);
	snprintf(e_ctl, sizeof(e_ctl), "%s=%d", LIVEUPDATE_ENV_CTL, ctl);
	snprintf(e_rb, sizeof(e_rb), "%s=%s", LIVEUPDATE_ENV_ROLLBACK,
		 m.text[0] ? m.text : "restarted");
	env = lu_env_with(environ, add);
	extra[0] = a->state_fd;
	extra[1] = ctl;
	n = lu_kept_fds(a->lu, extra, 2, keep, LU_ARRAY_SIZE(keep));
	if (!env || lu_fds_prepare(keep, n, NULL))
		goto fail;
	/* From here on this is the VMM again: it must not die with the holder. */
	prctl(PR_SET_PDEATHSIG, 0);
	if (a->exe_fd >= 0)
		syscall(SYS_execveat, a->exe_fd, "", a->restart_argv, env, AT_EMPTY_PATH);
	else
		execve(a->lu->restart_path, a->restart_argv, env);
fail:
	lu_msg_send(ctl, LU_MSG_REFUSED, errno, "restart", "exec of the previous binary failed");
	_exit(127);
}

struct holder {
	const struct lu_holder_args *a;
	int ctl, spare_ctl, pidfd;
	pid_t spare;
};

/* Close the spare's channel (it exits) and reap it. */
static void spare_release(struct holder *h)
{
	if (h->spare_ctl >= 0)
		close(h->spare_ctl);
	h->spare_ctl = -1;
	if (h->spare > 0)
		waitpid(h->spare, NULL, 0);
	h->spare = -1;
}

static __attribute__((noreturn)) void holder_exit(struct holder *h, int status)
{
	spare_release(h);
	_exit(status);
}

/* Wait until the process behind pidfd has exited; kill it after grace_ms. */
static void vmm_gone(struct holder *h, int grace_ms)
{
	struct pollfd p = { .fd = h->pidfd, .events = POLLIN };

	if (h->pidfd < 0)
		return;
	if (grace_ms && poll(&p, 1, grace_ms) == 1)
		return;
	syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
	poll(&p, 1, LU_EXIT_GRACE_MS);
}

/*
 * Restart the previous binary through the spare and wait for it to
 * commit.  Exits: 0 when it did; 1 when it did not (the guest is lost:
 * our exit tears the mappings down).
 */
static __attribute__((noreturn)) void rollback(struct holder *h, const char *why)
{
	struct lu_msg m;
	int ret;

	if (h->spare_ctl < 0)
		holder_exit(h, 1);
	lu_msg_send(h->spare_ctl, LU_MSG_RESTART, 0, "restart", why);
	ret = lu_msg_recv(h->spare_ctl, &m, (int)h->a->lu->timeout_ms);
	if (!ret && m.type == LU_MSG_COMMITTED) {
		/* The spare is the VMM now: do not wait for it to exit (it
		 * is reparented when we exit): the holder must not outlive
		 * the commit. */
		h->spare = -1;
		holder_exit(h, 0);
	}
	/* The restarted binary failed too: nothing is left to try. */
	if (h->spare > 0)
		kill(h->spare, SIGKILL);
	holder_exit(h, 1);
}

static int own(struct holder *h, struct lu_msg *res)
{
	const struct liveupdate *lu = h->a->lu;
	unsigned int n = lu->nr_regions ? lu->nr_regions : 1;
	void **vaddrs = calloc(n, sizeof(void *));
	bool *mapped = calloc(n, sizeof(bool));
	int ret = vaddrs && mapped ? 0 : -ENOMEM;

	if (ret)
		goto out;
	ret = lu_map_regions(lu, vaddrs, mapped);
	if (ret) {
		snprintf(res->step, sizeof(res->step), "holder-map");
		goto out;
	}
	ret = lu_stage_all(lu, vaddrs, &res->mdev_wait_ns);
	if (ret) {
		snprintf(res->step, sizeof(res->step), "holder-stage");
		goto out;
	}
	ret = lu_change_owner(lu->container, &res->mdev_wait_ns);
	if (ret) {
		lu_stage_withdraw(lu->container);
		snprintf(res->step, sizeof(res->step), "holder-own");
	}
out:
	/* The mappings stay: they are what the holder pins through. */
	if (ret && vaddrs && mapped)
		lu_unmap_regions(lu, vaddrs, mapped);
	free(vaddrs);
	free(mapped);
	return ret;
}

void lu_holder_main(const struct lu_holder_args *a)
{
	struct holder h = { .a = a, .ctl = a->ctl, .spare_ctl = -1, .pidfd = -1 };
	struct lu_msg res = { .type = LU_MSG_OWNED }, m;
	struct lu_sandbox sb = { .container = a->lu->container, .pidfd = -1,
				 .keep_ipc_lock = a->keep_ipc_lock };
	const char *test_sys = getenv("LIVEUPDATE_TEST_HOLDER_SYSCALL");
	int sp[2], status_fd, ret;
	sigset_t none;

	h.pidfd = syscall(SYS_pidfd_open, a->vmm, 0);
	if (getppid() != a->vmm)	/* the VMM died before we started */
		_exit(1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		lu_msg_send(h.ctl, LU_MSG_FAILED, errno, "holder-spare", "socketpair");
		_exit(1);
	}
	h.spare = fork();
	if (h.spare < 0) {
		lu_msg_send(h.ctl, LU_MSG_FAILED, errno, "holder-spare", "fork of the spare");
		_exit(1);
	}
	if (!h.spare) {
		close(sp[0]);
		close(h.ctl);
		spare_main(a, sp[1], getppid());
	}
	close(sp[1]);
	h.spare_ctl = sp[0];
	/* Not the VMM's signal mask (a VMM with a signalfd blocks SIGTERM or
	 * SIGCHLD): the holder dies of SIGTERM like any process.  The spare
	 * keeps the VMM's, for the binary it restarts, as an exec would. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	sb.pidfd = h.pidfd;
	sb.spare = h.spare;
	ret = lu_sandbox_enter(&sb);
	if (ret) {
		lu_msg_send(h.ctl, LU_MSG_FAILED, -ret, "holder-sandbox", "entering the sandbox");
		holder_exit(&h, 1);
	}
	if (test_sys)		/* tests: a call outside the allow-list kills us */
		syscall(atoi(test_sys), 0, 0, 0);

	ret = own(&h, &res);
	res.own_ns = lu_now_ns() - a->t_fork_ns;
	if (ret) {
		res.type = LU_MSG_FAILED;
		res.error = -ret;
		snprintf(res.text, sizeof(res.text), "%s", strerror(-ret));
		lu_msg_send_full(h.ctl, &res);
		holder_exit(&h, 1);
	}
	res.vmlck_kb = status_fd >= 0 ? (uint64_t)lu_vmlck_kb_fd(status_fd) : 0;
	res.cap_ipc_lock = a->keep_ipc_lock;
	lu_msg_send_full(h.ctl, &res);

	/*
	 * We own the guest.  Wait for the VMM (old binary, or the new one
	 * after exec) to commit, or to give up, within the timeout.
	 */
	ret = lu_msg_recv(h.ctl, &m, (int)a->lu->timeout_ms);
	if (!ret && (m.type == LU_MSG_COMMITTED || m.type == LU_MSG_ABORT))
		holder_exit(&h, 0);
	if (!ret && m.type == LU_MSG_REFUSED) {
		/* The new binary refused and exits by itself. */
		vmm_gone(&h, LU_EXIT_GRACE_MS);
		rollback(&h, m.text[0] ? m.text : "the new binary refused");
	}
	if (ret == -EPIPE) {
		vmm_gone(&h, LU_EXIT_GRACE_MS);
		rollback(&h, "the new binary exited before committing");
	}
	vmm_gone(&h, 0);
	rollback(&h, ret == -ETIMEDOUT ? "the new binary did not commit in time (killed)"
				       : "protocol error on the holder channel");
}
