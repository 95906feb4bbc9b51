/*
 * cli.c - admin subcommands: networks, members, people, the outbox and the
 * staff directory.  Tables for people, --csv for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "app.h"
#include "cli.h"
#include "config.h"
#include "dates.h"
#include "log.h"
#include "slug.h"
#include "staff.h"
#include "store.h"
#include "table.h"
#include "title.h"
#include "util.h"

/* A request made on the command line: what the mail paths take, with the
 * command as the sender the log and the network's history name. */
#define CLI_REQ(app_, who) \
	((struct req){ .app = (app_), .now = time(NULL), .sender = (who), \
	    .sender_name = "" })

int
cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int
cli_usage(const char *use, const char *fmt, ...)
{
	va_list ap;

	fputs("leernet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", use);
	return EXIT_USAGE;
}

int
cli_group_usage(const char *group, const char *use, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage(use, "%s: which %s command?", group, group);
	if (cli_wants_help(argc, argv)) {
		printf("usage: %s\n", use);
		return 0;
	}
	return -1;
}

static const char network_usage[] =
    "leernet network add SLUG --title TITLE [--lead EMAIL]... [--question TEXT]\n"
    "           [--tell]\n"
    "       leernet network list [--csv]\n"
    "       leernet network show SLUG\n"
    "       leernet network close SLUG";

/* Only --csv is an option; anything else starting with - is an error. */
static int
parse_csv_flag(int argc, char **argv, int *csv, int *nargs, char **args,
    const char *use)
{
	*csv = 0;
	*nargs = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0)
			*csv = 1;
		else if (argv[i][0] == '-')
			return cli_usage(use, "unknown option '%s'", argv[i]);
		else if (*nargs < 8)
			args[(*nargs)++] = argv[i];
	}
	return 0;
}

static void
fmt_time(char *out, size_t len, time_t t)
{
	struct tm tm;

	if (t == 0) {
		snprintf(out, len, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

/* A title that can be shown everywhere and tells networks apart. */
static int
check_title(struct app *app, const char *title)
{
	struct network *nets;
	const char *why;
	char buf[160];
	size_t n;
	int rc = 0;

	if ((why = title_problem(title, buf, sizeof(buf))) != NULL) {
		fprintf(stderr, "leernet: network add --title: %s\n", why);
		return EXIT_DATAERR;
	}
	if ((nets = store_networks(app->st, &n)) == NULL)
		return EXIT_SOFTWARE;
	/* A closed or rejected network's title may be used again (next
	 * school year's "Rekenen in groep 3"): a name finds the live one. */
	for (size_t i = 0; i < n && rc == 0; i++)
		if (str_eq_ci(nets[i].title, title) &&
		    (nets[i].state == NET_OPEN || nets[i].state == NET_PROPOSED)) {
			fprintf(stderr, "leernet: network add --title: network "
			    "'%s' has this title already; choose another\n",
			    nets[i].slug);
			rc = EXIT_DATAERR;
		}
	networks_free(nets, n);
	return rc;
}

static char	*address_arg(const char *what, const char *arg);
static int	 network_add_leads(struct app *, const char *slug,
		    const char *title, const char *question,
		    char *const *leads, size_t nleads, int tell);

static int
network_add(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "title", required_argument, NULL, 't' },
		{ "lead", required_argument, NULL, 'l' },
		{ "question", required_argument, NULL, 'q' },
		{ "tell", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *title = NULL, *question = "", *slug;
	char *leads[32], *owned[32];
	size_t nleads = 0, nowned = 0, nuniq = 0;
	int ch, rc, tell = 0;

	optind = 0;	/* GNU: re-initialise after main's getopt */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			title = optarg;
			break;
		case 'q':
			question = optarg;
			break;
		case 'T':
			tell = 1;
			break;
		case 'l':
			if (nleads == ARRAY_LEN(leads))
				return cli_usage(network_usage, "network add: "
				    "at most 32 --lead options");
			leads[nleads++] = optarg;
			break;
		default:
			return cli_usage(network_usage, "network add: unknown "
			    "or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cli_usage(network_usage, "network add: the SLUG is "
		    "missing, e.g. network add rekenen --title Rekenen");
	if (optind != argc - 1)
		return cli_usage(network_usage, "network add: one SLUG, "
		    "not '%s' as well (a title of more words goes in quotes)",
		    argv[optind + 1]);
	if (title == NULL)
		return cli_usage(network_usage, "network add: --title is "
		    "missing, e.g. --title \"Rekenen in groep 3\"");
	if (tell && nleads == 0)
		return cli_usage(network_usage, "network add: --tell tells the "
		    "leads: name them with --lead EMAIL");
	slug = argv[optind];
	if ((rc = check_title(app, title)) != 0)
		return rc;
	if (!slug_valid(slug)) {
		fprintf(stderr, "leernet: '%s' is not a valid slug: use 1-40 "
		    "lower-case letters, digits and single dashes, e.g. "
		    "rekenen-groep-3\n", slug);
		return EXIT_DATAERR;
	}
	rc = 0;
	for (size_t i = 0; i < nleads; i++) {
		struct person p = { 0 };
		int in_staff, twice = 0;
		char *a;

		/* "Bob de Vries <bob@school.nl>", pasted from a mail. */
		if ((a = address_arg("--lead", leads[i])) == NULL ||
		    !config_address_valid(a)) {
			if (a != NULL)
				fprintf(stderr, "leernet: --lead %s: not a mail "
				    "address; write it as bob@school.nl\n", a);
			free(a);
			rc = EXIT_DATAERR;
			break;
		}
		owned[nowned++] = a;
		/* "--lead bob@x --lead 'Bob <bob@x>'": one lead, told once. */
		for (size_t j = 0; j < nuniq && !twice; j++)
			twice = strcmp(leads[j], a) == 0;
		if (twice)
			continue;
		leads[nuniq++] = a;
		if (!config_domain_allowed(app->cfg, a)) {
			fprintf(stderr, "leernet: --lead %s: not in the allowed "
			    "domains ([organization] domains in %s)\n", a,
			    app->cfg->file);
			rc = EXIT_DATAERR;
			break;
		}
		/* With staff_only every command from a lead outside the
		 * directory is refused (a coordinator's is not): said, not
		 * refused, as the directory may well be imported next. */
		if (app->cfg->staff_only && !config_is_coordinator(app->cfg, a)) {
			if ((rc = store_person_get(app->st, a, &p)) == -1) {
				rc = EXIT_SOFTWARE;
				break;
			}
			in_staff = rc == 0 && p.in_staff;
			rc = 0;
			person_clear(&p);
			if (!in_staff)
				fprintf(stderr, "leernet: warning: --lead %s is "
				    "not in the staff directory, and %s has "
				    "staff_only = yes: until it is (leernet "
				    "staff import FILE.csv), leernet answers "
				    "no mail from this lead\n", a,
				    app->cfg->file);
		}
	}
	if (rc == 0)
		rc = network_add_leads(app, slug, title, question, leads,
		    nuniq, tell);
	while (nowned > 0)
		free(owned[--nowned]);
	return rc;
}

/* network add's transaction: the network and its leads (told with
 * --tell), or nothing. */
static int
network_add_leads(struct app *app, const char *slug, const char *title,
    const char *question, char *const *leads, size_t nleads, int tell)
{
	struct req r = CLI_REQ(app, "leernet network add");
	time_t now = r.now;
	int64_t id, ids[32];
	struct buf names;
	int rc;

	if (store_begin(app->st) == -1)
		return EXIT_SOFTWARE;
	rc = store_network_add(app->st, slug, title, question, NET_OPEN, 0,
	    now, &id);
	if (rc == 1) {
		store_rollback(app->st);
		fprintf(stderr, "leernet: network '%s' exists already\n", slug);
		return EXIT_DATAERR;
	}
	buf_init(&names, 0);
	for (size_t i = 0; rc == 0 && i < nleads; i++) {
		if ((rc = store_person_ensure(app->st, leads[i],
		    app->cfg->language, now, &ids[i])) == 0)
			rc = store_membership_set(app->st, id, ids[i],
			    ROLE_LEAD, MS_ACTIVE, now);
		buf_addf(&names, "%s%s", i ? ", " : "", leads[i]);
	}
	if (rc == 0 && tell) {
		struct network n;

		if ((rc = store_network_by_id(app->st, id, &n)) == 0) {
			rc = network_welcome(&r, &n, ids, nleads,
			    names.len ? names.data : "");
			network_clear(&n);
		}
	}
	buf_free(&names);
	if (rc != 0 || store_commit(app->st) == -1) {
		store_rollback(app->st);
		return EXIT_SOFTWARE;
	}
	store_wake_daemon(app->st);
	printf("network %s added: %s\n", slug, title);
	if (tell)
		printf("told: %zu lead%s%s (sent by the running daemon now, "
		    "or with the next 'once')\n", nleads, nleads == 1 ? "" : "s",
		    app->cfg->announce && *app->cfg->announce ?
		    ", and the call to [organization] announce" : "");
	return 0;
}

/* The start of the next planned meeting, ISO 8601 local, or "". */
static const char *
next_meeting(struct app *app, int64_t network_id, char *buf, size_t len)
{
	struct meeting *ms;
	size_t n;

	buf[0] = '\0';
	if ((ms = store_meetings(app->st, network_id, 1, time(NULL), &n)) == NULL)
		return buf;
	if (n > 0 && len >= DT_ISO_LEN)
		dt_format_iso(app->zone, ms[0].start, buf);
	meetings_free(ms, n);
	return buf;
}

static int
network_list(struct app *app, int argc, char **argv)
{
	static const char *const hdr[] = { "slug", "title", "state", "leads",
	    "members", "next_meeting" };
	struct network *nets;
	struct table *t;
	char *args[8];
	size_t n;
	int csv, nargs, rc;

	if ((rc = parse_csv_flag(argc, argv, &csv, &nargs, args,
	    "leernet network list [--csv]")) != 0)
		return rc;
	if (nargs)
		return cli_usage("leernet network list [--csv]", "network list: "
		    "unexpected '%s'", args[0]);
	if ((nets = store_networks(app->st, &n)) == NULL)
		return EXIT_SOFTWARE;
	t = table_new(ARRAY_LEN(hdr), hdr);
	for (size_t i = 0; i < n; i++) {
		size_t leads = 0, members = 0;
		char *lead_list = store_network_leads(app->st, nets[i].id);
		char count[32], next[DT_ISO_LEN];
		const char *row[6];

		store_network_counts(app->st, nets[i].id, &leads, &members);
		snprintf(count, sizeof(count), "%zu", members);
		row[0] = nets[i].slug;
		row[1] = nets[i].title;
		row[2] = net_state_name(nets[i].state);
		row[3] = lead_list;
		row[4] = count;
		row[5] = next_meeting(app, nets[i].id, next, sizeof(next));
		table_add(t, row);
		free(lead_list);
	}
	table_print(t, stdout, csv);
	table_free(t);
	networks_free(nets, n);
	return 0;
}

static int
find_network_or_fail(struct app *app, const char *name, struct network *n)
{
	int rc = store_network_find(app->st, name, n);

	if (rc == 1)
		fprintf(stderr, "leernet: no network '%s' (see 'leernet network "
		    "list')\n", name);
	return rc;
}

static const char *
member_state(const struct member *m)
{
	if (m->state == MS_ACTIVE && m->bouncing)
		return "bouncing";
	return mstate_name(m->state);
}

static int
network_show(struct app *app, int argc, char **argv)
{
	struct network n;
	struct member *m;
	size_t count;
	char created[32];

	if (argc != 2)
		return cli_usage("leernet network show SLUG", "network show: "
		    "give one SLUG");
	if (find_network_or_fail(app, argv[1], &n) != 0)
		return EXIT_DATAERR;
	fmt_time(created, sizeof(created), n.created);
	printf("slug:     %s\ntitle:    %s\nstate:    %s\ncreated:  %s\n",
	    n.slug, n.title, net_state_name(n.state), created);
	/* The last change of state: a close overwrites the approval. */
	if (*n.decided_by)
		printf("%s  by %s%s%s\n", n.state == NET_CLOSED ? "closed: " :
		    n.state == NET_REJECTED ? "rejected:" : "decided:",
		    n.decided_by, *n.reason ? ": " : "", n.reason);
	if (*n.question)
		printf("question: %s\n", n.question);
	if ((m = store_members(app->st, n.id, &count)) != NULL) {
		printf("people:\n");
		for (size_t i = 0; i < count; i++)
			printf("  %-8s %-8s %s%s%s%s\n", role_name(m[i].role),
			    member_state(&m[i]), m[i].email,
			    *m[i].name ? " (" : "", m[i].name,
			    *m[i].name ? ")" : "");
		members_free(m, count);
	}
	network_clear(&n);
	return 0;
}

/* Held meetings without attendance: their hours count once a lead sends
 * the list, which a closed network still takes. */
static int
print_unrecorded(struct app *app, const struct network *n)
{
	struct meeting *ms;
	size_t count;

	if ((ms = meeting_unrecorded(app, n, time(NULL), &count)) == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		char when[DT_ISO_LEN];

		printf("%s meeting %d (%s) has no attendance recorded: its "
		    "hours count once a lead mails 'presentie %s %d' with "
		    "who came\n", i == 0 ? "note:" : "     ", ms[i].number,
		    dt_format_iso(app->zone, ms[i].start, when), n->slug,
		    ms[i].number);
	}
	meetings_free(ms, count);
	return 0;
}

static int
network_close_cli(struct app *app, int argc, char **argv)
{
	struct network n;
	int rc;

	if (argc != 2)
		return cli_usage("leernet network close SLUG", "network close: "
		    "give one SLUG");
	if (find_network_or_fail(app, argv[1], &n) != 0)
		return EXIT_DATAERR;
	if (n.state == NET_PROPOSED) {
		/* Deciding a proposal is the coordinators' (SPEC §4): their
		 * reply says why, and the proposer hears it. */
		fprintf(stderr, "leernet: network %s is a proposal, not open: "
		    "a coordinator decides it by replying 'reject REASON' "
		    "('afwijzen REASON') or 'approve' to the proposal mail\n",
		    n.slug);
		network_clear(&n);
		return EXIT_DATAERR;
	}
	if (n.state == NET_CLOSED || n.state == NET_REJECTED) {
		printf("network %s is already %s; nothing to do\n", n.slug,
		    net_state_name(n.state));
		network_clear(&n);
		return 0;
	}
	{
		/* The same effect as a lead's "sluit": what is left of the
		 * calendar is cancelled for everyone. */
		struct req r = CLI_REQ(app, "leernet network close");

		rc = store_begin(app->st);
		if (rc == 0)
			rc = store_network_set_state(app->st, n.id, NET_CLOSED,
			    r.sender, "", r.now);
		if (rc == 0)
			rc = meeting_cancel_all(&r, &n);
		if (rc == 0)
			rc = store_commit(app->st);
		if (rc != 0)
			store_rollback(app->st);
	}
	if (rc == 0) {
		store_wake_daemon(app->st);
		printf("network %s closed; its future meetings are cancelled "
		    "(sent by the running daemon now, or with the next "
		    "'once')\n", n.slug);
		rc = print_unrecorded(app, &n);
	}
	network_clear(&n);
	return rc == 0 ? 0 : EXIT_SOFTWARE;
}

int
cli_network(struct app *app, int argc, char **argv)
{
	int rc;

	if ((rc = cli_group_usage("network", network_usage, argc, argv)) >= 0)
		return rc;
	if (strcmp(argv[0], "add") == 0)
		return network_add(app, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return network_list(app, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return network_show(app, argc, argv);
	if (strcmp(argv[0], "close") == 0)
		return network_close_cli(app, argc, argv);
	return cli_usage(network_usage, "unknown network command '%s'",
	    argv[0]);
}

static int only_lead_somewhere(struct app *, const char *email,
    int64_t pid, const struct network *only);

/*
 * An address as an admin pastes it ("Bob de Vries <bob@school.nl>" too),
 * lower-cased, or NULL after saying what is wrong (exit 65).
 */
static char *
address_arg(const char *what, const char *arg)
{
	char *a = staff_address_of(arg);

	if (a == NULL)
		fprintf(stderr, "leernet: %s: '%s' is not a mail address; write "
		    "it as bob@school.nl\n", what, arg);
	return a;
}

/*
 * A lead who left the foundation, a member HR asks to take off: what
 * `afmelden` does, done by an admin (a departed lead kept getting the
 * reminders, and nobody could remove them).
 */
static int
member_remove(struct app *app, const char *slug, const char *addr)
{
	struct network n;
	struct person p = { 0 };
	enum role role;
	enum mstate state;
	char *email = address_arg("member remove", addr);
	int rc;

	if (email == NULL)
		return EXIT_DATAERR;
	if (find_network_or_fail(app, slug, &n) != 0) {
		free(email);
		return EXIT_DATAERR;
	}
	if ((rc = store_person_get(app->st, email, &p)) == 0)
		rc = store_membership(app->st, n.id, p.id, &role, &state);
	if (rc == 0 && state == MS_LEFT)
		rc = 1;
	if (rc == 1)
		printf("%s is not in %s; nothing to do\n", email, n.slug);
	else if (rc == 0 &&
	    (rc = only_lead_somewhere(app, email, p.id, &n)) == 1)
		rc = 2;
	else if (rc == 0) {
		struct req r = CLI_REQ(app, "leernet member remove");

		/* A join still to be confirmed is called off (its code
		 * spent); only who was invited gets the cancellations. */
		if ((rc = store_begin(app->st)) == 0 &&
		    (rc = store_membership_set(app->st, n.id, p.id,
		    role == ROLE_FOLLOWER ? ROLE_FOLLOWER : ROLE_MEMBER,
		    MS_LEFT, r.now)) == 0 &&
		    (rc = store_tokens_spend(app->st, p.id, n.id, "join",
		    "withdrawn:leernet member remove", r.now)) == 0 &&
		    (role == ROLE_FOLLOWER || state != MS_ACTIVE ||
		    (rc = meeting_uninvite_person(&r, &n, p.id)) == 0))
			rc = store_commit(app->st);
		if (rc != 0)
			store_rollback(app->st);
		else {
			store_wake_daemon(app->st);
			log_info("%s removed from %s by an admin", email,
			    n.slug);
			printf("%s removed from %s; their future meetings are "
			    "cancelled for them (sent by the running daemon "
			    "now, or with the next 'once')\n", email, n.slug);
		}
	}
	person_clear(&p);
	network_clear(&n);
	free(email);
	return rc == 0 || rc == 1 ? 0 : rc == 2 ? EXIT_DATAERR :
	    EXIT_SOFTWARE;
}

int
cli_member(struct app *app, int argc, char **argv)
{
	static const char *const hdr[] = { "email", "name", "role", "state" };
	static const char use[] = "leernet member list SLUG [--csv] | "
	    "remove SLUG EMAIL";
	struct network n;
	struct member *m;
	struct table *t;
	char *args[8];
	size_t count;
	int csv, nargs, rc;

	if ((rc = cli_group_usage("member", use, argc, argv)) >= 0)
		return rc;
	if (strcmp(argv[0], "remove") == 0) {
		if (argc != 3)
			return cli_usage(use, "member remove: give the "
			    "network's SLUG and one EMAIL");
		return member_remove(app, argv[1], argv[2]);
	}
	if (strcmp(argv[0], "list") != 0)
		return cli_usage(use, "unknown member command '%s'", argv[0]);
	if ((rc = parse_csv_flag(argc, argv, &csv, &nargs, args, use)) != 0)
		return rc;
	if (nargs == 0)
		return cli_usage(use, "member list: the network's SLUG is "
		    "missing (see 'leernet network list')");
	if (nargs != 1)
		return cli_usage(use, "member list: one SLUG, not '%s' as "
		    "well", args[1]);
	if (find_network_or_fail(app, args[0], &n) != 0)
		return EXIT_DATAERR;
	if ((m = store_members(app->st, n.id, &count)) == NULL) {
		network_clear(&n);
		return EXIT_SOFTWARE;
	}
	t = table_new(ARRAY_LEN(hdr), hdr);
	for (size_t i = 0; i < count; i++) {
		const char *row[4] = { m[i].email, m[i].name,
		    role_name(m[i].role), member_state(&m[i]) };

		table_add(t, row);
	}
	table_print(t, stdout, csv);
	table_free(t);
	members_free(m, count);
	network_clear(&n);
	return 0;
}

/* "networks: rekenen (lead, active), taal (member, left)", or none. */
static int
print_networks_of(struct app *app, int64_t person_id)
{
	struct network *nets;
	enum role role;
	enum mstate state;
	size_t n, shown = 0;
	int rc = 0;

	if ((nets = store_networks(app->st, &n)) == NULL)
		return -1;
	printf("networks:  ");
	for (size_t i = 0; i < n && rc != -1; i++) {
		if ((rc = store_membership(app->st, nets[i].id, person_id,
		    &role, &state)) != 0)
			continue;
		printf("%s%s (%s, %s%s%s)", shown++ ? ", " : "", nets[i].slug,
		    role_name(role), mstate_name(state),
		    nets[i].state == NET_OPEN ? "" : "; network ",
		    nets[i].state == NET_OPEN ? "" :
		    net_state_name(nets[i].state));
	}
	printf("%s\n", shown ? "" : "none");
	networks_free(nets, n);
	return rc == -1 ? -1 : 0;
}

/*
 * The one active lead of an open network (of only, when not NULL) cannot
 * go: the network would be left without one.  Prints why for each; 1
 * some, 0 none, -1.
 */
static int
only_lead_somewhere(struct app *app, const char *email, int64_t pid,
    const struct network *only)
{
	struct network *nets;
	enum role role;
	enum mstate state;
	size_t n, leads, members;
	int rc = 0, found = 0;

	if ((nets = store_networks(app->st, &n)) == NULL)
		return -1;
	for (size_t i = 0; i < n && rc != -1; i++) {
		if (nets[i].state != NET_OPEN ||
		    (only != NULL && nets[i].id != only->id) ||
		    (rc = store_membership(app->st, nets[i].id, pid, &role,
		    &state)) != 0 || role != ROLE_LEAD || state != MS_ACTIVE)
			continue;
		if ((rc = store_network_counts(app->st, nets[i].id, &leads,
		    &members)) == 0 && leads <= 1) {
			fprintf(stderr, "leernet: %s is the only lead of %s: "
			    "give it another lead first (a lead or coordinator "
			    "mails 'trekker %s ADDRESS') or close it (leernet "
			    "network close %s)\n", email, nets[i].slug,
			    nets[i].slug, nets[i].slug);
			found = 1;
		}
	}
	networks_free(nets, n);
	return rc == -1 ? -1 : found;
}

/* A proposal of theirs still waiting stays, without a proposer: say so,
 * and what deciding it then takes.  0, or -1. */
static int
proposals_of(struct app *app, int64_t pid)
{
	struct network *nets;
	size_t n;

	if ((nets = store_networks(app->st, &n)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (nets[i].state == NET_PROPOSED && nets[i].proposer_id == pid)
			printf("note: their proposal \"%s\" (%s) still waits for "
			    "the coordinators, without a proposer from now on: "
			    "approving it takes a line 'trekker: ADDRESS'\n",
			    nets[i].title, nets[i].slug);
	networks_free(nets, n);
	return 0;
}

static void
print_forgotten(const struct config *cfg, const char *email,
    const struct forget_counts *c, int dry)
{
	if (c->memberships + c->rsvps + c->attendance + c->news + c->tokens +
	    c->outbox + c->texts + c->processed + c->person + c->waiting == 0)
		printf("the database holds nothing of %s\n", email);
	else
		printf("%s %s: %d membership%s, %d calendar answer%s, %d "
		    "attendance record%s, %d news item%s, %d code%s, %d mail%s "
		    "to them (queued, failed or sent) and the text of %d sent "
		    "to others naming them deleted; %d mail%s from them made "
		    "anonymous (sender and Subject); %s\n",
		    dry ? "would forget" : "forgot", email, c->memberships,
		    c->memberships == 1 ? "" : "s", c->rsvps, c->rsvps == 1 ?
		    "" : "s", c->attendance, c->attendance == 1 ? "" : "s",
		    c->news, c->news == 1 ? "" : "s", c->tokens, c->tokens ==
		    1 ? "" : "s", c->outbox, c->outbox == 1 ? "" : "s",
		    c->texts, c->processed, c->processed == 1 ? "" : "s",
		    c->person ? "and the person record" : "no person record");
	if (c->waiting > 0)
		printf("note: %d mail%s to others not sent yet name%s them "
		    "(a list copy's Reply-To, an answer about them): %s sent "
		    "as %s\n", c->waiting, c->waiting == 1 ? "" : "s",
		    c->waiting == 1 ? "s" : "", c->waiting == 1 ? "it is" :
		    "they are", c->waiting == 1 ? "it is" : "they are");
	printf("not within leernet's reach: their mail in the mailbox (the "
	    "inbox, %s, %s), the system journal, and backups of the "
	    "database\n", cfg->done_folder, cfg->failed_folder);
}

/*
 * The right to erasure (AVG art. 17): everything leernet holds of an
 * address, deleted or made anonymous, in one transaction.  No mail goes
 * out: the address is usually gone with its owner.
 */
static int
person_forget(struct app *app, int argc, char **argv)
{
	static const char use[] = "leernet person forget [--dry-run] EMAIL";
	struct person p = { 0 };
	struct forget_counts c;
	const char *addr = NULL;
	char *email;
	int dry = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (argv[i][0] == '-' || addr != NULL)
			return cli_usage(use, "person forget: unexpected '%s'",
			    argv[i]);
		else
			addr = argv[i];
	}
	if (addr == NULL)
		return cli_usage(use, "person forget: give one EMAIL");
	if ((email = address_arg("person forget", addr)) == NULL)
		return EXIT_DATAERR;
	if (config_is_coordinator(app->cfg, email)) {
		fprintf(stderr, "leernet: %s is a coordinator ([organization] "
		    "coordinators): take it out of the configuration "
		    "first\n", email);
		free(email);
		return EXIT_DATAERR;
	}
	if ((rc = store_person_get(app->st, email, &p)) == -1 ||
	    (rc == 0 && (rc = only_lead_somewhere(app, email, p.id,
	    NULL)) != 0)) {
		person_clear(&p);
		free(email);
		return rc == 1 ? EXIT_DATAERR : EXIT_SOFTWARE;
	}
	if (rc == 0 && (rc = proposals_of(app, p.id)) == -1) {
		person_clear(&p);
		free(email);
		return EXIT_SOFTWARE;
	}
	if ((rc = store_begin(app->st)) == 0 &&
	    (rc = store_person_forget(app->st, email, p.id, &c)) == 0 &&
	    !dry)
		rc = store_commit(app->st);
	if (rc != 0 || dry)
		store_rollback(app->st);
	if (rc == 0) {
		print_forgotten(app->cfg, email, &c, dry);
		if (p.in_staff)
			printf("note: %s is in the staff directory: a 'staff "
			    "import' naming them adds them again (as staff, "
			    "with nothing else)\n", email);
		if (!dry) {
			/* The pages drop their news; the log and free
			 * pages drop what was deleted. */
			store_wake_daemon(app->st);
			if (store_checkpoint_truncate(app->st) == 1)
				printf("note: the running daemon holds the "
				    "database; what was deleted leaves its "
				    "write-ahead log at its next checkpoint\n");
			if ((c.news > 0 || c.memberships > 0) &&
			    app->cfg->publish_dir)
				printf("note: the intranet pages drop them "
				    "when the daemon republishes (now, if it "
				    "runs) or with 'leernet publish'\n");
		}
	}
	person_clear(&p);
	free(email);
	return rc == 0 ? 0 : EXIT_SOFTWARE;
}

int
cli_person(struct app *app, int argc, char **argv)
{
	static const char use[] = "leernet person show EMAIL | reset EMAIL | "
	    "forget [--dry-run] EMAIL";
	struct person p = { 0 };
	char seen[32], created[32], *email;
	int rc;

	if ((rc = cli_group_usage("person", use, argc, argv)) >= 0)
		return rc;
	if (strcmp(argv[0], "forget") == 0)
		return person_forget(app, argc, argv);
	if (strcmp(argv[0], "show") != 0 && strcmp(argv[0], "reset") != 0)
		return cli_usage(use, "unknown person command '%s'", argv[0]);
	if (argc != 2)
		return cli_usage(use, "person %s: give one EMAIL", argv[0]);
	if ((email = address_arg(strcmp(argv[0], "show") == 0 ?
	    "person show" : "person reset", argv[1])) == NULL)
		return EXIT_DATAERR;
	if (strcmp(argv[0], "reset") == 0) {
		if ((rc = store_person_get(app->st, email, &p)) == 0 &&
		    !p.bouncing) {
			printf("%s was not bouncing; nothing to reset\n", email);
			person_clear(&p);
			free(email);
			return 0;
		}
		if (rc == 0) {
			/* What they missed while bouncing is sent with the
			 * reset, in one transaction. */
			struct req r = CLI_REQ(app, "leernet person reset");

			if ((rc = store_begin(app->st)) == 0 &&
			    (rc = store_person_reset(app->st, email)) == 0 &&
			    (rc = meeting_catch_up(&r, p.id)) == 0)
				rc = store_commit(app->st);
			if (rc != 0)
				store_rollback(app->st);
			person_clear(&p);
		}
		if (rc == 0) {
			store_wake_daemon(app->st);
			printf("%s: bouncing cleared; their future meetings are "
			    "sent again (by the running daemon now, or with the "
			    "next 'once')\n", email);
		} else if (rc == 1)
			fprintf(stderr, "leernet: no person %s\n", email);
		free(email);
		return rc == 0 ? 0 : rc == 1 ? EXIT_DATAERR : EXIT_SOFTWARE;
	}
	rc = store_person_get(app->st, email, &p);
	if (rc != 0) {
		if (rc == 1)
			fprintf(stderr, "leernet: no person %s\n", email);
		free(email);
		return rc == 1 ? EXIT_DATAERR : EXIT_SOFTWARE;
	}
	fmt_time(created, sizeof(created), p.created);
	fmt_time(seen, sizeof(seen), p.last_seen);
	printf("email:     %s\nname:      %s\nlanguage:  %s\nschool:    %s\n"
	    "function:  %s\nstaff:     %s\nbouncing:  %s%s%s\n"
	    "first seen: %s\nlast seen: %s\n", p.email, p.name, p.lang,
	    p.school, p.function, p.in_staff ? "yes" : "no",
	    p.bouncing ? "yes" : "no", p.bouncing ? " — " : "",
	    p.bouncing ? p.bounce_reason : "", created, seen);
	rc = print_networks_of(app, p.id);
	person_clear(&p);
	free(email);
	return rc == 0 ? 0 : EXIT_SOFTWARE;
}

int
cli_outbox(struct app *app, int argc, char **argv)
{
	static const char *const hdr[] = { "id", "kind", "rcpt", "state",
	    "attempts", "next_attempt", "last_error" };
	static const char use[] = "leernet outbox list [--all] [--csv] | retry";
	struct ob_row *rows;
	struct table *t;
	size_t n;
	int csv = 0, all = 0, rc;

	if ((rc = cli_group_usage("outbox", use, argc, argv)) >= 0)
		return rc;
	if (strcmp(argv[0], "retry") == 0) {
		int count, held;

		if (argc != 1)
			return cli_usage(use, "outbox retry: unexpected '%s'",
			    argv[1]);
		if (store_outbox_release(app->st, time(NULL), &count) == -1 ||
		    store_outbox_held(app->st, &held) == -1)
			return EXIT_SOFTWARE;
		store_wake_daemon(app->st);
		printf("%d message%s queued for delivery now\n", count,
		    count == 1 ? "" : "s");
		if (held > 0)
			printf("%d invitation%s to addresses marked "
			    "bouncing stay%s as %s: 'leernet person reset "
			    "EMAIL' (once the address works) sends their "
			    "meetings again\n", held, held == 1 ? "" : "s",
			    held == 1 ? "s" : "", held == 1 ? "it is" :
			    "they are");
		return 0;
	}
	if (strcmp(argv[0], "list") != 0)
		return cli_usage(use, "unknown outbox command '%s'", argv[0]);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else
			return cli_usage(use, "outbox list: unexpected '%s'",
			    argv[i]);
	}
	if ((rows = store_outbox_list(app->st, all, &n)) == NULL)
		return EXIT_SOFTWARE;
	t = table_new(ARRAY_LEN(hdr), hdr);
	for (size_t i = 0; i < n; i++) {
		char id[32], att[16], next[32];
		const char *row[7];

		snprintf(id, sizeof(id), "%lld", (long long)rows[i].id);
		snprintf(att, sizeof(att), "%d", rows[i].attempts);
		fmt_time(next, sizeof(next), rows[i].state == OB_QUEUED ?
		    rows[i].next_attempt : 0);
		row[0] = id;
		row[1] = rows[i].kind;
		row[2] = rows[i].rcpt;
		row[3] = ob_state_name(rows[i].state);
		row[4] = att;
		row[5] = next;
		row[6] = rows[i].last_error;
		table_add(t, row);
	}
	table_print(t, stdout, csv);
	table_free(t);
	ob_rows_free(rows, n);
	return 0;
}
