/*
 * config.h - the INI configuration of SPEC §3, loaded into struct config.
 * Every string is owned by the struct and freed by config_free().
 */
#ifndef LEERNET_CONFIG_H
#define LEERNET_CONFIG_H

#include <stddef.h>

enum auth_mech { AUTH_PLAIN, AUTH_LOGIN, AUTH_XOAUTH2 };
enum tls_mode { TLS_REQUIRED, TLS_NONE };

/* What [mailbox] and [smtp] share: where, who, and how to prove it. */
struct server_conf {
	char		*url;		/* as written */
	char		*scheme;	/* "imap", "imaps", "smtp", "smtps", "maildir" */
	char		*host;		/* NULL for maildir */
	unsigned	 port;		/* scheme default when absent */
	char		*path;		/* IMAP mailbox (default INBOX) or maildir dir */
	char		*user;
	char		*password;	/* exactly one of password, */
	char		*password_file;	/* password_file, */
	char		*password_command;	/* password_command may be set */
	enum auth_mech	 auth;
	enum tls_mode	 tls;
	char		*ca_file;
	const char	*section;	/* "mailbox" or "smtp", for messages */
};

enum digest_kind { DIGEST_OFF, DIGEST_DAILY, DIGEST_WEEKLY };

/* [smtp] sessions: the most sessions sending at once. */
#define SMTP_SESSIONS_MAX	16
/* [database] keep_sent_days, [mailbox] keep_done_days: ten years at the
 * most. */
#define KEEP_SENT_DAYS_MAX	3650

struct config {
	char		*file;		/* the path it was read from */

	struct server_conf mailbox;
	int		 idle;		/* bool */
	int		 poll_interval;	/* seconds */
	char		*done_folder;
	char		*failed_folder;

	struct server_conf smtp;
	int		 smtp_sessions;	/* sessions sending at once */
	char		*from;		/* full header value */
	char		*from_name;	/* display part of from, may be "" */
	char		*from_addr;	/* lower-case address of from */

	char		*db_path;
	int		 keep_sent_days; /* text of sent mail, then dropped */
	int		 keep_done_days; /* handled mail in the done folder;
					  * 0: kept for ever */

	char		*org_name;
	char	       **domains;	/* lower-case, NULL-terminated */
	char	       **coordinators;	/* lower-case, NULL-terminated */
	char		*timezone;
	int		 timezone_line;	/* where it was set, for errors; 0: default */
	char		*language;	/* "nl" or "en" */
	char		*announce;	/* may be NULL */
	int		 hours_per_network;
	char		*trusted_authserv_id;	/* NULL: trust none */
	int		 staff_only;
	int		 max_requests_per_hour;

	enum digest_kind digest;
	int		 digest_wday;	/* 0 = Sunday, for weekly */
	int		 digest_hour, digest_min;

	size_t		 list_max_size;	/* bytes */
	int		 list_need_proof;	/* posts need the trusted server's
						 * dmarc/dkim pass */

	char		*publish_dir;	/* may be NULL */
	char		*base_url;	/* may be NULL */

	char		*template_dir;	/* [paths] templates, default built in */
};

/*
 * Load and validate FILE.  On error returns NULL and writes one line naming
 * the file, line, section and key into err ("leernet.conf:12: [smtp] tls:
 * expected required or none, got 'maybe'").
 */
struct config	*config_load(const char *file, char *err, size_t errlen);
void		 config_free(struct config *);

/* The default config path: $LEERNET_CONFIG, then /etc/leernet/leernet.conf. */
const char	*config_default_path(void);

/*
 * The secret of a server: password, or the first line of password_file
 * (resolved by config_load: a bare name in $CREDENTIALS_DIRECTORY when
 * that is set, else relative to the config file's directory), or the
 * trimmed stdout of password_command (run afresh on every call).
 * Returns a string the caller frees, or NULL with a reason in err.
 */
char		*config_secret(const struct server_conf *, char *err, size_t errlen);
/*
 * "" or, when the secret is systemd's copy of a credential, a hint that
 * the copy was made when the service started: a changed password needs a
 * restart, not a reload.  For the message of a refused login.
 */
const char	*config_secret_hint(const struct server_conf *);
/* A user and a password, password_file or password_command: log in.
 * [smtp] without a secret sends without logging in (a relay that trusts
 * the host); [mailbox] cannot be read without one (config_load says so). */
int		 config_logs_in(const struct server_conf *);
/* The same; *permanent says whether the failure is the configuration's
 * (an unreadable or empty file, a command not found or printing nothing)
 * rather than a passing one (a token helper that failed). */
char		*config_secret_ex(const struct server_conf *, int *permanent,
		    char *err, size_t errlen);

/* Is addr (lower-case) in one of the allowed domains / a coordinator? */
int		 config_domain_allowed(const struct config *, const char *addr);
int		 config_is_coordinator(const struct config *, const char *addr);

/* Is host a loopback name or address (localhost, ::1, or a dotted IPv4
 * address in 127.0.0.0/8)? */
int		 host_is_loopback(const char *host);

/* A mail domain (labels with a dot between, no '@' or spaces) / an
 * address local@domain? */
int		 config_domain_valid(const char *);
int		 config_address_valid(const char *);

#endif
