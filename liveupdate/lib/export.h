/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library builds with hidden visibility: only what include/liveupdate.h
 * declares is exported, and only through this marker. */
#ifndef LU_EXPORT_H
#define LU_EXPORT_H
#define LU_EXPORT __attribute__((visibility("default")))
#endif
