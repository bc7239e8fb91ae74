// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * liveupdate - ask a running VMM that holds VFIO devices to update itself
 * into a new binary, check whether it could, or show its status.
 * liveupdate(1); the exit codes are a contract (cmd.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "liveupdate.h"
#include "cmd.h"

#ifndef LIVEUPDATE_VERSION
#define LIVEUPDATE_VERSION "unknown"
#endif

/* One line per profile: a QMP profile for QEMU would be the next. */
static const struct profile *const profiles[] = {
	&profile_ref,
};
#define NR_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

#define DEFAULT_EXEC_TIMEOUT_S	60
#define DEFAULT_CTL_TIMEOUT_S	10
#define MAX_TIMEOUT_S		3600

static const char exit_codes[] =
"Exit status:\n"
"  0  updated: the new binary runs (also after re-pinning guest memory);\n"
"     check: an update is possible; status: printed\n"
"  1  could not talk to the VMM, or its answer is unknown or malformed:\n"
"     nothing was asked, or what happened is not known\n"
"  2  usage error\n"
"  3  rolled back: the previous binary runs on\n"
"  4  refused by the preflight: nothing changed\n"
"  5  the guest could not be preserved\n";

static void usage_main(FILE *out)
{
	unsigned int i;

	fputs("Usage: liveupdate COMMAND [OPTIONS]\n"
	      "\n"
	      "Ask a running VMM that holds VFIO devices to update itself into a new\n"
	      "binary while its guest keeps running and its devices keep doing DMA.\n"
	      "\n"
	      "Commands:\n"
	      "  exec --vmm NAME --socket PATH [--json FILE|-] [--timeout SEC] -- NEW_BINARY [ARGS...]\n"
	      "        update the VMM into NEW_BINARY, wait for the result, print the report\n"
	      "  check --vmm NAME --socket PATH\n"
	      "        preflight: could the VMM update now? nothing is changed\n"
	      "  status --socket PATH [--json]\n"
	      "        what the VMM reports about itself\n"
	      "  help [COMMAND]\n"
	      "        this text, or a command's\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     this text\n"
	      "  -V, --version  the version\n"
	      "\n"
	      "VMM profiles (--vmm):\n", out);
	for (i = 0; i < NR_PROFILES; i++)
		fprintf(out, "  %-6s %s\n", profiles[i]->name,
			profiles[i]->description);
	fprintf(out, "\n%s\n"
		"See liveupdate COMMAND --help and liveupdate(1).\n", exit_codes);
}

static void usage_exec(FILE *out)
{
	fprintf(out,
		"Usage: liveupdate exec --vmm NAME --socket PATH [--json FILE|-]\n"
		"                       [--timeout SEC] -- NEW_BINARY [ARGS...]\n"
		"\n"
		"Ask the VMM listening on PATH to update itself into NEW_BINARY, run with\n"
		"ARGS (argv[0] is NEW_BINARY as given; a relative path is resolved from the\n"
		"current directory), wait for the result and print the report: outcome,\n"
		"pids, binaries, per-phase timings, locked memory, pins, dirty tracking,\n"
		"then the VMM's own figures.\n"
		"\n"
		"  --vmm NAME      the kind of VMM (profiles: liveupdate --help)\n"
		"  --socket PATH   the VMM's control socket\n"
		"  --json FILE|-   also write the report as one JSON object to FILE;\n"
		"                  with -, only the JSON goes to standard output\n"
		"  --timeout SEC   how long the new binary has to take over before it is\n"
		"                  rolled back (default %u); the command waits %u s more\n"
		"  -h, --help      this text\n"
		"\n%s",
		DEFAULT_EXEC_TIMEOUT_S, EXEC_REPLY_MARGIN_S, exit_codes);
}

static void usage_check(FILE *out)
{
	fprintf(out,
		"Usage: liveupdate check --vmm NAME --socket PATH [--json FILE|-] [--timeout SEC]\n"
		"\n"
		"Ask the VMM whether an update is possible now, and print every finding\n"
		"with a verdict: the backend module and its DMA owner extension,\n"
		"RLIMIT_MEMLOCK against what will be charged, CAP_IPC_LOCK, guest memory\n"
		"shared and descriptor-backed, descriptors that would not survive exec.\n"
		"Nothing is changed.\n"
		"\n"
		"  --vmm NAME      the kind of VMM (profiles: liveupdate --help)\n"
		"  --socket PATH   the VMM's control socket\n"
		"  --json FILE|-   also write the findings as one JSON object to FILE;\n"
		"                  with -, only the JSON goes to standard output\n"
		"  --timeout SEC   how long to wait for the answer (default %u)\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: 0 update possible, 4 refused (at least one problem),\n"
		"1 no answer from the VMM, 2 usage error.\n",
		DEFAULT_CTL_TIMEOUT_S);
}

static void usage_status(FILE *out)
{
	fprintf(out,
		"Usage: liveupdate status --socket PATH [--json] [--vmm NAME] [--timeout SEC]\n"
		"\n"
		"Print what the VMM reports about itself: pid, binary, version, its\n"
		"workload counters, one key and value per line.\n"
		"\n"
		"  --socket PATH   the VMM's control socket\n"
		"  --json          one JSON object instead (integers as numbers)\n"
		"  --vmm NAME      the kind of VMM (default: ref)\n"
		"  --timeout SEC   how long to wait for the answer (default %u)\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: 0 printed, 1 no answer from the VMM, 2 usage error.\n",
		DEFAULT_CTL_TIMEOUT_S);
}

enum cmd_kind { CMD_EXEC, CMD_CHECK, CMD_STATUS };

static const struct {
	const char *name;
	void (*usage)(FILE *out);
} commands[] = {
	[CMD_EXEC]	= { "exec", usage_exec },
	[CMD_CHECK]	= { "check", usage_check },
	[CMD_STATUS]	= { "status", usage_status },
};
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int find_command(const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return i;
	return -1;
}

static const struct profile *find_profile(const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_PROFILES; i++)
		if (!strcmp(profiles[i]->name, name))
			return profiles[i];
	return NULL;
}

static void known_profiles(FILE *out)
{
	unsigned int i;

	for (i = 0; i < NR_PROFILES; i++)
		fprintf(out, "%s%s", i ? ", " : "", profiles[i]->name);
}

__attribute__((format(printf, 2, 3)))
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "liveupdate %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'liveupdate %s --help'.\n", cmd);
	return EXIT_USAGE;
}

static int parse_timeout(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !v || v > MAX_TIMEOUT_S)
		return -EINVAL;
	*out = v;
	return 0;
}

enum { OPT_VMM = 256, OPT_SOCKET, OPT_JSON, OPT_TIMEOUT };

/* argv[0] is the command's name; returns the exit code. */
static int run_command(enum cmd_kind kind, int argc, char **argv)
{
	static const struct option exec_opts[] = {
		{ "vmm",	required_argument, NULL, OPT_VMM },
		{ "socket",	required_argument, NULL, OPT_SOCKET },
		{ "json",	required_argument, NULL, OPT_JSON },
		{ "timeout",	required_argument, NULL, OPT_TIMEOUT },
		{ "help",	no_argument,	   NULL, 'h' },
		{ 0 }
	};
	static const struct option status_opts[] = {
		{ "vmm",	required_argument, NULL, OPT_VMM },
		{ "socket",	required_argument, NULL, OPT_SOCKET },
		{ "json",	no_argument,	   NULL, OPT_JSON },
		{ "timeout",	required_argument, NULL, OPT_TIMEOUT },
		{ "help",	no_argument,	   NULL, 'h' },
		{ 0 }
	};
	const char *cmd = commands[kind].name, *vmm = NULL;
	struct cmd_opts o = { 0 };
	const struct profile *p;
	char prog[32];
	int c;

	o.timeout_s = kind == CMD_EXEC ? DEFAULT_EXEC_TIMEOUT_S :
					 DEFAULT_CTL_TIMEOUT_S;
	/* getopt's own messages then name the command. */
	snprintf(prog, sizeof(prog), "liveupdate %s", cmd);
	argv[0] = prog;
	optind = 1;
	/* '+': NEW_BINARY's own options are not ours, even without "--". */
	while ((c = getopt_long(argc, argv, "+h", kind == CMD_STATUS ?
				status_opts : exec_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			commands[kind].usage(stdout);
			return EXIT_UPDATED;
		case OPT_VMM:
			vmm = optarg;
			break;
		case OPT_SOCKET:
			o.socket = optarg;
			break;
		case OPT_JSON:
			o.json = optarg ? optarg : "-";
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &o.timeout_s))
				return usage_error(cmd, "--timeout needs whole seconds, 1 to %d, not '%s'",
						   MAX_TIMEOUT_S, optarg);
			break;
		default:
			fprintf(stderr, "Try 'liveupdate %s --help'.\n", cmd);
			return EXIT_USAGE;
		}
	}

	if (!vmm && kind == CMD_STATUS)
		vmm = profile_ref.name;
	if (!vmm) {
		fprintf(stderr, "liveupdate %s: --vmm NAME is required (known profiles: ", cmd);
		known_profiles(stderr);
		fprintf(stderr, ")\nTry 'liveupdate %s --help'.\n", cmd);
		return EXIT_USAGE;
	}
	p = find_profile(vmm);
	if (!p) {
		fprintf(stderr, "liveupdate %s: unknown VMM profile '%s' (known profiles: ",
			cmd, vmm);
		known_profiles(stderr);
		fprintf(stderr, ")\nTry 'liveupdate %s --help'.\n", cmd);
		return EXIT_USAGE;
	}
	if (!o.socket || !*o.socket)
		return usage_error(cmd, "--socket PATH is required");
	if (o.json && !*o.json)
		return usage_error(cmd, "--json needs a file name or -");

	o.argc = argc - optind;
	o.argv = argv + optind;
	if (kind == CMD_EXEC) {
		if (!o.argc || !*o.argv[0])
			return usage_error(cmd, "NEW_BINARY is missing (after --)");
		return p->exec(&o);
	}
	if (o.argc)
		return usage_error(cmd, "unexpected argument '%s'", o.argv[0]);
	return kind == CMD_CHECK ? p->check(&o) : p->status(&o);
}

int main(int argc, char **argv)
{
	const char *arg = argc > 1 ? argv[1] : NULL;
	int kind;

	if (!arg) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
		usage_main(stdout);
		return EXIT_UPDATED;
	}
	if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
		printf("liveupdate %s (API version %d)\n", LIVEUPDATE_VERSION,
		       LIVEUPDATE_API_VERSION);
		return EXIT_UPDATED;
	}
	if (!strcmp(arg, "help")) {
		if (argc == 2) {
			usage_main(stdout);
			return EXIT_UPDATED;
		}
		kind = find_command(argv[2]);
		if (kind < 0 || argc > 3) {
			fprintf(stderr, "liveupdate help: %s '%s'\n"
				"Try 'liveupdate --help'.\n", kind < 0 ?
				"unknown command" : "unexpected argument",
				argv[kind < 0 ? 2 : 3]);
			return EXIT_USAGE;
		}
		commands[kind].usage(stdout);
		return EXIT_UPDATED;
	}
	if (arg[0] == '-') {
		fprintf(stderr, "liveupdate: unknown option '%s'\n"
			"Try 'liveupdate --help'.\n", arg);
		return EXIT_USAGE;
	}
	kind = find_command(arg);
	if (kind < 0) {
		fprintf(stderr, "liveupdate: unknown command '%s' (commands: exec, check, status)\n"
			"Try 'liveupdate --help'.\n", arg);
		return EXIT_USAGE;
	}
	return run_command(kind, argc - 1, argv + 1);
}
