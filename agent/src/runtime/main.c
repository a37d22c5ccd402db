/*
 * main.c: command line, start and stop order, signals.
 *
 * Start: parse and check the config, build the first snapshot from local
 * sources, open listeners (before threads, so a bad address fails fast),
 * start workers, then serve.  SIGTERM/SIGINT: stop accepting, let workers
 * finish in-flight requests and DISCONNECT, exit 0 (exit 1 at once, no
 * cleanup, if a worker has not ended park_timeout_ms + 5 s later).
 * SIGHUP: parse the config here and hand it to the fetcher thread, which
 * builds, publishes and re-plans its sources (the one publisher of
 * snapshots); an invalid one is logged and the running one kept.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <ev.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "abuf.h"
#include "config.h"
#include "conn.h"
#include "fetch.h"
#include "handler.h"
#include "inspect.h"
#include "loader.h"
#include "log.h"
#include "server.h"
#include "snapshot.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

#ifndef SPOA_VERSION
#define SPOA_VERSION "dev"
#endif

struct agent {
	struct ev_loop *loop;
	const char *config_path;
	const struct config *cfg;     /* the startup config (from snap) */
	struct snapshot *snap;        /* the first snapshot, kept for cfg */
	struct fetcher *fetcher;      /* builds and publishes snapshots */
	struct server *server;
	struct admin *admin;
	struct worker **workers;
	size_t nworkers;
	struct agent_stats stats;       /* the main thread's counters */
	struct agent_stats fetch_stats; /* the fetcher thread's */
	const struct agent_stats **blocks; /* both, then each worker's */
	struct stats_set stats_set;     /* what /metrics sums */
	ev_signal sigterm, sigint, sighup;
	bool stopping;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: spoa-iam -c FILE            run in the foreground (logs to stderr)\n"
	    "       spoa-iam -c FILE --check    validate the config and the files it names\n"
	    "       spoa-iam inspect TOKEN      decode a JWT (NOT verified) for troubleshooting\n"
	    "       spoa-iam --version | --help\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads config and policy.\n"
	    "Docs: README.md (config keys, HAProxy setup, metrics, troubleshooting).\n");
}

static void
print_errors(const struct config_errors *errs, const char *path)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s: %s\n", path, errs->v[i]);
}

/* --check: exit status 0 if the config and its files are good. */
static int
check(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	struct snapshot *snap = NULL;
	int rc = 1;

	if (config_parse_file(path, &cfg, &errs) != 0)
		goto out;
	if (config_check_files(cfg, &errs) != 0)
		goto out;
	if (loader_build(cfg, NULL, &snap, &errs) != 0) {
		cfg = NULL;     /* the loader took it */
		goto out;
	}
	cfg = NULL;
	printf("%s: configuration is valid\n", path);
	rc = 0;
out:
	print_errors(&errs, path);
	if (rc != 0)
		fprintf(stderr, "%s: %zu error%s\n", path, errs.n,
		    errs.n == 1 ? "" : "s");
	config_errors_free(&errs);
	config_free(cfg);
	snapshot_unref(snap);
	return (rc);
}

/* Settings that only a restart can change. */
static void
warn_restart_only(const struct config *old, const struct config *nc)
{
	bool same = old->nlisten == nc->nlisten && old->workers == nc->workers &&
	    old->listen_takeover == nc->listen_takeover &&
	    old->max_frame_size == nc->max_frame_size &&
	    old->token_cache_entries == nc->token_cache_entries &&
	    old->cert_cache_entries == nc->cert_cache_entries &&
	    old->park_timeout_ms == nc->park_timeout_ms &&
	    old->max_connections == nc->max_connections &&
	    old->idle_timeout_ms == nc->idle_timeout_ms &&
	    old->frame_timeout_ms == nc->frame_timeout_ms &&
	    old->partial_frames_max_bytes == nc->partial_frames_max_bytes &&
	    ((old->admin_listen == NULL) == (nc->admin_listen == NULL));

	for (size_t i = 0; same && i < old->nlisten; i++)
		same = util_streq(old->listen[i].text, nc->listen[i].text);
	if (same && old->admin_listen != NULL)
		same = util_streq(old->admin_listen->text, nc->admin_listen->text);
	if (!same)
		log_warn("reload: listen, admin_listen, listen_takeover, "
		    "workers, max_frame_size, token_cache_entries, "
		    "cert_cache_entries, park_timeout_ms, "
		    "max_connections, idle_timeout_ms, frame_timeout_ms and "
		    "partial_frames_max_bytes changes take effect at the next "
		    "restart");
}

/*
 * SIGHUP: parse here (errors of the file itself are reported here), then
 * hand the config to the fetcher, which loads what it names, publishes
 * and logs the outcome.
 */
static void
reload(struct agent *a)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;

	log_info("reload: reading %s", a->config_path);
	if (config_parse_file(a->config_path, &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("reload: %s", errs.v[i]);
		log_error("reload: rejected (%zu error%s); keeping the running "
		    "configuration", errs.n, errs.n == 1 ? "" : "s");
		STAT_INC(&a->stats, reloads_failed);  /* main's own block */
		config_errors_free(&errs);
		return;
	}
	warn_restart_only(a->cfg, cfg);
	fetch_reload(a->fetcher, cfg);
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;

	(void)revents;
	if (w->signum == SIGHUP) {
		reload(a);
		return;
	}
	if (a->stopping)
		return;
	a->stopping = true;
	log_info("signal %d: draining connections and stopping", w->signum);
	server_close(a->server);
	a->server = NULL;
	admin_close(a->admin);
	a->admin = NULL;
	for (size_t i = 0; i < a->nworkers; i++)
		worker_drain(a->workers[i]);
	ev_break(loop, EVBREAK_ALL);
}

/* The labels of spoa_iam_build_info: our version and the libraries' as
 * they run (not as we were built against). */
static const char *
build_info(void)
{
	static char buf[256];
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	(void)snprintf(buf, sizeof(buf), "version=\"%s\",openssl=\"%s\","
	    "libcurl=\"%s\",libev=\"%d.%d\",cjson=\"%s\"", SPOA_VERSION,
	    OpenSSL_version(OPENSSL_VERSION_STRING), cv ? cv->version : "?",
	    ev_version_major(), ev_version_minor(), cJSON_Version());
	return (buf);
}

/* The fetcher's news reaches each worker through its inbox. */
static void
sink_publish(void *w, struct snapshot *s)
{
	worker_publish(w, s);
}

static void
sink_kid_absent(void *w, size_t issuer, const char *kid, size_t kid_len)
{
	worker_kid_absent(w, issuer, kid, kid_len);
}

static const struct fetch_sink to_workers = {
	.publish = sink_publish, .kid_absent = sink_kid_absent,
};

/* Descriptors kept out of max_connections besides those open at start:
 * the fetcher's transfers and files, and what a burst of accepts holds
 * before the workers it goes to shed idle connections. */
#define FD_RESERVE_FETCH 64
#define FD_PER_WORKER 4                 /* its loop, inbox, log share */
#define MAX_CONNECTIONS_FLOOR 16

/*
 * Raise the soft RLIMIT_NOFILE to the hard one (systemd's default soft
 * limit is 1024, far below what a busy agent may need); log and return
 * what the process has now.
 */
static uint64_t
raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warnp("getrlimit(RLIMIT_NOFILE)");
		return (1024);
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		/* No hard limit: take what the kernel's nr_open allows at
		 * least, 2^20, rather than an infinite soft limit. */
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 :
		    rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warnp("cannot raise the file descriptor limit from "
			    "%llu to %llu", (unsigned long long)was,
			    (unsigned long long)rl.rlim_cur);
			rl.rlim_cur = was;
		}
	}
	if (rl.rlim_cur != was)
		log_info("file descriptors: soft limit raised from %llu to the "
		    "hard limit %llu", (unsigned long long)was,
		    (unsigned long long)rl.rlim_cur);
	else
		log_info("file descriptors: limit %llu (hard limit %llu)",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max);
	return ((uint64_t)rl.rlim_cur);
}

/* Descriptors open now (/proc/self/fd), or a guess. */
static uint64_t
fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t n = 0;

	if (d == NULL)
		return (32);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);             /* counts the directory's own descriptor */
}

/*
 * The limits of each worker's SPOP connections under ${cfg}, with
 * ${fd_limit} descriptors for the process: max_connections, unless set,
 * is what the limit leaves once the descriptors open now, the admin
 * listener and its connections, the fetcher, the workers and a burst of
 * accepts are kept; each worker serves its share.
 */
static void
conn_limits_for(const struct config *cfg, size_t nworkers, uint64_t fd_limit,
    struct conn_limits *lim, uint64_t *total)
{
	uint64_t reserve = fds_open() + (cfg->admin_listen ? ADMIN_CONNS_MAX + 1 : 0) +
	    FD_RESERVE_FETCH + SERVER_ACCEPT_BURST + FD_PER_WORKER * nworkers;
	uint64_t room = fd_limit > reserve ? fd_limit - reserve : 0;
	uint64_t max = cfg->max_connections;
	size_t frame = (size_t)cfg->max_frame_size + SPOP_FRAME_LEN_SIZE;

	if (max == 0) {
		max = room;
		if (max < MAX_CONNECTIONS_FLOOR) {
			log_warn("file descriptor limit %llu leaves room for "
			    "%llu SPOP connections only; using %d",
			    (unsigned long long)fd_limit,
			    (unsigned long long)room, MAX_CONNECTIONS_FLOOR);
			max = MAX_CONNECTIONS_FLOOR;
		}
	} else if (max > room) {
		log_warn("max_connections %llu is above the %llu that the file "
		    "descriptor limit %llu leaves after %llu kept for the admin "
		    "listener, the fetcher and accept bursts: the agent may run "
		    "out of descriptors", (unsigned long long)max,
		    (unsigned long long)room, (unsigned long long)fd_limit,
		    (unsigned long long)reserve);
	}
	memset(lim, 0, sizeof(*lim));
	lim->max_frame_size = cfg->max_frame_size;
	lim->max_conns = (size_t)(max / nworkers);
	if (lim->max_conns == 0)
		lim->max_conns = 1;
	lim->hello_timeout = CONN_HELLO_TIMEOUT_MS / 1000.0;
	lim->frame_timeout = cfg->frame_timeout_ms / 1000.0;
	lim->idle_timeout = cfg->idle_timeout_ms / 1000.0;
	lim->linger = CONN_LINGER_MS / 1000.0;
	lim->partial_max = cfg->partial_frames_max_bytes / nworkers;
	if (lim->partial_max < 2 * frame)
		lim->partial_max = 2 * frame;   /* one whole frame fits */
	*total = (uint64_t)lim->max_conns * nworkers;
	log_info("max_connections %llu (%zu per worker), %llu file descriptors "
	    "kept for the rest; idle_timeout_ms %u, frame_timeout_ms %u, "
	    "partial_frames_max_bytes %u", (unsigned long long)*total,
	    lim->max_conns, (unsigned long long)(fd_limit > *total ?
	    fd_limit - *total : 0), cfg->idle_timeout_ms, cfg->frame_timeout_ms,
	    cfg->partial_frames_max_bytes);
}

static int
run(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	struct agent a;
	sigset_t all, old, early;
	unsigned drain_ms;
	struct timespec deadline;
	struct conn_limits lim;
	uint64_t fd_limit, max_conns;
	bool stuck = false;
	int rc = 1;

	memset(&a, 0, sizeof(a));
	a.config_path = path;
	/*
	 * SIGTERM, SIGINT and SIGHUP wait, blocked and pending, until their
	 * watchers are started below: the listeners are bound (and logged)
	 * before that, a start script or a test may signal as soon as it sees
	 * them, and a signal's default action then killed the process (a
	 * SIGHUP right after start: exit by signal, no reload).  Every thread
	 * started meanwhile inherits the block, so they go to this one.
	 */
	sigemptyset(&early);
	sigaddset(&early, SIGTERM);
	sigaddset(&early, SIGINT);
	sigaddset(&early, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &early, NULL);
	/* The fetcher loads state_dir now, so the first snapshot already
	 * has the cached keys and policy. */
	if (config_parse_file(path, &cfg, &errs) != 0) {
		print_errors(&errs, path);
		config_errors_free(&errs);
		return (1);
	}
	/* Before anything logs: the loader and state_dir speak already. */
	log_set_level((enum log_level)cfg->log_level);
	log_set_format((enum log_format)cfg->log_format);
	if (fetch_create(cfg, &a.fetch_stats, &a.fetcher, &errs) != 0) {
		print_errors(&errs, path);
		config_errors_free(&errs);
		return (1);
	}
	a.snap = fetch_snapshot(a.fetcher);
	a.cfg = snapshot_config(a.snap);
	handler_set_refetch(fetch_refetch, a.fetcher);
	log_set_level((enum log_level)a.cfg->log_level);
	log_set_format((enum log_format)a.cfg->log_format);
	(void)signal(SIGPIPE, SIG_IGN);
	/* From here on no thread writes to stderr itself (log.h); every exit
	 * below goes through "out", which writes what is left. */
	(void)log_writer_start();
	fd_limit = raise_fd_limit();
	a.blocks = calloc(2 + a.cfg->workers, sizeof(*a.blocks));
	if (a.blocks == NULL)
		goto out;
	a.blocks[0] = &a.stats;
	a.blocks[1] = &a.fetch_stats;
	a.stats_set.v = a.blocks;
	a.stats_set.n = 2;

	/* The admin listener is bound before the SPOP one: once HAProxy (or
	 * a start script) can connect to the SPOP port, /readyz answers too.
	 * Neither accepts before ev_run(). */
	a.loop = ev_default_loop(EVFLAG_AUTO);
	if (a.cfg->admin_listen != NULL) {
		struct admin_providers prov = {
			.ready = fetch_ready, .metrics = fetch_metrics,
			.assertion_jwks = fetch_assertion_jwks,
			.arg = a.fetcher, .build_info = build_info(),
		};
		a.admin = admin_open(a.loop, a.cfg->admin_listen,
		    a.cfg->listen_takeover, &a.stats_set, &prov);
		if (a.admin == NULL)
			goto out;
	}
	a.server = server_open(a.cfg);
	if (a.server == NULL)
		goto out;

	/* Workers must not take process signals: block them while creating
	 * the threads (they inherit the mask), then restore ours. */
	conn_limits_for(a.cfg, a.cfg->workers, fd_limit, &lim, &max_conns);
	STAT_SET(&a.stats, max_connections, max_conns);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	a.nworkers = a.cfg->workers;
	a.workers = calloc(a.nworkers, sizeof(*a.workers));
	for (size_t i = 0; a.workers != NULL && i < a.nworkers; i++) {
		a.workers[i] = worker_start((unsigned)i, a.snap, &lim);
		if (a.workers[i] == NULL) {
			a.nworkers = i;
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			goto out;
		}
		a.blocks[a.stats_set.n++] = worker_stats(a.workers[i]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (a.workers == NULL)
		goto out;
	if (fetch_start(a.fetcher, &to_workers, (void *const *)a.workers,
	    a.nworkers) != 0)
		goto out;

	ev_signal_init(&a.sigterm, on_signal, SIGTERM);
	ev_signal_init(&a.sigint, on_signal, SIGINT);
	ev_signal_init(&a.sighup, on_signal, SIGHUP);
	a.sigterm.data = a.sigint.data = a.sighup.data = &a;
	ev_signal_start(a.loop, &a.sigterm);
	ev_signal_start(a.loop, &a.sigint);
	ev_signal_start(a.loop, &a.sighup);
	/* A signal that came meanwhile reaches its watcher now. */
	pthread_sigmask(SIG_UNBLOCK, &early, NULL);
	server_start(a.server, a.loop, a.workers, a.nworkers, &a.stats);
	log_info("spoa-iam %s ready: %zu worker%s, %zu route%s, %zu issuer%s",
	    SPOA_VERSION, a.nworkers, a.nworkers == 1 ? "" : "s",
	    a.cfg->nroutes, a.cfg->nroutes == 1 ? "" : "s",
	    a.cfg->nissuers, a.cfg->nissuers == 1 ? "" : "s");

	ev_run(a.loop, 0);
	rc = 0;
out:
	/* In-flight requests wait at most park_timeout; then each connection
	 * gets the linger time to take its DISCONNECT (a peer that never reads
	 * is cut then), plus a margin.  Past that, counted from here for all
	 * workers together, a worker is stuck. */
	drain_ms = a.cfg->park_timeout_ms + CONN_LINGER_MS + 2000;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += drain_ms / 1000;
	deadline.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	admin_close(a.admin);
	server_close(a.server);
	/* No more publications; parked requests end at their deadline. */
	fetch_stop(a.fetcher);
	for (size_t i = 0; i < a.nworkers; i++)
		worker_drain(a.workers[i]);
	for (size_t i = 0; i < a.nworkers; i++) {
		if (worker_join(a.workers[i], &deadline) != 0) {
			log_error("worker %zu did not stop within %u ms", i,
			    drain_ms);
			stuck = true;
		}
	}
	if (stuck) {
		/* A live worker thread still uses the snapshot, OpenSSL and
		 * the fetcher: no exit handler (OpenSSL's cleanup among
		 * them) may run under it.  Leave at once, and say so. */
		log_error("stopping without cleanup: a worker is still "
		    "running");
		(void)log_flush(1000);
		_exit(1);
	}
	free(a.workers);
	free(a.blocks);
	fetch_free(a.fetcher);
	snapshot_unref(a.snap);
	if (rc == 0)
		log_info("stopped");
	log_writer_stop();
	return (rc);
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	bool do_check = false;

	if (argc >= 2 && strcmp(argv[1], "inspect") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: spoa-iam inspect TOKEN\n");
			return (2);
		}
		return (inspect_token(stdout, argv[2], strlen(argv[2])));
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (++i >= argc) {
				fprintf(stderr, "spoa-iam: -c needs a file\n");
				return (2);
			}
			config = argv[i];
		} else if (strcmp(argv[i], "--check") == 0) {
			do_check = true;
		} else if (strcmp(argv[i], "--version") == 0 ||
		    strcmp(argv[i], "-v") == 0) {
			printf("spoa-iam %s\n", SPOA_VERSION);
			return (0);
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return (0);
		} else {
			fprintf(stderr, "spoa-iam: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return (2);
		}
	}
	if (config == NULL) {
		fprintf(stderr, "spoa-iam: no config file (-c FILE)\n");
		usage(stderr);
		return (2);
	}
	return (do_check ? check(config) : run(config));
}
