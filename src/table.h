/*
 * table.h - admin command output: an aligned table for people, or RFC 4180
 * CSV for scripts (--csv), from the same rows.
 */
#ifndef LEERNET_TABLE_H
#define LEERNET_TABLE_H

#include <stdio.h>

struct table;

struct table	*table_new(size_t ncols, const char *const *headers);
/* Add a row of ncols values (copied; NULL prints as ""). */
void		 table_add(struct table *, const char *const *values);
void		 table_print(const struct table *, FILE *, int csv);
void		 table_free(struct table *);

#endif
