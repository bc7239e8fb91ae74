/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * expect.h - the one assertion of the host unit tests: count the checks,
 * report a failed one with its place and go on, so that a run lists every
 * failure; main() ends with expect_summary().
 */
#ifndef HOST_EXPECT_H
#define HOST_EXPECT_H

#include <stdio.h>

static int failures, checks;

#define EXPECT(cond) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__,	\
			__LINE__, __func__, #cond);			\
	}								\
} while (0)

/* Print the totals; the exit status of the test. */
static inline int expect_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, checks, failures);
	return failures ? 1 : 0;
}

#endif /* HOST_EXPECT_H */
