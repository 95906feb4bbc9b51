/*
 * fuzz_config.c - libFuzzer target for the configuration an administrator
 * writes (src/config.c on libinih): any bytes as leernet.conf.  No crash,
 * no leak, no undefined behaviour, and what config.h promises holds:
 *   - a refusal is one line that names the file ("FILE:LINE: ..." or
 *     "FILE: ...");
 *   - a config that loads has both servers, a From address, at least one
 *     domain (lower case), coordinators in lower case, and values inside
 *     their documented ranges;
 *   - loading the same bytes again gives the same verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char path[64];

static void
lower(const char *s)
{
	for (; *s; s++)
		must(*s < 'A' || *s > 'Z');
}

static struct config *
load(const uint8_t *data, size_t size, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "w");

	must(fp != NULL);
	must(fwrite(data, 1, size, fp) == size);
	must(fclose(fp) == 0);
	*err = '\0';
	return config_load(path, err, errlen);
}

static void
check(const struct config *c)
{
	must(c->mailbox.url != NULL && c->mailbox.scheme != NULL);
	must(c->smtp.url != NULL && c->smtp.scheme != NULL);
	must(c->from != NULL && c->from_addr != NULL && c->from_name != NULL);
	must(strchr(c->from_addr, '@') != NULL);
	lower(c->from_addr);
	must(c->domains != NULL && c->domains[0] != NULL);
	for (char **d = c->domains; *d; d++) {
		must(**d != '\0');
		lower(*d);
	}
	must(c->coordinators != NULL);
	for (char **a = c->coordinators; *a; a++) {
		must(strchr(*a, '@') != NULL);
		lower(*a);
	}
	must(c->smtp_sessions >= 1 && c->smtp_sessions <= SMTP_SESSIONS_MAX);
	must(c->keep_sent_days >= 0 && c->keep_sent_days <= KEEP_SENT_DAYS_MAX);
	must(c->poll_interval > 0);
	must(c->max_requests_per_hour > 0);
	must(c->digest_hour >= 0 && c->digest_hour < 24);
	must(c->digest_min >= 0 && c->digest_min < 60);
	must(c->digest_wday >= 0 && c->digest_wday < 7);
	must(c->language != NULL && (strcmp(c->language, "nl") == 0 ||
	    strcmp(c->language, "en") == 0));
	must(c->timezone != NULL && c->template_dir != NULL);
	must(c->db_path != NULL && c->done_folder != NULL &&
	    c->failed_folder != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c, *again;
	char err[1024], err2[1024];

	if (*path == '\0') {
		int fd;

		snprintf(path, sizeof(path), "/tmp/fuzz_config.XXXXXX");
		must((fd = mkstemp(path)) != -1);
		close(fd);
	}
	c = load(data, size, err, sizeof(err));
	if (c == NULL) {
		must(strncmp(err, path, strlen(path)) == 0);
		must(err[strlen(path)] == ':');
		must(strlen(err) > strlen(path) + 2);
		must(strchr(err, '\n') == NULL);
	} else
		check(c);
	again = load(data, size, err2, sizeof(err2));
	must((c == NULL) == (again == NULL));
	if (c == NULL)
		must(strcmp(err, err2) == 0);
	config_free(c);
	config_free(again);
	return 0;
}
