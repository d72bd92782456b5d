#!/usr/bin/env bash
# Entrypoint of stackrig's offline Postgres image (compose/images/build).
#
# It mimics the interface of the upstream postgres / pgvector images so compose/stack.yml works
# with either: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_INITDB_ARGS,
# POSTGRES_HOST_AUTH_METHOD, PGDATA, and /docker-entrypoint-initdb.d/*.sql, *.sql.gz, *.sh run
# once on first initialisation. Initialisation runs against a temporary server that listens on
# the unix socket only, so the TCP port opens only when the database is ready for clients.
#
# Every step ends in `exec`, never in a wrapper process: the root part re-executes this script
# as the postgres user through setpriv, and the last step execs the server, so postgres is
# PID 1 and receives the container's stop signal itself.
set -Eeuo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Like upstream: "docker run IMAGE -c shared_buffers=256MB" means "postgres -c ...".
if [ "${1:-}" != "" ] && [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi

# Any other command (psql, bash, pg_dump ...) runs as given.
if [ "${1:-}" != "postgres" ]; then
	exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = "0" ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 00700 "$PGDATA"
	chmod 03775 /var/run/postgresql
	# Only chown what the postgres user does not own yet: a large data volume is not walked
	# again on every start.
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	chown postgres:postgres /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
: "${POSTGRES_INITDB_ARGS:=}"
export POSTGRES_USER POSTGRES_DB

# Upstream's *_FILE convention, for secrets mounted as files.
for var in POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB; do
	file_var="${var}_FILE"
	if [ -n "${!file_var:-}" ]; then
		[ -z "${!var:-}" ] || [ "$var" != POSTGRES_PASSWORD ] || die "both $var and $file_var are set"
		printf -v "$var" '%s' "$(<"${!file_var}")"
		export "${var?}"
	fi
done

run_initdb_d() {
	local f
	local -a psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password
		--username "$POSTGRES_USER" --dbname "$POSTGRES_DB")
	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				log "running $f"
				"$f"
			else
				log "sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql)
			log "running $f"
			"${psql_cmd[@]}" -f "$f"
			;;
		*.sql.gz)
			log "running $f"
			gzip -dc "$f" | "${psql_cmd[@]}"
			;;
		*.sql.xz)
			log "running $f"
			xz -dc "$f" | "${psql_cmd[@]}"
			;;
		*.sql.zst)
			log "running $f"
			zstd -dc "$f" | "${psql_cmd[@]}"
			;;
		*) log "ignoring $f" ;;
		esac
	done
	shopt -u nullglob
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		die "the database is uninitialised and POSTGRES_PASSWORD is not set; set it (or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without a password)"
	fi
	log "initialising $PGDATA for user '$POSTGRES_USER', database '$POSTGRES_DB'"
	pwfile_args=()
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		pwfile="$(mktemp)"
		printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
		pwfile_args=(--pwfile="$pwfile")
	fi
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, as upstream.
	initdb --username="$POSTGRES_USER" "${pwfile_args[@]}" --auth-local=trust \
		--auth-host="$POSTGRES_HOST_AUTH_METHOD" $POSTGRES_INITDB_ARGS >&2
	rm -f "${pwfile:-}"

	# Connections from other containers and from the host (through the published port).
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

	log "starting a temporary server on the unix socket only"
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >&2

	if [ "$POSTGRES_DB" != postgres ]; then
		psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" \
			--dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	run_initdb_d

	pg_ctl -D "$PGDATA" -m fast -w stop >&2
	log "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
