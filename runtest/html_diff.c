/*
 * html_diff.c - two transcripts line by line for the teaching report
 * (html.h): a longest-common-subsequence alignment, lines only in the
 * first marked <del>, lines only in the second <ins>, each labelled with
 * the run it came from so the marking does not rest on colour alone.
 */
#include <stdlib.h>
#include <string.h>

#include "html.h"

#define DIFF_CELLS (4u * 1024 * 1024) /* beyond this, a plain prefix/suffix comparison */

struct lines {
	char *copy;
	char **v;
	size_t n;
};

static int
split(const char *text, struct lines *l)
{
	size_t cap = 1;
	char *save = NULL;

	l->copy = strdup(text ? text : "");
	for (const char *p = l->copy; p && *p; p++)
		cap += *p == '\n';
	l->v = malloc(cap * sizeof *l->v);
	l->n = 0;
	if (l->copy == NULL || l->v == NULL)
		return -1;
	for (char *s = strtok_r(l->copy, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
		l->v[l->n++] = s;
	return 0;
}

static void
row(struct buf *out, const char *tag, const char *who, const char *line)
{
	buf_addf(out, "<%s><span class=\"who\">%s</span> ", tag, who);
	html_esc(out, line, (size_t)-1);
	buf_addf(out, "</%s>\n", tag);
}

void
html_diff(struct buf *out, const char *a, const char *a_name, const char *b, const char *b_name)
{
	struct lines x = { 0 }, y = { 0 };
	unsigned *t = NULL;

	if (split(a, &x) != 0 || split(b, &y) != 0)
		goto done;
	size_t pre = 0, suf = 0;
	while (pre < x.n && pre < y.n && strcmp(x.v[pre], y.v[pre]) == 0)
		pre++;
	while (suf < x.n - pre && suf < y.n - pre &&
	       strcmp(x.v[x.n - 1 - suf], y.v[y.n - 1 - suf]) == 0)
		suf++;
	size_t n = x.n - pre - suf, m = y.n - pre - suf;
	if ((n + 1) * (m + 1) <= DIFF_CELLS)
		t = calloc((n + 1) * (m + 1), sizeof *t);
	buf_adds(out, "<pre class=\"diff\">");
	for (size_t i = 0; i < pre; i++)
		row(out, "span", "   ", x.v[i]);
	/* t[i][j]: the LCS length of x[pre+i..] and y[pre+j..] */
	for (size_t i = n + 1; t != NULL && i-- > 0;)
		for (size_t j = m + 1; j-- > 0;)
			t[i * (m + 1) + j] =
			        i == n || j == m ? 0
			        : strcmp(x.v[pre + i], y.v[pre + j]) == 0
			                ? t[(i + 1) * (m + 1) + j + 1] + 1
			                : (t[(i + 1) * (m + 1) + j] > t[i * (m + 1) + j + 1]
			                           ? t[(i + 1) * (m + 1) + j]
			                           : t[i * (m + 1) + j + 1]);
	size_t i = 0, j = 0;
	while (i < n || j < m) {
		if (t != NULL && i < n && j < m && strcmp(x.v[pre + i], y.v[pre + j]) == 0) {
			row(out, "span", "   ", x.v[pre + i]);
			i++, j++;
		} else if (i < n && (j == m || t == NULL ||
		                     t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1])) {
			row(out, "del", a_name, x.v[pre + i++]);
		} else {
			row(out, "ins", b_name, y.v[pre + j++]);
		}
	}
	for (size_t k = x.n - suf; k < x.n; k++)
		row(out, "span", "   ", x.v[k]);
	buf_adds(out, "</pre>\n");
done:
	free(t);
	free(x.copy);
	free(x.v);
	free(y.copy);
	free(y.v);
}
