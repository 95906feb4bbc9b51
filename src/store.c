/*
 * store.c - the only file that speaks SQL.  Every statement lives in the
 * table below, is prepared on first use and kept for the life of the
 * connection; parameters are always bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "util.h"

/* The schema, one step per version; each runs in its own transaction. */
static const char *const migrations[] = {
	/* 1: the foundation */
	"CREATE TABLE people ("
	"  id INTEGER PRIMARY KEY,"
	"  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  lang TEXT NOT NULL DEFAULT 'nl' CHECK (lang IN ('nl','en')),"
	"  school TEXT NOT NULL DEFAULT '',"
	"  function TEXT NOT NULL DEFAULT '',"
	"  in_staff INTEGER NOT NULL DEFAULT 0,"
	"  bouncing INTEGER NOT NULL DEFAULT 0,"
	"  bounce_reason TEXT NOT NULL DEFAULT '',"
	"  bounced_at INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE networks ("
	"  id INTEGER PRIMARY KEY,"
	"  slug TEXT NOT NULL UNIQUE COLLATE NOCASE"
	"    CHECK (length(slug) BETWEEN 1 AND 60),"
	"  title TEXT NOT NULL,"
	"  question TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('proposed','open','closed','rejected')),"
	"  proposer_id INTEGER REFERENCES people(id),"
	"  created INTEGER NOT NULL,"
	"  decided_by TEXT NOT NULL DEFAULT '',"
	"  decided_at INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX networks_title ON networks(title COLLATE NOCASE);"
	"CREATE TABLE memberships ("
	"  network_id INTEGER NOT NULL REFERENCES networks(id),"
	"  person_id INTEGER NOT NULL REFERENCES people(id),"
	"  role TEXT NOT NULL CHECK (role IN ('lead','member','follower')),"
	"  state TEXT NOT NULL CHECK (state IN ('pending','active','left')),"
	"  delivery TEXT NOT NULL DEFAULT 'direct'"
	"    CHECK (delivery IN ('direct','digest')),"
	"  since INTEGER NOT NULL,"
	"  PRIMARY KEY (network_id, person_id));"
	"CREATE INDEX memberships_person ON memberships(person_id);"
	"CREATE TABLE tokens ("
	"  token TEXT PRIMARY KEY,"
	"  action TEXT NOT NULL,"
	"  person_id INTEGER NOT NULL REFERENCES people(id),"
	"  network_id INTEGER REFERENCES networks(id),"
	"  arg TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  used INTEGER NOT NULL DEFAULT 0,"
	"  used_by TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE sent ("
	"  msgid TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  token TEXT NOT NULL DEFAULT '',"
	"  network_id INTEGER,"
	"  meeting_id INTEGER,"
	"  person_id INTEGER,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE processed ("
	"  key TEXT PRIMARY KEY,"
	"  msgid TEXT NOT NULL,"
	"  sender TEXT NOT NULL COLLATE NOCASE,"
	"  outcome TEXT NOT NULL,"
	"  handled INTEGER NOT NULL);"
	"CREATE INDEX processed_sender ON processed(sender, handled);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  env_from TEXT NOT NULL,"
	"  rcpt TEXT NOT NULL,"
	"  msgid TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'queued'"
	"    CHECK (state IN ('queued','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  next_attempt INTEGER NOT NULL,"
	"  sent_at INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt);"
	"CREATE INDEX outbox_rcpt ON outbox(rcpt, kind, created);"
	"CREATE TABLE news ("
	"  id INTEGER PRIMARY KEY,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id),"
	"  person_id INTEGER REFERENCES people(id),"
	"  subject TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE INDEX news_network ON news(network_id, created);"
	"CREATE TABLE meetings ("
	"  id INTEGER PRIMARY KEY,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id),"
	"  number INTEGER NOT NULL CHECK (number > 0),"
	"  uid TEXT NOT NULL UNIQUE,"
	"  start INTEGER NOT NULL,"
	"  end INTEGER NOT NULL CHECK (end > start),"
	"  location TEXT NOT NULL DEFAULT '',"
	"  topic TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL DEFAULT 'planned'"
	"    CHECK (status IN ('planned','cancelled')),"
	"  sequence INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  reminded INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (network_id, number));"
	"CREATE INDEX meetings_start ON meetings(status, end);"
	"CREATE TABLE rsvps ("
	"  meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
	"  person_id INTEGER NOT NULL REFERENCES people(id),"
	"  partstat TEXT NOT NULL CHECK (partstat IN"
	"    ('accepted','declined','tentative','needs-action')),"
	"  sequence INTEGER NOT NULL DEFAULT 0,"
	"  stale INTEGER NOT NULL DEFAULT 0,"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  updated INTEGER NOT NULL,"
	"  PRIMARY KEY (meeting_id, person_id));"
	"CREATE TABLE attendance ("
	"  meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
	"  person_id INTEGER NOT NULL REFERENCES people(id),"
	"  PRIMARY KEY (meeting_id, person_id));",
	/* 2: digests (digest additions) */
	"CREATE TABLE digest_seen ("
	"  person_id INTEGER NOT NULL REFERENCES people(id),"
	"  kind TEXT NOT NULL,"
	"  item INTEGER NOT NULL,"
	"  sub INTEGER NOT NULL DEFAULT 0,"
	"  sent INTEGER NOT NULL,"
	"  PRIMARY KEY (person_id, kind, item, sub)) WITHOUT ROWID;"
	"CREATE TABLE digest_runs ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  recipients INTEGER NOT NULL,"
	"  items INTEGER NOT NULL,"
	"  scheduled INTEGER NOT NULL);",
	/*
	 * 3: the message text apart from its outbox row.  SQLite rewrites
	 * a whole record, overflow pages and all, on every UPDATE: marking
	 * a 5 KB invitation sent wrote six pages with the text in the row,
	 * three without.
	 */
	"CREATE TABLE outbox_data ("
	"  id INTEGER PRIMARY KEY REFERENCES outbox(id),"
	"  data BLOB NOT NULL);"
	"INSERT INTO outbox_data (id, data) SELECT id, data FROM outbox;"
	"ALTER TABLE outbox DROP COLUMN data;",
	/*
	 * 4: "was this person sent this meeting's calendar?" (a member who
	 * comes back, each future meeting) read all of `sent`, one row per
	 * mail ever sent: 19 ms at 300,000 rows, per meeting, per join.
	 */
	"CREATE INDEX IF NOT EXISTS sent_meeting ON sent(meeting_id, person_id);",
	/*
	 * 5: the Subject of mail kept for people, so the coordinators'
	 * digest can say which message in the inbox is meant.  Empty for
	 * everything handled: it is only ever shown for kept mail.
	 */
	"ALTER TABLE processed ADD COLUMN subject TEXT NOT NULL DEFAULT '';",
	/*
	 * 6: a list post's copies share one text.  Each copy is the same
	 * bytes; stored once per member, a 5 MB post to 300 members wrote
	 * 1.5 GB.  data_id NULL: the row's own text (outbox_data.id = id);
	 * else the id of the row whose text it is.
	 */
	"ALTER TABLE outbox ADD COLUMN data_id INTEGER;"
	"CREATE INDEX outbox_shared ON outbox(data_id)"
	"  WHERE data_id IS NOT NULL;",
	/*
	 * 7: how often a row was handed to the server without its answer
	 * being noted (leernet killed in between): the server may have it.
	 * Each such stop could send it once more; at the second the row is
	 * given up instead, for people to check.
	 */
	"ALTER TABLE outbox ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 8: what readers outside a network see of a news item (pages,
	 * feeds, followers' and coordinators' digests), when it is not the
	 * body: a forward's body keeps what it forwards for the members,
	 * and that may be a parent's mail about a pupil.  NULL: the body.
	 */
	"ALTER TABLE news ADD COLUMN outside TEXT;",
};
_Static_assert(ARRAY_LEN(migrations) == STORE_SCHEMA_VERSION,
    "one migration per schema version");

enum stmt_id {
	S_PERSON_GET, S_PERSON_BY_ID, S_PERSON_INSERT, S_PERSON_UPDATE,
	S_PERSON_BOUNCING, S_PERSON_RESET, S_STAFF_GET, S_STAFF_INSERT,
	S_STAFF_UPDATE, S_STAFF_ASIDE, S_STAFF_LEFT,
	S_NET_ADD, S_NET_BY_SLUG, S_NET_FIND, S_NET_BY_ID, S_NET_STATE, S_NET_ALL,
	S_NET_PENDING,
	S_MS_GET, S_MS_SET, S_MS_LIST, S_MS_COUNTS, S_MS_LEADS,
	S_TOKEN_ADD, S_TOKEN_GET, S_TOKEN_OPEN, S_TOKEN_USE, S_TOKEN_SPEND,
	S_SENT_ADD, S_SENT_GET,
	S_PROC_GET, S_PROC_ADD, S_PROC_SINCE, S_OUTCOME_SINCE, S_KIND_SINCE,
	S_OB_ADD, S_OB_ADD_DATA, S_OB_DUE, S_OB_LIST, S_OB_LIST_ALL,
	S_OB_SENT, S_OB_RETRY, S_OB_FAILED, S_OB_INFLIGHT, S_OB_RELEASE,
	S_OB_NEXT, S_OB_UNSTICK,
	S_OB_WAS_SENT, S_OB_ADD_SHARED, S_PERSON_NAME,
	S_OB_PRUNE,
	S_PERSON_ENSURE, S_MS_DELIVERY, S_NEWS_ADD,
	/* meetings */
	S_MT_ADD, S_MT_GET, S_MT_BY_ID, S_MT_BY_UID, S_MT_UPDATE,
	S_MT_REMINDED, S_MT_ALL, S_MT_FUTURE, S_MT_REMIND, S_RSVP_SET,
	S_RSVP_RESET, S_RSVP_COUNTS, S_RSVP_ANSWERS, S_ATT_CLEAR, S_ATT_ADD, S_ATT_ANY, S_HOURS,
	/* digest additions */
	S_OB_NOTE, S_OB_HELD, S_OB_DROP_CAL_TEXT, S_OB_DROP_CAL,
	S_NET_CHANGED, S_NEWS_SINCE, S_BOUNCING, S_KEPT_SINCE,
	S_DG_SEEN, S_DG_SEEN_ADD, S_DG_LAST_RUN, S_DG_RUN_ADD,
	/* publish additions */
	S_NEWS_LATEST, S_NEWS_BARE, S_NEWS_OUTSIDE,
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S__COUNT
};

static const char *const sql[S__COUNT] = {
	[S_PERSON_GET] = "SELECT id, email, name, lang, school, function,"
	    " in_staff, bouncing, bounce_reason, created, last_seen"
	    " FROM people WHERE email = ?1",
	[S_PERSON_BY_ID] = "SELECT id, email, name, lang, school, function,"
	    " in_staff, bouncing, bounce_reason, created, last_seen"
	    " FROM people WHERE id = ?1",
	[S_PERSON_INSERT] = "INSERT INTO people (email, name, lang, created,"
	    " last_seen) VALUES (lower(?1), ?2, ?3, ?4, ?4)",
	/* The directory's name stays; a name from proven mail replaces. */
	[S_PERSON_UPDATE] = "UPDATE people SET"
	    " name = CASE WHEN ?2 IS NULL OR in_staff = 1 THEN name ELSE ?2 END,"
	    " lang = coalesce(?3, lang), last_seen = ?4,"
	    " bouncing = 0, bounce_reason = '' WHERE email = ?1",
	[S_PERSON_NAME] = "UPDATE people SET name = ?2"
	    " WHERE id = ?1 AND in_staff <> 1",
	[S_PERSON_BOUNCING] = "UPDATE people SET bouncing = 1,"
	    " bounce_reason = ?2, bounced_at = ?3 WHERE email = ?1",
	[S_PERSON_RESET] = "UPDATE people SET bouncing = 0, bounce_reason = ''"
	    " WHERE email = ?1",
	[S_STAFF_GET] = "SELECT in_staff FROM people WHERE email = ?1",
	[S_STAFF_INSERT] = "INSERT INTO people (email, name, school, function,"
	    " in_staff, created) VALUES (lower(?1), ?2, ?3, ?4, 1, ?5)",
	[S_STAFF_UPDATE] = "UPDATE people SET name = ?2, school = ?3,"
	    " function = ?4, in_staff = 1 WHERE email = ?1",
	/* 2: in the last directory, not (yet) in this one; never
	 * committed, store_staff_replace_end resolves it. */
	[S_STAFF_ASIDE] = "UPDATE people SET in_staff = 2 WHERE in_staff = 1",
	[S_STAFF_LEFT] = "UPDATE people SET in_staff = 0 WHERE in_staff = 2",
	[S_NET_ADD] = "INSERT INTO networks (slug, title, question, state,"
	    " proposer_id, created) VALUES (?1, ?2, ?3, ?4, nullif(?5, 0), ?6)",
	/*
	 * A slug first, then a title.  Two statements, not one with OR and
	 * ORDER BY: that one built a temporary b-tree on every join.
	 */
	[S_NET_BY_SLUG] = "SELECT id, slug, title, question, state,"
	    " coalesce(proposer_id, 0), created, decided_by, reason"
	    " FROM networks WHERE slug = ?1",
	[S_NET_FIND] = "SELECT id, slug, title, question, state,"
	    " coalesce(proposer_id, 0), created, decided_by, reason"
	    " FROM networks WHERE title = ?1 COLLATE NOCASE"
	    /* The live one first: a rejected title may be proposed again. */
	    " ORDER BY CASE state WHEN 'open' THEN 0 WHEN 'proposed' THEN 1"
	    " WHEN 'closed' THEN 2 ELSE 3 END, id DESC LIMIT 1",
	[S_NET_BY_ID] = "SELECT id, slug, title, question, state,"
	    " coalesce(proposer_id, 0), created, decided_by, reason"
	    " FROM networks WHERE id = ?1",
	[S_NET_STATE] = "UPDATE networks SET state = ?2, decided_by = ?3,"
	    " reason = ?4, decided_at = ?5 WHERE id = ?1",
	[S_NET_ALL] = "SELECT id, slug, title, question, state,"
	    " coalesce(proposer_id, 0), created, decided_by, reason"
	    " FROM networks ORDER BY slug",
	[S_NET_PENDING] = "SELECT id, slug, title, question, state,"
	    " coalesce(proposer_id, 0), created, decided_by, reason"
	    " FROM networks WHERE title = ?1 COLLATE NOCASE AND"
	    " proposer_id = ?2 AND state = 'proposed' LIMIT 1",
	[S_MS_GET] = "SELECT role, state FROM memberships"
	    " WHERE network_id = ?1 AND person_id = ?2",
	[S_MS_SET] = "INSERT INTO memberships (network_id, person_id, role,"
	    " state, since) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (network_id, person_id) DO UPDATE SET"
	    " role = excluded.role, state = excluded.state,"
	    /* A follower who joins is a member from now on. */
	    " since = CASE WHEN memberships.state = excluded.state AND"
	    "   (memberships.role = 'follower') = (excluded.role = 'follower')"
	    "   THEN memberships.since ELSE excluded.since END",
	[S_MS_LIST] = "SELECT p.id, p.email, p.name, m.role, m.state,"
	    " p.bouncing, m.delivery = 'digest', m.since"
	    " FROM memberships m JOIN people p ON p.id = m.person_id"
	    " WHERE m.network_id = ?1"
	    " ORDER BY m.role = 'lead' DESC, m.role = 'member' DESC, p.email",
	[S_MS_COUNTS] = "SELECT"
	    " count(*) FILTER (WHERE role = 'lead'),"
	    " count(*) FILTER (WHERE role = 'member')"
	    " FROM memberships WHERE network_id = ?1 AND state = 'active'",
	[S_MS_LEADS] = "SELECT group_concat(email, ', ') FROM (SELECT p.email"
	    " FROM memberships m JOIN people p ON p.id = m.person_id"
	    " WHERE m.network_id = ?1 AND m.role = 'lead' AND"
	    " m.state = 'active' ORDER BY p.email)",
	[S_TOKEN_ADD] = "INSERT INTO tokens (token, action, person_id,"
	    " network_id, arg, created, expires)"
	    " VALUES (?1, ?2, ?3, nullif(?4, 0), ?5, ?6, ?7)",
	[S_TOKEN_GET] = "SELECT token, action, person_id,"
	    " coalesce(network_id, 0), arg, created, expires, used, used_by"
	    " FROM tokens WHERE token = ?1",
	/* Not by expiry: a moderation code decides as long as the
	 * proposal waits (act_decide), and the oldest proposals are the
	 * ones most in need of one. */
	[S_TOKEN_OPEN] = "SELECT token FROM tokens WHERE action = ?1 AND"
	    " person_id = ?2 AND network_id = ?3 AND used = 0"
	    " ORDER BY created DESC LIMIT 1",
	[S_TOKEN_USE] = "UPDATE tokens SET used = ?2, used_by = ?3"
	    " WHERE token = ?1 AND used = 0",
	[S_TOKEN_SPEND] = "UPDATE tokens SET used = ?4, used_by = ?5"
	    " WHERE person_id = ?1 AND network_id = ?2 AND action = ?3"
	    " AND used = 0",
	[S_SENT_ADD] = "INSERT OR REPLACE INTO sent (msgid, kind, token,"
	    " network_id, meeting_id, person_id, created)"
	    " VALUES (?1, ?2, ?3, nullif(?4, 0), nullif(?5, 0), nullif(?6, 0), ?7)",
	[S_SENT_GET] = "SELECT kind, token, coalesce(network_id, 0),"
	    " coalesce(meeting_id, 0), coalesce(person_id, 0)"
	    " FROM sent WHERE msgid = ?1",
	[S_PROC_GET] = "SELECT outcome FROM processed WHERE key = ?1",
	[S_PROC_ADD] = "INSERT INTO processed (key, msgid, sender, outcome,"
	    " handled, subject) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* Not "NOT IN (...)": a list of constants is a temporary b-tree. */
	[S_PROC_SINCE] = "SELECT count(*) FROM processed WHERE sender = ?1"
	    " AND handled >= ?2 AND outcome <> 'machine'"
	    " AND outcome <> 'bounce' AND outcome <> 'rsvp'"
	    " AND outcome <> 'duplicate' AND outcome <> 'human'",
	[S_OUTCOME_SINCE] = "SELECT count(*) FROM processed WHERE sender = ?1"
	    " AND handled >= ?2 AND outcome = ?3",
	[S_KIND_SINCE] = "SELECT count(*) FROM outbox WHERE rcpt = ?1"
	    " AND created >= ?2 AND kind = ?3",
	[S_OB_ADD] = "INSERT INTO outbox (kind, env_from, rcpt, msgid,"
	    " created, next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
	[S_OB_ADD_DATA] = "INSERT INTO outbox_data (id, data) VALUES (?1, ?2)",
	[S_OB_ADD_SHARED] = "INSERT INTO outbox (kind, env_from, rcpt, msgid,"
	    " created, next_attempt, data_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5,"
	    " ?6)",
	/*
	 * The ids first, from the index alone; only then the texts.  Joined
	 * before the LIMIT, the sort read the text of every due row: with
	 * 10,000 queued, each call read 10,000 pages to send 200.
	 */
	[S_OB_DUE] = "SELECT o.id, kind, env_from, rcpt, msgid, d.data, state,"
	    " attempts, created, next_attempt, sent_at, last_error, inflight"
	    " FROM outbox o JOIN outbox_data d"
	    "   ON d.id = coalesce(o.data_id, o.id)"
	    " WHERE o.id IN (SELECT id FROM outbox WHERE state = 'queued'"
	    "   AND next_attempt <= ?1 ORDER BY id LIMIT ?2)"
	    " ORDER BY o.id",
	[S_OB_LIST] = "SELECT id, kind, env_from, rcpt, msgid, NULL, state,"
	    " attempts, created, next_attempt, sent_at, last_error, inflight"
	    " FROM outbox WHERE state != 'sent' ORDER BY id",
	[S_OB_LIST_ALL] = "SELECT id, kind, env_from, rcpt, msgid, NULL, state,"
	    " attempts, created, next_attempt, sent_at, last_error, inflight"
	    " FROM outbox ORDER BY id",
	/*
	 * By outbox_rcpt: one person's rows, not every mail sent.  Not list
	 * copies: they carry their author's Message-ID, which the author
	 * could return in a report of their own for every member.
	 */
	[S_OB_WAS_SENT] = "SELECT 1 FROM outbox WHERE rcpt = ?1 AND msgid = ?2"
	    " AND kind <> 'list' LIMIT 1",
	[S_OB_SENT] = "UPDATE outbox SET state = 'sent', sent_at = ?2,"
	    " attempts = attempts + 1, last_error = '', inflight = 0"
	    " WHERE id = ?1",
	[S_OB_RETRY] = "UPDATE outbox SET attempts = attempts + 1,"
	    " next_attempt = ?2, last_error = ?3, inflight = 0 WHERE id = ?1",
	[S_OB_FAILED] = "UPDATE outbox SET state = 'failed',"
	    " attempts = attempts + 1, last_error = ?2, next_attempt = ?3,"
	    " inflight = 0 WHERE id = ?1",
	/* ?2: +1 handed to the server, -1 it never got to this one */
	[S_OB_INFLIGHT] = "UPDATE outbox SET inflight = max(inflight + ?2, 0)"
	    " WHERE id = ?1",
	/* Not an invitation to an address marked bouncing: the calendar
	 * is sent again, as it stands, when the mark goes (meeting_catch_up);
	 * released too, the person would get it twice. */
	[S_OB_RELEASE] = "UPDATE outbox SET state = 'queued', next_attempt = ?1,"
	    " inflight = 0 WHERE state != 'sent' AND NOT (kind = 'invite' AND"
	    " EXISTS (SELECT 1 FROM people p WHERE p.email = outbox.rcpt AND"
	    " p.bouncing = 1))",
	[S_OB_HELD] = "SELECT count(*) FROM outbox WHERE state != 'sent' AND"
	    " kind = 'invite' AND EXISTS (SELECT 1 FROM people p WHERE"
	    " p.email = outbox.rcpt AND p.bouncing = 1)",
	/* Only what meeting_catch_up sends again: meetings to come of
	 * open networks they are an active member of.  A cancellation in a
	 * network closed or left since stays, for a retry. */
#define OB_RESENT " id IN (SELECT o.id FROM outbox o JOIN sent s ON" \
	    " s.msgid = o.msgid AND s.person_id = ?1 JOIN meetings m ON" \
	    " m.id = s.meeting_id AND m.end > ?2 JOIN networks n ON" \
	    " n.id = m.network_id AND n.state = 'open' JOIN memberships ms ON" \
	    " ms.network_id = n.id AND ms.person_id = ?1 AND" \
	    " ms.state = 'active' AND ms.role <> 'follower'" \
	    " WHERE o.state = 'failed' AND o.kind = 'invite'" \
	    " AND o.data_id IS NULL)"
	[S_OB_DROP_CAL_TEXT] = "DELETE FROM outbox_data WHERE" OB_RESENT,
	[S_OB_DROP_CAL] = "DELETE FROM outbox WHERE" OB_RESENT,
#undef OB_RESENT
	[S_OB_NEXT] = "SELECT min(next_attempt) FROM outbox"
	    " WHERE state = 'queued'",
	[S_OB_UNSTICK] = "UPDATE outbox SET next_attempt = ?1"
	    " WHERE state = 'queued' AND next_attempt > ?2",
	/* Walks the texts still kept (recent and queued mail), not every
	 * row ever sent. */
	/*
	 * The outbox rows from the oldest text still kept on (ids grow with
	 * time), not the texts themselves: a scan of outbox_data read every
	 * kept text, hourly.  "+o.state": by rowid, not by the state index.
	 */
	[S_OB_PRUNE] = "DELETE FROM outbox_data WHERE id IN (SELECT o.id"
	    " FROM outbox o WHERE o.id >= (SELECT min(id) FROM outbox_data)"
	    " AND +o.state = 'sent' AND o.sent_at < ?1"
	    /* a shared text stays while any copy may still need it */
	    " AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.data_id = o.id"
	    "   AND NOT (x.state = 'sent' AND x.sent_at < ?1)))",
	[S_PERSON_ENSURE] = "INSERT INTO people (email, lang, created)"
	    " VALUES (lower(?1), ?2, ?3) ON CONFLICT (email) DO NOTHING",
	[S_MS_DELIVERY] = "UPDATE memberships SET delivery = ?3"
	    " WHERE network_id = ?1 AND person_id = ?2",
	[S_NEWS_ADD] = "INSERT INTO news (network_id, person_id, subject, body, outside,"
	    " created) VALUES (?1, nullif(?2, 0), ?3, ?4, ?5, ?6)",
#define MT_COLS "SELECT id, network_id, number, uid, start, end, location," \
	" topic, status, sequence, created, updated, reminded FROM meetings"
	[S_MT_ADD] = "INSERT INTO meetings (network_id, number, uid, start, end,"
	    " location, topic, created, updated) VALUES (?1,"
	    " (SELECT coalesce(max(number), 0) + 1 FROM meetings"
	    "  WHERE network_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
	[S_MT_GET] = MT_COLS " WHERE network_id = ?1 AND number = ?2",
	[S_MT_BY_ID] = MT_COLS " WHERE id = ?1",
	[S_MT_BY_UID] = MT_COLS " WHERE uid = ?1",
	/* A new end wants its own attendance reminder. */
	[S_MT_UPDATE] = "UPDATE meetings SET start = ?2, end = ?3,"
	    " location = ?4, topic = ?5, status = ?6, sequence = ?7,"
	    " updated = ?8, reminded = CASE WHEN end = ?3 THEN reminded"
	    " ELSE 0 END WHERE id = ?1",
	[S_MT_REMINDED] = "UPDATE meetings SET reminded = 1 WHERE id = ?1",
	[S_MT_ALL] = MT_COLS " WHERE network_id = ?1 ORDER BY number",
	[S_MT_FUTURE] = MT_COLS " WHERE network_id = ?1 AND status = 'planned'"
	    " AND end > ?2 ORDER BY start",
	/* No reminder once the lead sent the list (at the end of the
	 * session, say): replying to one would count everyone.  A network
	 * closed right after its last meeting still counts its hours; two
	 * weeks, so that an upgrade does not remind of networks long
	 * closed. */
	[S_MT_REMIND] = MT_COLS " WHERE status = 'planned' AND end <= ?1 AND"
	    " reminded = 0 AND network_id IN"
	    " (SELECT id FROM networks WHERE state = 'open' OR"
	    " (state = 'closed' AND decided_at > ?1 - 14 * 86400))"
	    " AND NOT EXISTS"
	    " (SELECT 1 FROM attendance a WHERE a.meeting_id = meetings.id)"
	    " ORDER BY end",
	[S_RSVP_SET] = "INSERT INTO rsvps (meeting_id, person_id, partstat,"
	    " sequence, stale, comment, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7) ON CONFLICT (meeting_id, person_id) DO UPDATE SET"
	    " partstat = excluded.partstat, sequence = excluded.sequence,"
	    " stale = excluded.stale, comment = excluded.comment,"
	    " updated = excluded.updated",
	[S_RSVP_RESET] = "UPDATE rsvps SET partstat = 'needs-action', stale = 0"
	    " WHERE meeting_id = ?1 AND (?2 = 0 OR person_id = ?2)",
	/* An answer to an older time (stale) says nothing about this one:
	 * it counts as no answer until the member answers again. */
	[S_RSVP_COUNTS] = "SELECT"
	    " count(*) FILTER (WHERE r.partstat = 'accepted' AND NOT r.stale),"
	    " count(*) FILTER (WHERE r.partstat = 'declined' AND NOT r.stale),"
	    " count(*) FILTER (WHERE r.partstat = 'tentative' AND NOT r.stale),"
	    /* Who joined after it was over, or after it was cancelled,
	     * was never asked: no answer is awaited from them. */
	    " count(*) FILTER (WHERE (r.partstat IS NULL OR"
	    "   r.partstat = 'needs-action' OR r.stale) AND"
	    "   m.since <= CASE mt.status WHEN 'cancelled' THEN mt.updated"
	    "     ELSE mt.end END)"
	    " FROM memberships m JOIN meetings mt ON mt.id = ?2"
	    " LEFT JOIN rsvps r ON r.meeting_id = ?2 AND"
	    "   r.person_id = m.person_id"
	    " WHERE m.network_id = ?1 AND m.state = 'active' AND"
	    "   m.role IN ('lead','member')",
	/* Who said what for the time the meeting has now, members only. */
	[S_RSVP_ANSWERS] = "SELECT p.email, p.name, r.partstat, r.comment"
	    " FROM rsvps r JOIN people p ON p.id = r.person_id"
	    " JOIN meetings mt ON mt.id = r.meeting_id"
	    " JOIN memberships m ON m.network_id = mt.network_id AND"
	    "   m.person_id = r.person_id"
	    " WHERE r.meeting_id = ?1 AND NOT r.stale AND"
	    "   r.partstat <> 'needs-action' AND m.state = 'active' AND"
	    "   m.role IN ('lead','member')"
	    " ORDER BY CASE r.partstat WHEN 'accepted' THEN 0"
	    "   WHEN 'tentative' THEN 1 ELSE 2 END, p.email",
	[S_ATT_CLEAR] = "DELETE FROM attendance WHERE meeting_id = ?1",
	[S_ATT_ADD] = "INSERT OR IGNORE INTO attendance (meeting_id, person_id)"
	    " VALUES (?1, ?2)",
	[S_ATT_ANY] = "SELECT 1 FROM attendance WHERE meeting_id = ?1 LIMIT 1",
	[S_HOURS] = "SELECT p.email, p.name, n.slug, count(*),"
	    " sum(mt.end - mt.start)"
	    " FROM attendance a JOIN meetings mt ON mt.id = a.meeting_id"
	    " JOIN people p ON p.id = a.person_id"
	    " JOIN networks n ON n.id = mt.network_id"
	    " WHERE mt.status = 'planned' AND mt.start >= ?1 AND mt.start < ?2"
	    " AND (?3 = 0 OR n.id = ?3)"
	    " GROUP BY p.id, n.id ORDER BY p.email, n.slug",
	/* digest additions */
	[S_OB_NOTE] = "UPDATE outbox SET last_error = ?2"
	    " WHERE state = 'queued' AND next_attempt <= ?1"
	    " AND last_error IS NOT ?2",
	[S_NET_CHANGED] = "SELECT CASE WHEN decided_at > 0 THEN decided_at"
	    " ELSE created END FROM networks WHERE id = ?1",
	[S_NEWS_SINCE] = "SELECT n.id, n.network_id, coalesce(n.person_id, 0),"
	    " coalesce(p.email, ''), coalesce(p.name, ''), n.subject, n.body,"
	    " n.created, coalesce(n.outside, n.body) FROM news n LEFT JOIN people p ON p.id = n.person_id"
	    " WHERE n.network_id = ?1 AND n.created >= ?2"
	    " ORDER BY n.created, n.id",
	[S_BOUNCING] = "SELECT id, email, name, bounce_reason, bounced_at"
	    " FROM people WHERE bouncing = 1 ORDER BY bounced_at, email",
	[S_KEPT_SINCE] = "SELECT rowid, msgid, sender, outcome, handled, subject"
	    " FROM processed WHERE outcome IN ('human', 'ratelimited',"
	    " 'unreadable')"
	    " AND handled >= ?1 ORDER BY handled, rowid",
	[S_DG_SEEN] = "SELECT 1 FROM digest_seen WHERE person_id = ?1"
	    " AND kind = ?2 AND item = ?3 AND sub = ?4",
	[S_DG_SEEN_ADD] = "INSERT OR IGNORE INTO digest_seen (person_id, kind,"
	    " item, sub, sent) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_DG_LAST_RUN] = "SELECT coalesce(max(at), 0) FROM digest_runs",
	[S_DG_RUN_ADD] = "INSERT INTO digest_runs (at, recipients, items,"
	    " scheduled) VALUES (?1, ?2, ?3, ?4)",
	/* publish additions */
	[S_NEWS_LATEST] = "SELECT n.id, n.network_id, coalesce(n.person_id, 0),"
	    " coalesce(p.email, ''), coalesce(p.name, ''), n.subject, n.body,"
	    " n.created, coalesce(n.outside, n.body) FROM news n LEFT JOIN people p ON p.id = n.person_id"
	    " WHERE n.network_id = ?1 ORDER BY n.created DESC, n.id DESC"
	    " LIMIT ?2",
	/* news without an outside text: from before schema 8, at the step */
	[S_NEWS_BARE] = "SELECT n.id, n.network_id, coalesce(n.person_id, 0),"
	    " '', '', n.subject, n.body, n.created, n.body FROM news n"
	    " WHERE n.outside IS NULL ORDER BY n.id",
	[S_NEWS_OUTSIDE] = "UPDATE news SET outside = ?2 WHERE id = ?1",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT msg",
	[S_RELEASE] = "RELEASE msg",
	[S_ROLLBACK_TO] = "ROLLBACK TO msg",
};

/* WAL pages after which the checkpointer copies them into the database
 * (SQLite's own autocheckpoint default). */
#define CKPT_PAGES	1000

/*
 * The checkpointer: a thread with a connection of its own that copies the
 * WAL into the database file while the main connection goes on writing
 * (a PASSIVE checkpoint blocks no writer).  Done by the writer itself at
 * commit, checkpoints were a tenth of the time of handling a backlog: the
 * copy, and two fdatasyncs each.
 */
struct ckpt {
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	sqlite3		*db;
	char		*path;
	int		 want;
	int		 quit;
};

struct store {
	sqlite3		*db;
	char		*path;
	dev_t		 dev;		/* the file opened, for store_replaced */
	ino_t		 ino;
	int		 lockfd;
	int		 batch;		/* in store_batch_begin's transaction */
	int		 batch_lost;	/* ... and SQLite rolled it all back */
	struct ckpt	*ckpt;		/* NULL: SQLite checkpoints at commit */
	sqlite3_stmt	*stmt[S__COUNT];
};

/* What the file system says under a failed database write. */
enum disk_trouble {
	DISK_UNSEEN,		/* nothing to see: SQLite's words only */
	DISK_FULL,		/* may pass on its own: try again later */
	DISK_FIXED,		/* someone must act: read-only, limit, rights */
};

/* The size of path in bytes, 0 when it is not there. */
static unsigned long long
size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (unsigned long long)sb.st_size : 0;
}

/* A mount option, or a directory the unit does not let us write. */
#define READ_ONLY_HERE	"the file system is read-only here (in the " \
	"service: is the directory in ReadWritePaths= or StateDirectory=?)"

/*
 * What SQLite's "disk I/O error" leaves out, found by looking: SQLite
 * rarely keeps the errno of the failed write.  Fills buf (may be empty).
 */
static enum disk_trouble
disk_cause(const char *file, char *buf, size_t len)
{
	struct statvfs fs;
	struct rlimit rl;
	char *dir, *slash, wal[PATH_MAX];
	unsigned long long biggest;

	buf[0] = '\0';
	if (file == NULL || *file == '\0')
		return DISK_UNSEEN;
	/* A file not made yet: its directory tells. */
	dir = xstrdup(file);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, strlen(dir) + 1, ".");
	if (statvfs(dir, &fs) == 0 && (fs.f_flag & ST_RDONLY)) {
		free(dir);
		snprintf(buf, len, "%s", READ_ONLY_HERE);
		return DISK_FIXED;
	}
	if (statvfs(dir, &fs) == 0 &&
	    (unsigned long long)fs.f_bavail * fs.f_frsize < 1024 * 1024) {
		free(dir);
		snprintf(buf, len, "the file system has less than 1 MB free");
		return DISK_FULL;
	}
	{
		const char *which = NULL;
		int err = 0;

		if (access(file, W_OK) == -1 && errno != ENOENT)
			which = file;
		else if (access(dir, W_OK) == -1)
			which = dir;
		if (which != NULL) {
			err = errno;
			snprintf(buf, len, "%s: %s", which, strerror(err));
			free(dir);
			return DISK_FIXED;
		}
	}
	free(dir);
	/* A limit is the cause only where the files reach it. */
	snprintf(wal, sizeof(wal), "%s-wal", file);
	biggest = size_of(file);
	if (size_of(wal) > biggest)
		biggest = size_of(wal);
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    biggest + 1024 * 1024 >= (unsigned long long)rl.rlim_cur) {
		snprintf(buf, len, "files may not grow beyond %llu KB here: "
		    "ulimit -f, or LimitFSIZE= in the unit",
		    (unsigned long long)rl.rlim_cur / 1024);
		return DISK_FIXED;
	}
	return DISK_UNSEEN;
}

/* Is the last error a database file error, and which? */
static enum disk_trouble
db_trouble(sqlite3 *db, const char *path, char *buf, size_t len)
{
	enum disk_trouble t;
	int sys;

	buf[0] = '\0';
	if (db == NULL)
		return DISK_UNSEEN;
	switch (sqlite3_extended_errcode(db) & 0xff) {
	case SQLITE_FULL:
		(void)disk_cause(path, buf, len);
		return DISK_FULL;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		break;
	default:
		return DISK_UNSEEN;
	}
	/* What the file system shows first: the errno SQLite kept may be
	 * that of a later call (ENOENT of a -wal it could not make). */
	if ((t = disk_cause(path, buf, len)) == DISK_UNSEEN &&
	    (sys = sqlite3_system_errno(db)) != 0) {
		snprintf(buf, len, "%s", strerror(sys));
		if (sys == ENOSPC || sys == EDQUOT)
			t = DISK_FULL;
	}
	return t;
}

/*
 * SQLite's words for the last error and, for a failed system call, what
 * went wrong under it: a full disk, a read-only file system and a file
 * size limit all read "disk I/O error".  Points into buf or SQLite.
 */
static const char *
db_why(sqlite3 *db, const char *path, char *buf, size_t len)
{
	char hint[200];		/* the callers' buffers hold 256 */

	if (db == NULL)
		return "out of memory";
	(void)db_trouble(db, path, hint, sizeof(hint));
	if (hint[0] == '\0')
		return sqlite3_errmsg(db);
	snprintf(buf, len, "%s (%s)", sqlite3_errmsg(db), hint);
	return buf;
}

/*
 * For store_open and store_migrate's callers, in errno: EIO when the disk
 * is full (it may pass: exit 75), EROFS when someone must act (a
 * read-only file system, a file size limit, rights: 78), else 0.
 */
static int
db_errno(sqlite3 *db, const char *path)
{
	char hint[200];

	switch (db_trouble(db, path, hint, sizeof(hint))) {
	case DISK_FULL:
		return EIO;
	case DISK_FIXED:
		return EROFS;
	default:
		return 0;
	}
}

static void
db_error(struct store *st, const char *what)
{
	char why[256];

	log_warnx("database %s: %s: %s", st->path, what,
	    db_why(st->db, st->path, why, sizeof(why)));
}

/* The prepared statement for id, reset and with bindings cleared. */
static sqlite3_stmt *
prep(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
			db_error(st, "prepare");
			fatalx("statement %d does not prepare; schema out of "
			    "date? run 'leernet init'", (int)id);
		}
		st->stmt[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/*
 * Bind by a format: i = int64, t = text (NULL binds NULL), b = blob
 * (pointer, size_t).
 */
static void
bind(sqlite3_stmt *s, const char *fmt, ...)
{
	va_list ap;
	int i = 1;

	va_start(ap, fmt);
	for (; *fmt; fmt++, i++) {
		switch (*fmt) {
		case 'i':
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);

			if (t)
				sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(s, i);
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			sqlite3_bind_blob64(s, i, p, n, SQLITE_TRANSIENT);
			break;
		}
		default:
			fatalx("bind: bad format '%c'", *fmt);
		}
	}
	va_end(ap);
}

/* Does the query s give a row?  1 yes, 0 no, -1 on an error (logged). */
static int
exists_stmt(struct store *st, sqlite3_stmt *s, const char *what)
{
	int r = sqlite3_step(s);

	sqlite3_reset(s);
	if (r != SQLITE_DONE && r != SQLITE_ROW) {
		db_error(st, what);
		return -1;
	}
	return r == SQLITE_ROW;
}

/* Run a statement that returns no rows.  0 or -1. */
static int
exec_stmt(struct store *st, sqlite3_stmt *s, const char *what)
{
	return exists_stmt(st, s, what) == -1 ? -1 : 0;
}

/* exec_stmt for an UPDATE or DELETE: *n rows it changed. */
static int
exec_count(struct store *st, sqlite3_stmt *s, const char *what, int *n)
{
	if (exec_stmt(st, s, what) == -1)
		return -1;
	*n = sqlite3_changes(st->db);
	return 0;
}

static char *
col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return xstrdup(t ? (const char *)t : "");
}

/* Grow *v (of *cap elements of size sz) to hold one more; zeroes it. */
static void *
row_slot(void **v, size_t *cap, size_t n, size_t sz)
{
	if (n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sz);
	}
	memset((char *)*v + n * sz, 0, sz);
	return (char *)*v + n * sz;
}

/*
 * Step s to its end, one zeroed element of sz bytes per row, filled by
 * fill.  0 with *vp an array of *n (never NULL, even empty); -1 on a
 * database error (logged), with what was read in *vp and *n for the
 * caller's typed free function.
 */
static int
read_rows(struct store *st, sqlite3_stmt *s, size_t sz,
    void (*fill)(sqlite3_stmt *, void *), const char *what, void **vp,
    size_t *n)
{
	size_t cap = 0;
	int r;

	*vp = NULL;
	*n = 0;
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		fill(s, row_slot(vp, &cap, (*n)++, sz));
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		db_error(st, what);
		return -1;
	}
	if (*vp == NULL)
		*vp = xcalloc(1, sz);
	return 0;
}

/*
 * What to say when a file of ours cannot be written: a database or lock
 * made by leernet run as another user (root, by hand) stops the service.
 */
static void
not_writable(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char own[32], me[32];

	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return;
	}
	user_name(geteuid(), me, sizeof(me));
	user_name(sb.st_uid, own, sizeof(own));
	snprintf(err, errlen, "%s: cannot be written by user %s (it belongs "
	    "to %s, mode %03o): %s", path, me, own,
	    (unsigned)(sb.st_mode & 0777), ownership_advice(sb.st_uid, path,
	    me, own));
}

/*
 * Can this user use the database at path: its directory (SQLite makes
 * -wal and -shm beside it) and the files there are?  Checked before
 * SQLite opens it: a database made by root (sudo leernet init, a backup
 * copied back) is otherwise "Permission denied" or "attempt to write a
 * readonly database", exit 70, without a word of whose it is.  Only
 * rights are checked here; a read-only file system is disk_cause's.
 */
int
store_usable(const char *path, char *err, size_t errlen)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	char *dir, *slash, file[PATH_MAX];
	struct stat sb;
	int rc;

	/* "path = /var/lib/leernet": the directory, not the file. */
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: is a directory; [database] path "
		    "names the database file, e.g. %s%sleernet.db", path, path,
		    path[strlen(path) - 1] == '/' ? "" : "/");
		errno = EISDIR;
		return -1;
	}
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, strlen(dir) + 1, ".");
	rc = dir_writable(dir, "the database's directory", err, errlen);
	free(dir);
	if (rc == -1) {
		errno = EACCES;
		return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(ext); i++) {
		snprintf(file, sizeof(file), "%s%s", path, ext[i]);
		if (faccessat(AT_FDCWD, file, R_OK | W_OK, AT_EACCESS) == -1 &&
		    errno == EACCES) {
			not_writable(file, err, errlen);
			errno = EACCES;
			return -1;
		}
	}
	return 0;
}

/*
 * A new database is 0640 whatever the umask (it holds names, addresses
 * and mail; SQLite would make it 0644), and its -wal and -shm files
 * follow its mode.
 */
static void
create_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

	if (fd != -1) {
		(void)fchmod(fd, 0640);
		close(fd);
	}
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	char *msg = NULL, why[256];
	int disk;

	if (store_usable(path, err, errlen) == -1) {
		free(st);
		errno = EACCES;
		return NULL;
	}
	st->path = xstrdup(path);
	st->lockfd = -1;
	/*
	 * No allocation statistics: they take a global mutex on every
	 * malloc and free (~200 per request).  Only possible before SQLite
	 * initializes, i.e. at the first open; later it is refused, and
	 * harmlessly so.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	create_private(path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", path,
		    db_why(st->db, st->path, why, sizeof(why)));
		disk = db_errno(st->db, st->path);
		store_close(st);
		errno = disk;
		return NULL;
	}
	sqlite3_busy_timeout(st->db, 10000);
	sqlite3_extended_result_codes(st->db, 1);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
	    /* A batch's savepoints keep their undo pages in memory, not
	     * in a temporary file (one pwrite per page, 20 per message). */
	    "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192;"
	    /* What is deleted (person forget, old mail texts) is
	     * overwritten, not left in free pages; Debian's build has it
	     * on, others may not. */
	    "PRAGMA secure_delete = ON;",
	    NULL, NULL, &msg) != SQLITE_OK) {
		if ((sqlite3_extended_errcode(st->db) & 0xff) ==
		    SQLITE_READONLY && access(path, W_OK) == -1)
			not_writable(path, err, errlen);
		else
			snprintf(err, errlen, "%s: %s", path,
			    db_why(st->db, st->path, why, sizeof(why)));
		disk = db_errno(st->db, st->path);
		sqlite3_free(msg);
		store_close(st);
		errno = disk;
		return NULL;
	}
	{
		struct stat sb;

		if (stat(path, &sb) == 0) {
			st->dev = sb.st_dev;
			st->ino = sb.st_ino;
		}
	}
	return st;
}

static void *
ckpt_run(void *arg)
{
	struct ckpt *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		char why[256];
		int rc;

		while (!c->want && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->quit)
			break;
		c->want = 0;
		pthread_mutex_unlock(&c->mu);
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		/* BUSY: another checkpoint runs; the next commit asks again. */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warnx("database %s: checkpoint: %s", c->path,
			    db_why(c->db, c->path, why, sizeof(why)));
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* After each commit of the main connection (its autocheckpoint's place). */
static int
ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct ckpt *c = arg;

	(void)db;
	(void)name;
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&c->mu);
		c->want = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

int
store_checkpoint_truncate(struct store *st)
{
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return 1;
	db_error(st, "checkpoint");
	return -1;
}

int
store_checkpoint_aside(struct store *st)
{
	struct ckpt *c;
	char why[256];
	int err;

	if (st->ckpt != NULL)
		return 0;
	c = xcalloc(1, sizeof(*c));
	c->path = st->path;
	/*
	 * A connection that has read nothing has not opened the log yet,
	 * and its checkpoints do nothing: read the schema first.
	 */
	if (sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL,
	    NULL, NULL) != SQLITE_OK) {
		log_warnx("database %s: second connection: %s", st->path,
		    db_why(c->db, c->path, why, sizeof(why)));
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	sqlite3_busy_timeout(c->db, 10000);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((err = thread_start(&c->thread, ckpt_run, c)) != 0)
		fatalx("pthread_create: %s", strerror(err));
	st->ckpt = c;
	sqlite3_wal_hook(st->db, ckpt_hook, c);
	return 0;
}

static void
ckpt_stop(struct store *st)
{
	struct ckpt *c = st->ckpt;

	if (c == NULL)
		return;
	/* Back to checkpoints at commit: the close below does the last. */
	sqlite3_wal_autocheckpoint(st->db, CKPT_PAGES);
	pthread_mutex_lock(&c->mu);
	c->quit = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	st->ckpt = NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	ckpt_stop(st);
	for (size_t i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db)
		sqlite3_close(st->db);
	if (st->lockfd != -1) {
		/* A PID left behind could name somebody else later. */
		if (ftruncate(st->lockfd, 0) == -1)
			log_debug("%s.lock: %s", st->path, strerror(errno));
		close(st->lockfd);
	}
	free(st->path);
	free(st);
}

int
store_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

int
store_migrate(struct store *st, char *err, size_t errlen)
{
	int v = store_version(st), from = v;
	char why[256];

	if (v < 0) {
		snprintf(err, errlen, "%s: cannot read the schema version: %s",
		    st->path, db_why(st->db, st->path, why, sizeof(why)));
		errno = db_errno(st->db, st->path);
		return -1;
	}
	if (v > (int)ARRAY_LEN(migrations)) {
		snprintf(err, errlen, "%s: schema version %d is newer than this "
		    "leernet (%zu); upgrade leernet", st->path, v,
		    ARRAY_LEN(migrations));
		errno = 0;
		return -1;
	}
	/*
	 * A migration may rewrite a whole table (schema 3 copies every
	 * stored mail text): its undo pages go to a temporary file, not
	 * to memory as a message's do (see store_open).
	 */
	if (v < (int)ARRAY_LEN(migrations))
		sqlite3_exec(st->db, "PRAGMA temp_store = FILE", NULL, NULL,
		    NULL);
	for (; v < (int)ARRAY_LEN(migrations); v++) {
		char *msg = NULL, *set;
		int disk;

		set = xasprintf("PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL,
		    &msg) != SQLITE_OK ||
		    sqlite3_exec(st->db, migrations[v], NULL, NULL,
		    &msg) != SQLITE_OK ||
		    sqlite3_exec(st->db, set, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "%s: migration to version %d "
			    "failed: %s", st->path, v + 1,
			    db_why(st->db, st->path, why, sizeof(why)));
			disk = db_errno(st->db, st->path);
			sqlite3_free(msg);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			sqlite3_exec(st->db, "PRAGMA temp_store = MEMORY", NULL,
			    NULL, NULL);
			free(set);
			errno = disk;
			return -1;
		}
		free(set);
		/* Each step of an upgrade is news; of a new file, noise. */
		if (from > 0)
			log_info("database %s: schema version %d", st->path,
			    v + 1);
		else
			log_debug("database %s: schema version %d", st->path,
			    v + 1);
	}
	sqlite3_exec(st->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	return from;
}

/*
 * The holder's PID goes into the lock file, for store_wake_daemon().
 * SIGUSR1 is blocked from here on (threads started later inherit that),
 * so a wake-up neither kills a `once` nor breaks off a read: only the
 * daemon's wait lets it in.  Without the PID a command's change waits
 * for the daemon's next round; worth a line, not a failure.
 */
static void
lock_note_holder(struct store *st)
{
	char buf[32];
	sigset_t usr1;
	int n;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(st->lockfd, 0) == -1 ||
	    pwrite(st->lockfd, buf, (size_t)n, 0) != n)
		log_warn("%s.lock: cannot record our PID", st->path);
}

int
store_lock(struct store *st)
{
	struct stat db;
	char *lockpath, err[512];

	if (st->lockfd != -1)
		return 0;
	lockpath = xasprintf("%s.lock", st->path);
	st->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lockfd == -1) {
		int perm = errno == EACCES || errno == EPERM, rofs = errno == EROFS;

		if (perm) {
			not_writable(lockpath, err, sizeof(err));
			log_warnx("%s", err);
		} else if (rofs)	/* a mount option, or ReadWritePaths= */
			log_warnx("%s: %s", lockpath, READ_ONLY_HERE);
		else
			log_warn("%s", lockpath);
		perm = perm || rofs;
		free(lockpath);
		return perm ? -2 : -1;
	}
	free(lockpath);
	/* Root running a command by hand makes the lock the service's, as
	 * SQLite does for its -wal and -shm files: else the next start of
	 * the service could not take it. */
	if (geteuid() == 0 && stat(st->path, &db) == 0 && db.st_uid != 0 &&
	    fchown(st->lockfd, db.st_uid, db.st_gid) == -1)
		log_warn("%s.lock: chown", st->path);
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) == -1) {
		int busy = errno == EWOULDBLOCK;

		if (!busy)
			log_warn("flock %s.lock", st->path);
		close(st->lockfd);
		st->lockfd = -1;
		return busy ? 1 : -1;
	}
	lock_note_holder(st);
	return 0;
}

/*
 * Nobody may signal a PID read from a lock that is free: that process
 * may be gone and its number reused.  A lock that cannot be taken (our
 * own try fails with EWOULDBLOCK) names a live holder.  The probe is a
 * shared lock, so two commands do not trip over each other.
 */
pid_t
store_lock_holder(struct store *st)
{
	char *lockpath, buf[32], *end;
	ssize_t n;
	long pid;
	int fd;

	if (st->lockfd != -1)
		return 0;	/* we are the holder */
	lockpath = xasprintf("%s.lock", st->path);
	fd = open(lockpath, O_RDONLY | O_CLOEXEC);
	free(lockpath);
	if (fd == -1)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
		close(fd);
		return 0;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Without its newline the holder is still writing it. */
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\n' || pid <= 1 ||
	    pid > INT_MAX || pid == (long)getpid())
		return 0;
	return (pid_t)pid;
}

void
store_wake_daemon(struct store *st)
{
	pid_t pid = store_lock_holder(st);

	if (pid > 0)
		(void)kill(pid, SIGUSR1);
}

/*
 * Inside a batch: 0 while its transaction stands.  Some errors (a full
 * disk, I/O) make SQLite roll back the whole transaction: the batch's
 * earlier work is gone, not just this unit's, and none of it may count
 * as done.
 */
static int
batch_intact(struct store *st)
{
	if (st->batch_lost || sqlite3_get_autocommit(st->db)) {
		st->batch_lost = 1;
		return -1;
	}
	return 0;
}

int
store_begin(struct store *st)
{
	if (!st->batch)
		return exec_stmt(st, prep(st, S_BEGIN), "begin");
	if (batch_intact(st) == -1)
		return -1;
	return exec_stmt(st, prep(st, S_SAVEPOINT), "savepoint");
}

int
store_commit(struct store *st)
{
	if (!st->batch)
		return exec_stmt(st, prep(st, S_COMMIT), "commit");
	if (batch_intact(st) == -1)
		return -1;
	return exec_stmt(st, prep(st, S_RELEASE), "release");
}

void
store_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db)) {
		if (st->batch)
			st->batch_lost = 1;
		return;
	}
	if (!st->batch) {
		exec_stmt(st, prep(st, S_ROLLBACK), "rollback");
		return;
	}
	/* Undo this unit only; the savepoint stays open until released. */
	if (exec_stmt(st, prep(st, S_ROLLBACK_TO), "rollback to") == -1 ||
	    exec_stmt(st, prep(st, S_RELEASE), "release") == -1 ||
	    sqlite3_get_autocommit(st->db))
		st->batch_lost = 1;
}

int
store_batch_begin(struct store *st)
{
	if (st->batch || exec_stmt(st, prep(st, S_BEGIN), "begin") == -1)
		return -1;
	st->batch = 1;
	st->batch_lost = 0;
	return 0;
}

int
store_batch_commit(struct store *st)
{
	int lost = batch_intact(st) == -1;

	st->batch = 0;
	st->batch_lost = 0;
	if (lost) {
		log_warnx("database %s: a batch was rolled back as a whole",
		    st->path);
		store_rollback(st);
		return -1;
	}
	if (exec_stmt(st, prep(st, S_COMMIT), "commit") == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

/* ---- people ---- */

void
person_clear(struct person *p)
{
	free(p->email);
	free(p->name);
	free(p->lang);
	free(p->school);
	free(p->function);
	free(p->bounce_reason);
	memset(p, 0, sizeof(*p));
}

static int
person_row(struct store *st, sqlite3_stmt *s, struct person *p)
{
	int r = sqlite3_step(s);

	if (r == SQLITE_DONE) {
		sqlite3_reset(s);
		return 1;
	}
	if (r != SQLITE_ROW) {
		db_error(st, "person");
		sqlite3_reset(s);
		return -1;
	}
	p->id = sqlite3_column_int64(s, 0);
	p->email = col_str(s, 1);
	p->name = col_str(s, 2);
	p->lang = col_str(s, 3);
	p->school = col_str(s, 4);
	p->function = col_str(s, 5);
	p->in_staff = sqlite3_column_int(s, 6);
	p->bouncing = sqlite3_column_int(s, 7);
	p->bounce_reason = col_str(s, 8);
	p->created = sqlite3_column_int64(s, 9);
	p->last_seen = sqlite3_column_int64(s, 10);
	sqlite3_reset(s);
	return 0;
}

int
store_person_get(struct store *st, const char *email, struct person *p)
{
	sqlite3_stmt *s = prep(st, S_PERSON_GET);

	bind(s, "t", email);
	return person_row(st, s, p);
}

int
store_person_by_id(struct store *st, int64_t id, struct person *p)
{
	sqlite3_stmt *s = prep(st, S_PERSON_BY_ID);

	bind(s, "i", id);
	return person_row(st, s, p);
}

int
store_person_touch(struct store *st, const char *email, const char *name,
    const char *lang, time_t now, int64_t *id)
{
	struct person p = { 0 };
	int r;

	if ((r = store_person_get(st, email, &p)) == -1)
		return -1;
	r = store_person_touch_as(st, &p, email, name, lang, now, id);
	person_clear(&p);
	return r;
}

int
store_person_touch_as(struct store *st, const struct person *was,
    const char *email, const char *name, const char *lang, time_t now,
    int64_t *id)
{
	sqlite3_stmt *s;

	if (was->id == 0) {
		s = prep(st, S_PERSON_INSERT);
		bind(s, "ttti", email, name ? name : "", lang ? lang : "nl",
		    (int64_t)now);
		if (exec_stmt(st, s, "insert person") == -1)
			return -1;
		*id = sqlite3_last_insert_rowid(st->db);
		return 0;
	}
	*id = was->id;
	s = prep(st, S_PERSON_UPDATE);
	bind(s, "ttti", email, name && *name ? name : NULL, lang, (int64_t)now);
	return exec_stmt(st, s, "update person");
}

int
store_person_set_name(struct store *st, int64_t id, const char *name)
{
	sqlite3_stmt *s = prep(st, S_PERSON_NAME);

	bind(s, "it", id, name);
	return exec_stmt(st, s, "person name");
}

int
store_person_ensure(struct store *st, const char *email, const char *lang,
    time_t now, int64_t *id)
{
	sqlite3_stmt *s = prep(st, S_PERSON_ENSURE);
	struct person p = { 0 };
	int r;

	bind(s, "tti", email, lang ? lang : "nl", (int64_t)now);
	if (exec_stmt(st, s, "ensure person") == -1)
		return -1;
	if ((r = store_person_get(st, email, &p)) != 0)
		return -1;
	*id = p.id;
	person_clear(&p);
	return 0;
}

int
store_person_set_bouncing(struct store *st, const char *email,
    const char *reason, time_t now)
{
	sqlite3_stmt *s = prep(st, S_PERSON_BOUNCING);

	bind(s, "tti", email, reason, (int64_t)now);
	return exec_stmt(st, s, "bouncing");
}

int
store_person_reset(struct store *st, const char *email)
{
	sqlite3_stmt *s = prep(st, S_PERSON_RESET);

	bind(s, "t", email);
	if (exec_stmt(st, s, "reset person") == -1)
		return -1;
	return sqlite3_changes(st->db) ? 0 : 1;
}

/*
 * One statement of a rare command (person forget): prepared, run and
 * finalised here, ?1 the person's id (0: none) and ?2 the address.  Rows
 * changed added to *n (may be NULL).  0, or -1 (logged).
 */
static int
forget_step(struct store *st, const char *what, const char *q, int64_t pid,
    const char *email, int *n)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK) {
		db_error(st, what);
		return -1;
	}
	bind(s, "it", pid, email);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_error(st, what);
		sqlite3_finalize(s);
		return -1;
	}
	if (n)
		*n += sqlite3_changes(st->db);
	sqlite3_finalize(s);
	return 0;
}

/*
 * A list post's copies share the text of one row (data_id).  Before the
 * rows to email go, each text one of them holds for others passes to the
 * first of those others: a copy left pointing at nothing would never be
 * sent, nor fail.
 */
static int
forget_shared_texts(struct store *st, const char *email)
{
	static const char q[] = "SELECT o.id, min(c.id) FROM outbox o"
	    " JOIN outbox c ON c.data_id = o.id WHERE o.rcpt = ?2"
	    " COLLATE NOCASE AND o.data_id IS NULL AND c.rcpt <> ?2"
	    " COLLATE NOCASE GROUP BY o.id";
	sqlite3_stmt *s;
	int64_t (*pairs)[2] = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK) {
		db_error(st, "forget: shared texts");
		return -1;
	}
	bind(s, "it", (int64_t)0, email);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			pairs = xreallocarray(pairs, cap, sizeof(*pairs));
		}
		pairs[n][0] = sqlite3_column_int64(s, 0);
		pairs[n][1] = sqlite3_column_int64(s, 1);
		n++;
	}
	if (rc != SQLITE_DONE)
		db_error(st, "forget: shared texts");
	sqlite3_finalize(s);
	rc = rc == SQLITE_DONE ? 0 : -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		static const char *const moves[] = {
			"UPDATE outbox SET data_id = ?1 WHERE data_id = ?2",
			"UPDATE outbox SET data_id = NULL WHERE id = ?1",
			"UPDATE outbox_data SET id = ?1 WHERE id = ?2",
		};

		for (size_t k = 0; k < ARRAY_LEN(moves) && rc == 0; k++) {
			if (sqlite3_prepare_v2(st->db, moves[k], -1, &s,
			    NULL) != SQLITE_OK) {
				db_error(st, "forget: shared text");
				rc = -1;
				break;
			}
			sqlite3_bind_int64(s, 1, pairs[i][1]);
			if (k != 1)
				sqlite3_bind_int64(s, 2, pairs[i][0]);
			if (sqlite3_step(s) != SQLITE_DONE) {
				db_error(st, "forget: shared text");
				rc = -1;
			}
			sqlite3_finalize(s);
		}
	}
	free(pairs);
	return rc;
}

/* Mail to others, not sent yet, whose text names email: it goes as it
 * is, and the admin is told. */
static int
forget_waiting(struct store *st, const char *email, int *n)
{
	static const char q[] = "SELECT count(*) FROM outbox o JOIN"
	    " outbox_data d ON d.id = coalesce(o.data_id, o.id)"
	    " WHERE o.state <> 'sent' AND o.rcpt <> ?1 COLLATE NOCASE"
	    " AND instr(lower(CAST(d.data AS TEXT)), lower(?1)) > 0";
	sqlite3_stmt *s;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK) {
		db_error(st, "forget: waiting mail");
		return -1;
	}
	bind(s, "t", email);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*n = sqlite3_column_int(s, 0);
	else
		db_error(st, "forget: waiting mail");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_person_forget(struct store *st, const char *email, int64_t pid,
    struct forget_counts *c)
{
	/* Deleted where only the person is in it; made anonymous where the
	 * row also stands for something else (a message handled once, a
	 * thread, a network's history). */
	static const struct {
		const char	*what, *q;
		int		 counted;	/* into the field at: */
		size_t		 at;		/* its offset in forget_counts */
	} steps[] = {
#define FC(f)	1, offsetof(struct forget_counts, f)
		{ "forget: outbox texts", "DELETE FROM outbox_data WHERE id IN"
		    " (SELECT id FROM outbox WHERE rcpt = ?2 COLLATE NOCASE"
		    " AND data_id IS NULL)", 0, 0 },
		/* Mail sent to others that names them (a list copy's
		 * Reply-To, an answer about them): its text, as the prune
		 * drops it later; mail still to be sent keeps it. */
		{ "forget: texts naming them", "DELETE FROM outbox_data WHERE"
		    " id IN (SELECT o.id FROM outbox o WHERE o.state = 'sent'"
		    " AND o.data_id IS NULL AND NOT EXISTS (SELECT 1 FROM outbox"
		    " x WHERE x.data_id = o.id AND x.state <> 'sent'))"
		    " AND instr(lower(CAST(data AS TEXT)), lower(?2)) > 0",
		    FC(texts) },
		{ "forget: outbox", "DELETE FROM outbox WHERE rcpt = ?2"
		    " COLLATE NOCASE", FC(outbox) },
		{ "forget: handled mail", "UPDATE processed SET sender = '',"
		    " subject = '' WHERE sender = ?2", FC(processed) },
		{ "forget: memberships", "DELETE FROM memberships WHERE"
		    " person_id = ?1", FC(memberships) },
		{ "forget: answers", "DELETE FROM rsvps WHERE person_id = ?1",
		    FC(rsvps) },
		/* No reminder for a meeting whose list is now empty. */
		{ "forget: reminders", "UPDATE meetings SET reminded = 1 WHERE"
		    " id IN (SELECT meeting_id FROM attendance WHERE"
		    " person_id = ?1)", 0, 0 },
		{ "forget: attendance", "DELETE FROM attendance WHERE"
		    " person_id = ?1", FC(attendance) },
		{ "forget: news seen", "DELETE FROM digest_seen WHERE"
		    " kind = 'news' AND item IN (SELECT id FROM news WHERE"
		    " person_id = ?1)", 0, 0 },
		{ "forget: news", "DELETE FROM news WHERE person_id = ?1",
		    FC(news) },
		{ "forget: digests", "DELETE FROM digest_seen WHERE"
		    " person_id = ?1", 0, 0 },
		/* Theirs, and others' naming them: a pending `trekker`
		 * code answered "ja" made them lead again. */
		{ "forget: codes", "DELETE FROM tokens WHERE person_id = ?1"
		    " OR instr(lower(arg), lower(?2)) > 0", FC(tokens) },
		{ "forget: codes used", "UPDATE tokens SET used_by = '' WHERE"
		    " used_by = ?2 COLLATE NOCASE", 0, 0 },
		{ "forget: threads", "UPDATE sent SET person_id = NULL WHERE"
		    " person_id = ?1", 0, 0 },
		{ "forget: proposals", "UPDATE networks SET proposer_id = NULL"
		    " WHERE proposer_id = ?1", 0, 0 },
		{ "forget: decisions", "UPDATE networks SET decided_by = ''"
		    " WHERE decided_by = ?2 COLLATE NOCASE", 0, 0 },
		{ "forget: person", "DELETE FROM people WHERE id = ?1",
		    FC(person) },
#undef FC
	};

	memset(c, 0, sizeof(*c));
	if (forget_shared_texts(st, email) == -1)
		return -1;
	if (forget_waiting(st, email, &c->waiting) == -1)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		int n = 0;

		if (forget_step(st, steps[i].what, steps[i].q, pid, email,
		    &n) == -1)
			return -1;
		if (steps[i].counted)
			*(int *)((char *)c + steps[i].at) += n;
	}
	return 0;
}

int
store_staff_upsert(struct store *st, const char *email, const char *name,
    const char *school, const char *function, time_t now)
{
	sqlite3_stmt *s = prep(st, S_STAFF_GET);
	int r;

	bind(s, "t", email);
	r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r == SQLITE_ROW) {
		s = prep(st, S_STAFF_UPDATE);
		bind(s, "tttt", email, name, school, function);
		return exec_stmt(st, s, "update staff") == -1 ? -1 : 2;
	}
	if (r != SQLITE_DONE) {
		db_error(st, "staff");
		return -1;
	}
	s = prep(st, S_STAFF_INSERT);
	bind(s, "tttti", email, name, school, function, (int64_t)now);
	return exec_stmt(st, s, "insert staff");
}

int
store_privacy_prune(struct store *st, time_t meetings_before,
    time_t handled_before, int *notes, int *senders)
{
	/* Notes are shown to leads for meetings to come only. */
	static const char q_notes[] = "UPDATE rsvps SET comment = ''"
	    " WHERE comment <> '' AND meeting_id IN"
	    " (SELECT id FROM meetings WHERE end < ?1)";
	/* The key stays: the message is still handled once. */
	static const char q_senders[] = "UPDATE processed SET sender = '',"
	    " subject = '' WHERE handled < ?1 AND (sender <> ''"
	    " OR subject <> '')";
	sqlite3_stmt *s;
	int rc = 0;

	*notes = *senders = 0;
	for (int i = 0; i < 2 && rc == 0; i++) {
		if (sqlite3_prepare_v2(st->db, i ? q_senders : q_notes, -1, &s,
		    NULL) != SQLITE_OK) {
			db_error(st, "privacy prune");
			return -1;
		}
		sqlite3_bind_int64(s, 1, (sqlite3_int64)(i ? handled_before :
		    meetings_before));
		if (sqlite3_step(s) != SQLITE_DONE) {
			db_error(st, "privacy prune");
			rc = -1;
		} else
			*(i ? senders : notes) = sqlite3_changes(st->db);
		sqlite3_finalize(s);
	}
	return rc;
}

int
store_staff_replace_begin(struct store *st)
{
	return exec_stmt(st, prep(st, S_STAFF_ASIDE), "staff replace");
}

char **
store_staff_leavers(struct store *st, size_t *n)
{
	static const char q[] = "SELECT p.email || ' (' ||"
	    " group_concat(w.slug, ', ') || ')' FROM people p"
	    " JOIN memberships m ON m.person_id = p.id AND m.state = 'active'"
	    " JOIN networks w ON w.id = m.network_id AND w.state = 'open'"
	    " WHERE p.in_staff = 2 GROUP BY p.id ORDER BY p.email";
	sqlite3_stmt *s;
	char **v = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK) {
		db_error(st, "staff leavers");
		return NULL;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 8;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[(*n)++] = col_str(s, 0);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		db_error(st, "staff leavers");
		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		return NULL;
	}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	v[*n] = NULL;
	return v;
}

int
store_staff_replace_end(struct store *st, int *n)
{
	return exec_count(st, prep(st, S_STAFF_LEFT), "staff replace", n);
}

/* ---- networks ---- */

static const char *const net_state_names[] = {
	[NET_PROPOSED] = "proposed", [NET_OPEN] = "open",
	[NET_CLOSED] = "closed", [NET_REJECTED] = "rejected",
};

const char *
net_state_name(enum net_state s)
{
	return net_state_names[s];
}

static enum net_state
net_state_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_LEN(net_state_names); i++)
		if (strcmp(s, net_state_names[i]) == 0)
			return (enum net_state)i;
	return NET_CLOSED;
}

void
network_clear(struct network *n)
{
	free(n->slug);
	free(n->title);
	free(n->question);
	free(n->decided_by);
	free(n->reason);
	memset(n, 0, sizeof(*n));
}

static void
network_fill(sqlite3_stmt *s, void *row)
{
	struct network *n = row;

	const unsigned char *state = sqlite3_column_text(s, 4);

	n->id = sqlite3_column_int64(s, 0);
	n->slug = col_str(s, 1);
	n->title = col_str(s, 2);
	n->question = col_str(s, 3);
	n->state = net_state_parse(state ? (const char *)state : "");
	n->proposer_id = sqlite3_column_int64(s, 5);
	n->created = sqlite3_column_int64(s, 6);
	n->decided_by = col_str(s, 7);
	n->reason = col_str(s, 8);
}

static int
network_row(struct store *st, sqlite3_stmt *s, struct network *n)
{
	int r = sqlite3_step(s);

	if (r == SQLITE_ROW)
		network_fill(s, n);
	else if (r != SQLITE_DONE)
		db_error(st, "network");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

int
store_network_add(struct store *st, const char *slug, const char *title,
    const char *question, enum net_state state, int64_t proposer_id,
    time_t now, int64_t *id)
{
	sqlite3_stmt *s = prep(st, S_NET_ADD);
	int r;

	bind(s, "ttttii", slug, title, question ? question : "",
	    net_state_name(state), proposer_id, (int64_t)now);
	r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	if (r != SQLITE_DONE) {
		db_error(st, "add network");
		return -1;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_network_find(struct store *st, const char *name, struct network *n)
{
	sqlite3_stmt *s = prep(st, S_NET_BY_SLUG);
	int r;

	bind(s, "t", name);
	if ((r = network_row(st, s, n)) != 1)
		return r;
	s = prep(st, S_NET_FIND);
	bind(s, "t", name);
	return network_row(st, s, n);
}

int
store_network_by_id(struct store *st, int64_t id, struct network *n)
{
	sqlite3_stmt *s = prep(st, S_NET_BY_ID);

	bind(s, "i", id);
	return network_row(st, s, n);
}

int
store_network_pending_proposal(struct store *st, const char *title,
    int64_t proposer_id, struct network *n)
{
	sqlite3_stmt *s = prep(st, S_NET_PENDING);

	bind(s, "ti", title, proposer_id);
	return network_row(st, s, n);
}

int
store_network_set_state(struct store *st, int64_t id, enum net_state state,
    const char *decided_by, const char *reason, time_t now)
{
	sqlite3_stmt *s = prep(st, S_NET_STATE);

	bind(s, "ittti", id, net_state_name(state),
	    decided_by ? decided_by : "", reason ? reason : "", (int64_t)now);
	return exec_stmt(st, s, "network state");
}

struct network *
store_networks(struct store *st, size_t *n)
{
	struct network *v;

	if (read_rows(st, prep(st, S_NET_ALL), sizeof(*v), network_fill,
	    "networks", (void **)&v, n) == 0)
		return v;
	networks_free(v, *n);
	*n = 0;
	return NULL;
}

void
networks_free(struct network *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		network_clear(&v[i]);
	free(v);
}

/* ---- memberships ---- */

static const char *const role_names[] = {
	[ROLE_LEAD] = "lead", [ROLE_MEMBER] = "member",
	[ROLE_FOLLOWER] = "follower",
};
static const char *const mstate_names[] = {
	[MS_PENDING] = "pending", [MS_ACTIVE] = "active", [MS_LEFT] = "left",
};

const char *
role_name(enum role r)
{
	return role_names[r];
}

const char *
mstate_name(enum mstate m)
{
	return mstate_names[m];
}

static int
name_index(const char *const *names, size_t n, const unsigned char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp((const char *)s, names[i]) == 0)
			return (int)i;
	return 0;
}

int
store_membership(struct store *st, int64_t network_id, int64_t person_id,
    enum role *role, enum mstate *state)
{
	sqlite3_stmt *s = prep(st, S_MS_GET);
	int r;

	bind(s, "ii", network_id, person_id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*role = (enum role)name_index(role_names, ARRAY_LEN(role_names),
		    sqlite3_column_text(s, 0));
		*state = (enum mstate)name_index(mstate_names,
		    ARRAY_LEN(mstate_names), sqlite3_column_text(s, 1));
	} else if (r != SQLITE_DONE)
		db_error(st, "membership");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

int
store_membership_set(struct store *st, int64_t network_id, int64_t person_id,
    enum role role, enum mstate state, time_t now)
{
	sqlite3_stmt *s = prep(st, S_MS_SET);

	bind(s, "iitti", network_id, person_id, role_name(role),
	    mstate_name(state), (int64_t)now);
	return exec_stmt(st, s, "set membership");
}

int
store_membership_delivery(struct store *st, int64_t network_id,
    int64_t person_id, int digest)
{
	sqlite3_stmt *s = prep(st, S_MS_DELIVERY);

	bind(s, "iit", network_id, person_id, digest ? "digest" : "direct");
	return exec_stmt(st, s, "delivery");
}

int
store_news_add(struct store *st, int64_t network_id, int64_t person_id,
    const char *subject, const char *body, const char *outside, time_t now,
    int64_t *id)
{
	sqlite3_stmt *s = prep(st, S_NEWS_ADD);

	bind(s, "iittti", network_id, person_id, subject, body, outside,
	    (int64_t)now);
	if (exec_stmt(st, s, "news") == -1)
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static void
member_fill(sqlite3_stmt *s, void *row)
{
	struct member *m = row;

	m->person_id = sqlite3_column_int64(s, 0);
	m->email = col_str(s, 1);
	m->name = col_str(s, 2);
	m->role = (enum role)name_index(role_names, ARRAY_LEN(role_names),
	    sqlite3_column_text(s, 3));
	m->state = (enum mstate)name_index(mstate_names,
	    ARRAY_LEN(mstate_names), sqlite3_column_text(s, 4));
	m->bouncing = sqlite3_column_int(s, 5);
	m->digest = sqlite3_column_int(s, 6);
	m->since = sqlite3_column_int64(s, 7);
}

struct member *
store_members(struct store *st, int64_t network_id, size_t *n)
{
	sqlite3_stmt *s = prep(st, S_MS_LIST);
	struct member *v;

	bind(s, "i", network_id);
	if (read_rows(st, s, sizeof(*v), member_fill, "members", (void **)&v,
	    n) == 0)
		return v;
	members_free(v, *n);
	*n = 0;
	return NULL;
}

void
members_free(struct member *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].email);
		free(v[i].name);
	}
	free(v);
}

int
store_network_counts(struct store *st, int64_t network_id, size_t *leads,
    size_t *members)
{
	sqlite3_stmt *s = prep(st, S_MS_COUNTS);
	int r;

	bind(s, "i", network_id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*leads = (size_t)sqlite3_column_int64(s, 0);
		*members = (size_t)sqlite3_column_int64(s, 1);
	} else
		db_error(st, "counts");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : -1;
}

char *
store_network_leads(struct store *st, int64_t network_id)
{
	sqlite3_stmt *s = prep(st, S_MS_LEADS);
	char *r = NULL;

	bind(s, "i", network_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		r = col_str(s, 0);
	sqlite3_reset(s);
	return r ? r : xstrdup("");
}

/* ---- meetings ---- */

static const char *const mt_status_names[] = {
	[MT_PLANNED] = "planned", [MT_CANCELLED] = "cancelled",
};
static const char *const partstat_names[] = {
	[PS_NEEDS_ACTION] = "needs-action", [PS_ACCEPTED] = "accepted",
	[PS_DECLINED] = "declined", [PS_TENTATIVE] = "tentative",
};

const char *
mt_status_name(enum mt_status s)
{
	return mt_status_names[s];
}

const char *
partstat_name(enum partstat p)
{
	return partstat_names[p];
}

void
meeting_clear(struct meeting *m)
{
	free(m->uid);
	free(m->location);
	free(m->topic);
	memset(m, 0, sizeof(*m));
}

void
meetings_free(struct meeting *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		meeting_clear(&v[i]);
	free(v);
}

static void
meeting_fill(sqlite3_stmt *s, void *row)
{
	struct meeting *m = row;

	m->id = sqlite3_column_int64(s, 0);
	m->network_id = sqlite3_column_int64(s, 1);
	m->number = sqlite3_column_int(s, 2);
	m->uid = col_str(s, 3);
	m->start = sqlite3_column_int64(s, 4);
	m->end = sqlite3_column_int64(s, 5);
	m->location = col_str(s, 6);
	m->topic = col_str(s, 7);
	m->status = (enum mt_status)name_index(mt_status_names,
	    ARRAY_LEN(mt_status_names), sqlite3_column_text(s, 8));
	m->sequence = sqlite3_column_int(s, 9);
	m->created = sqlite3_column_int64(s, 10);
	m->updated = sqlite3_column_int64(s, 11);
	m->reminded = sqlite3_column_int(s, 12);
}

static int
meeting_row(struct store *st, sqlite3_stmt *s, struct meeting *m)
{
	int r = sqlite3_step(s);

	if (r == SQLITE_ROW)
		meeting_fill(s, m);
	else if (r != SQLITE_DONE)
		db_error(st, "meeting");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

static struct meeting *
meeting_rows(struct store *st, sqlite3_stmt *s, size_t *n)
{
	struct meeting *v;

	if (read_rows(st, s, sizeof(*v), meeting_fill, "meetings",
	    (void **)&v, n) == 0)
		return v;
	meetings_free(v, *n);
	*n = 0;
	return NULL;
}

int
store_meeting_add(struct store *st, int64_t network_id, const char *uid,
    time_t start, time_t end, const char *location, const char *topic,
    time_t now, struct meeting *out)
{
	sqlite3_stmt *s = prep(st, S_MT_ADD);

	bind(s, "itiitti", network_id, uid, (int64_t)start, (int64_t)end,
	    location ? location : "", topic ? topic : "", (int64_t)now);
	if (exec_stmt(st, s, "add meeting") == -1)
		return -1;
	return store_meeting_by_id(st, sqlite3_last_insert_rowid(st->db), out);
}

int
store_meeting_get(struct store *st, int64_t network_id, int number,
    struct meeting *m)
{
	sqlite3_stmt *s = prep(st, S_MT_GET);

	bind(s, "ii", network_id, (int64_t)number);
	return meeting_row(st, s, m);
}

int
store_meeting_by_id(struct store *st, int64_t id, struct meeting *m)
{
	sqlite3_stmt *s = prep(st, S_MT_BY_ID);

	bind(s, "i", id);
	return meeting_row(st, s, m);
}

int
store_meeting_by_uid(struct store *st, const char *uid, struct meeting *m)
{
	sqlite3_stmt *s = prep(st, S_MT_BY_UID);

	bind(s, "t", uid);
	return meeting_row(st, s, m);
}

int
store_meeting_update(struct store *st, const struct meeting *m, time_t now)
{
	sqlite3_stmt *s = prep(st, S_MT_UPDATE);

	bind(s, "iiitttii", m->id, (int64_t)m->start, (int64_t)m->end,
	    m->location, m->topic, mt_status_name(m->status),
	    (int64_t)m->sequence, (int64_t)now);
	return exec_stmt(st, s, "update meeting");
}

int
store_meeting_reminded(struct store *st, int64_t id)
{
	sqlite3_stmt *s = prep(st, S_MT_REMINDED);

	bind(s, "i", id);
	return exec_stmt(st, s, "reminded");
}

struct meeting *
store_meetings(struct store *st, int64_t network_id, int future_only,
    time_t now, size_t *n)
{
	sqlite3_stmt *s = prep(st, future_only ? S_MT_FUTURE : S_MT_ALL);

	if (future_only)
		bind(s, "ii", network_id, (int64_t)now);
	else
		bind(s, "i", network_id);
	return meeting_rows(st, s, n);
}

struct meeting *
store_meetings_to_remind(struct store *st, time_t now, size_t *n)
{
	sqlite3_stmt *s = prep(st, S_MT_REMIND);

	bind(s, "i", (int64_t)now);
	return meeting_rows(st, s, n);
}

int
store_rsvp_set(struct store *st, int64_t meeting_id, int64_t person_id,
    enum partstat ps, int sequence, int stale, const char *comment,
    time_t now)
{
	sqlite3_stmt *s = prep(st, S_RSVP_SET);

	bind(s, "iitiiti", meeting_id, person_id, partstat_name(ps),
	    (int64_t)sequence, (int64_t)stale, comment ? comment : "",
	    (int64_t)now);
	return exec_stmt(st, s, "rsvp");
}

int
store_rsvp_reset(struct store *st, int64_t meeting_id, int64_t person_id)
{
	sqlite3_stmt *s = prep(st, S_RSVP_RESET);

	bind(s, "ii", meeting_id, person_id);
	return exec_stmt(st, s, "rsvp reset");
}

int
store_rsvp_counts(struct store *st, const struct meeting *m,
    struct rsvp_counts *c)
{
	sqlite3_stmt *s = prep(st, S_RSVP_COUNTS);
	int r;

	memset(c, 0, sizeof(*c));
	bind(s, "ii", m->network_id, m->id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		c->accepted = (size_t)sqlite3_column_int64(s, 0);
		c->declined = (size_t)sqlite3_column_int64(s, 1);
		c->tentative = (size_t)sqlite3_column_int64(s, 2);
		c->needs_action = (size_t)sqlite3_column_int64(s, 3);
	} else
		db_error(st, "rsvp counts");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : -1;
}

static void
answer_fill(sqlite3_stmt *s, void *row)
{
	struct rsvp_answer *a = row;

	a->email = col_str(s, 0);
	a->name = col_str(s, 1);
	a->partstat = (enum partstat)name_index(partstat_names,
	    ARRAY_LEN(partstat_names), sqlite3_column_text(s, 2));
	a->comment = col_str(s, 3);
}

struct rsvp_answer *
store_rsvp_answers(struct store *st, int64_t meeting_id, size_t *n)
{
	sqlite3_stmt *s = prep(st, S_RSVP_ANSWERS);
	struct rsvp_answer *v;

	bind(s, "i", meeting_id);
	if (read_rows(st, s, sizeof(*v), answer_fill, "rsvp answers",
	    (void **)&v, n) == 0)
		return v;
	rsvp_answers_free(v, *n);
	*n = 0;
	return NULL;
}

void
rsvp_answers_free(struct rsvp_answer *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].email);
		free(v[i].name);
		free(v[i].comment);
	}
	free(v);
}

int
store_attendance_any(struct store *st, int64_t meeting_id)
{
	sqlite3_stmt *s = prep(st, S_ATT_ANY);

	bind(s, "i", meeting_id);
	return exists_stmt(st, s, "attendance");
}

int
store_attendance_clear(struct store *st, int64_t meeting_id)
{
	sqlite3_stmt *s = prep(st, S_ATT_CLEAR);

	bind(s, "i", meeting_id);
	return exec_stmt(st, s, "attendance clear");
}

int
store_attendance_add(struct store *st, int64_t meeting_id, int64_t person_id)
{
	sqlite3_stmt *s = prep(st, S_ATT_ADD);

	bind(s, "ii", meeting_id, person_id);
	return exec_stmt(st, s, "attendance");
}

static void
hours_fill(sqlite3_stmt *s, void *row)
{
	struct hours_row *h = row;

	h->email = col_str(s, 0);
	h->name = col_str(s, 1);
	h->slug = col_str(s, 2);
	h->meetings = sqlite3_column_int(s, 3);
	h->seconds = (long)sqlite3_column_int64(s, 4);
}

struct hours_row *
store_hours(struct store *st, time_t from, time_t to, int64_t network_id,
    size_t *n)
{
	sqlite3_stmt *s = prep(st, S_HOURS);
	struct hours_row *v;

	bind(s, "iii", (int64_t)from, (int64_t)to, network_id);
	if (read_rows(st, s, sizeof(*v), hours_fill, "hours", (void **)&v,
	    n) == 0)
		return v;
	hours_free(v, *n);
	*n = 0;
	return NULL;
}

void
hours_free(struct hours_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].email);
		free(v[i].name);
		free(v[i].slug);
	}
	free(v);
}

/* ---- tokens ---- */

void
token_clear(struct token *t)
{
	free(t->token);
	free(t->action);
	free(t->arg);
	free(t->used_by);
	memset(t, 0, sizeof(*t));
}

int
store_token_add(struct store *st, const char *token, const char *action,
    int64_t person_id, int64_t network_id, const char *arg, time_t now,
    time_t expires)
{
	sqlite3_stmt *s = prep(st, S_TOKEN_ADD);

	bind(s, "ttiitii", token, action, person_id, network_id,
	    arg ? arg : "", (int64_t)now, (int64_t)expires);
	return exec_stmt(st, s, "add token");
}

int
store_token_open(struct store *st, const char *action, int64_t person_id,
    int64_t network_id, char **token)
{
	sqlite3_stmt *s = prep(st, S_TOKEN_OPEN);
	int r;

	*token = NULL;
	bind(s, "tii", action, person_id, network_id);
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		*token = col_str(s, 0);
	else if (r != SQLITE_DONE)
		db_error(st, "token");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

int
store_token_get(struct store *st, const char *token, struct token *t)
{
	sqlite3_stmt *s = prep(st, S_TOKEN_GET);
	int r;

	bind(s, "t", token);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		t->token = col_str(s, 0);
		t->action = col_str(s, 1);
		t->person_id = sqlite3_column_int64(s, 2);
		t->network_id = sqlite3_column_int64(s, 3);
		t->arg = col_str(s, 4);
		t->created = sqlite3_column_int64(s, 5);
		t->expires = sqlite3_column_int64(s, 6);
		t->used = sqlite3_column_int64(s, 7);
		t->used_by = col_str(s, 8);
	} else if (r != SQLITE_DONE)
		db_error(st, "token");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

int
store_token_use(struct store *st, const char *token, const char *by,
    time_t now)
{
	sqlite3_stmt *s = prep(st, S_TOKEN_USE);

	bind(s, "tit", token, (int64_t)now, by);
	if (exec_stmt(st, s, "use token") == -1)
		return -1;
	return sqlite3_changes(st->db) ? 0 : 1;
}

int
store_tokens_spend(struct store *st, int64_t person_id, int64_t network_id,
    const char *action, const char *by, time_t now)
{
	sqlite3_stmt *s = prep(st, S_TOKEN_SPEND);

	bind(s, "iitit", person_id, network_id, action, (int64_t)now, by);
	return exec_stmt(st, s, "spend tokens");
}

/* ---- sent ---- */

int
store_sent_add(struct store *st, const char *msgid, const char *kind,
    const char *token, int64_t network_id, int64_t meeting_id,
    int64_t person_id, time_t now)
{
	sqlite3_stmt *s = prep(st, S_SENT_ADD);

	bind(s, "tttiiii", msgid, kind, token ? token : "", network_id,
	    meeting_id, person_id, (int64_t)now);
	return exec_stmt(st, s, "sent");
}

void
sent_ctx_clear(struct sent_ctx *c)
{
	free(c->kind);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

int
store_sent_get(struct store *st, const char *msgid, struct sent_ctx *c)
{
	sqlite3_stmt *s = prep(st, S_SENT_GET);
	int r;

	bind(s, "t", msgid);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		c->kind = col_str(s, 0);
		c->token = col_str(s, 1);
		c->network_id = sqlite3_column_int64(s, 2);
		c->meeting_id = sqlite3_column_int64(s, 3);
		c->person_id = sqlite3_column_int64(s, 4);
	} else if (r != SQLITE_DONE)
		db_error(st, "sent");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

/* ---- processed ---- */

int
store_processed_get(struct store *st, const char *key, char *outcome,
    size_t outlen)
{
	sqlite3_stmt *s = prep(st, S_PROC_GET);
	int r;

	bind(s, "t", key);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW && outcome)
		snprintf(outcome, outlen, "%s", sqlite3_column_text(s, 0));
	else if (r != SQLITE_ROW && r != SQLITE_DONE)
		db_error(st, "processed");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

int
store_processed_add(struct store *st, const char *key, const char *msgid,
    const char *sender, const char *outcome, const char *subject, time_t now)
{
	sqlite3_stmt *s = prep(st, S_PROC_ADD);

	bind(s, "ttttit", key, msgid, sender, outcome, (int64_t)now,
	    subject ? subject : "");
	return exec_stmt(st, s, "processed");
}

static int
count_since(struct store *st, enum stmt_id id, const char *sender,
    time_t since, const char *kind, int *count)
{
	sqlite3_stmt *s = prep(st, id);
	int r;

	if (kind != NULL)
		bind(s, "tit", sender, (int64_t)since, kind);
	else
		bind(s, "ti", sender, (int64_t)since);
	r = sqlite3_step(s);
	*count = r == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_reset(s);
	if (r != SQLITE_ROW) {
		db_error(st, "count");
		return -1;
	}
	return 0;
}

int
store_requests_since(struct store *st, const char *sender, time_t since,
    int *count)
{
	return count_since(st, S_PROC_SINCE, sender, since, NULL, count);
}

int
store_outcome_since(struct store *st, const char *sender, const char *outcome,
    time_t since, int *count)
{
	return count_since(st, S_OUTCOME_SINCE, sender, since, outcome, count);
}

int
store_outbox_kind_since(struct store *st, const char *kind, const char *rcpt,
    time_t since, int *count)
{
	return count_since(st, S_KIND_SINCE, rcpt, since, kind, count);
}

/* ---- outbox ---- */

static const char *const ob_state_names[] = {
	[OB_QUEUED] = "queued", [OB_SENT] = "sent", [OB_FAILED] = "failed",
};

const char *
ob_state_name(enum ob_state s)
{
	return ob_state_names[s];
}

int
store_outbox_add(struct store *st, const char *kind, const char *env_from,
    const char *rcpt, const char *msgid, const char *data, size_t len,
    time_t now, int64_t *id)
{
	sqlite3_stmt *s = prep(st, S_OB_ADD);
	int64_t row;
	int own, rc;

	/* The row and its text go in together: a row without text would
	 * never be due (S_OB_DUE joins them).  Callers inside a transaction
	 * roll it back on error. */
	own = !st->batch && sqlite3_get_autocommit(st->db);
	if (own && exec_stmt(st, prep(st, S_BEGIN), "begin") == -1)
		return -1;
	bind(s, "tttti", kind, env_from, rcpt, msgid, (int64_t)now);
	if ((rc = exec_stmt(st, s, "outbox add")) == 0) {
		row = sqlite3_last_insert_rowid(st->db);
		s = prep(st, S_OB_ADD_DATA);
		bind(s, "ib", row, data, len);
		rc = exec_stmt(st, s, "outbox add");
	}
	if (own) {
		if (rc == 0)
			rc = exec_stmt(st, prep(st, S_COMMIT), "commit");
		else
			exec_stmt(st, prep(st, S_ROLLBACK), "rollback");
	}
	if (rc == 0 && id)
		*id = row;
	return rc;
}

static void
ob_fill(sqlite3_stmt *s, void *row)
{
	struct ob_row *o = row;
	const void *blob;

	o->id = sqlite3_column_int64(s, 0);
	o->kind = col_str(s, 1);
	o->env_from = col_str(s, 2);
	o->rcpt = col_str(s, 3);
	o->msgid = col_str(s, 4);
	blob = sqlite3_column_blob(s, 5);
	o->len = (size_t)sqlite3_column_bytes(s, 5);
	o->data = xmalloc(o->len + 1);
	if (o->len)
		memcpy(o->data, blob, o->len);
	o->data[o->len] = '\0';
	o->state = (enum ob_state)name_index(ob_state_names,
	    ARRAY_LEN(ob_state_names), sqlite3_column_text(s, 6));
	o->attempts = sqlite3_column_int(s, 7);
	o->created = sqlite3_column_int64(s, 8);
	o->next_attempt = sqlite3_column_int64(s, 9);
	o->sent_at = sqlite3_column_int64(s, 10);
	o->last_error = col_str(s, 11);
	o->inflight = sqlite3_column_int(s, 12);
}

static struct ob_row *
ob_rows(struct store *st, sqlite3_stmt *s, size_t *n)
{
	struct ob_row *v;

	if (read_rows(st, s, sizeof(*v), ob_fill, "outbox", (void **)&v,
	    n) == 0)
		return v;
	ob_rows_free(v, *n);
	*n = 0;
	return NULL;
}

/*
 * Texts held at once by one call (at least one row): 200 copies of a
 * 10 MB list post would be 2 GB in memory.  The sender asks again.
 */
#define OB_DUE_BYTES	(32 * 1024 * 1024)

struct ob_row *
store_outbox_due(struct store *st, time_t now, size_t max, size_t *n)
{
	sqlite3_stmt *s = prep(st, S_OB_DUE);
	struct ob_row *v = NULL;
	size_t cap = 0, bytes = 0;
	int r = SQLITE_DONE;

	bind(s, "ii", (int64_t)now, (int64_t)max);
	*n = 0;
	while (bytes < OB_DUE_BYTES && (r = sqlite3_step(s)) == SQLITE_ROW) {
		struct ob_row *o = row_slot((void **)&v, &cap, (*n)++,
		    sizeof(*v));

		ob_fill(s, o);
		bytes += o->len;
	}
	sqlite3_reset(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		db_error(st, "outbox");
		ob_rows_free(v, *n);
		*n = 0;
		return NULL;
	}
	return v != NULL ? v : xcalloc(1, sizeof(*v));
}

struct ob_row *
store_outbox_list(struct store *st, int all, size_t *n)
{
	return ob_rows(st, prep(st, all ? S_OB_LIST_ALL : S_OB_LIST), n);
}

void
ob_rows_free(struct ob_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].kind);
		free(v[i].env_from);
		free(v[i].rcpt);
		free(v[i].msgid);
		free(v[i].data);
		free(v[i].last_error);
	}
	free(v);
}

int
store_outbox_sent(struct store *st, int64_t id, time_t now)
{
	sqlite3_stmt *s = prep(st, S_OB_SENT);

	bind(s, "ii", id, (int64_t)now);
	return exec_stmt(st, s, "outbox sent");
}

int
store_outbox_add_shared(struct store *st, const char *kind,
    const char *env_from, const char *rcpt, const char *msgid,
    int64_t data_of, time_t now, int64_t *id)
{
	sqlite3_stmt *s = prep(st, S_OB_ADD_SHARED);

	bind(s, "ttttii", kind, env_from, rcpt, msgid, (int64_t)now, data_of);
	if (exec_stmt(st, s, "outbox add") == -1)
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_outbox_was_sent(struct store *st, const char *msgid, const char *rcpt)
{
	sqlite3_stmt *s = prep(st, S_OB_WAS_SENT);

	bind(s, "tt", rcpt, msgid);
	return exists_stmt(st, s, "outbox");
}

int
store_outbox_retry_at(struct store *st, int64_t id, time_t next,
    const char *error)
{
	sqlite3_stmt *s = prep(st, S_OB_RETRY);

	bind(s, "iit", id, (int64_t)next, error);
	return exec_stmt(st, s, "outbox retry");
}

int
store_outbox_inflight(struct store *st, int64_t id, int delta)
{
	sqlite3_stmt *s = prep(st, S_OB_INFLIGHT);

	bind(s, "ii", id, (int64_t)delta);
	return exec_stmt(st, s, "outbox in flight");
}

int
store_outbox_failed(struct store *st, int64_t id, const char *error,
    time_t now)
{
	sqlite3_stmt *s = prep(st, S_OB_FAILED);

	bind(s, "iti", id, error, (int64_t)now);
	return exec_stmt(st, s, "outbox failed");
}

int
store_outbox_release(struct store *st, time_t now, int *n)
{
	sqlite3_stmt *s = prep(st, S_OB_RELEASE);

	bind(s, "i", (int64_t)now);
	return exec_count(st, s, "outbox release", n);
}

int
store_outbox_held(struct store *st, int *n)
{
	sqlite3_stmt *s = prep(st, S_OB_HELD);
	int r;

	*n = 0;
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		*n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	if (r != SQLITE_ROW) {
		db_error(st, "outbox held");
		return -1;
	}
	return 0;
}

int
store_outbox_drop_failed_calendar(struct store *st, int64_t person_id,
    time_t now)
{
	sqlite3_stmt *s = prep(st, S_OB_DROP_CAL_TEXT);

	bind(s, "ii", person_id, (int64_t)now);
	if (exec_stmt(st, s, "outbox drop") == -1)
		return -1;
	s = prep(st, S_OB_DROP_CAL);
	bind(s, "ii", person_id, (int64_t)now);
	return exec_stmt(st, s, "outbox drop");
}

int
store_outbox_unstick(struct store *st, time_t now, time_t latest, int *n)
{
	sqlite3_stmt *s = prep(st, S_OB_UNSTICK);

	bind(s, "ii", (int64_t)now, (int64_t)latest);
	return exec_count(st, s, "outbox unstick", n);
}

time_t
store_outbox_next(struct store *st)
{
	sqlite3_stmt *s = prep(st, S_OB_NEXT);
	time_t t = 0;

	if (sqlite3_step(s) == SQLITE_ROW)
		t = (time_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return t;
}

int
store_outbox_prune(struct store *st, time_t before, int *n)
{
	sqlite3_stmt *s = prep(st, S_OB_PRUNE);

	bind(s, "i", (int64_t)before);
	return exec_count(st, s, "outbox prune", n);
}

/* ---- digest additions ---- */

int
store_outbox_note(struct store *st, time_t now, const char *error)
{
	sqlite3_stmt *s = prep(st, S_OB_NOTE);

	bind(s, "it", (int64_t)now, error);
	return exec_stmt(st, s, "outbox note");
}

int
store_network_changed(struct store *st, int64_t id, time_t *at)
{
	sqlite3_stmt *s = prep(st, S_NET_CHANGED);
	int r;

	*at = 0;
	bind(s, "i", id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*at = (time_t)sqlite3_column_int64(s, 0);
	else if (r != SQLITE_DONE)
		db_error(st, "network changed");
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

static void
news_fill(sqlite3_stmt *s, void *row)
{
	struct news_item *it = row;

	it->id = sqlite3_column_int64(s, 0);
	it->network_id = sqlite3_column_int64(s, 1);
	it->person_id = sqlite3_column_int64(s, 2);
	it->author_email = col_str(s, 3);
	it->author_name = col_str(s, 4);
	it->subject = col_str(s, 5);
	it->body = col_str(s, 6);
	it->created = sqlite3_column_int64(s, 7);
	it->outside = col_str(s, 8);
}

/* News of a network from a statement bound to it. */
static struct news_item *
news_rows(struct store *st, sqlite3_stmt *s, const char *what, size_t *n)
{
	struct news_item *v;

	if (read_rows(st, s, sizeof(*v), news_fill, what, (void **)&v,
	    n) == 0)
		return v;
	news_free(v, *n);
	*n = 0;
	return NULL;
}

struct news_item *
store_news_since(struct store *st, int64_t network_id, time_t since,
    size_t *n)
{
	sqlite3_stmt *s = prep(st, S_NEWS_SINCE);

	bind(s, "ii", network_id, (int64_t)since);
	return news_rows(st, s, "news", n);
}

struct news_item *
store_news_bare(struct store *st, size_t *n)
{
	return news_rows(st, prep(st, S_NEWS_BARE), "news", n);
}

int
store_news_set_outside(struct store *st, int64_t id, const char *outside)
{
	sqlite3_stmt *s = prep(st, S_NEWS_OUTSIDE);

	bind(s, "it", id, outside);
	return exec_stmt(st, s, "news");
}

void
news_free(struct news_item *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].author_email);
		free(v[i].author_name);
		free(v[i].subject);
		free(v[i].body);
		free(v[i].outside);
	}
	free(v);
}

static void
bounce_fill(sqlite3_stmt *s, void *row)
{
	struct bounce_row *b = row;

	b->person_id = sqlite3_column_int64(s, 0);
	b->email = col_str(s, 1);
	b->name = col_str(s, 2);
	b->reason = col_str(s, 3);
	b->at = sqlite3_column_int64(s, 4);
}

struct bounce_row *
store_bouncing(struct store *st, size_t *n)
{
	struct bounce_row *v;

	if (read_rows(st, prep(st, S_BOUNCING), sizeof(*v), bounce_fill,
	    "bouncing", (void **)&v, n) == 0)
		return v;
	bounces_free(v, *n);
	*n = 0;
	return NULL;
}

void
bounces_free(struct bounce_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].email);
		free(v[i].name);
		free(v[i].reason);
	}
	free(v);
}

static void
kept_fill(sqlite3_stmt *s, void *row)
{
	struct kept_row *k = row;

	k->id = sqlite3_column_int64(s, 0);
	k->msgid = col_str(s, 1);
	k->sender = col_str(s, 2);
	k->outcome = col_str(s, 3);
	k->handled = sqlite3_column_int64(s, 4);
	k->subject = col_str(s, 5);
}

struct kept_row *
store_kept_since(struct store *st, time_t since, size_t *n)
{
	sqlite3_stmt *s = prep(st, S_KEPT_SINCE);
	struct kept_row *v;

	bind(s, "i", (int64_t)since);
	if (read_rows(st, s, sizeof(*v), kept_fill, "kept mail", (void **)&v,
	    n) == 0)
		return v;
	kept_free(v, *n);
	*n = 0;
	return NULL;
}

void
kept_free(struct kept_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].msgid);
		free(v[i].sender);
		free(v[i].outcome);
		free(v[i].subject);
	}
	free(v);
}

int
store_digest_seen(struct store *st, int64_t person_id, const char *kind,
    int64_t item, int64_t sub)
{
	sqlite3_stmt *s = prep(st, S_DG_SEEN);
	int r;

	bind(s, "itii", person_id, kind, item, sub);
	r = exists_stmt(st, s, "digest seen");
	return r == -1 ? -1 : !r;
}

int
store_digest_seen_add(struct store *st, int64_t person_id, const char *kind,
    int64_t item, int64_t sub, time_t now)
{
	sqlite3_stmt *s = prep(st, S_DG_SEEN_ADD);

	bind(s, "itiii", person_id, kind, item, sub, (int64_t)now);
	return exec_stmt(st, s, "digest seen add");
}

int
store_digest_last_run(struct store *st, time_t *at)
{
	sqlite3_stmt *s = prep(st, S_DG_LAST_RUN);
	int r;

	*at = 0;
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*at = (time_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (r != SQLITE_ROW) {
		db_error(st, "last digest run");
		return -1;
	}
	return 0;
}

int
store_digest_run_add(struct store *st, time_t at, size_t recipients,
    size_t items, int scheduled)
{
	sqlite3_stmt *s = prep(st, S_DG_RUN_ADD);

	bind(s, "iiii", (int64_t)at, (int64_t)recipients, (int64_t)items,
	    (int64_t)(scheduled != 0));
	return exec_stmt(st, s, "digest run");
}

/* ---- publish additions ---- */

struct news_item *
store_news_latest(struct store *st, int64_t network_id, size_t max,
    size_t *n)
{
	sqlite3_stmt *s = prep(st, S_NEWS_LATEST);

	bind(s, "ii", network_id, (int64_t)max);
	return news_rows(st, s, "latest news", n);
}

/* ---- meeting test additions ---- */

/* One-off statements: rare calls, kept out of the shared statement table. */
static int
one_int(struct store *st, const char *query, int64_t a, int64_t b, int *out,
    const char *what)
{
	sqlite3_stmt *s;
	int r;

	if (sqlite3_prepare_v2(st->db, query, -1, &s, NULL) != SQLITE_OK) {
		db_error(st, what);
		return -1;
	}
	bind(s, "ii", a, b);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	else if (r != SQLITE_DONE)
		db_error(st, what);
	sqlite3_finalize(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : -1;
}

int
store_meeting_sent_to(struct store *st, int64_t meeting_id,
    int64_t person_id)
{
	int n = 0;

	if (one_int(st, "SELECT count(*) FROM sent WHERE kind = 'invite' AND"
	    " meeting_id = ?1 AND person_id = ?2", meeting_id, person_id, &n,
	    "calendars sent") == -1)
		return -1;
	return n > 0;
}

int
store_calendar_delivered_since(struct store *st, int64_t meeting_id,
    int64_t person_id, time_t since)
{
	sqlite3_stmt *s;
	int r, n = 0;

	/* The outbox rows of this person's calendar mail since then (an
	 * index range on rcpt, kind, created), and of those the ones the
	 * server took that name this meeting.  Not one a delivery report
	 * returned (last_error, store_outbox_returned): the server took it,
	 * the mailbox did not.  The clock counts seconds: a row of the very
	 * second of the change counts only when the address was marked
	 * bouncing after it (else the row may be of an earlier change in
	 * that second, and the change itself skipped them) and it is the
	 * last calendar mail made for them about the meeting (else a later
	 * one, the change's own, failed: its outbox row is dropped by the
	 * catch-up, its sent row stays). */
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM people p"
	    " JOIN outbox o ON o.rcpt = p.email"
	    " JOIN sent s ON s.msgid = o.msgid"
	    " WHERE p.id = ?2"
	    " AND o.kind = 'invite' AND o.created >= ?3 AND o.state = 'sent'"
	    " AND o.last_error = ''"
	    " AND (o.created > ?3 OR (p.bounced_at > ?3 AND s.rowid ="
	    "  (SELECT max(rowid) FROM sent WHERE meeting_id = ?1"
	    "   AND person_id = ?2 AND kind = 'invite')))"
	    " AND s.meeting_id = ?1 AND s.person_id = ?2", -1, &s, NULL) !=
	    SQLITE_OK) {
		db_error(st, "calendars delivered");
		return -1;
	}
	bind(s, "iii", meeting_id, person_id, (int64_t)since);
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	else
		db_error(st, "calendars delivered");
	sqlite3_finalize(s);
	return r != SQLITE_ROW ? -1 : n > 0;
}

int
store_outbox_returned(struct store *st, const char *msgid, const char *rcpt,
    const char *why)
{
	sqlite3_stmt *s;
	char *note;
	int rc;

	if (sqlite3_prepare_v2(st->db, "UPDATE outbox SET last_error = ?3"
	    " WHERE rcpt = ?1 AND msgid = ?2 AND state = 'sent'"
	    " AND kind <> 'list'", -1, &s, NULL) != SQLITE_OK) {
		db_error(st, "outbox returned");
		return -1;
	}
	note = xasprintf("returned by a delivery report: %s", why);
	bind(s, "ttt", rcpt, msgid, note);
	rc = exec_stmt(st, s, "outbox returned");
	sqlite3_finalize(s);
	free(note);
	return rc;
}

int
store_rsvp_sequence(struct store *st, int64_t meeting_id, int64_t person_id,
    int *sequence)
{
	return one_int(st, "SELECT sequence FROM rsvps WHERE meeting_id = ?1"
	    " AND person_id = ?2", meeting_id, person_id, sequence, "rsvp");
}

int
store_replaced(const struct store *st)
{
	struct stat sb;

	if (st->ino == 0)
		return 0;
	if (stat(st->path, &sb) == -1)
		return errno == ENOENT;
	return sb.st_dev != st->dev || sb.st_ino != st->ino;
}
