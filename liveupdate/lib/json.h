/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json.h - the JSON string writer of json.c (library and command). */
#ifndef LU_JSON_H
#define LU_JSON_H

#include <stddef.h>
#include <stdio.h>

void lu_json_string(FILE *out, const char *str, size_t len);

#endif /* LU_JSON_H */
