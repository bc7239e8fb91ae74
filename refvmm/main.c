// SPDX-License-Identifier: GPL-2.0
/*
 * refvmm: options, start-up, the event loop and the control socket.
 *
 * Single-threaded: one poll() over a signalfd (SIGTERM, SIGINT, SIGCHLD),
 * the vCPU's tick timerfd, the dirty-logging timerfd, the listening
 * socket and its clients.  The library (liveupdate.h) starts no thread and
 * waits only for its own children by pid, so we never wait for anything
 * but the agent, by pid, either.
 *
 * The control protocol (docs/orchestrator.md, "The control protocol of
 * refvmm"): one request per connection, a line naming the command, for
 * exec key=value lines, then an empty line; every reply is key=value lines
 * ended by an empty line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "refvmm.h"

static const char usage_text[] =
"Usage: refvmm --socket PATH [--mem MIB] [options]\n"
"\n"
"The reference VMM of libliveupdate: guest RAM in a memfd mapped into a\n"
"VFIO container on vfio_iommu_lu with QEMU's edu device and the test\n"
"mediated device, both DMAing from a child process (the agent), a vCPU\n"
"writing a sequence counter into guest RAM, and a control socket that\n"
"serves status, check and exec (live update).  See refvmm(1).\n"
"\n"
"Options:\n"
"  --socket PATH     listen for control requests on this UNIX socket\n"
"                    (required)\n"
"  --mem MIB         guest RAM in MiB (default 64, at least 16)\n"
"  --hugetlb         back guest RAM with 2 MiB huge pages (MFD_HUGETLB);\n"
"                    fails if not enough are reserved\n"
"                    (/proc/sys/vm/nr_hugepages)\n"
"  --dirty           start dirty logging and read the bitmap every second\n"
"  --no-mdev         run without the test mediated device (also skipped\n"
"                    when its driver vfio_lu_test_mdev is not loaded)\n"
"  --no-edu          run without the edu device (dirty logging is then\n"
"                    exact)\n"
"  --edu-group N     edu's VFIO group (default: $EDU_GROUP)\n"
"  --edu-bdf BDF     edu's PCI address (default: $EDU_BDF)\n"
"  --tick-ms N       vCPU tick period in ms (default 10)\n"
"  --version         print the version and exit\n"
"  -h, --help        print this help and exit\n"
"\n"
"Started by a live update (LIVEUPDATE_STATE_FD set), refvmm resumes from\n"
"the state its predecessor handed over and ignores these options.\n"
"SIGTERM or SIGINT: stop the agent, unmap guest RAM, exit 0.\n";

void vlog(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "refvmm[%d]: %s\n", getpid(), buf);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

long vmlck_kb(void)
{
	char line[256];
	long val = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld", &val) == 1)
			break;
	fclose(f);
	return val;
}

int write_all(int fd, const char *buf, size_t len)
{
	int fl = fcntl(fd, F_GETFL);

	/* Replies are small; a client that does not read gets EPIPE. */
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/* ---- options ---- */

static int parse_u(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

static int parse_options(struct vmm *v, int argc, char **argv)
{
	enum { O_SOCKET = 256, O_MEM, O_HUGETLB, O_DIRTY, O_NO_MDEV, O_NO_EDU,
	       O_EDU_GROUP, O_EDU_BDF, O_TICK, O_VERSION };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "mem", required_argument, NULL, O_MEM },
		{ "hugetlb", no_argument, NULL, O_HUGETLB },
		{ "dirty", no_argument, NULL, O_DIRTY },
		{ "no-mdev", no_argument, NULL, O_NO_MDEV },
		{ "no-edu", no_argument, NULL, O_NO_EDU },
		{ "edu-group", required_argument, NULL, O_EDU_GROUP },
		{ "edu-bdf", required_argument, NULL, O_EDU_BDF },
		{ "tick-ms", required_argument, NULL, O_TICK },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *env;
	unsigned long n;
	int c;

	v->mem_bytes = 64 * MIB;
	v->want_mdev = v->want_edu = true;
	v->tick_ms = 10;
	v->edu_group_nr = -1;
	env = getenv("EDU_GROUP");
	if (env && *env)
		v->edu_group_nr = atoi(env);
	env = getenv("EDU_BDF");
	if (env && *env)
		snprintf(v->edu_bdf, sizeof(v->edu_bdf), "%s", env);

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET:
			if (strlen(optarg) >= sizeof(v->socket_path)) {
				vlog("--socket: path too long");
				return -EINVAL;
			}
			strcpy(v->socket_path, optarg);
			break;
		case O_MEM:
			if (parse_u(optarg, MEM_MIN_MIB, 1 << 20, &n)) {
				vlog("--mem: a number of MiB, at least %d",
				     MEM_MIN_MIB);
				return -EINVAL;
			}
			v->mem_bytes = n * MIB;
			break;
		case O_HUGETLB:
			v->hugetlb = true;
			break;
		case O_DIRTY:
			v->dirty = true;
			break;
		case O_NO_MDEV:
			v->want_mdev = false;
			break;
		case O_NO_EDU:
			v->want_edu = false;
			break;
		case O_EDU_GROUP:
			if (parse_u(optarg, 0, 1 << 20, &n)) {
				vlog("--edu-group: a group number");
				return -EINVAL;
			}
			v->edu_group_nr = n;
			break;
		case O_EDU_BDF:
			snprintf(v->edu_bdf, sizeof(v->edu_bdf), "%s", optarg);
			break;
		case O_TICK:
			if (parse_u(optarg, 1, 1000, &n)) {
				vlog("--tick-ms: 1 to 1000");
				return -EINVAL;
			}
			v->tick_ms = n;
			break;
		case O_VERSION:
			printf("refvmm %s\n", REFVMM_VERSION);
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs("Try 'refvmm --help'.\n", stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		vlog("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int check_options(struct vmm *v)
{
	if (!v->socket_path[0]) {
		vlog("--socket PATH is required (see --help)");
		return -EINVAL;
	}
	if (v->want_edu && (v->edu_group_nr < 0 || !v->edu_bdf[0])) {
		vlog("no edu device: set EDU_GROUP and EDU_BDF (tools/vm-run "
		     "does), give --edu-group and --edu-bdf, or --no-edu");
		return -ENODEV;
	}
	return 0;
}

/* ---- control socket ---- */

static int listen_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, probe, ret;

	strcpy(addr.sun_path, path);
	/* A live server on the path is an error; a stale socket goes. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		ret = connect(probe, (struct sockaddr *)&addr, sizeof(addr));
		close(probe);
		if (!ret) {
			vlog("%s: another server is listening there", path);
			return -EADDRINUSE;
		}
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(fd, MAX_CLIENTS)) {
		ret = -errno;
		vlog("%s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

static void client_close(struct client *c)
{
	char junk[256];

	if (c->fd < 0)
		return;
	/* Unread input would make the peer see ECONNRESET, not our reply. */
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	while (recv(c->fd, junk, sizeof(junk), 0) > 0)
		;
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static void reply_error(int fd, const char *fmt, ...)
{
	char msg[512], buf[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "error=%s\n\n", msg);
	write_all(fd, buf, strlen(buf));
}

static void reply_status(struct vmm *v, int fd)
{
	char exe[512], *buf = NULL;
	struct agent_stats *s = v->stats;
	size_t len = 0;
	ssize_t n;
	FILE *f;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n < 0 ? 0 : n] = '\0';
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	fprintf(f, "pid=%d\nbinary=%s\nversion=%s\nuptime_ms=%llu\n"
		"mem_mib=%llu\nhugetlb=%d\ndirty=%d\nupdates=%u\n",
		getpid(), exe, REFVMM_VERSION,
		(unsigned long long)((now_ns() - v->start_ns) / 1000000),
		(unsigned long long)(v->mem_bytes / MIB), v->hugetlb,
		v->dirty, v->updates);
	fprintf(f, "guest_counter=%llu\nguest_counter_expected=%llu\n"
		"dma_ok=%llu\ndma_failed=%llu\nmdev_ok=%llu\nmdev_failed=%llu\n"
		"mdev_pin_max_us=%llu\nvmlck_kb=%ld\n",
		(unsigned long long)guest_counter(v),
		(unsigned long long)v->counter_expected,
		(unsigned long long)stat_get(&s->edu_ok),
		(unsigned long long)stat_get(&s->edu_failed),
		(unsigned long long)stat_get(&s->mdev_ok),
		(unsigned long long)stat_get(&s->mdev_failed),
		(unsigned long long)(stat_get(&s->pin_max_ns) / 1000),
		vmlck_kb());
	/* Beyond the documented keys (clients ignore unknown ones). */
	fprintf(f, "edu=%d\nmdev=%d\nagent_pid=%d\n",
		v->edu_device >= 0, v->mdev_device >= 0,
		agent_alive(v) ? (int)v->agent_pid : -1);
	if (v->dirty)
		fprintf(f, "dirty_reads=%llu\ndirty_checked=%llu\n"
			"dirty_missed=%llu\ndirty_extra=%llu\n"
			"dirty_exact=%d\ndirty_last_pages=%llu\n",
			(unsigned long long)v->dirty_reads,
			(unsigned long long)v->dirty_checked,
			(unsigned long long)v->dirty_missed,
			(unsigned long long)v->dirty_extra, v->dirty_exact,
			(unsigned long long)v->dirty_last_count);
	fputs("\n", f);
	fclose(f);
	write_all(fd, buf, len);
	free(buf);
}

static void reply_check(struct vmm *v, int fd)
{
	struct liveupdate_check check;
	struct liveupdate *lu;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	lu = liveupdate_new();
	if (!lu) {
		reply_error(fd, "out of memory");
		return;
	}
	ret = update_describe(v, lu, fd);
	if (!ret)
		ret = liveupdate_check(lu, &check);
	liveupdate_free(lu);
	if (ret < 0) {
		reply_error(fd, "check failed: %s", strerror(-ret));
		return;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	liveupdate_check_write_kv(&check, f);
	fputs("\n", f);
	fclose(f);
	write_all(fd, buf, len);
	free(buf);
}

/* Parse the key=value lines of an exec request (after its first line). */
static int parse_exec(char *lines, struct exec_req *req)
{
	char *save = NULL, *line, *eq;
	unsigned long n;

	memset(req, 0, sizeof(*req));
	for (line = strtok_r(lines, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		if (!*line)
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return -EINVAL;
		*eq++ = '\0';
		if (!strcmp(line, "timeout_ms")) {
			if (parse_u(eq, 1, 3600000, &n))
				return -EINVAL;
			req->timeout_ms = n;
		} else if (!strcmp(line, "path")) {
			snprintf(req->path, sizeof(req->path), "%s", eq);
		} else if (!strcmp(line, "arg")) {
			if (req->nr_args >= (int)(sizeof(req->args) /
						   sizeof(req->args[0])) - 1)
				return -E2BIG;
			req->args[req->nr_args++] = eq;
		} else {
			vlog("exec request: unknown key '%s' ignored", line);
		}
	}
	return req->path[0] ? 0 : -EINVAL;
}

/* A whole request is in: serve it.  The client is closed afterwards. */
static void serve(struct vmm *v, struct client *c)
{
	char *nl = strchr(c->buf, '\n'), *rest;
	struct exec_req req;

	rest = nl ? nl + 1 : c->buf + c->len;
	if (nl)
		*nl = '\0';
	if (nl && nl > c->buf && nl[-1] == '\r')
		nl[-1] = '\0';
	if (!strcmp(c->buf, "status")) {
		reply_status(v, c->fd);
	} else if (!strcmp(c->buf, "check")) {
		reply_check(v, c->fd);
	} else if (!strcmp(c->buf, "exec")) {
		if (parse_exec(rest, &req)) {
			reply_error(c->fd, "bad exec request (path=BINARY "
				    "needed; timeout_ms=N, arg=... optional)");
		} else {
			/* Returns only if the update did not happen. */
			update_exec(v, c->fd, &req);
		}
	} else {
		reply_error(c->fd, "unknown request '%s' (status, check, exec)",
			    c->buf);
	}
	client_close(c);
}

static void client_input(struct vmm *v, struct client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len,
			 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += n;
	c->buf[c->len] = '\0';
	/* Complete: an empty line, or the client shut its side down. */
	if (strstr(c->buf, "\n\n") || strstr(c->buf, "\r\n\r\n") || !n) {
		if (!c->len) {
			client_close(c);
			return;
		}
		serve(v, c);
		return;
	}
	if (c->len == sizeof(c->buf) - 1) {
		reply_error(c->fd, "request too long");
		client_close(c);
	}
}

static void accept_clients(struct vmm *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct client *c = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (v->clients[i].fd < 0) {
				c = &v->clients[i];
				break;
			}
		if (!c) {
			reply_error(fd, "busy");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
	}
}

/* ---- the loop ---- */

static int timer_new(unsigned int ms)
{
	struct itimerspec its = {
		.it_interval = { ms / 1000, (ms % 1000) * 1000000L },
		.it_value = { ms / 1000, (ms % 1000) * 1000000L },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void loop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGCHLD);
}

/* Blocked from the start, so that a SIGTERM during start-up or resume
 * waits for the loop (and its clean stop) instead of killing us. */
static void block_signals(void)
{
	sigset_t set;

	loop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* The loop's own descriptors: new at start and after every exec. */
static int loop_setup(struct vmm *v)
{
	sigset_t set;

	loop_signals(&set);
	v->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (v->sig_fd < 0)
		return -errno;
	v->tick_fd = timer_new(v->tick_ms);
	if (v->tick_fd < 0)
		return v->tick_fd;
	if (v->dirty) {
		v->dirty_fd = timer_new(1000);
		if (v->dirty_fd < 0)
			return v->dirty_fd;
	}
	return 0;
}

static void drain(int fd)
{
	uint64_t junk;

	while (read(fd, &junk, sizeof(junk)) > 0)
		;
}

static void signals(struct vmm *v)
{
	struct signalfd_siginfo si;

	while (read(v->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (v->agent_pid > 0 && !agent_alive(v))
				vlog("the agent is gone: devices stopped");
		} else {
			vlog("%s: stopping", strsignal(si.ssi_signo));
			v->stopping = true;
		}
	}
}

static int run(struct vmm *v)
{
	struct pollfd pfd[4 + MAX_CLIENTS];
	struct client *who[4 + MAX_CLIENTS];

	while (!v->stopping) {
		int n = 0;

		pfd[n++] = (struct pollfd){ .fd = v->sig_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = v->tick_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = v->dirty_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = v->listen_fd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (v->clients[i].fd < 0)
				continue;
			who[n] = &v->clients[i];
			pfd[n++] = (struct pollfd){ .fd = v->clients[i].fd,
						    .events = POLLIN };
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			vlog("poll: %s", strerror(errno));
			return -errno;
		}
		if (pfd[0].revents)
			signals(v);
		if (pfd[1].revents) {
			drain(v->tick_fd);
			guest_tick(v);
		}
		if (pfd[2].revents) {
			drain(v->dirty_fd);
			dirty_read(v, NULL, NULL, NULL);
		}
		if (pfd[3].revents)
			accept_clients(v);
		for (int i = 4; i < n; i++)
			if (pfd[i].revents && who[i]->fd >= 0)
				client_input(v, who[i]);
	}
	return 0;
}

static void shutdown_vmm(struct vmm *v)
{
	/* A pending request gets an answer, not a cut connection. */
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (v->clients[i].fd < 0)
			continue;
		reply_error(v->clients[i].fd, "refvmm is stopping");
		client_close(&v->clients[i]);
	}
	/* The agent first: its mdev pins must go before the unmap. */
	agent_stop(v);
	vfio_teardown(v);
	dirty_free(v);
	guest_ram_unmap(v);
	if (v->mem_fd >= 0)
		close(v->mem_fd);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->socket_path);
	}
}

static void vmm_init(struct vmm *v, char **argv)
{
	memset(v, 0, sizeof(*v));
	v->argv = argv;
	v->mem_fd = v->container = -1;
	v->edu_group = v->edu_device = v->mdev_group = v->mdev_device = -1;
	v->agent_pid = -1;
	v->stats_fd = -1;
	v->listen_fd = v->sig_fd = v->tick_fd = v->dirty_fd = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		v->clients[i].fd = -1;
}

/* A normal start: create everything. */
static int start(struct vmm *v)
{
	int ret;

	ret = check_options(v);
	if (ret)
		return ret;
	v->start_ns = now_ns();
	v->listen_fd = listen_socket(v->socket_path);
	if (v->listen_fd < 0)
		return v->listen_fd;
	ret = guest_ram_create(v);
	if (ret)
		return ret;
	ret = vfio_setup(v);
	if (ret)
		return ret;
	ret = vfio_map_ram(v);
	if (ret)
		return ret;
	ret = agent_stats_create(v);
	if (ret) {
		vlog("agent stats page: %s", strerror(-ret));
		return ret;
	}
	ret = dirty_start(v);
	if (ret)
		return ret;
	ret = agent_start(v);
	if (ret) {
		vlog("fork of the agent: %s", strerror(-ret));
		return ret;
	}
	vlog("version %s: %llu MiB of guest RAM%s at iova 0%s, edu %s, "
	     "mdev %s, listening on %s", REFVMM_VERSION,
	     (unsigned long long)(v->mem_bytes / MIB),
	     v->mem_bytes > LOW_RAM_MAX ? " and 4 GiB" : "",
	     v->hugetlb ? " (huge pages)" : "",
	     v->edu_device >= 0 ? v->edu_bdf : "off",
	     v->mdev_device >= 0 ? v->mdev_uuid : "off", v->socket_path);
	return 0;
}

int main(int argc, char **argv)
{
	static struct vmm vmm;
	struct vmm *v = &vmm;
	int ret;

	vmm_init(v, argv);
	if (parse_options(v, argc, argv))
		return 2;
	block_signals();
	ret = update_resume(v);
	if (ret < 0)
		return 1;	/* the holder rolls back (update.c) */
	if (ret == 0) {
		ret = start(v);
		if (ret) {
			shutdown_vmm(v);
			return 1;
		}
	}
	ret = loop_setup(v);
	if (ret) {
		vlog("event loop: %s", strerror(-ret));
		shutdown_vmm(v);
		return 1;
	}
	ret = run(v);
	shutdown_vmm(v);
	vlog("stopped");
	return ret ? 1 : 0;
}
