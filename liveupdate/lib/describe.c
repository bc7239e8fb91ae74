// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * describe.c - the description a VMM builds before an update (container,
 * kept descriptors, regions, payload), its accessors after resume, and
 * the report's common fields.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lu_int.h"

static int fd_is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static int fail(int err)
{
	errno = err;
	return -err;
}

LU_EXPORT struct liveupdate *liveupdate_new(void)
{
	struct liveupdate *lu = calloc(1, sizeof(*lu));

	if (!lu)
		return NULL;
	lu->container = -1;
	lu->state_fd = -1;
	lu->ctl_fd = -1;
	lu->timeout_ms = 30000;
	return lu;
}

LU_EXPORT void liveupdate_free(struct liveupdate *lu)
{
	if (!lu)
		return;
	if (lu->lib_mapped) {
		/* Mappings the library made stay: the VMM uses them. */
		free(lu->lib_mapped);
	}
	if (lu->state_fd >= 0)
		close(lu->state_fd);
	if (lu->ctl_fd >= 0)
		close(lu->ctl_fd);
	free(lu->regions);
	free(lu->payload);
	free(lu->restart_path);
	free(lu->restart_argv);
	free(lu);
}

LU_EXPORT int liveupdate_set_container(struct liveupdate *lu, int fd)
{
	if (!fd_is_open(fd))
		return fail(EBADF);
	lu->container = fd;
	return 0;
}

LU_EXPORT int liveupdate_keep_fd(struct liveupdate *lu, const char *name, int fd)
{
	if (!name || !*name || strchr(name, '\n') || strchr(name, '='))
		return fail(EINVAL);
	if (strlen(name) >= LIVEUPDATE_NAME_MAX)
		return fail(ENAMETOOLONG);
	if (!fd_is_open(fd))
		return fail(EBADF);
	for (unsigned int i = 0; i < lu->nr_fds; i++)
		if (!strcmp(lu->fds[i].name, name))
			return fail(EEXIST);
	if (lu->nr_fds == LIVEUPDATE_MAX_FDS)
		return fail(ENOSPC);
	strcpy(lu->fds[lu->nr_fds].name, name);
	lu->fds[lu->nr_fds].fd = fd;
	lu->nr_fds++;
	return 0;
}

LU_EXPORT int liveupdate_add_region(struct liveupdate *lu,
				    const struct liveupdate_region *r)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct liveupdate_region *n;

	if (!r->size || (r->size | r->offset | r->iova | (uintptr_t)r->vaddr) & (pg - 1) ||
	    !r->prot || r->prot & ~(LIVEUPDATE_PROT_READ | LIVEUPDATE_PROT_WRITE) ||
	    r->iova + r->size < r->iova)
		return fail(EINVAL);
	if (!fd_is_open(r->fd))
		return fail(EBADF);
	if (lu->nr_regions == LIVEUPDATE_MAX_REGIONS)
		return fail(ENOSPC);
	n = realloc(lu->regions, (lu->nr_regions + 1) * sizeof(*n));
	if (!n)
		return fail(ENOMEM);
	lu->regions = n;
	lu->regions[lu->nr_regions++] = *r;
	return 0;
}

LU_EXPORT int liveupdate_set_payload(struct liveupdate *lu, const void *data,
				     size_t len)
{
	void *p = NULL;

	if (len > LIVEUPDATE_MAX_PAYLOAD)
		return fail(E2BIG);
	if (len) {
		p = malloc(len);
		if (!p)
			return fail(ENOMEM);
		memcpy(p, data, len);
	}
	free(lu->payload);
	lu->payload = p;
	lu->payload_len = len;
	return 0;
}

LU_EXPORT int liveupdate_set_timeout_ms(struct liveupdate *lu, unsigned int ms)
{
	if (!ms)
		return fail(EINVAL);
	lu->timeout_ms = ms;
	return 0;
}

LU_EXPORT int liveupdate_set_restart(struct liveupdate *lu, const char *path,
				     char *const argv[])
{
	size_t n = 0, bytes = 0;
	char **v, *p;

	if (!path || !argv || !argv[0])
		return fail(EINVAL);
	for (; argv[n]; n++)
		bytes += strlen(argv[n]) + 1;
	/* One block: the pointer array, then the strings. */
	v = malloc((n + 1) * sizeof(*v) + bytes);
	if (!v)
		return fail(ENOMEM);
	p = (char *)(v + n + 1);
	for (size_t i = 0; i < n; i++) {
		v[i] = strcpy(p, argv[i]);
		p += strlen(argv[i]) + 1;
	}
	v[n] = NULL;
	free(lu->restart_path);
	lu->restart_path = strdup(path);
	if (!lu->restart_path) {
		free(v);
		return fail(ENOMEM);
	}
	free(lu->restart_argv);
	lu->restart_argv = v;
	return 0;
}

LU_EXPORT int liveupdate_container(const struct liveupdate *lu)
{
	return lu->container;
}

LU_EXPORT int liveupdate_fd(const struct liveupdate *lu, const char *name)
{
	for (unsigned int i = 0; i < lu->nr_fds; i++)
		if (!strcmp(lu->fds[i].name, name))
			return lu->fds[i].fd;
	return fail(ENOENT);
}

LU_EXPORT unsigned int liveupdate_nr_regions(const struct liveupdate *lu)
{
	return lu->nr_regions;
}

LU_EXPORT const struct liveupdate_region *
liveupdate_region(const struct liveupdate *lu, unsigned int i)
{
	return i < lu->nr_regions ? &lu->regions[i] : NULL;
}

LU_EXPORT int liveupdate_region_set_vaddr(struct liveupdate *lu, unsigned int i,
					  void *vaddr)
{
	if (i >= lu->nr_regions)
		return fail(ERANGE);
	if ((uintptr_t)vaddr & (sysconf(_SC_PAGESIZE) - 1))
		return fail(EINVAL);
	lu->regions[i].vaddr = vaddr;
	return 0;
}

LU_EXPORT const void *liveupdate_payload(const struct liveupdate *lu, size_t *len)
{
	if (len)
		*len = lu->payload_len;
	return lu->payload;
}

LU_EXPORT const char *liveupdate_rollback_reason(const struct liveupdate *lu)
{
	return lu->rollback[0] ? lu->rollback : NULL;
}

int lu_is_kept(const struct liveupdate *lu, int fd)
{
	if (fd == lu->container)
		return 1;
	for (unsigned int i = 0; i < lu->nr_fds; i++)
		if (lu->fds[i].fd == fd)
			return 1;
	for (unsigned int i = 0; i < lu->nr_regions; i++)
		if (lu->regions[i].fd == fd)
			return 1;
	return 0;
}

static int add_unique(int *out, int n, int max, int fd)
{
	if (fd < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (out[i] == fd)
			return n;
	if (n < max)
		out[n++] = fd;
	return n;
}

int lu_kept_fds(const struct liveupdate *lu, const int *extra, int nr_extra,
		int *out, int max)
{
	int n = 0;

	n = add_unique(out, n, max, lu->container);
	for (unsigned int i = 0; i < lu->nr_fds; i++)
		n = add_unique(out, n, max, lu->fds[i].fd);
	for (unsigned int i = 0; i < lu->nr_regions; i++)
		n = add_unique(out, n, max, lu->regions[i].fd);
	for (int i = 0; i < nr_extra; i++)
		n = add_unique(out, n, max, extra[i]);
	return n;
}

void lu_report_init(struct liveupdate_report *r, const struct liveupdate *lu)
{
	memset(r, 0, sizeof(*r));
	r->version = LIVEUPDATE_API_VERSION;
	r->outcome = LIVEUPDATE_UPDATED;
	r->pid_before = getpid();
	r->pid_after = getpid();
	r->dirty_before = r->dirty_after = -1;
	r->nr_regions = lu->nr_regions;
	for (unsigned int i = 0; i < lu->nr_regions; i++)
		r->bytes += lu->regions[i].size;
}

void lu_report_fail(struct liveupdate_report *r, enum liveupdate_outcome o,
		    int error, const char *step, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	r->error = error;
	snprintf(r->step, sizeof(r->step), "%s", step);
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}
