/*
 * report.c - progress, summary table, TAP 14, JUnit XML, JSON (report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void
report_progress(FILE *tty, size_t done, size_t total, size_t failed, double eta)
{
	if (tty == NULL)
		return;
	fprintf(tty, "\r[%3zu/%zu] %zu failed%s", done, total, failed,
	        done < total ? ", ETA " : "   ");
	if (done < total)
		fprintf(tty, "%.0f s   ", eta);
	else
		fprintf(tty, "\n");
	fflush(tty);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void
report_summary(FILE *out, const struct result *r, size_t n, double wall, unsigned jobs)
{
	const char *features[256];
	size_t nf = 0;
	double *times = malloc((n ? n : 1) * sizeof *times);
	size_t pass = 0, fail = 0;

	for (size_t i = 0; i < n; i++) {
		size_t f = 0;
		while (f < nf && strcmp(features[f], r[i].feature) != 0)
			f++;
		if (f == nf && nf < 256)
			features[nf++] = r[i].feature;
		if (times != NULL)
			times[i] = r[i].seconds;
	}
	fprintf(out, "\n  %-12s %-18s %-18s\n", "feature", "openssl", "gnutls");
	for (size_t f = 0; f < nf; f++) {
		char cell[2][32];
		for (int b = 0; b < 2; b++) {
			size_t p = 0, t = 0;
			for (size_t i = 0; i < n; i++) {
				if (strcmp(r[i].feature, features[f]) != 0 ||
				    strcmp(r[i].backend, b ? "gnutls" : "openssl") != 0)
					continue;
				t++;
				p += r[i].status == RESULT_PASS;
			}
			if (t == 0)
				snprintf(cell[b], sizeof cell[b], "-");
			else
				snprintf(cell[b], sizeof cell[b], "%zu/%zu passed", p, t);
		}
		fprintf(out, "  %-12s %-18s %-18s\n", features[f], cell[0], cell[1]);
	}
	for (size_t i = 0; i < n; i++)
		r[i].status == RESULT_PASS ? pass++ : fail++;
	if (times != NULL && n > 0) {
		size_t slow = 0;
		for (size_t i = 1; i < n; i++)
			slow = r[i].seconds > r[slow].seconds ? i : slow;
		qsort(times, n, sizeof *times, cmp_double);
		fprintf(out, "\n  median time per scenario run: %.2f s\n", times[n / 2]);
		/* The suite's own cost, so that a slowdown shows in every summary. */
		fprintf(out, "  wall time: %.1f s for %zu runs at -j%u; slowest: %s [%s] %.2f s\n",
		        wall, n, jobs, r[slow].id, r[slow].backend, r[slow].seconds);
	}
	free(times);
	fprintf(out, "\nscenarios: %zu passed, %zu failed\n", pass, fail);
}

/* TAP 14: YAML diagnostics are indented four spaces inside "  ---" / "  ...". */
void
report_tap(FILE *out, const struct result *r, size_t n)
{
	fprintf(out, "TAP version 14\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s %zu - %s %s [%s] %s\n",
		        r[i].status == RESULT_PASS ? "ok" : "not ok", i + 1, r[i].id, r[i].slug,
		        r[i].backend, r[i].title);
		if (r[i].status == RESULT_PASS)
			continue;
		fprintf(out, "  ---\n  message: \"%s\"\n  severity: %s\n  file: \"%s\"\n",
		        r[i].message ? r[i].message : "",
		        r[i].status == RESULT_ERROR ? "error" : "fail", r[i].path);
		if (r[i].diff != NULL) {
			fprintf(out, "  diff: |\n");
			for (const char *p = r[i].diff; *p;) {
				const char *nl = strchr(p, '\n');
				size_t len = nl ? (size_t)(nl - p) : strlen(p);
				fprintf(out, "    %.*s\n", (int)len, p);
				p += len + (nl ? 1 : 0);
			}
		}
		fprintf(out, "  ...\n");
	}
}

static void
xml_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			/* XML 1.0 allows no control characters but tab, LF, CR. */
			if (c < 32 && c != '\t' && c != '\n' && c != '\r')
				fprintf(f, "?");
			else
				fputc(c, f);
		}
	}
}

int
report_junit(const char *path, const struct result *r, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t failures = 0, errors = 0;
	double total = 0;

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		failures += r[i].status == RESULT_FAIL;
		errors += r[i].status == RESULT_ERROR;
		total += r[i].seconds;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
	        "<testsuites name=\"refmta\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	        "time=\"%.3f\">\n",
	        n, failures, errors, total);
	fprintf(f,
	        "  <testsuite name=\"runtest\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	        "time=\"%.3f\">\n",
	        n, failures, errors, total);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "    <testcase classname=\"%s.%s\" name=\"", r[i].feature, r[i].backend);
		xml_escaped(f, r[i].slug);
		fprintf(f, "\" file=\"");
		xml_escaped(f, r[i].path);
		fprintf(f, "\" time=\"%.3f\">", r[i].seconds);
		if (r[i].status != RESULT_PASS) {
			const char *tag = r[i].status == RESULT_ERROR ? "error" : "failure";
			fprintf(f, "\n      <%s message=\"", tag);
			xml_escaped(f, r[i].message);
			fprintf(f, "\">");
			xml_escaped(f, r[i].diff);
			fprintf(f, "</%s>\n    ", tag);
		}
		fprintf(f, "</testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	return fclose(f) == 0 ? 0 : -1;
}

static void
json_string(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 32)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int
report_json(const char *path, const struct result *r, size_t n)
{
	static const char *const words[] = { "pass", "fail", "error" };
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "{\n  \"results\": [\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "    {\"id\": ");
		json_string(f, r[i].id);
		fprintf(f, ", \"scenario\": ");
		json_string(f, r[i].path);
		fprintf(f, ", \"feature\": ");
		json_string(f, r[i].feature);
		fprintf(f, ", \"title\": ");
		json_string(f, r[i].title);
		fprintf(f, ", \"backend\": ");
		json_string(f, r[i].backend);
		fprintf(f, ", \"status\": \"%s\", \"seconds\": %.3f, \"message\": ",
		        words[r[i].status], r[i].seconds);
		json_string(f, r[i].message);
		fprintf(f, ", \"diff\": ");
		json_string(f, r[i].diff);
		fprintf(f, ", \"workdir\": ");
		json_string(f, r[i].workdir);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}
