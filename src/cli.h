/*
 * cli.h - the admin subcommands of SPEC §2 and their exit codes.
 */
#ifndef LEERNET_CLI_H
#define LEERNET_CLI_H

#include <stdio.h>

struct app;

/* sysexits.h values, spelled out where we use them. */
#define EXIT_USAGE	64
#define EXIT_DATAERR	65
#define EXIT_UNAVAIL	69
#define EXIT_SOFTWARE	70
#define EXIT_CANTCREAT	73
#define EXIT_TEMPFAIL	75
#define EXIT_CONFIG	78

/* Each takes argv after its group word ("network add ..." → "add", ...). */
int	cli_network(struct app *, int argc, char **argv);
int	cli_member(struct app *, int argc, char **argv);
int	cli_person(struct app *, int argc, char **argv);
int	cli_outbox(struct app *, int argc, char **argv);
int	cli_staff(struct app *, int argc, char **argv);
int	cli_meeting(struct app *, int argc, char **argv);
int	cli_report(struct app *, int argc, char **argv);

/* "--help" in argv? */
int	cli_wants_help(int argc, char **argv);
/*
 * A command line we cannot take (SPEC §2): one line on stderr saying what
 * was wrong, then how to write it.  Returns EXIT_USAGE.
 */
int	cli_usage(const char *use, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * A group word alone ("leernet network") or with --help: the usage, on
 * stderr with EXIT_USAGE or on stdout with 0.  -1 when argv goes on.
 */
int	cli_group_usage(const char *group, const char *use, int argc,
	    char **argv);

#endif
