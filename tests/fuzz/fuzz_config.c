/*
 * libFuzzer target: the YAML config reader. Any bytes either parse into a
 * tree or give an error message; every typed getter is exercised on what
 * parsed, and so are the fetcher's inputs: and the aggregator's section,
 * which must each be read or refused with a message. (The exporter's
 * outputs: are left out: opening them makes directories and listens.)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aggregator/options.h"
#include "common/config.h"
#include "fetcher/inputs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(const struct cfg *c, const struct cfg_node *n, int depth)
{
	const struct cfg_node *k;
	char err[256];
	long v;
	int b;
	const char *s;
	struct cfg_node *m;

	for (k = n->child; k != NULL && depth < 80; k = k->next) {
		if (k->key != NULL) {
			cfg_int(
			    c, n, k->key, 0, -100, 100, &v, err, sizeof(err));
			cfg_bool(c, n, k->key, 0, &b, err, sizeof(err));
			cfg_str(c, n, k->key, NULL, &s, err, sizeof(err));
			cfg_map(c, n, k->key, &m, err, sizeof(err));
		}
		walk(c, k, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c = NULL;
	char err[512];
	struct inputs *in;
	struct agg_options ao;

	err[0] = '\0';
	if (cfg_parse(&c, "fuzz.yaml", (const char *)data, size, err,
	        sizeof(err)) == 0) {
		walk(c, c->root, 0);
		err[0] = '\0';
		if (inputs_from_cfg(&in, c, err, sizeof(err)) == 0)
			inputs_unref(in);
		else if (err[0] == '\0')
			__builtin_trap();
		err[0] = '\0';
		agg_options_defaults(&ao);
		if (agg_options_from_cfg(&ao, c, err, sizeof(err)) == 0) {
			if (ao.series_ttl_s <= ao.window_s + ao.window_grace_s)
				__builtin_trap(); /* a refused combination */
		} else if (err[0] == '\0') {
			__builtin_trap();
		}
		cfg_free(c);
	} else if (err[0] == '\0') {
		__builtin_trap(); /* an error must say what is wrong */
	}
	return 0;
}
