#!/bin/bash
# mailstack.sh - a throwaway Postfix + Dovecot on 127.0.0.1 for the tests,
# the demo and the benchmarks.  Every file (config, queue, sockets, logs,
# pids, mail) lives under DIR; the system-wide instances are never used.
#
#   mailstack.sh start DIR              create (first time) and start both
#   mailstack.sh stop DIR               stop both, wait until really gone
#   mailstack.sh adduser DIR USER [PW]  USER or USER@DOMAIN; default PW "secret"
#   mailstack.sh addusers DIR USER...   several, password "secret"
#   mailstack.sh access DIR ADDR [ACTION]  set (or, without ACTION, remove) a
#                                       recipient access entry, e.g.
#                                       "550 5.1.1 Mailbox gone"
#   mailstack.sh postfix-stop DIR | postfix-start DIR
#   mailstack.sh dovecot-stop DIR | dovecot-start DIR | dovecot-restart DIR
#   mailstack.sh status DIR             exit 0 when both run
#
# What the stack does (see /work/shared/MAILSTACK.md for why each setting):
#   domains school.test, other.test (more appear when a user is added in one),
#   delivered by Postfix over LMTP to Dovecot (Maildir, "." separator);
#   plus-addresses (lido+rekenen@) go to the base mailbox, Delivered-To kept;
#   discard.test swallows everything (benchmarks);
#   rejected@school.test -> 550 at RCPT, tempfail@school.test -> 450 at RCPT,
#   bounce@school.test   -> accepted, then a 5.1.1 DSN to the sender;
#   unknown users of a local domain -> 550 at RCPT; anything else bounces:
#   nothing leaves the machine.
# Ports are picked per run and written with every path to DIR/stack.env
# (shell) and DIR/stack.json.
set -euo pipefail
umask 022

PROG=${0##*/}
DOMAIN=school.test
DOMAINS="school.test other.test"
DISCARD_DOMAIN=discard.test
# Ports are reserved here so that concurrent stacks (and a stack whose
# Postfix is stopped for a moment) never get the same one.
PORT_REGISTRY=${TMPDIR:-/tmp}/leernet-mailstack-ports

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
usage() {
	sed -n '6,15p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 64
}

# --- processes --------------------------------------------------------------

# proc_stat PID: set PSTATE and PPGRP from /proc/PID/stat (no fork);
# false when the process is gone.
proc_stat() {
	local s
	PSTATE='' PPGRP=''
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	set -- $s
	PSTATE=$1 PPGRP=$3
}

# alive PID: the process exists and is no zombie (kill -0 says yes to those).
alive() {
	proc_stat "$1" && [ "$PSTATE" != Z ] && [ "$PSTATE" != X ]
}

# nul_list_has FILE WORD: a NUL-separated /proc file holds WORD.
nul_list_has() {
	local w
	while IFS= read -r -d '' w; do
		[ "$w" = "$2" ] && return 0
	done 2>/dev/null <"$1"
	return 1
}

# ours PID CONFIG: the process is alive and was started with CONFIG (on its
# command line, or as MAIL_CONFIG), so a stale pid file can never make us
# signal somebody else's process.
ours() {
	alive "$1" || return 1
	nul_list_has "/proc/$1/cmdline" "$2" || nul_list_has "/proc/$1/environ" "MAIL_CONFIG=$2"
}

pidfile_pid() {
	local pid=
	{ [ -r "$1" ] && read -r pid _ <"$1"; } 2>/dev/null || true
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	printf '%s' "$pid"
}

# group_members PGRP: live pids in process group PGRP.
group_members() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } |
		awk -v g="$1" '{ pid = $1; s = $0; sub(/.*\) /, "", s); split(s, f, " ");
			if (f[3] == g && f[1] != "Z" && f[1] != "X") print pid }'
}

# wait_gone PID SECONDS
wait_gone() {
	local i n=$(($2 * 50))
	for ((i = 0; i < n; i++)); do
		alive "$1" || return 0
		sleep 0.02
	done
	return 1
}

# stop_master NAME PIDFILE NEEDLE: SIGTERM the master, wait until it and every
# process of its group are gone; SIGKILL what is left after a while.
stop_master() {
	local name=$1 pidfile=$2 needle=$3 pid pgrp='' p i left
	pid=$(pidfile_pid "$pidfile") || return 0
	if ! ours "$pid" "$needle"; then
		rm -f "$pidfile"
		return 0
	fi
	proc_stat "$pid" && pgrp=$PPGRP
	# Dovecot's master, told first, waits ~1 s for its children; with
	# them told just before, it is gone in ~0.1 s.  (Postfix's master ends
	# its process group itself.)
	if [ "$name" = dovecot ] && [ "$pgrp" = "$pid" ]; then
		for p in $(group_members "$pgrp"); do
			[ "$p" = "$pid" ] || kill -TERM "$p" 2>/dev/null || true
		done
	fi
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 10; then
		printf '%s: %s master %s ignored SIGTERM, killing it\n' "$PROG" "$name" "$pid" >&2
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 || die "$name master $pid does not go away"
	fi
	# Children notice their master is gone by themselves; wait for them
	# (only when the master led its own group, as both daemons do).
	if [ "$pgrp" = "$pid" ]; then
		for ((i = 0; i < 250; i++)); do
			left=$(group_members "$pgrp")
			[ -z "$left" ] && break
			[ "$i" = 150 ] && for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
			sleep 0.02
		done
	fi
	rm -f "$pidfile"
}

# --- ports ------------------------------------------------------------------

# used_ports: every local TCP port in use (any state), one a line.
used_ports() {
	awk 'FNR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		while read -r h; do echo $((16#$h)); done
}

# listening PID PORT: PID holds the socket listening on PORT.
listening() {
	local hex inode fds
	hex=$(printf '%04X' "$2")
	fds=$(ls -l "/proc/$1/fd" 2>/dev/null) || return 1
	for inode in $(awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		[[ $fds == *"socket:[$inode]"* ]] && return 0
	done
	return 1
}

reserved_by_other() {
	local f=$PORT_REGISTRY/$1 owner
	[ -f "$f" ] || return 1
	owner=$(cat "$f" 2>/dev/null) || return 1
	[ "$owner" != "$DIR" ] && [ -f "$owner/stack.env" ]
}

reserve() { printf '%s\n' "$DIR" >"$PORT_REGISTRY/$1"; }

release_ports() {
	local p owner mine=()
	for p in ${IMAP_PORT:-} ${IMAPS_PORT:-} ${SMTP_PORT:-} ${SUBMISSION_PORT:-} ${SMTPS_PORT:-}; do
		owner=
		{ read -r owner <"$PORT_REGISTRY/$p"; } 2>/dev/null || true
		[ "$owner" = "$DIR" ] && mine+=("$PORT_REGISTRY/$p")
	done
	[ ${#mine[@]} -eq 0 ] || rm -f "${mine[@]}"
}

# pick_ports: five free ports below the kernel's ephemeral range (so an
# outgoing connection cannot take one between our choice and the bind).
pick_ports() {
	local lo hi low span p picked="" i used
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	used=" $(used_ports | tr '\n' ' ') "
	if [ "$lo" -gt 12000 ]; then
		low=10000 span=$((lo - 10000))
	else
		low=$((hi + 1)) span=$((65000 - hi))
	fi
	[ "$span" -gt 100 ] || die "no port range outside the ephemeral ports ($lo-$hi)"
	for ((i = 0; i < 500; i++)); do
		p=$((low + (RANDOM * 32768 + RANDOM) % span))
		case " $picked " in *" $p "*) continue ;; esac
		case $used in *" $p "*) continue ;; esac
		reserved_by_other "$p" && continue
		picked="$picked $p"
		set -- $picked
		[ $# -eq 5 ] && break
	done
	set -- $picked
	[ $# -eq 5 ] || die "could not find five free ports"
	IMAP_PORT=$1 IMAPS_PORT=$2 SMTP_PORT=$3 SUBMISSION_PORT=$4 SMTPS_PORT=$5
}

with_port_lock() {
	mkdir -p "$PORT_REGISTRY"
	(
		flock 8
		"$@"
	) 8>"$PORT_REGISTRY/.lock"
}

# Reserve the stack's ports (re-checking them when this DIR had ports before).
reserve_ports() {
	local p
	if [ -z "${IMAP_PORT:-}" ]; then
		pick_ports
	else
		for p in $IMAP_PORT $IMAPS_PORT $SMTP_PORT $SUBMISSION_PORT $SMTPS_PORT; do
			reserved_by_other "$p" && die "port $p of $DIR is now used by $(cat "$PORT_REGISTRY/$p")"
		done
	fi
	for p in $IMAP_PORT $IMAPS_PORT $SMTP_PORT $SUBMISSION_PORT $SMTPS_PORT; do
		reserve "$p"
	done
	printf '%s %s %s %s %s\n' "$IMAP_PORT" "$IMAPS_PORT" "$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT"
}

# --- layout -----------------------------------------------------------------

set_paths() {
	PF_CONF=$DIR/postfix
	PF_QUEUE=$DIR/spool
	PF_DATA=$DIR/postfix-data
	DC_CONF_DIR=$DIR/dovecot
	DC_CONF=$DC_CONF_DIR/dovecot.conf
	USERS=$DIR/users
	MAILDIR_ROOT=$DIR/mail
	LOGDIR=$DIR/log
	TLS=$DIR/tls
	POSTFIX_LOG=$LOGDIR/postfix.log
	DOVECOT_LOG=$LOGDIR/dovecot.log
	POSTFIX_PID_FILE=$PF_QUEUE/pid/master.pid
}

# Unix socket paths are limited to 107 bytes: with a long DIR, Dovecot's
# sockets go to a short directory in /tmp that DIR/run points to.
set_run_dir() {
	if [ -n "${RUN_DIR:-}" ] && [ -d "$RUN_DIR" ]; then
		:
	elif [ ${#DIR} -le 70 ]; then
		RUN_DIR=$DIR/run
		mkdir -p "$RUN_DIR"
	else
		RUN_DIR=$(mktemp -d /tmp/lms.XXXXXX)
		chmod 755 "$RUN_DIR"
		ln -sfn "$RUN_DIR" "$DIR/run"
	fi
	LMTP_SOCKET=$RUN_DIR/lmtp
	AUTH_SOCKET=$RUN_DIR/auth-client
	DOVECOT_PID_FILE=$RUN_DIR/master.pid
}

load_env() {
	[ -f "$DIR/stack.env" ] || die "$DIR has no stack (run: $PROG start $DIR)"
	# shellcheck disable=SC1091
	. "$DIR/stack.env"
	set_paths
	set_run_dir
}

# json_str VAR VALUE: VAR = VALUE as a JSON string.
json_str() {
	local s=$2
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf -v "$1" '"%s"' "$s"
}

# shellcheck disable=SC2034 # the variables are written out through ${!k}
write_env() {
	local k v sep="" tmp
	local keys="STACK_DIR STACK_ID HOST DOMAIN DOMAINS DISCARD_DOMAIN
	    REJECT_ADDRESS TEMPFAIL_ADDRESS BOUNCE_ADDRESS
	    IMAP_PORT IMAPS_PORT SMTP_PORT SUBMISSION_PORT SMTPS_PORT
	    CA_FILE TLS_CERT TLS_KEY MAILDIR_ROOT USERS_DIR RUN_DIR LMTP_SOCKET
	    POSTFIX_CONFIG POSTFIX_QUEUE POSTFIX_LOG POSTFIX_PID_FILE
	    DOVECOT_CONFIG DOVECOT_LOG DOVECOT_PID_FILE"
	STACK_DIR=$DIR HOST=127.0.0.1
	REJECT_ADDRESS=rejected@$DOMAIN TEMPFAIL_ADDRESS=tempfail@$DOMAIN BOUNCE_ADDRESS=bounce@$DOMAIN
	CA_FILE=$TLS/ca.pem TLS_CERT=$TLS/server.pem TLS_KEY=$TLS/server.key
	USERS_DIR=$USERS POSTFIX_CONFIG=$PF_CONF POSTFIX_QUEUE=$PF_QUEUE DOVECOT_CONFIG=$DC_CONF
	tmp=$DIR/stack.env.tmp
	{
		echo "# written by $PROG start; source it from sh"
		for k in $keys; do printf '%s=%q\n' "$k" "${!k}"; done
	} >"$tmp"
	mv "$tmp" "$DIR/stack.env"
	{
		printf '{'
		for k in $keys; do
			v=${!k}
			case $k in
			*_PORT) printf '%s\n  "%s": %s' "$sep" "$k" "$v" ;;
			*) json_str v "$v"; printf '%s\n  "%s": %s' "$sep" "$k" "$v" ;;
			esac
			sep=,
		done
		printf '\n}\n'
	} >"$tmp"
	mv "$tmp" "$DIR/stack.json"
}

# DIR and every parent must be searchable by uid mail (Dovecot's mail
# processes) and postfix (the LMTP client reaching the socket).
make_searchable() {
	local d=$1 dirs=() m n
	while [ -n "$d" ]; do
		dirs+=("$d")
		d=${d%/*}
	done
	dirs+=(/)
	while read -r m n; do
		(((8#$m & 1) == 1)) || chmod o+x "$n"
	done < <(stat -c '%a %n' "${dirs[@]}")
}

make_tls() {
	local ossl_err=$LOGDIR/openssl.err
	mkdir -p "$TLS"
	(
		cd "$TLS"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.pem -days 3650 -subj "/CN=leernet mailstack CA $STACK_ID" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-addext "subjectKeyIdentifier=hash"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout server.key -out server.csr -subj "/CN=localhost"
		cat >server.ext <<-EOF
			basicConstraints = critical, CA:FALSE
			keyUsage = critical, digitalSignature, keyEncipherment
			extendedKeyUsage = serverAuth
			subjectAltName = DNS:localhost, IP:127.0.0.1
			subjectKeyIdentifier = hash
			authorityKeyIdentifier = keyid:always
		EOF
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$STACK_ID" \
			-days 825 -extfile server.ext -out server.pem
		rm -f server.csr server.ext
		chmod 600 ca.key server.key
		chmod 644 ca.pem server.pem
	) >"$ossl_err" 2>&1 || { cat "$ossl_err" >&2; die "openssl failed"; }
}

# --- configuration ----------------------------------------------------------

write_postfix_config() {
	mkdir -p "$PF_CONF"
	cat >"$PF_CONF/main.cf" <<-EOF
		# leernet test mail stack $STACK_ID - written by $PROG, do not edit
		compatibility_level = 3.6
		queue_directory = $PF_QUEUE
		data_directory = $PF_DATA
		mail_owner = postfix
		setgid_group = postdrop
		maillog_file = $POSTFIX_LOG
		maillog_file_prefixes = $DIR
		myhostname = mx.$DOMAIN
		mydomain = $DOMAIN
		myorigin = $DOMAIN
		mydestination =
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		mynetworks = 127.0.0.0/8
		smtpd_banner = \$myhostname ESMTP leernet mailstack $STACK_ID
		biff = no
		alias_maps =
		alias_database =
		local_recipient_maps =
		local_transport = error:5.1.1 local delivery is off in the test stack
		default_transport = error:5.4.4 nothing leaves the test stack
		relay_transport = error:5.4.4 nothing leaves the test stack
		relay_domains = $DISCARD_DOMAIN
		transport_maps = hash:$PF_CONF/transport
		virtual_mailbox_domains = hash:$PF_CONF/domains
		virtual_mailbox_maps = hash:$PF_CONF/mailboxes
		virtual_alias_maps =
		virtual_transport = lmtp:unix:$LMTP_SOCKET
		recipient_delimiter = +
		smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
		smtpd_recipient_restrictions = check_recipient_access hash:$PF_CONF/recipient_access,
		    permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
		message_size_limit = 52428800
		notify_classes =
		smtp_dns_support_level = disabled
		# quick and quiet (MAILSTACK.md)
		smtpd_peername_lookup = no
		in_flow_delay = 0
		smtpd_error_sleep_time = 0
		queue_run_delay = 1s
		minimal_backoff_time = 1s
		maximal_backoff_time = 2s
		lmtp_connect_timeout = 5s
		# TLS (submission and smtps ports only) with the per-run certificate
		smtpd_tls_cert_file = $TLS/server.pem
		smtpd_tls_key_file = $TLS/server.key
		smtpd_tls_security_level = none
		smtpd_tls_session_cache_database =
		smtpd_sasl_type = dovecot
		smtpd_sasl_path = $AUTH_SOCKET
		smtpd_sasl_auth_enable = no
	EOF
	# Chroot column is "n": the LMTP and auth sockets are absolute paths.
	cat >"$PF_CONF/master.cf" <<-EOF
		# service type private unpriv chroot wakeup maxproc command
		127.0.0.1:$SMTP_PORT inet n - n - - smtpd
		127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
		  -o syslog_name=postfix/submission
		  -o smtpd_tls_security_level=encrypt
		  -o smtpd_sasl_auth_enable=yes
		  -o smtpd_tls_auth_only=yes
		  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
		127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
		  -o syslog_name=postfix/smtps
		  -o smtpd_tls_wrappermode=yes
		  -o smtpd_sasl_auth_enable=yes
		  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
		pickup     unix  n - n 60 1 pickup
		cleanup    unix  n - n -  0 cleanup
		qmgr       unix  n - n 300 1 qmgr
		tlsmgr     unix  - - n 1000? 1 tlsmgr
		rewrite    unix  - - n -  - trivial-rewrite
		bounce     unix  - - n -  0 bounce
		defer      unix  - - n -  0 bounce
		trace      unix  - - n -  0 bounce
		verify     unix  - - n -  1 verify
		flush      unix  n - n 1000? 0 flush
		proxymap   unix  - - n -  - proxymap
		proxywrite unix  - - n -  1 proxymap
		smtp       unix  - - n -  - smtp
		relay      unix  - - n -  - smtp
		showq      unix  n - n -  - showq
		error      unix  - - n -  - error
		retry      unix  - - n -  - error
		discard    unix  - - n -  - discard
		lmtp       unix  - - n -  - lmtp
		anvil      unix  - - n -  1 anvil
		scache     unix  - - n -  1 scache
		postlog    unix-dgram n - n - 1 postlogd
	EOF
	# Before any postfix command: they all read main.cf.
	backdate "$PF_CONF/main.cf" "$PF_CONF/master.cf"
	if [ ! -f "$PF_CONF/domains" ]; then
		for d in $DOMAINS; do printf '%s OK\n' "$d"; done >"$PF_CONF/domains"
	fi
	if [ ! -f "$PF_CONF/mailboxes" ]; then
		# bounce@ exists for Postfix only: accepted at RCPT, then refused by
		# Dovecot's LMTP (no such user), so the sender gets a real DSN.
		printf 'bounce@%s OK\n' "$DOMAIN" >"$PF_CONF/mailboxes"
	fi
	cat >"$PF_CONF/transport" <<-EOF
		$DISCARD_DOMAIN discard:discarded by the test stack
	EOF
	if [ ! -f "$PF_CONF/recipient_access" ]; then
		write_default_access
	fi
	postmap_all
	backdate "$PF_CONF"/*
}

write_default_access() {
	cat >"$PF_CONF/recipient_access" <<-EOF
		rejected@$DOMAIN 550 5.1.1 Mailbox unavailable (test rejection)
		tempfail@$DOMAIN 450 4.2.0 Mailbox temporarily unavailable (test deferral)
	EOF
}

# postmap_map NAME: rebuild a map so that running daemons notice: Postfix
# compares the .db's mtime in whole seconds, so a second rebuild within the
# same second would go unseen; push the mtime on by a second then.
postmap_map() {
	local db=$PF_CONF/$1.db before='' after
	[ -f "$db" ] && before=$(stat -c %Y "$db")
	postmap -c "$PF_CONF" "hash:$PF_CONF/$1"
	after=$(stat -c %Y "$db")
	if [ -n "$before" ] && [ "$after" -le "$before" ]; then
		touch -d "@$((before + 1))" "$db"
	fi
}

postmap_all() {
	local m
	for m in domains mailboxes transport recipient_access; do
		postmap -c "$PF_CONF" "hash:$PF_CONF/$m"
	done
}

# Postfix re-reads a main.cf younger than ~2 s, costing ~2 s per command.
backdate() { touch -d '-1 minute' "$@"; }

write_dovecot_config() {
	mkdir -p "$DC_CONF_DIR/state" "$USERS" "$MAILDIR_ROOT"
	chown mail:mail "$MAILDIR_ROOT"
	chmod 755 "$USERS" "$MAILDIR_ROOT"
	cat >"$DC_CONF" <<-EOF
		# leernet test mail stack $STACK_ID - written by $PROG, do not edit
		base_dir = $RUN_DIR
		state_dir = $DC_CONF_DIR/state
		instance_name = mailstack-$STACK_ID
		protocols = imap lmtp
		listen = 127.0.0.1
		log_path = $DOVECOT_LOG
		login_greeting = leernet mailstack $STACK_ID ready.
		ssl = yes
		ssl_cert = <$TLS/server.pem
		ssl_key = <$TLS/server.key
		ssl_min_protocol = TLSv1.2
		disable_plaintext_auth = no
		auth_mechanisms = plain login xoauth2 oauthbearer
		auth_default_realm = $DOMAIN
		auth_username_format = %Lu
		auth_failure_delay = 0
		auth_verbose = yes
		mail_uid = mail
		mail_gid = mail
		first_valid_uid = 8
		mail_home = $MAILDIR_ROOT/%d/%n
		mail_location = maildir:~/Maildir
		mail_plugins =
		recipient_delimiter = +
		lmtp_save_to_detail_mailbox = no
		postmaster_address = postmaster@$DOMAIN
		namespace inbox {
		  inbox = yes
		}
		# One passwd-file per user: a new user is visible at once.
		passdb {
		  driver = passwd-file
		  mechanisms = plain login
		  args = scheme=PLAIN username_format=%u $USERS/%u
		}
		# XOAUTH2 (how Microsoft 365 and Google log in): a token is valid
		# when the introspection server in oauth2.conf.ext says so.  No
		# server listens there until a test starts one and points it there.
		passdb {
		  driver = oauth2
		  mechanisms = xoauth2 oauthbearer
		  args = $DC_CONF_DIR/oauth2.conf.ext
		}
		userdb {
		  driver = passwd-file
		  args = username_format=%u $USERS/%u
		}
		protocol imap {
		  mail_max_userip_connections = 200
		}
		# Processes kept ready and reused: a login then costs milliseconds,
		# not a fork and exec (the tests log in thousands of times).
		service imap-login {
		  service_count = 0
		  process_min_avail = 1
		  inet_listener imap {
		    address = 127.0.0.1
		    port = $IMAP_PORT
		  }
		  inet_listener imaps {
		    address = 127.0.0.1
		    port = $IMAPS_PORT
		    ssl = yes
		  }
		}
		service imap {
		  service_count = 0
		  process_min_avail = 2
		}
		service lmtp {
		  process_min_avail = 1
		  unix_listener lmtp {
		    mode = 0666
		  }
		}
		# No growing delays after a wrong password (a test of leernet's
		# error message must not slow every later login from 127.0.0.1).
		service anvil {
		  unix_listener anvil-auth-penalty {
		    mode = 0
		  }
		}
		service auth {
		  unix_listener auth-client {
		    mode = 0666
		  }
		}
	EOF
	[ -f "$DC_CONF_DIR/oauth2.conf.ext" ] || cat >"$DC_CONF_DIR/oauth2.conf.ext" <<-EOF
		introspection_mode = post
		introspection_url = http://127.0.0.1:9/introspect
		username_attribute = username
	EOF
}

# --- start / stop -----------------------------------------------------------

postfix_running() {
	local pid
	pid=$(pidfile_pid "$POSTFIX_PID_FILE") && ours "$pid" "$PF_CONF"
}

dovecot_running() {
	local pid
	pid=$(pidfile_pid "$DOVECOT_PID_FILE") && ours "$pid" "$DC_CONF"
}

# wait_listening NAME PIDFILE PORT...: the master holds every listening socket.
wait_listening() {
	local name=$1 pidfile=$2 pid port i
	shift 2
	for ((i = 0; i < 250; i++)); do
		pid=$(pidfile_pid "$pidfile") && alive "$pid" && break
		sleep 0.02
	done
	[ -n "${pid:-}" ] && alive "$pid" || return 1
	for port; do
		until listening "$pid" "$port"; do
			alive "$pid" || return 1
			((i++ < 500)) || return 1
			sleep 0.02
		done
	done
}

start_dovecot() {
	local out=$LOGDIR/dovecot-start.out
	dovecot_running && return 0
	# 9>&-: the daemons must not inherit (and so hold) the stack's lock.
	if ! dovecot -c "$DC_CONF" </dev/null >"$out" 2>&1 9>&- ||
		! wait_listening dovecot "$DOVECOT_PID_FILE" "$IMAP_PORT" "$IMAPS_PORT"; then
		{
			echo "$PROG: dovecot did not start ($DIR)"
			cat "$out"
			doveconf -c "$DC_CONF" -n >/dev/null || true
			[ -f "$DOVECOT_LOG" ] && tail -n 20 "$DOVECOT_LOG"
		} >&2
		return 1
	fi
	for ((i = 0; i < 250; i++)); do
		if [ -S "$LMTP_SOCKET" ] && [ -S "$AUTH_SOCKET" ]; then
			flush_postfix
			return 0
		fi
		sleep 0.02
	done
	echo "$PROG: dovecot made no LMTP socket $LMTP_SOCKET" >&2
	return 1
}

# Mail deferred while Dovecot was down goes now, not after its backoff.
# (Under load qmgr can also meet a just-deferred file still locked by the
# LMTP client and park it in "incoming", where only a new arrival or a
# flush finds it again.)
flush_postfix() {
	postfix_running || return 0
	postqueue -c "$PF_CONF" -f </dev/null >/dev/null 2>&1 9>&- || true
}

# The queue layout of $meta_directory/postfix-files, made here because
# "postfix start" without quick-start spends ~1 s checking the whole install.
make_queue() {
	[ -d "$PF_QUEUE/active" ] && [ -d "$PF_DATA" ] && return 0
	install -d -o root -g root -m 755 "$PF_QUEUE" "$PF_QUEUE/pid"
	install -d -o postfix -g root -m 700 "$PF_DATA" "$PF_QUEUE"/{active,bounce,corrupt,defer,deferred,flush,hold,incoming,private,saved,trace}
	install -d -o postfix -g postdrop -m 730 "$PF_QUEUE/maildrop"
	install -d -o postfix -g postdrop -m 710 "$PF_QUEUE/public"
}

# A cleanup(8) stopped while it made a queue file leaves the file under its
# temporary name (microseconds.pid) in incoming/. It was never accepted and
# will never be delivered; "postfix start" without quick-start would purge it
# (postsuper -p), and the tests, which wait for an empty queue, would wait for
# it in vain. Only files of processes that are gone are removed; a zombie
# is gone (a cleanup SIGKILLed by the stop stays one until it is reaped,
# and the stop does not wait for that: CI, stop 18).
purge_dead_temp_files() {
	local f pid
	for f in "$PF_QUEUE"/incoming/*.*; do
		[ -f "$f" ] || continue
		pid=${f##*.}
		case ${f##*/} in *[!0-9.]*) continue ;; esac
		alive "$pid" || rm -f -- "$f"
	done
}

start_postfix() {
	local out=$LOGDIR/postfix-start.out
	postfix_running && return 0
	backdate "$PF_CONF/main.cf" "$PF_CONF/master.cf"
	make_queue
	purge_dead_temp_files
	touch "$PF_QUEUE/quick-start"
	if ! postfix -c "$PF_CONF" start </dev/null >"$out" 2>&1 9>&- ||
		! wait_listening postfix "$POSTFIX_PID_FILE" "$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT"; then
		{
			echo "$PROG: postfix did not start ($DIR)"
			cat "$out"
			# Postfix commands say why only to a terminal: give them one.
			if command -v script >/dev/null; then
				script -qec "postfix -c $(printf %q "$PF_CONF") check" /dev/null </dev/null | tr -d '\r'
			else
				postconf -c "$PF_CONF" -n >/dev/null
			fi
			[ -f "$POSTFIX_LOG" ] && tail -n 20 "$POSTFIX_LOG"
		} >&2
		return 1
	fi
}

stop_postfix() { stop_master postfix "$POSTFIX_PID_FILE" "$PF_CONF"; }
stop_dovecot() { stop_master dovecot "$DOVECOT_PID_FILE" "$DC_CONF"; }

cmd_start() {
	local first=no ports
	make_searchable "$DIR"
	if [ -f "$DIR/stack.env" ]; then
		load_env
	else
		first=yes
		STACK_ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
		set_paths
		set_run_dir
	fi
	if postfix_running || dovecot_running; then
		die "$DIR is already running (stop it first)"
	fi
	mkdir -p "$LOGDIR"
	ports=$(with_port_lock reserve_ports) || exit 1
	read -r IMAP_PORT IMAPS_PORT SMTP_PORT SUBMISSION_PORT SMTPS_PORT <<<"$ports"
	[ "$first" = yes ] && make_tls
	write_env
	write_dovecot_config
	write_postfix_config
	if ! start_dovecot || ! start_postfix; then
		stop_postfix
		stop_dovecot
		exit 1
	fi
	printf 'mailstack %s: imap 127.0.0.1:%s (imaps %s), smtp 127.0.0.1:%s (submission %s, smtps %s); %s/stack.env\n' \
		"$DIR" "$IMAP_PORT" "$IMAPS_PORT" "$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" "$DIR"
}

cmd_stop() {
	[ -f "$DIR/stack.env" ] || return 0
	load_env
	stop_postfix
	stop_dovecot
	release_ports
	case $RUN_DIR in
	"$DIR"/*) ;;
	/tmp/lms.*) rm -rf "$RUN_DIR" && rm -f "$DIR/run" ;;
	esac
}

# add_user USER PW: write the user's passwd-file; queue map updates.
add_user() {
	local user=$1 pw=$2 local_part domain tmp
	user=${user,,}
	case $user in *@*) ;; *) user=$user@$DOMAIN ;; esac
	local_part=${user%@*} domain=${user#*@}
	[[ $local_part =~ ^[a-z0-9][a-z0-9._-]*$ ]] || die "bad user name: $1 (letters, digits, . _ -; no +)"
	[[ $domain =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "bad domain: $domain"
	case $pw in *:* | *$'\n'* | '') die "password must be non-empty, without ':' or newline" ;; esac
	[ "$domain" != "$DISCARD_DOMAIN" ] || die "$DISCARD_DOMAIN discards everything"
	[ "$user" != "$BOUNCE_ADDRESS" ] || die "$BOUNCE_ADDRESS must stay unknown to Dovecot"
	tmp=$USERS/.$user.tmp
	printf '%s:{PLAIN}%s::::::\n' "$user" "$pw" >"$tmp"
	chmod 644 "$tmp"
	mv "$tmp" "$USERS/$user"
	if ! grep -qxF "$user OK" "$PF_CONF/mailboxes"; then
		printf '%s OK\n' "$user" >>"$PF_CONF/mailboxes"
		REMAP="$REMAP mailboxes"
	fi
	if ! grep -qxF "$domain OK" "$PF_CONF/domains"; then
		printf '%s OK\n' "$domain" >>"$PF_CONF/domains"
		REMAP="$REMAP domains"
	fi
	printf '%s\n' "$user"
}

remap() {
	local m done=" "
	for m in $REMAP; do
		case $done in *" $m "*) continue ;; esac
		postmap_map "$m"
		done="$done$m "
	done
	REMAP=
}

cmd_adduser() {
	REMAP=
	add_user "$1" "${2:-secret}"
	remap
}

# addusers USER...: several at once, password "secret" (one postmap).
cmd_addusers() {
	local u
	REMAP=
	for u; do add_user "$u" secret; done
	remap
}

cmd_access() {
	local addr=$1 action=${2:-} tmp=$PF_CONF/recipient_access.tmp
	addr=$(printf '%s' "$addr" | tr 'A-Z' 'a-z')
	[[ $addr =~ ^[^[:space:]]+$ ]] || die "bad address: $1"
	case $action in *$'\n'*) die "action must be one line" ;; esac
	if [ "$addr" = reset ]; then
		write_default_access
	else
		awk -v a="$addr" '$1 != a' "$PF_CONF/recipient_access" >"$tmp"
		[ -n "$action" ] && printf '%s %s\n' "$addr" "$action" >>"$tmp"
		mv "$tmp" "$PF_CONF/recipient_access"
	fi
	postmap_map recipient_access
}

[ $# -ge 2 ] || usage
cmd=$1
[ "$(id -u)" = 0 ] || die "must run as root (Postfix and Dovecot are started as their own instances)"
if [ "$cmd" = start ]; then
	mkdir -p "$2"
elif [ ! -d "$2" ]; then
	[ "$cmd" = stop ] && exit 0
	die "no such directory: $2"
fi
DIR=$(cd "$2" && pwd -P)
shift 2

# One command at a time per stack.
exec 9>>"$DIR/.lock"
flock 9

case $cmd in
start) [ $# -eq 0 ] || usage; cmd_start ;;
stop) [ $# -eq 0 ] || usage; cmd_stop ;;
adduser) [ $# -ge 1 ] && [ $# -le 2 ] || usage; load_env; cmd_adduser "$@" ;;
addusers) [ $# -ge 1 ] || usage; load_env; cmd_addusers "$@" ;;
access) [ $# -ge 1 ] && [ $# -le 2 ] || usage; load_env; cmd_access "$@" ;;
postfix-stop) load_env; stop_postfix ;;
postfix-start) load_env; start_postfix ;;
dovecot-stop) load_env; stop_dovecot ;;
dovecot-start) load_env; start_dovecot ;;
dovecot-restart) load_env; stop_dovecot; start_dovecot ;;
status)
	load_env
	rc=0
	if postfix_running; then echo "postfix running (pid $(pidfile_pid "$POSTFIX_PID_FILE"))"; else echo "postfix stopped"; rc=1; fi
	if dovecot_running; then echo "dovecot running (pid $(pidfile_pid "$DOVECOT_PID_FILE"))"; else echo "dovecot stopped"; rc=1; fi
	exit $rc
	;;
*) usage ;;
esac
