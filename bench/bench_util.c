// SPDX-License-Identifier: GPL-2.0
/* Rows, medians and the table, CSV, JSON and plot data; see bench.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench.h"

#define MAX_ROWS 512

static struct row rows[MAX_ROWS];
static int nrows;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void row_add(const struct row *r)
{
	if (nrows < MAX_ROWS)
		rows[nrows++] = *r;
}

int rows_count(void)
{
	return nrows;
}

double row_ratio(const struct row *r)
{
	if (!(r->ours > 0) || !(r->peer > 0))
		return NAN;
	return r->better == LOWER ? r->peer / r->ours : r->ours / r->peer;
}

static bool row_sane(const struct row *r)
{
	return isfinite(r->ours) && isfinite(r->peer) && r->ours > 0 &&
	       r->peer > 0;
}

static const char *verdict(const struct row *r)
{
	double q = row_ratio(r);

	if (r->max_ours)
		return r->ours <= r->max_ours ? "yes" : "NO";
	if (!r->min_ratio)
		return "-";
	if (!isfinite(q))
		return "n/a";
	return q >= r->min_ratio ? "yes" : "NO";
}

/* One .dat file per plot series: "x ours peer" lines, in row order. */
static void write_dat(const char *dir)
{
	char done[MAX_ROWS][32];
	int ndone = 0;

	for (int i = 0; i < nrows; i++) {
		char path[512];
		FILE *f;
		bool seen = false;

		if (!rows[i].series[0])
			continue;
		for (int j = 0; j < ndone; j++)
			seen |= !strcmp(done[j], rows[i].series);
		if (seen)
			continue;
		snprintf(done[ndone++], sizeof(done[0]), "%s", rows[i].series);
		snprintf(path, sizeof(path), "%s/%s.dat", dir, rows[i].series);
		f = fopen(path, "we");
		if (!f)
			continue;
		fprintf(f, "# x ours peer name (%s, %s; peer: %s)\n",
			rows[i].section, rows[i].unit, rows[i].peer_name);
		for (int j = i; j < nrows; j++)
			if (!strcmp(rows[j].series, rows[i].series))
				fprintf(f, "%g %.6g %.6g \"%s\"\n", rows[j].x,
					rows[j].ours, rows[j].peer,
					rows[j].name);
		fclose(f);
	}
}

int rows_output(const char *dir, const char *header)
{
	FILE *csv = NULL, *json = NULL;
	int bad = 0;

	if (dir) {
		char path[512];

		mkdir(dir, 0755);
		snprintf(path, sizeof(path), "%s/results.csv", dir);
		csv = fopen(path, "we");
		snprintf(path, sizeof(path), "%s/results.json", dir);
		json = fopen(path, "we");
		if (!csv || !json)
			fprintf(stderr, "vfio_bench: cannot write into %s: %s\n",
				dir, strerror(errno));
	}
	printf("\n%s\n", header);
	printf("ratio > 1: ours better (peer/ours for times and memory, ours/peer for throughput)\n\n");
	printf("| %-8s | %-58s | %-6s | %11s | %-26s | %11s | %8s | %-6s |\n",
	       "section", "row", "unit", "ours", "peer", "peer value", "ratio",
	       "target");
	if (csv)
		fprintf(csv, "section,row,unit,ours,peer,peer_value,ratio,target,met\n");
	if (json)
		fprintf(json, "{\n  \"header\": \"%s\",\n  \"rows\": [\n", header);
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		double q = row_ratio(r);
		char target[24] = "-";

		if (r->max_ours)
			snprintf(target, sizeof(target), "ours<=%g", r->max_ours);
		else if (r->min_ratio)
			snprintf(target, sizeof(target), ">=%g", r->min_ratio);
		if (!row_sane(r)) {
			bad++;
			fprintf(stderr, "vfio_bench: row \"%s\" not sane: ours %g, peer %g\n",
				r->name, r->ours, r->peer);
		}
		printf("| %-8s | %-58s | %-6s | %11.4g | %-26s | %11.4g | %8.3g | %-6s %s\n",
		       r->section, r->name, r->unit, r->ours, r->peer_name,
		       r->peer, q, target, verdict(r));
		if (csv)
			fprintf(csv, "%s,\"%s\",%s,%.6g,\"%s\",%.6g,%.4g,%s,%s\n",
				r->section, r->name, r->unit, r->ours,
				r->peer_name, r->peer, q, target, verdict(r));
		if (json)
			fprintf(json,
				"    {\"section\": \"%s\", \"row\": \"%s\", \"unit\": \"%s\", "
				"\"ours\": %.6g, \"peer\": \"%s\", \"peer_value\": %.6g, "
				"\"ratio\": %.4g, \"target\": \"%s\", \"met\": \"%s\"}%s\n",
				r->section, r->name, r->unit,
				isfinite(r->ours) ? r->ours : -1, r->peer_name,
				isfinite(r->peer) ? r->peer : -1,
				isfinite(q) ? q : -1, target, verdict(r),
				i + 1 < nrows ? "," : "");
	}
	if (json)
		fprintf(json, "  ]\n}\n");
	if (csv)
		fclose(csv);
	if (json)
		fclose(json);
	if (dir)
		write_dat(dir);
	return bad;
}
