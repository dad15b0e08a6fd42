/*
 * acl_ratelimit.c - the "ratelimit" ACL condition, Exim's syntax and its
 * smoothed rate, for the seed's recommended connect ACL behind a proxy
 * (docs/proxy.md, docs/config.md "ratelimit"):
 *
 *   defer   message   = Too many connections from this IP right now
 *           ratelimit = 5 / 5s / per_conn / strict
 *
 * LIMIT / PERIOD [/ per_conn|per_mail|per_rcpt|per_cmd] [/ leaky|strict]
 * [/ KEY]: true when the client's rate, counted once per evaluation and
 * smoothed over PERIOD, is above LIMIT.  KEY defaults to the client's
 * address ($sender_host_address: behind a proxy, the real client's).
 *
 * The rates live in one table shared by every worker (an anonymous shared
 * mapping the daemon makes before it forks them, acl_ratelimit_init), of a
 * fixed size: memory is bounded whatever the clients do; when a probe
 * window is full the entry updated longest ago gives way.  A robust
 * process-shared mutex guards it, so a worker killed while holding it
 * cannot stop the others.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "acl.h"
#include "clock.h"
#include "strutil.h"

#define RL_SLOTS 4096 /* entries; the table is about 700 kB */
#define RL_PROBE 16   /* slots looked at for one key */
#define RL_KEY 160    /* "PERIOD/per_x/mode/KEY", NUL included */

struct rl_slot {
	char key[RL_KEY]; /* "" = free */
	double rate;
	double stamp; /* clock_now() of the last update */
};

struct rl_table {
	pthread_mutex_t lock;
	struct rl_slot slot[RL_SLOTS];
};

static struct rl_table *table;

int
acl_ratelimit_init(void)
{
	pthread_mutexattr_t ma;
	struct rl_table *t;

	if (table != NULL)
		return 0;
	t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return -1;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&t->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	table = t; /* mmap zeroed it: every slot free */
	return 0;
}

struct rl_spec {
	double limit, period;
	const char *per; /* "per_conn" (default), "per_mail", ... */
	int strict;
	char key[RL_KEY];
};

/* "5s", "1m", "2h", "1d", "1w"; seconds without a unit. */
static int
parse_period(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	double unit = 1;

	if (end == s || v <= 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 604800;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	*out = v * unit;
	return 0;
}

/* Split the (expanded) value; why set on error. */
static int
parse_spec(const char *value, struct rl_spec *sp, char *why, size_t whylen)
{
	static const char *const pers[] = { "per_conn", "per_mail", "per_rcpt", "per_cmd" };
	char buf[512], *f[8], *end;
	size_t nf = 0;

	memset(sp, 0, sizeof *sp);
	sp->per = "per_conn";
	snprintf(buf, sizeof buf, "%s", value);
	for (char *p = buf, *tok; nf < 8 && (tok = strsep(&p, "/")) != NULL;) {
		while (isspace((unsigned char)*tok))
			tok++;
		for (size_t n = strlen(tok); n > 0 && isspace((unsigned char)tok[n - 1]);)
			tok[--n] = '\0';
		f[nf++] = tok;
	}
	if (nf < 2) {
		snprintf(why, whylen, "ratelimit: expected LIMIT / PERIOD [/ options] [/ key]");
		return -1;
	}
	sp->limit = strtod(f[0], &end);
	if (end == f[0] || *end != '\0' || sp->limit < 0) {
		snprintf(why, whylen, "ratelimit: bad limit \"%s\"", f[0]);
		return -1;
	}
	if (parse_period(f[1], &sp->period) != 0) {
		snprintf(why, whylen, "ratelimit: bad period \"%s\" (use 5s, 1m, 1h, 1d)", f[1]);
		return -1;
	}
	for (size_t i = 2; i < nf; i++) {
		size_t k = 0;
		while (k < sizeof pers / sizeof pers[0] && strcmp(f[i], pers[k]) != 0)
			k++;
		if (k < sizeof pers / sizeof pers[0]) {
			sp->per = pers[k];
			continue;
		}
		if (strcmp(f[i], "strict") == 0 || strcmp(f[i], "leaky") == 0) {
			sp->strict = f[i][0] == 's';
			continue;
		}
		if (strcmp(f[i], "per_byte") == 0 || strcmp(f[i], "per_addr") == 0 ||
		    strncmp(f[i], "count=", 6) == 0 || strcmp(f[i], "noupdate") == 0 ||
		    strcmp(f[i], "readonly") == 0) {
			snprintf(why, whylen, "ratelimit: option \"%s\" not supported yet", f[i]);
			return -1;
		}
		if (i != nf - 1 || f[i][0] == '\0') {
			snprintf(why, whylen, "ratelimit: unknown option \"%s\"", f[i]);
			return -1;
		}
		snprintf(sp->key, sizeof sp->key, "%s", f[i]); /* the last item: the key */
	}
	return 0;
}

static int
check_ratelimit(const char *value, struct err *e)
{
	struct rl_spec sp;
	char why[200];

	if (str_has_var_ref(value))
		return 0; /* checked once expanded */
	if (parse_spec(value, &sp, why, sizeof why) != 0) {
		err_set(e, 0, "%s", why);
		return -1;
	}
	return 0;
}

static void
table_lock(void)
{
	if (pthread_mutex_lock(&table->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&table->lock); /* a worker died holding it */
}

/* The slot for `key`: its own, a free one, or the stalest in the window. */
static struct rl_slot *
table_find(const char *key, int *found)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	struct rl_slot *stalest = NULL;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	*found = 0;
	for (unsigned i = 0; i < RL_PROBE; i++) {
		struct rl_slot *sl = &table->slot[(h + i) % RL_SLOTS];
		if (strcmp(sl->key, key) == 0) {
			*found = 1;
			return sl;
		}
		if (sl->key[0] == '\0')
			return sl;
		if (stalest == NULL || sl->stamp < stalest->stamp)
			stalest = sl;
	}
	return stalest;
}

static enum acl_cond
eval_ratelimit(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	struct rl_spec sp;
	char key[RL_KEY + 64];
	char *v = expand_string(value, &env->vars);
	double now = (double)clock_now(), rate;
	struct rl_slot *sl;
	int found, over;

	if (v == NULL) {
		snprintf(why, whylen, "out of memory");
		return ACL_COND_ERROR;
	}
	if (parse_spec(v, &sp, why, whylen) != 0) {
		free(v);
		return ACL_COND_ERROR;
	}
	free(v);
	if (sp.key[0] == '\0' && env->host_address == NULL)
		return ACL_COND_UNKNOWN;
	snprintf(key, sizeof key, "%g/%s/%s/%s", sp.period, sp.per, sp.strict ? "strict" : "leaky",
	         sp.key[0] ? sp.key : env->host_address);
	if (strlen(key) >= RL_KEY) {
		snprintf(why, whylen, "ratelimit: key longer than %d octets", RL_KEY - 1);
		return ACL_COND_ERROR;
	}
	if (table == NULL && acl_ratelimit_init() != 0) {
		snprintf(why, whylen, "ratelimit: no memory for the rate table");
		return ACL_COND_ERROR;
	}
	table_lock();
	sl = table_find(key, &found);
	if (!found) {
		rate = 1; /* the first event */
	} else {
		/* Exim's smoothing: a = exp(-interval/period); the new event
		 * weighs (1 - a) / (interval/period), the old rate a.  At an
		 * interval of zero that is old rate + 1. */
		double i_over_p = (now > sl->stamp ? now - sl->stamp : 0) / sp.period;
		double a = exp(-i_over_p);
		rate = i_over_p < 1e-9 ? sl->rate + 1 : (1 - a) / i_over_p + a * sl->rate;
	}
	over = rate > sp.limit;
	/* leaky (the default): a client over the limit does not raise its
	 * recorded rate, so it gets through again as soon as it slows down;
	 * strict: every attempt counts. */
	if (!over || sp.strict || !found) {
		if (!found)
			snprintf(sl->key, sizeof sl->key, "%s", key);
		sl->rate = rate;
		sl->stamp = now;
	}
	pthread_mutex_unlock(&table->lock);
	return over ? ACL_COND_TRUE : ACL_COND_FALSE;
}

const struct acl_condition acl_ratelimit_condition = { "ratelimit", check_ratelimit,
	                                               eval_ratelimit };
