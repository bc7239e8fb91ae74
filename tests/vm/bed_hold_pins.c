// SPDX-License-Identifier: GPL-2.0
/*
 * A deliberately leaky command for the bed's own test: map (and so pin) a
 * buffer through the stock backend, then leave a detached child holding
 * the container while this process exits 0.  tools/vm-run must notice
 * the pages still pinned after the command ended and fail the run (122).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio_lu_test.h"

int main(void)
{
	const size_t size = 1 << 20;
	int container, group;
	void *buf;

	container = vfio_open_container();
	group = vfio_open_group(container, edu_group_nr());
	if (container < 0 || group < 0 ||
	    vfio_set_iommu(container, VFIO_TYPE1v2_IOMMU)) {
		perror("vfio setup");
		return 1;
	}
	buf = memfd_buffer(size, NULL);
	if (buf == MAP_FAILED || vfio_map(container, buf, 0x100000, size)) {
		perror("map");
		return 1;
	}
	printf("pinned %ld pages; leaving them to a detached child\n", pinned_pages_now());
	fflush(stdout);
	if (fork() == 0) {
		setsid();
		close(STDOUT_FILENO);
		close(STDERR_FILENO);
		sleep(3600);
	}
	return 0;
}
