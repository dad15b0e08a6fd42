/*
 * lookup_lmdb.c - ${lookup{KEY}lmdb{FILE}}, the seed's LMDB lookup: the
 * one owner of liblmdb (ci/layering.txt).
 *
 * FILE is an LMDB database file (created with MDB_NOSUBDIR, as mdb_load -n
 * makes it).  Each lookup opens the environment read-only, runs one read
 * transaction, and closes it again, so no lookup sees a half-written
 * update and no process holds the file between lookups.  A missing file
 * defers (Exim: the lookup cannot be done); a missing key is not-found.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"

enum lookup_result
lookup_lmdb_find(const char *file, const char *key, char **value, char *why, size_t whylen)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = strlen(key), .mv_data = (void *)key }, v;
	enum lookup_result res = LOOKUP_DEFER;
	int rc;

	*value = NULL;
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_open(env, file, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0644)) != 0) {
		snprintf(why, whylen, "cannot open %s: %s", file, mdb_strerror(rc));
		goto out;
	}
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0) {
		snprintf(why, whylen, "%s: %s", file, mdb_strerror(rc));
		goto out;
	}
	if (k.mv_size == 0 || k.mv_size > (size_t)mdb_env_get_maxkeysize(env)) {
		res = LOOKUP_NOTFOUND; /* no such key can be stored */
		goto out;
	}
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		res = LOOKUP_NOTFOUND;
	} else if (rc != 0) {
		snprintf(why, whylen, "%s: %s", file, mdb_strerror(rc));
	} else if ((*value = strndup(v.mv_data, v.mv_size)) == NULL) {
		snprintf(why, whylen, "out of memory");
	} else {
		res = LOOKUP_FOUND;
	}
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return res;
}
