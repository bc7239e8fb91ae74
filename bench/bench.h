/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmark's rows and their output (bench_util.c): every row holds
 * our figure, the peer's figure measured in the same run, and their ratio
 * oriented so that a ratio above 1 always means ours is better.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stdint.h>

enum better { LOWER, HIGHER };

struct row {
	char section[16];	/* "handoff", "mapthru", "bitmap", "kmem" */
	char name[96];		/* what was measured, with its parameters */
	char series[32];	/* plot series key ("" if not plotted) */
	double x;		/* plot x value (MiB or mappings) */
	char unit[12];
	double ours;
	char peer_name[40];
	double peer;
	enum better better;
	double min_ratio;	/* target: ratio >= this; 0 = no target */
	double max_ours;	/* target: ours <= this; 0 = no target */
};

/* Monotonic clock in ns. */
uint64_t now_ns(void);
/* Median of n values (sorts them). */
double median(double *v, int n);

/* Append a row; ratio and verdict are derived at output. */
void row_add(const struct row *r);
/* peer / ours for LOWER, ours / peer for HIGHER; NAN if undefined. */
double row_ratio(const struct row *r);
/* Print the table, write results.csv, results.json and one .dat file per
 * plot series into dir (NULL: table only).  Returns the number of rows
 * whose figures are not sane (not finite, ours or peer not positive). */
int rows_output(const char *dir, const char *header);
int rows_count(void);

#endif
