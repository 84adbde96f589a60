/*
 * outputs: Type: picks a sink from the table below and hands it its entry.
 * Adding a sink type is one line here plus its file; the keys inside an
 * entry are the sink's own business (each refuses the ones it does not
 * know), so this file only checks the list's shape and the Type.
 */
#include "exporter/outputs.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

static const struct sink_ops *const outputs_types[] = {
    &sink_jsonl_ops,
    &sink_folded_ops,
    &sink_store_ops,
    &sink_pprof_ops,
    &sink_flamegraph_ops,
    &sink_metrics_ops,
};

#define OUTPUTS_N_TYPES (sizeof(outputs_types) / sizeof(outputs_types[0]))

static int
outputs_unknown_type(const struct cfg *c, const struct cfg_node *n,
    const char *type, char *err, size_t errlen)
{
	char known[256];
	size_t len = 0;
	size_t i;
	int k;

	known[0] = '\0';
	for (i = 0; i < OUTPUTS_N_TYPES; i++) {
		k = snprintf(known + len, sizeof(known) - len, "%s%s",
		    i ? ", " : "", outputs_types[i]->type);
		if (k < 0 || (size_t)k >= sizeof(known) - len)
			break;
		len += (size_t)k;
	}
	return cfg_error(c, n, err, errlen,
	    "Type: unknown output type \"%s\" (known: %s)", type, known);
}

static int
outputs_open_one(struct outputs *o, const struct cfg *c,
    const struct cfg_node *n, char *err, size_t errlen)
{
	const char *type;
	size_t i;

	if (n->type != CFG_MAP)
		return cfg_error(c, n, err, errlen,
		    "outputs: each entry "
		    "must be a map (- Type: jsonl ...)");
	if (cfg_str(c, n, "Type", NULL, &type, err, errlen) < 0)
		return -1;
	if (type == NULL)
		return cfg_error(c, n, err, errlen,
		    "outputs: entry without "
		    "Type");
	if (o->n == OUTPUTS_MAX)
		return cfg_error(c, n, err, errlen,
		    "outputs: more than %d "
		    "entries",
		    OUTPUTS_MAX);
	for (i = 0; i < OUTPUTS_N_TYPES; i++) {
		if (strcmp(type, outputs_types[i]->type) == 0)
			break;
	}
	if (i == OUTPUTS_N_TYPES)
		return outputs_unknown_type(
		    c, cfg_get(n, "Type"), type, err, errlen);
	if (outputs_types[i]->open(&o->sinks[o->n], c, n, err, errlen) < 0)
		return -1;
	o->n++;
	return 0;
}

int
sink_per(const struct cfg *c, const struct cfg_node *n, unsigned *takes,
    char *err, size_t errlen)
{
	const char *per;

	if (cfg_str(c, n, "Per", "profile", &per, err, errlen) < 0)
		return -1;
	if (strcmp(per, "profile") == 0)
		*takes = SINK_PROFILES;
	else if (strcmp(per, "window") == 0)
		*takes = SINK_WINDOWS;
	else if (strcmp(per, "both") == 0)
		*takes = SINK_PROFILES | SINK_WINDOWS;
	else
		return cfg_error(c, cfg_get(n, "Per"), err, errlen,
		    "Per: \"%s\": one of profile, window, both", per);
	return 0;
}

int
outputs_open(struct outputs *o, const struct cfg *c, char *err, size_t errlen)
{
	struct cfg_node *list = NULL;
	const struct cfg_node *n;

	memset(o, 0, sizeof(*o));
	if (c != NULL &&
	    (cfg_check_top(c, err, errlen) < 0 ||
	        cfg_seq(c, c->root, "outputs", &list, err, errlen) < 0))
		return -1;
	if (list == NULL) {
		if (sink_jsonl_stdout(&o->sinks[0], err, errlen) < 0)
			return -1;
		o->n = 1;
		return 0;
	}
	if (list->child == NULL)
		return cfg_error(c, list, err, errlen,
		    "outputs: empty list (remove it for jsonl on stdout)");
	for (n = list->child; n != NULL; n = n->next) {
		if (outputs_open_one(o, c, n, err, errlen) < 0)
			goto out_close;
	}
	return 0;
out_close:
	outputs_close(o);
	return -1;
}

void
outputs_close(struct outputs *o)
{
	char err[512];
	size_t i;

	for (i = 0; i < o->n; i++) {
		if (o->sinks[i]->ops->flush != NULL &&
		    o->sinks[i]->ops->flush(o->sinks[i], err, sizeof(err)) < 0)
			log_error("%s: %s", o->sinks[i]->name, err);
		o->sinks[i]->ops->close(o->sinks[i]);
		o->sinks[i] = NULL;
	}
	o->n = 0;
}
